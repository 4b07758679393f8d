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
  stamp: number;
  clock: number;
}

/**
 * Results of reads, each kept with the commit stamp (RegistryStore.commitStamp) it was read
 * under and served only while the stamp is unchanged, i.e. while no other process has committed
 * anything. This process's own writes do not change the stamp; they invalidate what they touch
 * (before and after the write), and a read that began before an invalidation of its key is not
 * kept. When the store cannot give a stamp (PostgreSQL, or SQLite while a transaction is open)
 * nothing is served from here and every read goes to the database.
 */
class FreshCache<V> {
  readonly #entries: LRUCache<string, { value: V; stamp: number }>;
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
            sizeCalculation: (entry: { value: V; stamp: number }) => Math.max(1, options.sizeOf(entry.value)),
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

  /**
   * For a read about to go to the database. The stamp may be one read a moment earlier: a commit
   * in between only makes the kept value carry an older stamp, under which it is never served.
   */
  ticket(stamp: number | undefined = this.stamp()): Ticket | undefined {
    return stamp === undefined ? undefined : { stamp, clock: this.#clock };
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

  /** Keeps what a read that began at `ticket` found, unless `key` was invalidated since. */
  keep(key: string, value: V, ticket: Ticket | undefined): void {
    if (ticket === undefined || ticket.clock < this.#floor) return;
    if ((this.#invalidatedAt.get(key) ?? 0) > ticket.clock) return;
    this.#entries.set(key, { value, stamp: ticket.stamp });
  }

  /** Keeps what this process has just written, valid while the stamp is still `stamp` (taken before the write). */
  written(key: string, value: V, stamp: number | undefined): void {
    this.invalidate(key);
    if (stamp !== undefined) this.#entries.set(key, { value, stamp });
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
 */
export class CachingRegistryStore implements RegistryStore {
  readonly #configs: FreshCache<ConfigRecord | null>;
  readonly #classes: FreshCache<ModuleClassRecord | null>;
  readonly #tokens: FreshCache<TokenRecord | null>;

  constructor(private readonly inner: RegistryStore) {
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

  /** At once (no promise) when the kept record is current: the hot path of a cached GET. */
  getConfig(name: string): ConfigRecord | null | Promise<ConfigRecord | null> {
    return this.#configs.read(name, async () => this.inner.getConfig(name));
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
    if (outcome.ok) this.#configs.written(name, { head: outcome.head, latest: append.version }, stamp);
    return outcome;
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
