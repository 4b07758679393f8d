import {
  ConflictError,
  ForbiddenError,
  InvalidError,
  NotFoundError,
  PreconditionFailedError,
} from './errors.js';
import type { Page, PageTokens } from './page-token.js';
import { etagOf, ifMatchHolds, ifNoneMatchHolds, type Preconditions } from './preconditions.js';
import { backOff, MAX_WRITE_ATTEMPTS } from './retry.js';
import type { AliasMove, AliasRecord, AliasWriteOutcome, ConfigHead, ConfigRecord, RegistryStore, VersionRecord } from './store.js';

/** A config holds at most this many aliases (API.md, "Aliases"): the 33rd is a 409. */
export const MAX_ALIASES_PER_CONFIG = 32;

/** Always the newest version; never stored, so it cannot be set, moved or deleted. */
export const LATEST_ALIAS = 'latest';

/** Who writes an alias: the name recorded as movedBy, and whether they may touch protected aliases. */
export interface AliasCaller {
  actor: string;
  /** The admin role (or an open registry, where anyone may do anything). */
  admin: boolean;
}

export interface SetAliasInput {
  version: number;
  /** Left out: unchanged for an existing alias (false for a new one). */
  protected?: boolean;
}

export interface AliasWriteResult {
  record: AliasRecord;
  /** 'unchanged': already at that version and protection, so nothing moved. */
  outcome: 'created' | 'moved' | 'unchanged';
}

/** What a read by alias answers: the version the alias names, with the config's head. */
export interface AliasedVersion {
  record: ConfigRecord;
  /** `record.latest` is this version, which need not be the config's newest. */
  version: VersionRecord;
}

/**
 * Aliases: named pointers to versions, moved with compare-and-set on their `moves` count (the
 * ETag), so with If-Match exactly one of two racing movers wins. Versions never change, so a
 * pointer stays valid; rollback makes a version and never moves one. Every move is kept in the
 * alias's history, deletions included.
 */
export class AliasesService {
  constructor(
    private readonly store: RegistryStore,
    private readonly pageTokens: PageTokens,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async get(name: string, alias: string): Promise<AliasRecord> {
    await this.liveHead(name);
    const record = await this.store.getAlias(name, alias);
    if (record === null) throw aliasNotFound(name, alias);
    return record;
  }

  /** Every alias of a live config, by alias ascending (at most MAX_ALIASES_PER_CONFIG). */
  async list(name: string): Promise<AliasRecord[]> {
    await this.liveHead(name);
    return this.store.listAliases(name);
  }

  /** Every move, newest first; a deleted alias keeps its history (its last entry has version null). */
  async history(name: string, alias: string, pageSize: number, pageToken?: string): Promise<Page<AliasMove>> {
    await this.liveHead(name);
    const fingerprint = JSON.stringify(['alias-history', name, alias]);
    const before = this.pageTokens.cursor(pageToken, fingerprint);
    const rows = await this.store.listAliasHistory(name, alias, {
      ...(before === undefined ? {} : { before: Number(before) }),
      limit: pageSize + 1,
    });
    if (rows.length === 0 && before === undefined) throw aliasNotFound(name, alias);
    return this.pageTokens.page(rows, pageSize, fingerprint, (last) => last.seq);
  }

  /**
   * The version `alias` names (`latest`: the newest), for reads by alias. 404 unless the config is
   * live and has the alias; the problem names the alias.
   */
  async resolve(name: string, alias: string): Promise<AliasedVersion> {
    const current = await this.store.getConfig(name);
    if (current === null || current.head.deleted) throw configNotFound(name);
    if (alias === LATEST_ALIAS) return { record: current, version: current.latest };
    const pointer = await this.store.getAlias(name, alias);
    if (pointer === null) throw aliasNotFound(name, alias);
    if (pointer.version === current.latest.version) return { record: current, version: current.latest };
    const version = await this.store.getVersion(name, pointer.version);
    // The foreign key keeps the version while the alias exists; a purge in between takes both.
    if (version === null) throw aliasNotFound(name, alias);
    return { record: { head: current.head, latest: version }, version };
  }

  /**
   * Creates or moves the alias (If-Match / If-None-Match on its moves). A dry run answers exactly
   * this, and writes nothing: every check runs, the store's append does not.
   */
  async set(
    name: string,
    alias: string,
    input: SetAliasInput,
    pre: Preconditions,
    caller: AliasCaller,
    options: { dryRun?: boolean } = {},
  ): Promise<AliasWriteResult> {
    if (alias === LATEST_ALIAS) throw reserved('set');
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const head = await this.liveHead(name);
      const current = await this.store.getAlias(name, alias);
      const protect = input.protected ?? current?.protected ?? false;
      // Authorization comes before the preconditions (RFC 9110 §13.2.1: a request that would fail
      // anyway answers that failure, not 412).
      if (!caller.admin && (current?.protected === true || protect !== (current?.protected ?? false))) {
        throw protectedAlias(name, alias, current?.protected === true);
      }
      checkAliasPreconditions(pre, name, alias, current?.moves ?? null);
      // Versions are 1..latest without gaps: no read needed to know one exists.
      if (input.version > head.latestVersion) {
        throw new InvalidError(`Config '${name}' has no version ${input.version}.`, [
          { pointer: '/version', detail: `config '${name}' has versions 1 to ${head.latestVersion}` },
        ]);
      }
      if (current !== null && current.version === input.version && current.protected === protect) {
        return { record: current, outcome: 'unchanged' };
      }
      const at = this.now();
      if (options.dryRun) return this.wouldSet(name, alias, input.version, protect, current, at, caller.actor);
      const outcome = await this.store.setAlias({
        name,
        alias,
        version: input.version,
        protected: protect,
        expected: current === null ? null : { moves: current.moves, version: current.version },
        maxAliases: MAX_ALIASES_PER_CONFIG,
        at,
        by: caller.actor,
      });
      if (outcome.ok) return { record: outcome.record, outcome: current === null ? 'created' : 'moved' };
      this.refusal(outcome, name, input.version, pre);
      await backOff(attempt);
    }
    throw contention(name, alias);
  }

  async delete(name: string, alias: string, pre: Preconditions, caller: AliasCaller): Promise<void> {
    if (alias === LATEST_ALIAS) throw reserved('deleted');
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      await this.liveHead(name);
      const current = await this.store.getAlias(name, alias);
      if (current === null) throw aliasNotFound(name, alias);
      if (current.protected && !caller.admin) throw protectedAlias(name, alias, true);
      checkAliasPreconditions(pre, name, alias, current.moves);
      const outcome = await this.store.deleteAlias({ name, alias, expectedMoves: current.moves, at: this.now(), by: caller.actor });
      if (outcome.ok) return;
      this.refusal(outcome, name, current.version, pre);
      await backOff(attempt);
    }
    throw contention(name, alias);
  }

  /** What set() would store, read without writing: the count limit and the moves a new alias gets. */
  private async wouldSet(
    name: string,
    alias: string,
    version: number,
    protect: boolean,
    current: AliasRecord | null,
    at: Date,
    actor: string,
  ): Promise<AliasWriteResult> {
    let moves = (current?.moves ?? 0) + 1;
    if (current === null) {
      if ((await this.store.listAliases(name)).length >= MAX_ALIASES_PER_CONFIG) throw tooMany(name);
      const [last] = await this.store.listAliasHistory(name, alias, { limit: 1 });
      moves = (last?.moves ?? 0) + 1;
    }
    const record: AliasRecord = { name, alias, version, protected: protect, moves, updatedAt: at, updatedBy: actor };
    return { record, outcome: current === null ? 'created' : 'moved' };
  }

  /** Throws what a refused alias write answers; returns when it is worth retrying. */
  private refusal(outcome: AliasWriteOutcome & { ok: false }, name: string, version: number, pre: Preconditions): void {
    switch (outcome.reason) {
      case 'config-gone':
        throw configNotFound(name);
      case 'missing-version':
        throw new InvalidError(`Config '${name}' has no version ${version}.`, [
          { pointer: '/version', detail: `config '${name}' has no version ${version}` },
        ]);
      case 'too-many':
        throw tooMany(name);
      case 'conflict':
        // A conditional writer asked for exactly the state it saw: another writer won the race.
        if (pre.ifMatch !== undefined || pre.ifNoneMatch !== undefined) {
          throw new PreconditionFailedError('The alias was changed by another writer; re-read it and retry.');
        }
    }
  }

  private async liveHead(name: string): Promise<ConfigHead> {
    const head = await this.store.getHead(name);
    if (head === null || head.deleted) throw configNotFound(name);
    return head;
  }
}

/** RFC 9110 If-Match / If-None-Match on an alias, whose strong ETag is its moves (null: absent). */
function checkAliasPreconditions(pre: Preconditions, name: string, alias: string, moves: number | null): void {
  if (pre.ifMatch !== undefined && !ifMatchHolds(pre.ifMatch, moves)) {
    throw new PreconditionFailedError(
      moves === null
        ? `If-Match ${pre.ifMatch} does not hold: config '${name}' has no alias '${alias}'.`
        : `If-Match ${pre.ifMatch} does not hold: alias '${alias}' is at ${etagOf(moves)}.`,
    );
  }
  if (pre.ifNoneMatch !== undefined && !ifNoneMatchHolds(pre.ifNoneMatch, moves)) {
    throw new PreconditionFailedError(
      `If-None-Match ${pre.ifNoneMatch} does not hold: alias '${alias}' exists (${etagOf(moves ?? 0)}).`,
    );
  }
}

function configNotFound(name: string): NotFoundError {
  return new NotFoundError(`Config '${name}' does not exist.`);
}

function aliasNotFound(name: string, alias: string): NotFoundError {
  return new NotFoundError(
    alias === LATEST_ALIAS
      ? `'${LATEST_ALIAS}' is not a stored alias: it always means the newest version of '${name}'.`
      : `Config '${name}' has no alias '${alias}'.`,
  );
}

function reserved(what: 'set' | 'deleted'): InvalidError {
  return new InvalidError(`The alias '${LATEST_ALIAS}' is reserved and cannot be ${what}.`, [
    { parameter: 'alias', detail: `'${LATEST_ALIAS}' always means the newest version` },
  ]);
}

function protectedAlias(name: string, alias: string, isProtected: boolean): ForbiddenError {
  return new ForbiddenError(
    isProtected
      ? `Alias '${alias}' of '${name}' is protected: setting, moving or deleting it needs the admin role.`
      : `Protecting alias '${alias}' of '${name}' needs the admin role.`,
  );
}

function tooMany(name: string): ConflictError {
  return new ConflictError(
    `Config '${name}' already has ${MAX_ALIASES_PER_CONFIG} aliases, the most it may hold; delete one first.`,
  );
}

function contention(name: string, alias: string): ConflictError {
  return new ConflictError(`Alias '${alias}' of '${name}' is changing too fast to apply this write; retry.`);
}
