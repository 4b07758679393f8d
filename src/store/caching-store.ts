import { LRUCache } from 'lru-cache';
import type {
  AliasMove,
  AliasRecord,
  AliasWriteOutcome,
  AppendOutcome,
  AppendVersion,
  ConfigHead,
  ConfigRecord,
  DeletedChange,
  ListConfigsQuery,
  ListEventsQuery,
  ModuleClassRecord,
  ModuleClassUpdate,
  ModuleClassUpdateOutcome,
  RegistryCounts,
  RegistryEvent,
  RegistryStore,
  RevokeOutcome,
  SetAlias,
  TokenRecord,
  VersionRecord,
} from '../registry/store.js';
import { TurnBatchedLookup } from './turn-batched-lookup.js';

/**
 * Bytes of configs (their JSON, about three times over: the stored text, the record, a rendered
 * body) a process keeps. A config is typically 1-4 KiB, so this holds the working set of thousands
 * of configs while keeping the process well under the 200 MB the benchmark sets.
 */
export const CONFIG_CACHE_BYTES = 16 * 1024 * 1024;
const CLASS_CACHE_ENTRIES = 10_000;
const TOKEN_CACHE_ENTRIES = 1_000;

/** Taken before reading the database: what `keep` needs to tell whether the read is still current. */
interface Ticket {
  stamp: number | undefined;
  clock: number;
}

/** A kept value, with what tells whether it is still current. */
interface Entry<V> {
  value: V;
  /** The commit stamp it was read under (SQLite); served at once while the stamp holds. */
  stamp: number | undefined;
  /** The row version it was read at (PostgreSQL, see RowVersions); null: there was no row. */
  rowVersion?: string | null;
}

/**
 * How a store without a commit stamp (PostgreSQL) tells that a kept config is still current: by
 * the version of its head row, which changes with every write to the config (see ROW_VERSION in
 * config-statements.ts).
 */
export interface RowVersions {
  /** The config (null: none by that name) and its head's row version (null: no row). */
  readConfigWithRowVersion(name: string): Promise<{ record: ConfigRecord | null; rowVersion: string | null }>;
  /** The row versions of these configs' heads, read by one statement; a name without a row is absent. */
  rowVersions(names: readonly string[]): Promise<Map<string, string>>;
}

/**
 * Row-version probes out at once per process. One: every read that arrives while a probe is out
 * shares the next one, so a busy replica sends one small statement per round trip rather than one
 * per read (measured in BENCHMARKS.md).
 */
const PROBES_IN_FLIGHT = 1;

/**
 * Results of reads, each kept with the commit stamp (RegistryStore.commitStamp) it was read
 * under and served only while the stamp is unchanged, i.e. while no other process has committed
 * anything. This process's own writes do not change the stamp; they invalidate what they touch
 * (before and after the write), and a read that began before an invalidation of its key is not
 * kept. When the store cannot give a stamp (PostgreSQL, or SQLite while a transaction is open)
 * nothing is served at once; values kept with a row version (PostgreSQL's configs) are handed
 * out by `held`, for the caller to check against the database first.
 */
class FreshCache<V> {
  readonly #entries: LRUCache<string, Entry<V>>;
  /** Counts invalidations; a ticket remembers the count when it was taken. */
  #clock = 0;
  /** The clock at the last invalidation of each key, while tickets older than it may be around. */
  readonly #invalidatedAt = new Map<string, number>();
  /** Tickets older than this are refused whatever their key (set when #invalidatedAt is emptied). */
  #floor = 0;

  constructor(
    readonly stamp: () => number | undefined,
    options: { max: number } | { maxSize: number; sizeOf: (value: V) => number },
  ) {
    this.#entries =
      'max' in options
        ? new LRUCache({ max: options.max })
        : new LRUCache({
            maxSize: options.maxSize,
            sizeCalculation: (entry: Entry<V>) => Math.max(1, options.sizeOf(entry.value)),
          });
  }

  /**
   * The kept value, if it is still current; `undefined` when the database must be read. A caller
   * looking up several keys at once passes the stamp it read once for all of them.
   */
  get(key: string, stamp: number | undefined = this.stamp()): { value: V } | undefined {
    const entry = this.#entries.get(key);
    return entry !== undefined && stamp !== undefined && entry.stamp === stamp ? entry : undefined;
  }

  /** The kept entry that carries a row version, whatever the stamp: to be checked before it is served. */
  held(key: string): (Entry<V> & { rowVersion: string | null }) | undefined {
    const entry = this.#entries.get(key);
    return entry?.rowVersion === undefined ? undefined : (entry as Entry<V> & { rowVersion: string | null });
  }

  /**
   * For a read about to go to the database. The stamp may be one read a moment earlier: a commit
   * in between only makes the kept value carry an older stamp, under which it is never served.
   */
  ticket(stamp: number | undefined = this.stamp()): Ticket {
    return { stamp, clock: this.#clock };
  }

  /**
   * The kept value of `key` if current, at once; else what `load` reads (kept for the next time).
   * One stamp read either way.
   */
  read(key: string, load: () => Promise<V>): V | Promise<V> {
    const stamp = this.stamp();
    const kept = this.get(key, stamp);
    if (kept !== undefined) return kept.value;
    const ticket = this.ticket(stamp);
    return load().then((value) => {
      this.keep(key, value, ticket);
      return value;
    });
  }

  /**
   * Keeps what a read that began at `ticket` found (at `rowVersion`, where the store has them),
   * unless `key` was invalidated since, or nothing could ever tell it current.
   */
  keep(key: string, value: V, ticket: Ticket, rowVersion?: string | null): void {
    if (ticket.stamp === undefined && rowVersion === undefined) return;
    if (ticket.clock < this.#floor) return;
    if ((this.#invalidatedAt.get(key) ?? 0) > ticket.clock) return;
    this.#entries.set(key, { value, stamp: ticket.stamp, ...(rowVersion === undefined ? {} : { rowVersion }) });
  }

  /**
   * Keeps what this process has just written, valid while the stamp is still `stamp` (taken before
   * the write), or, where the store has row versions, as of `rowVersion` (served once confirmed).
   */
  written(key: string, value: V, stamp: number | undefined, rowVersion?: string): void {
    this.invalidate(key);
    if (stamp !== undefined || rowVersion !== undefined) {
      this.#entries.set(key, { value, stamp, ...(rowVersion === undefined ? {} : { rowVersion }) });
    }
  }

  invalidate(key: string): void {
    this.#clock++;
    this.#entries.delete(key);
    this.#invalidatedAt.set(key, this.#clock);
    if (this.#invalidatedAt.size > 10_000) this.invalidateAll();
  }

  invalidateAll(): void {
    this.#clock++;
    this.#floor = this.#clock;
    this.#invalidatedAt.clear();
    this.#entries.clear();
  }
}

/**
 * The store with the reads that every request makes (a config, the classes a write names, the
 * caller's token) answered from memory while nothing has changed. Without it a GET costs a database
 * round trip; with it, on SQLite, one read of the WAL index's header (see wal-index.ts and
 * SerialConnection in database.ts). The cache never serves a stale version: another replica's
 * commit changes the stamp, and this process's own writes all pass through here.
 *
 * On PostgreSQL nothing in this process can see another replica's commit, so a kept config is
 * served only after the database confirmed it: each read asks for the row version of the
 * config's head, the reads waiting in one event-loop turn all in one statement
 * (TurnBatchedLookup), sent after every one of them began. An unchanged row version means the kept
 * config is the current one, and it is served from memory (no version row fetched, no rendering:
 * the rendered body is kept with the record); a changed or missing one, and the config is read
 * again. So a read that starts after any replica's write was acknowledged returns that write or a
 * later one, and when the probe fails (the database is away) the read fails with it (503), never
 * falling back on what it holds.
 *
 * A change feed's LISTEN connection could later shorten this, not replace it: notifications are
 * lost while that connection is down, and one that was sent may not have arrived yet when a read
 * starts, so a read still needs one round trip begun after it. With a live listener that round
 * trip could be a `SELECT 1` on the listening connection shared by the turn's reads, entries
 * dropped by the notifications that arrive before it answers, so a turn sends no names at all;
 * that holds only if PostgreSQL delivers a notification of a commit acknowledged before the
 * barrier's query arrived no later than that query's answer (it queues notifications at commit
 * and a backend sends pending ones before it reports ready for the next query), which its tests
 * would have to prove. The probe would remain as the fallback while the listener reconnects, and
 * everything held would have to be checked by it once after a reconnect.
 */
export class CachingRegistryStore implements RegistryStore {
  readonly #configs: FreshCache<ConfigRecord | null>;
  readonly #classes: FreshCache<ModuleClassRecord | null>;
  readonly #tokens: FreshCache<TokenRecord | null>;
  /** PostgreSQL: the batched probe of head row versions, and where to read a config with its own. */
  readonly #probe: { rowVersions: RowVersions; lookup: TurnBatchedLookup<string> } | undefined;

  constructor(
    private readonly inner: RegistryStore,
    rowVersions?: RowVersions,
  ) {
    this.#probe =
      rowVersions === undefined
        ? undefined
        : { rowVersions, lookup: new TurnBatchedLookup((names) => rowVersions.rowVersions(names), PROBES_IN_FLIGHT) };
    const stamp = () => inner.commitStamp();
    this.#configs = new FreshCache(stamp, {
      maxSize: CONFIG_CACHE_BYTES,
      sizeOf: (record) => (record === null ? 64 : 3 * record.latest.configJson.length + 1024),
    });
    this.#classes = new FreshCache(stamp, { max: CLASS_CACHE_ENTRIES });
    this.#tokens = new FreshCache(stamp, { max: TOKEN_CACHE_ENTRIES });
  }

  commitStamp(): number | undefined {
    return this.inner.commitStamp();
  }

  pageTokenKey(): Promise<string> {
    return this.inner.pageTokenKey();
  }

  async getModuleClass(id: string): Promise<ModuleClassRecord | null> {
    return (await this.getModuleClasses([id])).get(id) ?? null;
  }

  async getModuleClasses(ids: readonly string[]): Promise<Map<string, ModuleClassRecord>> {
    const found = new Map<string, ModuleClassRecord>();
    const missing: string[] = [];
    const stamp = this.#classes.stamp();
    for (const id of ids) {
      const kept = this.#classes.get(id, stamp);
      if (kept === undefined) missing.push(id);
      else if (kept.value !== null) found.set(id, kept.value);
    }
    if (missing.length === 0) return found;
    const ticket = this.#classes.ticket(stamp);
    const read = await this.inner.getModuleClasses(missing);
    for (const id of missing) {
      const record = read.get(id) ?? null;
      this.#classes.keep(id, record, ticket);
      if (record !== null) found.set(id, record);
    }
    return found;
  }

  listModuleClasses(query: { prefix?: string; after?: string; limit: number }): Promise<ModuleClassRecord[]> {
    return this.inner.listModuleClasses(query);
  }

  createModuleClass(record: ModuleClassRecord, by: string): Promise<boolean> {
    return this.writing(this.#classes, record.id, () => this.inner.createModuleClass(record, by));
  }

  updateModuleClass(id: string, update: ModuleClassUpdate): Promise<ModuleClassUpdateOutcome | null> {
    return this.writing(this.#classes, id, () => this.inner.updateModuleClass(id, update));
  }

  deleteModuleClass(id: string, change: { at: Date; by: string }): Promise<{ ok: true } | { ok: false; blockedBy: string[] } | null> {
    return this.writing(this.#classes, id, () => this.inner.deleteModuleClass(id, change));
  }

  classReferences(id: string, query: { after?: string; limit: number }): Promise<string[]> {
    return this.inner.classReferences(id, query);
  }

  /**
   * At once (no promise) when the kept record is current by the commit stamp: the hot path of a
   * cached GET on SQLite. On PostgreSQL after the probe (see the class comment).
   */
  getConfig(name: string): ConfigRecord | null | Promise<ConfigRecord | null> {
    if (this.#probe !== undefined) return this.getConfirmedConfig(name, this.#probe);
    return this.#configs.read(name, async () => this.inner.getConfig(name));
  }

  private async getConfirmedConfig(
    name: string,
    probe: { rowVersions: RowVersions; lookup: TurnBatchedLookup<string> },
  ): Promise<ConfigRecord | null> {
    if (this.#configs.held(name) !== undefined) {
      const now = (await probe.lookup.get(name)) ?? null;
      // What is held now, which may have changed while the probe was out: it is current if it is
      // what the database had when the probe ran, a moment after this read began.
      const held = this.#configs.held(name);
      if (held !== undefined && held.rowVersion === now) return held.value;
    }
    const ticket = this.#configs.ticket();
    const { record, rowVersion } = await probe.rowVersions.readConfigWithRowVersion(name);
    this.#configs.keep(name, record, ticket, rowVersion);
    return record;
  }

  async getHead(name: string): Promise<ConfigHead | null> {
    const kept = this.#configs.get(name);
    if (kept !== undefined) return kept.value?.head ?? null;
    return this.inner.getHead(name);
  }

  getVersion(name: string, version: number): Promise<VersionRecord | null> {
    return this.inner.getVersion(name, version);
  }

  listVersions(name: string, query: { before?: number; limit: number }): Promise<VersionRecord[]> {
    return this.inner.listVersions(name, query);
  }

  listConfigs(query: ListConfigsQuery): Promise<ConfigRecord[]> {
    return this.inner.listConfigs(query);
  }

  async appendVersion(append: AppendVersion): Promise<AppendOutcome> {
    const { name } = append.version;
    const stamp = this.inner.commitStamp();
    const outcome = await this.writing(this.#configs, name, () => this.inner.appendVersion(append));
    // Nothing else committed since `stamp` was read (else the entry is never served), and the
    // compare-and-set proves this version followed the one the writer read: it is the config now.
    // On PostgreSQL it is kept under the head's new row version, so the next read (the next write
    // of the config, above all) is answered after the shared probe instead of reading it again.
    if (outcome.ok) this.#configs.written(name, { head: outcome.head, latest: append.version }, stamp, outcome.rowVersion);
    return outcome;
  }

  appendGroups(): { groups: number; appends: number } {
    return this.inner.appendGroups();
  }

  writeExclusively<T>(name: string, work: () => Promise<T>): Promise<T> {
    return this.inner.writeExclusively(name, work);
  }

  setDeleted(name: string, change: DeletedChange): Promise<AppendOutcome> {
    return this.writing(this.#configs, name, () => this.inner.setDeleted(name, change));
  }

  purge(name: string, change: { at: Date; by: string }): Promise<boolean> {
    return this.writing(this.#configs, name, () => this.inner.purge(name, change));
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }

  createToken(record: TokenRecord): Promise<boolean> {
    return this.writingTokens(() => this.inner.createToken(record));
  }

  listTokens(query: { after?: string; limit: number }): Promise<TokenRecord[]> {
    return this.inner.listTokens(query);
  }

  findTokenBySecretHash(secretHash: string): Promise<TokenRecord | null> {
    return Promise.resolve(this.#tokens.read(secretHash, () => this.inner.findTokenBySecretHash(secretHash)));
  }

  revokeToken(name: string, options: { keepAnAdmin: boolean }): Promise<RevokeOutcome> {
    return this.writingTokens(() => this.inner.revokeToken(name, options));
  }

  countTokens(): Promise<{ total: number; admins: number }> {
    return this.inner.countTokens();
  }

  counts(): Promise<RegistryCounts> {
    return this.inner.counts();
  }

  /** The feed is never cached: a consumer asks for it precisely because something changed. */
  listEvents(query: ListEventsQuery): Promise<{ items: RegistryEvent[]; lastRevision: number }> {
    return this.inner.listEvents(query);
  }

  lastRevision(): Promise<number> {
    return this.inner.lastRevision();
  }

  // Aliases are read from the database every time: a reader by alias wants the move that was just
  // made, and an alias write changes no config record that is kept here.
  getAlias(name: string, alias: string): Promise<AliasRecord | null> {
    return this.inner.getAlias(name, alias);
  }

  listAliases(name: string): Promise<AliasRecord[]> {
    return this.inner.listAliases(name);
  }

  listAliasHistory(name: string, alias: string, query: { before?: number; limit: number }): Promise<AliasMove[]> {
    return this.inner.listAliasHistory(name, alias, query);
  }

  setAlias(change: SetAlias): Promise<AliasWriteOutcome> {
    return this.inner.setAlias(change);
  }

  deleteAlias(change: { name: string; alias: string; expectedMoves: number; at: Date; by: string }): Promise<AliasWriteOutcome> {
    return this.inner.deleteAlias(change);
  }

  /**
   * A write of `key`: what is kept of it goes before (so nothing read during the write is served)
   * and after (so nothing read before the commit is kept), whatever the outcome.
   */
  private async writing<V, T>(cache: FreshCache<V>, key: string, write: () => Promise<T>): Promise<T> {
    cache.invalidate(key);
    try {
      return await write();
    } finally {
      cache.invalidate(key);
    }
  }

  /** Tokens are kept by secret hash and revoked by name: any token change forgets them all. */
  private async writingTokens<T>(write: () => Promise<T>): Promise<T> {
    this.#tokens.invalidateAll();
    try {
      return await write();
    } finally {
      this.#tokens.invalidateAll();
    }
  }
}
