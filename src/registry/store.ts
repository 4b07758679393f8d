import type { Role } from './access.js';

/**
 * The storage port: what the registry needs from a database, in registry words. src/store
 * implements it with Prisma; the registry never sees SQL.
 */

export interface ModuleClassRecord {
  id: string;
  fromObserved: boolean;
  description: string;
  builtIn: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** The head row of a config: which version is current, and its deleted state. */
export interface ConfigHead {
  name: string;
  latestVersion: number;
  deleted: boolean;
  deletedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

/** An immutable version as stored; `configJson` is the canonical text in the client's key order. */
export interface VersionRecord {
  name: string;
  version: number;
  configJson: string;
  description: string;
  labels: Record<string, string>;
  contentHash: string;
  createdAt: Date;
  updatedBy: string;
}

export interface ConfigRecord {
  head: ConfigHead;
  latest: VersionRecord;
}

export interface ClassRef {
  classId: string;
  asQuantized: boolean;
}

/** A new version to append after `expectedLatest` (0: the config must not exist yet). */
export interface AppendVersion {
  expectedLatest: number;
  version: VersionRecord;
  classRefs: ClassRef[];
  /**
   * Whether the labels and the class references differ from those of version `expectedLatest`
   * (always true for a new config): unchanged ones keep their rows, which the compare-and-set on
   * the head proves current.
   */
  changed: { labels: boolean; classRefs: boolean };
  /** The caller runs inside writeExclusively for this config. */
  holdsWriteLock?: boolean;
}

export type AppendOutcome =
  /**
   * `rowVersion`: the head row's version after the write, where the store tells configs apart by
   * them (PostgreSQL, see the read cache), so that what was written can be served once confirmed.
   */
  | { ok: true; head: ConfigHead; rowVersion?: string }
  /** Someone else moved the head (or created the name) first. */
  | { ok: false; reason: 'conflict' }
  /** A referenced class disappeared, or lost fromObserved, between validation and commit. */
  | { ok: false; reason: 'missing-class' };

/** Soft delete or undelete of the config whose latest version is `expectedLatest`, by `by`. */
export interface DeletedChange {
  deleted: boolean;
  at: Date;
  by: string;
  expectedLatest: number;
  classRefs: ClassRef[];
}

export interface ModuleClassUpdate {
  fromObserved?: boolean;
  description?: string;
  updatedAt: Date;
  by: string;
}

export type ModuleClassUpdateOutcome = { ok: true; record: ModuleClassRecord } | { ok: false; blockedBy: string[] };

export interface ListConfigsQuery {
  prefix?: string;
  labels: Array<{ key: string; value: string }>;
  usesClass?: string;
  showDeleted: boolean;
  after?: string;
  limit: number;
}

/** An API token as stored: never the secret, only its SHA-256 (see tokens.ts). */
export interface TokenRecord {
  name: string;
  role: Role;
  /** Lowercase hex SHA-256 of the secret. */
  secretHash: string;
  createdAt: Date;
  createdBy: string;
}

export type RevokeOutcome = 'revoked' | 'not-found' | 'last-admin';

/** A named pointer to one version of one config; `moves` (its ETag) counts the times it was set. */
export interface AliasRecord {
  name: string;
  alias: string;
  version: number;
  protected: boolean;
  moves: number;
  updatedAt: Date;
  updatedBy: string;
}

/** One entry of an alias's history, newest first by `seq`; `version` null is a deletion. */
export interface AliasMove {
  seq: number;
  version: number | null;
  previousVersion: number | null;
  protected: boolean;
  /** The alias's moves after this entry (a deletion keeps the count). */
  moves: number;
  movedAt: Date;
  movedBy: string;
}

/**
 * Set an alias: create it (`expected` null: it must not exist) or move it from the state it was
 * read in (`expected`: compare-and-set on its moves). The new moves is the expected one plus one,
 * or, for a new alias, one more than its history last counted.
 */
export interface SetAlias {
  name: string;
  alias: string;
  version: number;
  protected: boolean;
  expected: { moves: number; version: number } | null;
  /** A config holds at most this many aliases: creating one more is refused, atomically. */
  maxAliases: number;
  at: Date;
  by: string;
}

export type AliasWriteOutcome =
  | { ok: true; record: AliasRecord }
  /** Someone else set or deleted the alias (or created it) first. */
  | { ok: false; reason: 'conflict' }
  /** The config was deleted or purged meanwhile. */
  | { ok: false; reason: 'config-gone' }
  /** The version does not exist (a purge and a new config of the same name came in between). */
  | { ok: false; reason: 'missing-version' }
  | { ok: false; reason: 'too-many' };

/** What a change is, in the feed (API.md, "Change feed and watching"). Tokens never appear. */
export type EventType =
  | 'config.version_created' | 'config.deleted' | 'config.undeleted' | 'config.purged'
  | 'alias.set' | 'alias.deleted'
  | 'module_class.created' | 'module_class.updated' | 'module_class.deleted';

export const EVENT_TYPES: readonly EventType[] = [
  'config.version_created', 'config.deleted', 'config.undeleted', 'config.purged',
  'alias.set', 'alias.deleted',
  'module_class.created', 'module_class.updated', 'module_class.deleted',
];

/**
 * One change, numbered by its registry-wide revision: 1, 2, 3, ... without gaps, in commit order.
 * `version` is the config version the change is about (the new one; for delete, undelete and
 * purge the latest; for alias.set the one the alias now names).
 */
export interface RegistryEvent {
  revision: number; type: EventType; at: Date; by: string;
  name?: string; version?: number; alias?: string; classId?: string;
}

/** An event a write appends in its own transaction; the store gives it the next revision. */
export type NewEvent = Omit<RegistryEvent, 'revision'>;

export interface ListEventsQuery { after: number; limit: number; names?: string[]; types?: EventType[] }

/** How much the registry holds, for the metrics gauges. */
export interface RegistryCounts {
  liveConfigs: number;
  deletedConfigs: number;
  versions: number;
  moduleClasses: number;
  tokens: number;
}

export interface RegistryStore {
  /**
   * A value that changes whenever another process commits to the database, read without a query;
   * undefined when the backend cannot tell (then every read must go to the database). This
   * process's own writes all go through this store and do not change it; a value is never reused
   * for a later state of the data.
   */
  commitStamp(): number | undefined;

  /** The HMAC key for page tokens, created once by a migration and shared by every replica. */
  pageTokenKey(): Promise<string>;

  getModuleClass(id: string): Promise<ModuleClassRecord | null>;
  getModuleClasses(ids: readonly string[]): Promise<Map<string, ModuleClassRecord>>;
  listModuleClasses(query: { prefix?: string; after?: string; limit: number }): Promise<ModuleClassRecord[]>;
  /**
   * false when the id exists already. Every write below that changes something appends its event
   * (`by` is who did it) in the same transaction; one that changes nothing appends none.
   */
  createModuleClass(record: ModuleClassRecord, by: string): Promise<boolean>;
  /**
   * Applies the update unless `fromObserved` is being turned off while a live config uses the
   * class as a quantized class (then answers the blocking configs), atomically. An update that
   * changes nothing leaves the row (and updatedAt) as it is.
   */
  updateModuleClass(id: string, update: ModuleClassUpdate): Promise<ModuleClassUpdateOutcome | null>;
  /** Deletes unless a live config references the class; answers those configs then. */
  deleteModuleClass(id: string, change: { at: Date; by: string }): Promise<{ ok: true } | { ok: false; blockedBy: string[] } | null>;
  /** Names of the live configs whose latest version references the class, ascending. */
  classReferences(id: string, query: { after?: string; limit: number }): Promise<string[]>;

  /**
   * The config with its latest version. A store that holds it as current without reading the
   * database (a cache whose commit stamp still holds) may answer at once, without a promise: the
   * hottest read of all is then answered synchronously.
   */
  getConfig(name: string): ConfigRecord | null | Promise<ConfigRecord | null>;
  getHead(name: string): Promise<ConfigHead | null>;
  getVersion(name: string, version: number): Promise<VersionRecord | null>;
  /** Newest first; `before` is the version to continue below. */
  listVersions(name: string, query: { before?: number; limit: number }): Promise<VersionRecord[]>;
  listConfigs(query: ListConfigsQuery): Promise<ConfigRecord[]>;
  /**
   * Appends unless the head moved (compare-and-set); waits while another process writes
   * exclusively. Appends to different configs that are under way together may commit in one
   * transaction (group commit); each is still answered only once it is committed.
   */
  appendVersion(append: AppendVersion): Promise<AppendOutcome>;
  /** How this process's appends were grouped so far, for the metrics. */
  appendGroups(): { groups: number; appends: number };
  /**
   * Runs `work` as the only writer of the config `name` across every process sharing the
   * database: appends and deleted-state changes by others wait until it returns. For a writer
   * that lost the compare-and-set, so that it cannot lose forever.
   */
  writeExclusively<T>(name: string, work: () => Promise<T>): Promise<T>;
  /** Soft delete / undelete: only the deleted state changes (class references follow liveness). */
  setDeleted(name: string, change: DeletedChange): Promise<AppendOutcome>;
  /** Erases the config and its whole history; its events stay, and config.purged joins them. */
  purge(name: string, change: { at: Date; by: string }): Promise<boolean>;
  ping(): Promise<void>;

  /** false when the name is taken. */
  createToken(record: TokenRecord): Promise<boolean>;
  /** By name ascending, after `after`. */
  listTokens(query: { after?: string; limit: number }): Promise<TokenRecord[]>;
  findTokenBySecretHash(secretHash: string): Promise<TokenRecord | null>;
  /** Deletes the token; with `keepAnAdmin`, refuses ('last-admin') to delete the only admin token. */
  revokeToken(name: string, options: { keepAnAdmin: boolean }): Promise<RevokeOutcome>;
  countTokens(): Promise<{ total: number; admins: number }>;

  counts(): Promise<RegistryCounts>;

  /** Matching events with revision > after, ascending, at most limit, and lastRevision: the newest
   *  revision this answer accounts for (the last item's when the limit cut it short, else the newest
   *  committed revision in the same snapshot). */
  listEvents(query: ListEventsQuery): Promise<{ items: RegistryEvent[]; lastRevision: number }>;
  /** The newest committed revision (0 when none). */
  lastRevision(): Promise<number>;

  getAlias(name: string, alias: string): Promise<AliasRecord | null>;
  /** All aliases of a config, by alias ascending. */
  listAliases(name: string): Promise<AliasRecord[]>;
  /** Newest first; `before` is the seq to continue below. */
  listAliasHistory(name: string, alias: string, query: { before?: number; limit: number }): Promise<AliasMove[]>;
  /**
   * Sets or moves the alias, records the move and appends alias.set, in one transaction that holds
   * the config's row lock (so the count of aliases cannot be raced past maxAliases) and fails when
   * the config is no longer live.
   */
  setAlias(change: SetAlias): Promise<AliasWriteOutcome>;
  /** Deletes the alias if its moves are still `expectedMoves`, records it, appends alias.deleted. */
  deleteAlias(change: { name: string; alias: string; expectedMoves: number; at: Date; by: string }): Promise<AliasWriteOutcome>;
}
