import {
  ConvertCustomConfig,
  type ConvertCustomConfigDict,
} from '../domain/convert-custom-config.js';
import {
  canonicalJson,
  classReferences,
  contentHash,
  convertWarnings,
} from '../domain/config-document.js';
import { diffConfigs, type ConfigDiff } from '../domain/config-diff.js';
import { renderPython } from '../domain/python.js';
import type { QuantTypeName } from '../domain/quant-type.js';
import {
  ConflictError,
  InvalidError,
  NotFoundError,
  PreconditionFailedError,
  type FieldProblem,
} from './errors.js';
import type { Page, PageTokens } from './page-token.js';
import { checkWritePreconditions, type Preconditions } from './preconditions.js';
import { backOff, MAX_WRITE_ATTEMPTS } from './retry.js';
import { WriteQueue } from './write-queue.js';
import type {
  ClassRef,
  ConfigHead,
  ConfigRecord,
  RegistryStore,
  VersionRecord,
} from './store.js';

/** What a client writes: the PyTorch document plus registry metadata. */
export interface ConfigContent {
  config: ConvertCustomConfigDict;
  description: string;
  labels: Record<string, string>;
}

export interface WriteResult {
  record: ConfigRecord;
  /** 'created': a new config; 'updated': a new version; 'unchanged': equal to the latest. */
  outcome: 'created' | 'updated' | 'unchanged';
  warnings: string[];
}

export interface ListConfigsParams {
  prefix?: string;
  labels: string[];
  usesClass?: string;
  showDeleted: boolean;
  pageSize: number;
  pageToken?: string;
}

/** How a write runs: `dryRun` answers exactly what it would, and stores nothing. */
export interface WriteOptions {
  dryRun?: boolean;
}

/** Who writes which config, under which preconditions; PUT may create it, the other writes may not. */
interface WriteRequest {
  name: string;
  pre: Preconditions;
  actor: string;
  allowCreate: boolean;
  dryRun: boolean;
}

/** The canonical form a config would be stored as, without a name (POST /v1/validate). */
export interface ValidatedConfig {
  configJson: string;
  contentHash: string;
  warnings: string[];
}

/**
 * The config use cases. Every change appends an immutable version after a compare-and-set on
 * the config's head, so racing writers never lose an update: with If-Match the loser gets 412,
 * without it the write is re-applied on top of the winner.
 */
export class ConfigsService {
  readonly #queue = new WriteQueue();

  constructor(
    private readonly store: RegistryStore,
    private readonly pageTokens: PageTokens,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /**
   * The config and its latest version; 404 unless it is there and not deleted. At once (no
   * promise; a 404 is thrown) when the store holds it as current (see RegistryStore.getConfig),
   * as TokensService.authenticate answers at once when it can: GET of a config and of its dict.
   */
  get(name: string): ConfigRecord | Promise<ConfigRecord> {
    const found = this.store.getConfig(name);
    return found instanceof Promise ? found.then((record) => live(name, record)) : live(name, found);
  }

  /** PUT: replaces the whole resource (left-out description and labels become empty). */
  put(name: string, content: ConfigContent, pre: Preconditions, actor: string, options: WriteOptions = {}): Promise<WriteResult> {
    return this.write({ name, pre, actor, allowCreate: true, dryRun: options.dryRun ?? false }, () => content);
  }

  /** PATCH: `merge` turns the current content into the new one (RFC 7396 lives in the caller). */
  patch(
    name: string,
    merge: (current: ConfigContent) => ConfigContent,
    pre: Preconditions,
    actor: string,
    options: WriteOptions = {},
  ): Promise<WriteResult> {
    return this.write({ name, pre, actor, allowCreate: false, dryRun: options.dryRun ?? false }, (current) => merge(contentOf(current!)));
  }

  /** PyTorch's `set_observed_to_quantized_mapping`: replaces in place or appends. */
  setMapping(
    name: string,
    quantType: QuantTypeName,
    observed: string,
    quantized: string,
    pre: Preconditions,
    actor: string,
    options: WriteOptions = {},
  ): Promise<WriteResult> {
    return this.write({ name, pre, actor, allowCreate: false, dryRun: options.dryRun ?? false }, (current) => {
      const content = contentOf(current!);
      const config = ConvertCustomConfig.fromDict({ ...content.config })
        .setObservedToQuantizedMapping(observed, quantized, quantType)
        .toDict();
      return { ...content, config };
    });
  }

  removeMapping(
    name: string,
    quantType: QuantTypeName,
    observed: string,
    pre: Preconditions,
    actor: string,
    options: WriteOptions = {},
  ): Promise<WriteResult> {
    return this.write({ name, pre, actor, allowCreate: false, dryRun: options.dryRun ?? false }, (current) => {
      const content = contentOf(current!);
      const object = ConvertCustomConfig.fromDict({ ...content.config });
      const inner = object.observedToQuantizedMapping.get(quantType);
      if (inner === undefined || !inner.delete(observed)) {
        throw new NotFoundError(`Config '${name}' has no ${quantType} mapping for '${observed}'.`);
      }
      return { ...content, config: object.toDict() };
    });
  }

  /** PyTorch's `set_preserved_attributes`: replaces the list. */
  setPreservedAttributes(
    name: string,
    attributes: string[],
    pre: Preconditions,
    actor: string,
    options: WriteOptions = {},
  ): Promise<WriteResult> {
    return this.write({ name, pre, actor, allowCreate: false, dryRun: options.dryRun ?? false }, (current) => {
      const content = contentOf(current!);
      const config = ConvertCustomConfig.fromDict({ ...content.config })
        .setPreservedAttributes(attributes)
        .toDict();
      return { ...content, config };
    });
  }

  /** A new version equal to `version` (none if that equals the latest), re-validated. */
  async rollback(
    name: string,
    version: number,
    pre: Preconditions,
    actor: string,
    options: WriteOptions = {},
  ): Promise<WriteResult> {
    const target = await this.store.getVersion(name, version);
    if (target === null) throw versionNotFound(name, version);
    return this.write({ name, pre, actor, allowCreate: false, dryRun: options.dryRun ?? false }, () => contentOfVersion(target));
  }

  /** Soft delete: hidden from GET and lists, history kept, no new version. */
  delete(name: string, pre: Preconditions, actor: string): Promise<void> {
    return this.#queue.run(name, () => this.deleteNow(name, pre, actor));
  }

  undelete(name: string, pre: Preconditions, actor: string, options: WriteOptions = {}): Promise<ConfigRecord> {
    if (options.dryRun) return this.undeleteNow(name, pre, actor, true);
    return this.#queue.run(name, () => this.undeleteNow(name, pre, actor, false));
  }

  /**
   * The canonical form `config` would be stored as, its content hash and warnings, or the 422 a
   * write of it would get (unregistered classes, quantized ones without fromObserved).
   */
  async validate(config: ConvertCustomConfigDict): Promise<ValidatedConfig> {
    await this.validateClasses(config);
    const configJson = canonicalJson(config);
    return { configJson, contentHash: contentHash(configJson), warnings: convertWarnings(config) };
  }

  private async deleteNow(name: string, pre: Preconditions, actor: string): Promise<void> {
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const current = await this.store.getConfig(name);
      if (current === null || current.head.deleted) throw notFound(name);
      checkWritePreconditions(pre, current.head.latestVersion);
      const outcome = await this.store.setDeleted(name, {
        deleted: true,
        at: this.now(),
        by: actor,
        expectedLatest: current.head.latestVersion,
        classRefs: [],
      });
      if (outcome.ok) return;
      if (pre.ifMatch !== undefined) throw raced();
      await backOff(attempt);
    }
    throw contention(name);
  }

  private async undeleteNow(name: string, pre: Preconditions, actor: string, dryRun: boolean): Promise<ConfigRecord> {
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const current = await this.store.getConfig(name);
      if (current === null) throw notFound(name);
      checkWritePreconditions(pre, current.head.latestVersion);
      if (!current.head.deleted) {
        throw new ConflictError(`Config '${name}' is not deleted.`);
      }
      const config = parseStored(current.latest);
      const refs = await this.validateClasses(config);
      if (dryRun) return { head: { ...current.head, deleted: false, deletedAt: null }, latest: current.latest };
      const outcome = await this.store.setDeleted(name, {
        deleted: false,
        at: this.now(),
        by: actor,
        expectedLatest: current.head.latestVersion,
        classRefs: refs,
      });
      if (outcome.ok) return { head: outcome.head, latest: current.latest };
      if (outcome.reason === 'conflict' && pre.ifMatch !== undefined) throw raced();
      if (outcome.reason === 'conflict') await backOff(attempt);
    }
    throw contention(name);
  }

  async purge(name: string, actor: string): Promise<void> {
    if (!(await this.store.purge(name, { at: this.now(), by: actor }))) throw notFound(name);
  }

  async list(params: ListConfigsParams): Promise<Page<ConfigRecord>> {
    const labels = params.labels.map((raw) => {
      const colon = raw.indexOf(':');
      if (colon <= 0) {
        throw new InvalidError('The label filter is malformed.', [
          { parameter: 'label', detail: `'${raw}' is not of the form key:value` },
        ]);
      }
      return { key: raw.slice(0, colon), value: raw.slice(colon + 1) };
    });
    const fingerprint = JSON.stringify([
      'configs',
      params.prefix ?? null,
      [...params.labels].sort(),
      params.usesClass ?? null,
      params.showDeleted,
    ]);
    const after = this.pageTokens.cursor(params.pageToken, fingerprint);
    const rows = await this.store.listConfigs({
      ...(params.prefix === undefined ? {} : { prefix: params.prefix }),
      ...(params.usesClass === undefined ? {} : { usesClass: params.usesClass }),
      ...(after === undefined ? {} : { after: String(after) }),
      labels,
      showDeleted: params.showDeleted,
      limit: params.pageSize + 1,
    });
    return this.pageTokens.page(rows, params.pageSize, fingerprint, (last) => last.head.name);
  }

  async listVersions(name: string, pageSize: number, pageToken?: string): Promise<Page<VersionRecord>> {
    await this.liveHead(name);
    const fingerprint = JSON.stringify(['versions', name]);
    const before = this.pageTokens.cursor(pageToken, fingerprint);
    const rows = await this.store.listVersions(name, {
      ...(before === undefined ? {} : { before: Number(before) }),
      limit: pageSize + 1,
    });
    return this.pageTokens.page(rows, pageSize, fingerprint, (last) => last.version);
  }

  async getVersion(name: string, version: number): Promise<VersionRecord> {
    await this.liveHead(name);
    const record = await this.store.getVersion(name, version);
    if (record === null) throw versionNotFound(name, version);
    return record;
  }

  /** The version `version` of a live config, or its latest when `version` is undefined. */
  async getVersionOrLatest(name: string, version: number | undefined): Promise<VersionRecord> {
    if (version === undefined) return (await this.get(name)).latest;
    return this.getVersion(name, version);
  }

  async diff(name: string, from: number, to: number | undefined): Promise<{ from: number; to: number; changes: ConfigDiff }> {
    const head = await this.liveHead(name);
    const toVersion = to ?? head.latestVersion;
    const [a, b] = await Promise.all([this.store.getVersion(name, from), this.store.getVersion(name, toVersion)]);
    if (a === null) throw versionNotFound(name, from);
    if (b === null) throw versionNotFound(name, toVersion);
    return { from, to: toVersion, changes: diffConfigs(contentOfVersion(a), contentOfVersion(b)) };
  }

  async python(name: string, version: number | undefined): Promise<string> {
    return this.pythonOf(await this.getVersionOrLatest(name, version));
  }

  /** The runnable snippet that builds this version's ConvertCustomConfig. */
  pythonOf(record: VersionRecord): string {
    return renderPython(parseStored(record), { name: record.name, version: record.version });
  }

  warningsFor(record: VersionRecord): string[] {
    return convertWarnings(parseStored(record));
  }

  private async liveHead(name: string): Promise<ConfigHead> {
    const head = await this.store.getHead(name);
    if (head === null || head.deleted) throw notFound(name);
    return head;
  }

  /**
   * Every identifier must be registered, and every quantized class registered with
   * fromObserved: convert_fx calls `QuantizedClass.from_observed(observed)` on it.
   * Answers the class references to record for the version.
   */
  private async validateClasses(config: ConvertCustomConfigDict): Promise<ClassRef[]> {
    const references = classReferences(config);
    await this.checkReferences(references);
    return refsOf(references);
  }

  /** validateClasses for references already found: a 422 naming each unusable one. */
  private async checkReferences(references: ReturnType<typeof classReferences>): Promise<void> {
    const known = await this.store.getModuleClasses([...new Set(references.map((r) => r.id))]);
    const problems: FieldProblem[] = [];
    for (const ref of references) {
      const record = known.get(ref.id);
      if (record === undefined) {
        problems.push({ pointer: ref.pointer, detail: `'${ref.id}' is not a registered module class` });
        continue;
      }
      if (ref.role === 'quantized' && !record.fromObserved) {
        problems.push({
          pointer: ref.pointer,
          detail: `'${ref.id}' is not registered with fromObserved: true, so convert_fx could not call ${ref.id}.from_observed()`,
        });
      }
    }
    if (problems.length > 0) {
      throw new InvalidError('The config references module classes that cannot be used.', problems);
    }
  }

  private write(request: WriteRequest, build: (current: ConfigRecord | null) => ConfigContent): Promise<WriteResult> {
    // A dry run writes nothing, so it neither queues behind this process's writes nor races anyone:
    // one attempt on what is committed now answers it.
    if (request.dryRun) {
      return this.attemptWrite(request, build, false).then((result) => {
        if (result === 'retry') throw new Error('a dry run never appends, so it never loses a race');
        return result;
      });
    }
    return this.#queue.run(request.name, () => this.writeNow(request, build));
  }

  private async writeNow(request: WriteRequest, build: (current: ConfigRecord | null) => ConfigContent): Promise<WriteResult> {
    const first = await this.attemptWrite(request, build, false);
    if (first !== 'retry') return first;
    // Another writer moved the head first: another replica, since this process queues its own.
    // From here on this write holds the config's write lock, so the replica that keeps winning
    // (its queue sends write after write) cannot starve it.
    return this.store.writeExclusively(request.name, async () => {
      for (let attempt = 1; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
        const result = await this.attemptWrite(request, build, true);
        if (result !== 'retry') return result;
        await backOff(attempt);
      }
      throw contention(request.name);
    });
  }

  /** One read, build, validate and append; 'retry' when the head moved or a class changed meanwhile. */
  private async attemptWrite(
    { name, pre, actor, allowCreate, dryRun }: WriteRequest,
    build: (current: ConfigRecord | null) => ConfigContent,
    holdsWriteLock: boolean,
  ): Promise<WriteResult | 'retry'> {
    const current = await this.store.getConfig(name);
    if ((current === null || current.head.deleted) && !allowCreate) throw notFound(name);
    checkWritePreconditions(pre, current?.head.latestVersion ?? null);
    if (current?.head.deleted) {
      throw new ConflictError(
        `Config '${name}' is deleted; undelete it (POST /v1/configs/${name}/undelete) or purge it first.`,
      );
    }
    const content = build(current);
    const configJson = canonicalJson(content.config);
    const warnings = convertWarnings(content.config);
    if (current !== null && sameContent(current.latest, configJson, content)) {
      return { record: current, outcome: 'unchanged', warnings };
    }
    const references = classReferences(content.config);
    const classRefs = refsOf(references);
    // The same document names the same classes: no need to parse the previous one.
    const sameRefs =
      current !== null &&
      (current.latest.configJson === configJson || sameClassRefs(refsOf(classReferences(parseStored(current.latest))), classRefs));
    // Classes the latest version already names, in the same roles, need no lookup: the config's
    // class-reference rows keep them usable for as long as it is live (a class they name cannot be
    // deleted, nor lose fromObserved while one names it as quantized; module-classes.ts), and the
    // compare-and-set of the append proves that this version is still the latest when it commits.
    if (!sameRefs) await this.checkReferences(references);
    const changed = {
      labels: current === null || !sameLabels(current.latest.labels, content.labels),
      classRefs: !sameRefs,
    };
    const at = this.now();
    const version: VersionRecord = {
      name,
      version: (current?.head.latestVersion ?? 0) + 1,
      configJson,
      description: content.description,
      labels: content.labels,
      contentHash: contentHash(configJson),
      createdAt: at,
      updatedBy: actor,
    };
    if (dryRun) return { record: wouldAppend(current, version), outcome: current === null ? 'created' : 'updated', warnings };
    const outcome = await this.store.appendVersion({
      expectedLatest: current?.head.latestVersion ?? 0,
      version,
      classRefs,
      changed,
      holdsWriteLock,
    });
    if (outcome.ok) {
      return {
        record: { head: outcome.head, latest: version },
        outcome: current === null ? 'created' : 'updated',
        warnings,
      };
    }
    // A conditional writer asked for exactly the state it saw: someone else won the race.
    if (outcome.reason === 'conflict' && (pre.ifMatch !== undefined || pre.ifNoneMatch !== undefined)) {
      throw raced();
    }
    // Otherwise re-read and re-apply on top of the winner (or re-validate a vanished class).
    return 'retry';
  }
}

/** The record an append of `version` after `current` would answer (a dry run's reply). */
function wouldAppend(current: ConfigRecord | null, version: VersionRecord): ConfigRecord {
  const head: ConfigHead =
    current === null
      ? { name: version.name, latestVersion: 1, deleted: false, deletedAt: null, createdAt: version.createdAt, updatedAt: version.createdAt }
      : { ...current.head, latestVersion: version.version, updatedAt: version.createdAt };
  return { head, latest: version };
}

export function parseStored(record: VersionRecord): ConvertCustomConfigDict {
  return JSON.parse(record.configJson) as ConvertCustomConfigDict;
}

function contentOfVersion(record: VersionRecord): ConfigContent {
  return { config: parseStored(record), description: record.description, labels: record.labels };
}

function contentOf(record: ConfigRecord): ConfigContent {
  return contentOfVersion(record.latest);
}

function sameContent(latest: VersionRecord, configJson: string, content: ConfigContent): boolean {
  return (
    latest.configJson === configJson &&
    latest.description === content.description &&
    sameLabels(latest.labels, content.labels)
  );
}

/** The rows a version's class references become: one per class, quantized if it is one anywhere. */
function refsOf(references: ReturnType<typeof classReferences>): ClassRef[] {
  const refs = new Map<string, boolean>();
  for (const ref of references) refs.set(ref.id, (refs.get(ref.id) ?? false) || ref.role === 'quantized');
  return [...refs].map(([classId, asQuantized]) => ({ classId, asQuantized }));
}

function sameClassRefs(a: ClassRef[], b: ClassRef[]): boolean {
  if (a.length !== b.length) return false;
  const quantized = new Map(a.map((r) => [r.classId, r.asQuantized]));
  return b.every((r) => quantized.get(r.classId) === r.asQuantized);
}

/** Labels are a set of key/value pairs: their order carries no meaning. */
function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

/** The record of a config that is there and not deleted, else get()'s 404. */
function live(name: string, record: ConfigRecord | null): ConfigRecord {
  if (record === null || record.head.deleted) throw notFound(name);
  return record;
}

function notFound(name: string): NotFoundError {
  return new NotFoundError(`Config '${name}' does not exist.`);
}

function versionNotFound(name: string, version: number): NotFoundError {
  return new NotFoundError(`Config '${name}' has no version ${version}.`);
}

function raced(): PreconditionFailedError {
  return new PreconditionFailedError('The config was changed by another writer; re-read it and retry.');
}

function contention(name: string): ConflictError {
  return new ConflictError(`Config '${name}' is changing too fast to apply this write; retry.`);
}
