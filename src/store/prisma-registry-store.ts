import { isRole } from '../registry/access.js';
import { UnavailableError } from '../registry/errors.js';
import type {
  AppendOutcome,
  AppendVersion,
  ClassRef,
  ConfigHead,
  ConfigRecord,
  ListConfigsQuery,
  ModuleClassRecord,
  RegistryCounts,
  RegistryStore,
  RevokeOutcome,
  TokenRecord,
  VersionRecord,
} from '../registry/store.js';
import type { PrismaClient } from '../generated/sqlite/client.js';
import { CachingRegistryStore, type RowVersions } from './caching-store.js';
import type { Database, DatabaseKind } from './database.js';
import {
  CREATE_HEAD,
  DELETE_CLASS_REFS,
  DELETE_LABELS,
  GET_CONFIG,
  GET_CONFIG_WITH_ROW_VERSION_PG,
  INSERT_VERSION,
  insertClassRefs,
  insertLabels,
  listConfigsStatement,
  LOCK_CLASSES_PG,
  MOVE_HEAD,
  prefixEnd,
  ROW_VERSIONS_PG,
  selectClasses,
  toRecord,
  WAIT_FOR_EXCLUSIVE_WRITER,
} from './config-statements.js';
import { asBoolean, asDate, type DriverSql, type SqlRunner } from './driver-sql.js';
import type { HeldConnection } from './held-connection.js';

type Tx = Parameters<Parameters<PrismaClient['$transaction']>[0]>[0];

interface ConfigRow {
  name: string;
  latestVersion: number;
  deleted: boolean;
  deletedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

interface VersionRow {
  configName: string;
  version: number;
  configJson: string;
  description: string;
  labelsJson: string;
  contentHash: string;
  createdAt: Date;
  updatedBy: string;
}

/**
 * The first key of the PostgreSQL advisory locks that order writers of one config (the second is
 * hashtext(name)). Two-key advisory locks never collide with single-key ones such as Prisma
 * Migrate's.
 */
const CONFIG_WRITE_LOCK = 0x63636672;

/** Thrown inside a transaction to roll it back when the compare-and-set on the head fails. */
class HeadMoved extends Error {}

/** Thrown inside a transaction when a class the version names is gone or no longer fromObserved. */
class ClassesChanged extends Error {}

/** Thrown inside a class update to roll it back when live configs block it. */
class Blocked extends Error {
  constructor(readonly blockedBy: string[]) {
    super('blocked');
  }
}

/** Ids starting with `prefix`, as a range (see prefixEnd). */
function prefixRange(prefix: string | undefined): { gte?: string; lt?: string } {
  return prefix === undefined ? {} : { gte: prefix, lt: prefixEnd(prefix) };
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Errors that mean "the database cannot answer now" rather than "this request is wrong", as the
 * Prisma client surfaces them with driver adapters (checked against real failures in
 * test/robustness/outage.test.ts):
 * - known request errors whose code Prisma derived from the adapter's error kind: P1001
 *   DatabaseNotReachable (ECONNREFUSED), P1008 SocketTimeout, P1017 ConnectionClosed (ECONNRESET),
 *   P2028 transaction API (no connection within maxWait, transaction timed out), P2034
 *   TransactionWriteConflict (serialization failure or deadlock: retrying is the cure), P2037
 *   TooManyConnections; the raw adapter error is in `meta.driverAdapterError.cause`;
 * - PostgreSQL SQLSTATEs passed through as kind "postgres": class 08 (connection exception),
 *   57014 (statement timeout), 57P01-57P05 (server shutting down, idle-session timeouts), 53xxx
 *   (insufficient resources), 40001/40P01;
 * - errors pg raises without any code, which the adapter rethrows unchanged and Prisma wraps
 *   with their message: "Connection terminated unexpectedly" (socket closed mid-query),
 *   "Query read timeout" (query_timeout), "timeout exceeded when trying to connect";
 * - SQLite busy (another process holds the write lock longer than busy_timeout).
 */
const UNAVAILABLE_CODES = /^(P1001|P1002|P1008|P1017|P2024|P2028|P2034|P2037|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|08[0-9A-Z]{3}|57014|57P0[1-5]|53[0-9A-Z]{3}|40001|40P01|SQLITE_BUSY)/;
const UNAVAILABLE_KINDS = /^(DatabaseNotReachable|ConnectionClosed|SocketTimeout|TooManyConnections|TransactionAlreadyClosed|TransactionWriteConflict|SocketError)$/;
const UNAVAILABLE_MESSAGES =
  /ECONNREFUSED|ECONNRESET|Connection terminated|connect ETIMEDOUT|Query read timeout|timeout exceeded when trying to connect|Can't reach database|Server has closed the connection|terminating connection|canceling statement due to statement timeout|database is locked|Transaction already closed|Unable to start a transaction/i;

function isUnavailable(error: unknown): boolean {
  const adapterError = (error as { meta?: { driverAdapterError?: { cause?: unknown } } } | null)?.meta?.driverAdapterError?.cause;
  const candidates = [error, (error as { cause?: unknown } | null)?.cause, adapterError];
  for (const candidate of candidates) {
    if (typeof candidate !== 'object' || candidate === null) continue;
    const { code, originalCode, kind } = candidate as { code?: unknown; originalCode?: unknown; kind?: unknown };
    for (const c of [code, originalCode]) if (typeof c === 'string' && UNAVAILABLE_CODES.test(c)) return true;
    if (typeof kind === 'string' && UNAVAILABLE_KINDS.test(kind)) return true;
  }
  return UNAVAILABLE_MESSAGES.test(error instanceof Error ? error.message : '');
}

interface TokenRow {
  name: string;
  role: string;
  secretHash: string;
  createdAt: Date;
  createdBy: string;
}

function toToken(row: TokenRow): TokenRecord {
  // The column is plain text (Prisma's schema cannot declare a CHECK); only our code writes it.
  if (!isRole(row.role)) throw new Error(`api_token '${row.name}' has an unknown role`);
  return { name: row.name, role: row.role, secretHash: row.secretHash, createdAt: row.createdAt, createdBy: row.createdBy };
}

function toHead(row: ConfigRow): ConfigHead {
  return {
    name: row.name,
    latestVersion: row.latestVersion,
    deleted: row.deleted,
    deletedAt: row.deletedAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function toVersion(row: VersionRow): VersionRecord {
  return {
    name: row.configName,
    version: row.version,
    configJson: row.configJson,
    description: row.description,
    labels: JSON.parse(row.labelsJson) as Record<string, string>,
    contentHash: row.contentHash,
    createdAt: row.createdAt,
    updatedBy: row.updatedBy,
  };
}

/**
 * The registry's storage port on Prisma, the same code for SQLite and PostgreSQL; on PostgreSQL
 * also the row versions the read cache checks its configs by.
 */
export class PrismaRegistryStore implements RegistryStore, RowVersions {
  private readonly prisma: PrismaClient;
  /** Row locks are spelled differently per backend (see lockClasses). */
  private readonly kind: DatabaseKind;
  /** The hot statements: a config read, an append, a page of configs (see driver-sql.ts). */
  private readonly sql: DriverSql;
  readonly commitStamp: () => number | undefined;
  /** PostgreSQL: where the row versions are probed (see rowVersions). */
  private readonly held: HeldConnection | undefined;

  constructor(database: Pick<Database, 'prisma' | 'kind' | 'sql' | 'commitStamp'> & Partial<Pick<Database, 'held'>>) {
    this.prisma = database.prisma;
    this.kind = database.kind;
    this.sql = database.sql;
    this.commitStamp = database.commitStamp;
    this.held = database.held;
  }

  /** Runs a store operation, turning connection failures into the registry's UnavailableError. */
  private async run<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      if (isUnavailable(error)) {
        throw new UnavailableError('The database is unavailable; retry shortly.', { cause: error });
      }
      throw error;
    }
  }

  /** Runs an insert; false when its key is taken (a unique violation). */
  private insertUnlessTaken(insert: () => Promise<unknown>): Promise<boolean> {
    return this.run(async () => {
      try {
        await insert();
        return true;
      } catch (error) {
        if (errorCode(error) === 'P2002') return false;
        throw error;
      }
    });
  }

  pageTokenKey(): Promise<string> {
    return this.run(async () => {
      const row = await this.prisma.registryMeta.findUnique({ where: { key: 'page_token_key' } });
      if (row === null) throw new Error('registry_meta.page_token_key is missing: were the migrations applied?');
      return row.value;
    });
  }

  getModuleClass(id: string): Promise<ModuleClassRecord | null> {
    return this.run(() => this.prisma.moduleClass.findUnique({ where: { id } }));
  }

  getModuleClasses(ids: readonly string[]): Promise<Map<string, ModuleClassRecord>> {
    return this.run(async () => {
      if (ids.length === 0) return new Map();
      const rows = await this.prisma.moduleClass.findMany({ where: { id: { in: [...ids] } } });
      return new Map(rows.map((r) => [r.id, r]));
    });
  }

  listModuleClasses(query: { prefix?: string; after?: string; limit: number }): Promise<ModuleClassRecord[]> {
    return this.run(() =>
      this.prisma.moduleClass.findMany({
        where: { id: { ...prefixRange(query.prefix), ...(query.after === undefined ? {} : { gt: query.after }) } },
        orderBy: { id: 'asc' },
        take: query.limit,
      }),
    );
  }

  createModuleClass(record: ModuleClassRecord): Promise<boolean> {
    return this.insertUnlessTaken(() => this.prisma.moduleClass.create({ data: record }));
  }

  updateModuleClass(
    id: string,
    update: { fromObserved?: boolean; description?: string; updatedAt: Date },
  ): Promise<{ ok: true; record: ModuleClassRecord } | { ok: false; blockedBy: string[] } | null> {
    return this.run(async () => {
      try {
        return await this.prisma.$transaction(async (tx) => {
          // The row is updated (and so locked) before the references are read: a writer that
          // names the class as quantized holds a share lock on it until it commits (see
          // lockClasses), so either its references are visible here or it sees the new value.
          const { count } = await tx.moduleClass.updateMany({ where: { id }, data: update });
          if (count === 0) return null;
          if (update.fromObserved === false) {
            const blockers = await tx.configClassRef.findMany({
              where: { classId: id, asQuantized: true },
              orderBy: { configName: 'asc' },
              take: 100,
              select: { configName: true },
            });
            if (blockers.length > 0) throw new Blocked(blockers.map((b) => b.configName));
          }
          const record = await tx.moduleClass.findUniqueOrThrow({ where: { id } });
          return { ok: true as const, record };
        });
      } catch (error) {
        if (error instanceof Blocked) return { ok: false as const, blockedBy: error.blockedBy };
        throw error;
      }
    });
  }

  deleteModuleClass(id: string): Promise<{ ok: true } | { ok: false; blockedBy: string[] } | null> {
    return this.run(async () => {
      try {
        const { count } = await this.prisma.moduleClass.deleteMany({ where: { id } });
        return count === 0 ? null : { ok: true as const };
      } catch (error) {
        // The foreign key from config_class_ref refuses: live configs still reference it.
        if (errorCode(error) !== 'P2003') throw error;
        return { ok: false as const, blockedBy: await this.classReferences(id, { limit: 100 }) };
      }
    });
  }

  classReferences(id: string, query: { after?: string; limit: number }): Promise<string[]> {
    return this.run(async () => {
      const rows = await this.prisma.configClassRef.findMany({
        where: { classId: id, ...(query.after === undefined ? {} : { configName: { gt: query.after } }) },
        orderBy: { configName: 'asc' },
        take: query.limit,
        select: { configName: true },
      });
      return rows.map((r) => r.configName);
    });
  }

  getConfig(name: string): Promise<ConfigRecord | null> {
    // One statement: the head and the version it names, from one snapshot.
    return this.run(async () => {
      const [row] = await this.sql.rows(GET_CONFIG, [name]);
      return row === undefined ? null : toRecord(row);
    });
  }

  readConfigWithRowVersion(name: string): Promise<{ record: ConfigRecord | null; rowVersion: string | null }> {
    return this.run(async () => {
      const [row] = await this.sql.rows(GET_CONFIG_WITH_ROW_VERSION_PG, [name]);
      return row === undefined ? { record: null, rowVersion: null } : { record: toRecord(row), rowVersion: String(row.row_version) };
    });
  }

  /** On the held connection, as a prepared statement: the probe runs once per event-loop turn under load. */
  rowVersions(names: readonly string[]): Promise<Map<string, string>> {
    return this.run(async () => {
      if (this.held === undefined) throw new Error('row versions are read on PostgreSQL only');
      const rows = await this.held.rows('registry_row_versions', ROW_VERSIONS_PG, [names]);
      return new Map(rows.map((row) => [String(row[0]), String(row[1])]));
    });
  }

  getHead(name: string): Promise<ConfigHead | null> {
    return this.run(async () => {
      const row = await this.prisma.config.findUnique({ where: { name } });
      return row === null ? null : toHead(row);
    });
  }

  getVersion(name: string, version: number): Promise<VersionRecord | null> {
    return this.run(async () => {
      const row = await this.prisma.configVersion.findUnique({
        where: { configName_version: { configName: name, version } },
      });
      return row === null ? null : toVersion(row);
    });
  }

  listVersions(name: string, query: { before?: number; limit: number }): Promise<VersionRecord[]> {
    return this.run(async () => {
      const rows = await this.prisma.configVersion.findMany({
        where: { configName: name, ...(query.before === undefined ? {} : { version: { lt: query.before } }) },
        orderBy: { version: 'desc' },
        take: query.limit,
      });
      return rows.map(toVersion);
    });
  }

  listConfigs(query: ListConfigsQuery): Promise<ConfigRecord[]> {
    return this.run(async () => {
      const { statement, args } = listConfigsStatement(query);
      return (await this.sql.rows(statement, args)).map(toRecord);
    });
  }

  appendVersion(append: AppendVersion): Promise<AppendOutcome> {
    const { version, expectedLatest, classRefs, changed } = append;
    const { name } = version;
    return this.run(async () => {
      try {
        return await this.sql.transaction(async (tx) => {
          if (this.kind === 'postgresql' && !append.holdsWriteLock) {
            await tx.execute(WAIT_FOR_EXCLUSIVE_WRITER, [CONFIG_WRITE_LOCK, name]);
          }
          // Compare-and-set on the head row: the one point where racing writers are serialised.
          // A concurrent create of the same name fails the INSERT with a unique violation.
          const [moved] =
            expectedLatest === 0
              ? await tx.rows(CREATE_HEAD, [name, version.createdAt, version.createdAt])
              : await tx.rows(MOVE_HEAD, [expectedLatest + 1, version.createdAt, name, expectedLatest, false]);
          if (moved === undefined) throw new HeadMoved();
          if (changed.classRefs) await this.checkClasses(tx, classRefs);
          await tx.execute(INSERT_VERSION, [
            name,
            version.version,
            version.configJson,
            version.description,
            JSON.stringify(version.labels),
            version.contentHash,
            version.createdAt,
            version.updatedBy,
          ]);
          const replaced = expectedLatest > 0;
          if (changed.labels) {
            if (replaced) await tx.execute(DELETE_LABELS, [name]);
            if (Object.keys(version.labels).length > 0) {
              const insert = insertLabels(name, version.labels);
              await tx.execute(insert.statement, insert.args);
            }
          }
          if (changed.classRefs) {
            if (replaced) await tx.execute(DELETE_CLASS_REFS, [name]);
            if (classRefs.length > 0) {
              const insert = insertClassRefs(name, classRefs);
              await tx.execute(insert.statement, insert.args);
            }
          }
          const head: ConfigHead = {
            name,
            latestVersion: expectedLatest + 1,
            deleted: false,
            deletedAt: null,
            createdAt: asDate(moved.created_at),
            updatedAt: version.createdAt,
          };
          return { ok: true as const, head };
        });
      } catch (error) {
        return this.appendFailure(error);
      }
    });
  }

  setDeleted(
    name: string,
    change: { deleted: boolean; at: Date; expectedLatest: number; classRefs: ClassRef[] },
  ): Promise<AppendOutcome> {
    return this.run(async () => {
      try {
        return await this.prisma.$transaction(async (tx) => {
          await this.waitForExclusiveWriter(tx, name);
          const { count } = await tx.config.updateMany({
            where: { name, latestVersion: change.expectedLatest, deleted: !change.deleted },
            data: { deleted: change.deleted, deletedAt: change.deleted ? change.at : null },
          });
          if (count !== 1) throw new HeadMoved();
          if (!change.deleted) await this.lockClasses(tx, change.classRefs);
          // Class references are kept for live configs only: a deleted config blocks nothing.
          await tx.configClassRef.deleteMany({ where: { configName: name } });
          if (!change.deleted) await this.insertRefs(tx, name, change.classRefs);
          const head = await tx.config.findUniqueOrThrow({ where: { name } });
          return { ok: true as const, head: toHead(head) };
        });
      } catch (error) {
        return this.appendFailure(error);
      }
    });
  }

  purge(name: string): Promise<boolean> {
    return this.run(async () => {
      const { count } = await this.prisma.config.deleteMany({ where: { name } });
      return count > 0;
    });
  }

  /**
   * PostgreSQL: holds the config's advisory lock exclusively while `work` runs, in a transaction
   * of its own that only holds the lock (work uses other connections). Every append takes the
   * same lock shared, so it waits for the exclusive writer instead of overtaking it. SQLite has
   * one process (whose writes ConfigsService already queues) and one writer at a time: nothing
   * to do.
   */
  writeExclusively<T>(name: string, work: () => Promise<T>): Promise<T> {
    if (this.kind !== 'postgresql') return work();
    return this.run(() =>
      this.prisma.$transaction(
        async (tx) => {
          await tx.$executeRaw`SELECT pg_advisory_xact_lock(${CONFIG_WRITE_LOCK}::int4, hashtext(${name}))`;
          return work();
        },
        // Work is a few statements, each bounded by the statement timeout.
        { maxWait: 5_000, timeout: 30_000 },
      ),
    );
  }

  ping(): Promise<void> {
    return this.run(async () => {
      await this.prisma.$queryRaw`SELECT 1`;
    });
  }

  createToken(record: TokenRecord): Promise<boolean> {
    return this.insertUnlessTaken(() => this.prisma.apiToken.create({ data: record }));
  }

  listTokens(query: { after?: string; limit: number }): Promise<TokenRecord[]> {
    return this.run(async () => {
      const rows = await this.prisma.apiToken.findMany({
        where: query.after === undefined ? {} : { name: { gt: query.after } },
        orderBy: { name: 'asc' },
        take: query.limit,
      });
      return rows.map(toToken);
    });
  }

  findTokenBySecretHash(secretHash: string): Promise<TokenRecord | null> {
    return this.run(async () => {
      const row = await this.prisma.apiToken.findUnique({ where: { secretHash } });
      return row === null ? null : toToken(row);
    });
  }

  revokeToken(name: string, options: { keepAnAdmin: boolean }): Promise<RevokeOutcome> {
    return this.run(() =>
      this.prisma.$transaction(async (tx): Promise<RevokeOutcome> => {
        const token = await tx.apiToken.findUnique({ where: { name } });
        if (token === null) return 'not-found';
        // Two admins revoking each other at the same moment on PostgreSQL could both pass this
        // check; REGISTRY_ADMIN_TOKEN remains the way back in, so a lock is not worth it here.
        if (options.keepAnAdmin && token.role === 'admin' && (await tx.apiToken.count({ where: { role: 'admin' } })) <= 1) {
          return 'last-admin';
        }
        const { count } = await tx.apiToken.deleteMany({ where: { name } });
        return count === 1 ? 'revoked' : 'not-found';
      }),
    );
  }

  countTokens(): Promise<{ total: number; admins: number }> {
    return this.run(async () => {
      const groups = await this.prisma.apiToken.groupBy({ by: ['role'], _count: { _all: true } });
      let total = 0;
      let admins = 0;
      for (const group of groups) {
        total += group._count._all;
        if (group.role === 'admin') admins += group._count._all;
      }
      return { total, admins };
    });
  }

  counts(): Promise<RegistryCounts> {
    return this.run(async () => {
      const [configs, moduleClasses, tokens] = await Promise.all([
        this.prisma.config.groupBy({ by: ['deleted'], _count: { _all: true }, _sum: { latestVersion: true } }),
        this.prisma.moduleClass.count(),
        this.prisma.apiToken.count(),
      ]);
      const counts: RegistryCounts = { liveConfigs: 0, deletedConfigs: 0, versions: 0, moduleClasses, tokens };
      for (const group of configs) {
        if (group.deleted) counts.deletedConfigs += group._count._all;
        else counts.liveConfigs += group._count._all;
        // Versions are numbered 1..latest without gaps and purged with their config, so the sum
        // of the heads' latest versions is the number of version rows, read from the (much
        // smaller) head table.
        counts.versions += group._sum.latestVersion ?? 0;
      }
      return counts;
    });
  }

  /** Waits (PostgreSQL) while another process holds the config's write lock; see writeExclusively. */
  private async waitForExclusiveWriter(tx: Tx, name: string): Promise<void> {
    if (this.kind !== 'postgresql') return;
    await tx.$executeRaw`SELECT pg_advisory_xact_lock_shared(${CONFIG_WRITE_LOCK}::int4, hashtext(${name}))`;
  }

  /**
   * Re-checks, inside the writing transaction, what the registry validated before it: every class
   * the version names is registered, and every quantized one still has fromObserved. On
   * PostgreSQL the rows are share-locked until commit, so a concurrent class update or delete
   * waits for this write (and then sees its references) or this write waits for it (and then
   * sees its result); without the lock a fromObserved change and a write could each miss the
   * other. SQLite runs one write transaction at a time, so reading is enough there.
   */
  private async lockClasses(tx: Tx, refs: ClassRef[]): Promise<void> {
    if (refs.length === 0) return;
    const ids = [...new Set(refs.map((r) => r.classId))].sort();
    const rows =
      this.kind === 'postgresql'
        ? await tx.$queryRaw<Array<{ id: string; from_observed: boolean }>>`
            SELECT id, from_observed FROM module_class WHERE id = ANY(${ids}) ORDER BY id FOR SHARE`
        : (await tx.moduleClass.findMany({ where: { id: { in: ids } }, select: { id: true, fromObserved: true } })).map((r) => ({
            id: r.id,
            from_observed: r.fromObserved,
          }));
    assertClassesUsable(refs, new Map(rows.map((r) => [r.id, r.from_observed])));
  }

  /** lockClasses for an append on the driver (see there). */
  private async checkClasses(tx: SqlRunner, refs: ClassRef[]): Promise<void> {
    if (refs.length === 0) return;
    const ids = [...new Set(refs.map((r) => r.classId))].sort();
    const rows =
      this.kind === 'postgresql' ? await tx.rows(LOCK_CLASSES_PG, [ids]) : await tx.rows(selectClasses(ids.length), ids);
    assertClassesUsable(refs, new Map(rows.map((r) => [String(r.id), asBoolean(r.from_observed)])));
  }

  private async insertRefs(tx: Tx, name: string, refs: ClassRef[]): Promise<void> {
    if (refs.length === 0) return;
    await tx.configClassRef.createMany({
      data: refs.map((r) => ({ configName: name, classId: r.classId, asQuantized: r.asQuantized })),
    });
  }

  private appendFailure(error: unknown): AppendOutcome {
    const kind = adapterErrorKind(error);
    if (error instanceof HeadMoved || errorCode(error) === 'P2002' || kind === 'UniqueConstraintViolation') {
      return { ok: false, reason: 'conflict' };
    }
    if (error instanceof ClassesChanged || errorCode(error) === 'P2003' || kind === 'ForeignKeyConstraintViolation') {
      return { ok: false, reason: 'missing-class' };
    }
    throw error;
  }
}

/** The kind of a driver adapter error (DriverAdapterError keeps it in `cause`), for DriverSql statements. */
function adapterErrorKind(error: unknown): string | undefined {
  const kind = (error as { cause?: { kind?: unknown } } | null)?.cause?.kind;
  return typeof kind === 'string' ? kind : undefined;
}

/** Every class the version names is registered, and every quantized one has fromObserved. */
function assertClassesUsable(refs: ClassRef[], fromObserved: Map<string, boolean>): void {
  for (const ref of refs) {
    const current = fromObserved.get(ref.classId);
    if (current === undefined || (ref.asQuantized && !current)) throw new ClassesChanged();
  }
}

/**
 * The store the service runs on: Prisma, with the cache of current reads in front (caching-store.ts),
 * which on PostgreSQL checks what it holds by the heads' row versions.
 */
export function registryStore(database: Pick<Database, 'prisma' | 'kind' | 'sql' | 'commitStamp' | 'held'>): RegistryStore {
  const store = new PrismaRegistryStore(database);
  return new CachingRegistryStore(store, database.kind === 'postgresql' ? store : undefined);
}
