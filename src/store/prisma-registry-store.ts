import { isRole } from '../registry/access.js';
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
import type { PrismaClient } from '../generated/sqlite/client.js';
import { AliasStore } from './alias-store.js';
import { CachingRegistryStore, type RowVersions } from './caching-store.js';
import type { Database, DatabaseKind } from './database.js';
import {
  DELETE_CLASS_REFS,
  GET_CONFIG,
  GET_CONFIG_WITH_ROW_VERSION_PG,
  insertClassRefs,
  listConfigsStatement,
  prefixEnd,
  PURGE_CONFIG,
  ROW_VERSIONS_PG,
  SET_DELETED,
  toRecord,
  WAIT_FOR_EXCLUSIVE_WRITER,
} from './config-statements.js';
import { asDate, type DriverSql } from './driver-sql.js';
import { appendEvent, lastRevision, listEvents } from './event-log.js';
import {
  DELETE_MODULE_CLASS,
  INSERT_MODULE_CLASS,
  moduleClassArgs,
  QUANTIZED_USERS,
  SELECT_MODULE_CLASS,
  toModuleClass,
  updateModuleClassStatement,
} from './module-class-statements.js';
import { GroupCommit, MAX_GROUP_SIZE } from './group-commit.js';
import { UnavailableError } from '../registry/errors.js';
import { guarded, isForeignKeyViolation, isUniqueViolation } from './store-errors.js';
import type { HeldConnection } from './held-connection.js';
import {
  ALONE,
  appendFailure,
  appendGroup,
  checkClassesUsable,
  CONFIG_WRITE_LOCK,
  HeadMoved,
  type GroupOutcome,
} from './version-appends.js';


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
  private readonly aliases: AliasStore;
  /** PostgreSQL: where the row versions are probed (see rowVersions). */
  private readonly held: HeldConnection | undefined;
  /** New versions, committed in groups (see appendVersion); its stats say how they were grouped. */
  readonly appends: GroupCommit<AppendVersion, GroupOutcome>;

  constructor(database: Pick<Database, 'prisma' | 'kind' | 'sql' | 'commitStamp'> & Partial<Pick<Database, 'held'>>) {
    this.prisma = database.prisma;
    this.kind = database.kind;
    this.sql = database.sql;
    this.commitStamp = database.commitStamp;
    this.aliases = new AliasStore(database.sql);
    this.held = database.held;
    // SQLite has one writer: one group at a time. PostgreSQL: two, so that one group's statements
    // run while the other's commit is flushed; the feed's counter still orders their events by
    // commit (event-log.ts). Four were measured slower (BENCHMARKS.md, seventh session).
    this.appends = new GroupCommit((group) => this.commitGroup(group), MAX_GROUP_SIZE, this.kind === 'postgresql' ? 2 : 1);
  }

  /** Runs a store operation, turning connection failures into the registry's UnavailableError. */
  private run<T>(operation: () => Promise<T>): Promise<T> {
    return guarded(operation);
  }

  /** Runs an insert; false when its key is taken (a unique violation). */
  private insertUnlessTaken(insert: () => Promise<unknown>): Promise<boolean> {
    return this.run(async () => {
      try {
        await insert();
        return true;
      } catch (error) {
        if (isUniqueViolation(error)) return false;
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

  createModuleClass(record: ModuleClassRecord, by: string): Promise<boolean> {
    return this.insertUnlessTaken(() =>
      this.sql.transaction(async (tx) => {
        await tx.execute(INSERT_MODULE_CLASS, moduleClassArgs(record));
        await appendEvent(tx, { type: 'module_class.created', at: record.createdAt, by, classId: record.id });
      }),
    );
  }

  updateModuleClass(id: string, update: ModuleClassUpdate): Promise<ModuleClassUpdateOutcome | null> {
    return this.run(async () => {
      try {
        return await this.sql.transaction(async (tx): Promise<ModuleClassUpdateOutcome | null> => {
          // The row is updated (and so locked) before the references are read: a writer that
          // names the class as quantized holds a share lock on it until it commits (see
          // checkClasses), so either its references are visible here or it sees the new value.
          const change = updateModuleClassStatement(id, update);
          const [updated] = change === undefined ? [] : await tx.rows(change.statement, change.args);
          if (updated === undefined) {
            // Not there, or nothing to change (then no event, and updatedAt stays).
            const [row] = await tx.rows(SELECT_MODULE_CLASS, [id]);
            return row === undefined ? null : { ok: true, record: toModuleClass(row) };
          }
          if (update.fromObserved === false) {
            const blockers = await tx.rows(QUANTIZED_USERS, [id, true]);
            if (blockers.length > 0) throw new Blocked(blockers.map((b) => String(b.config_name)));
          }
          await appendEvent(tx, { type: 'module_class.updated', at: update.updatedAt, by: update.by, classId: id });
          return { ok: true, record: toModuleClass(updated) };
        });
      } catch (error) {
        if (error instanceof Blocked) return { ok: false as const, blockedBy: error.blockedBy };
        throw error;
      }
    });
  }

  deleteModuleClass(id: string, change: { at: Date; by: string }): Promise<{ ok: true } | { ok: false; blockedBy: string[] } | null> {
    return this.run(async () => {
      try {
        return await this.sql.transaction(async (tx) => {
          if ((await tx.execute(DELETE_MODULE_CLASS, [id])) === 0) return null;
          await appendEvent(tx, { type: 'module_class.deleted', at: change.at, by: change.by, classId: id });
          return { ok: true as const };
        });
      } catch (error) {
        // The foreign key from config_class_ref refuses: live configs still reference it.
        if (!isForeignKeyViolation(error)) throw error;
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

  /**
   * Joins the group of appends that commits next (group-commit.ts, version-appends.ts). One that
   * could not take its config's write lock at once, or whose group failed as a whole for a reason
   * other than the database being away, is appended on its own.
   */
  async appendVersion(append: AppendVersion): Promise<AppendOutcome> {
    const outcome = await this.appends.submit(append);
    return outcome === ALONE ? this.appendAlone(append) : outcome;
  }

  appendGroups(): { groups: number; appends: number } {
    return { groups: this.appends.stats.groups, appends: this.appends.stats.items };
  }

  private async commitGroup(group: AppendVersion[]): Promise<GroupOutcome[]> {
    try {
      return await this.run(() => appendGroup(this.sql, group));
    } catch (error) {
      if (error instanceof UnavailableError) throw error;
      // One append alone: its own failure (a taken key, a refused foreign key), else the error.
      if (group.length === 1) return [appendFailure(error)];
      return group.map(() => ALONE);
    }
  }

  /** One append in its own transaction, waiting for its config's write lock (PostgreSQL). */
  private appendAlone(append: AppendVersion): Promise<AppendOutcome> {
    return this.run(async () => {
      try {
        const [outcome] = await appendGroup(this.sql, [append], { waitForLock: true });
        return outcome as AppendOutcome;
      } catch (error) {
        return appendFailure(error);
      }
    });
  }

  setDeleted(name: string, change: DeletedChange): Promise<AppendOutcome> {
    return this.run(async () => {
      try {
        return await this.sql.transaction(async (tx) => {
          if (this.kind === 'postgresql') await tx.execute(WAIT_FOR_EXCLUSIVE_WRITER, [CONFIG_WRITE_LOCK, name]);
          const [row] = await tx.rows(SET_DELETED, [
            change.deleted,
            change.deleted ? change.at : null,
            name,
            change.expectedLatest,
            !change.deleted,
          ]);
          if (row === undefined) throw new HeadMoved();
          if (!change.deleted) await checkClassesUsable(tx, change.classRefs);
          // Class references are kept for live configs only: a deleted config blocks nothing.
          await tx.execute(DELETE_CLASS_REFS, [name]);
          if (!change.deleted && change.classRefs.length > 0) {
            const insert = insertClassRefs(name, change.classRefs);
            await tx.execute(insert.statement, insert.args);
          }
          await appendEvent(tx, {
            type: change.deleted ? 'config.deleted' : 'config.undeleted',
            at: change.at,
            by: change.by,
            name,
            version: change.expectedLatest,
          });
          const head: ConfigHead = {
            name,
            latestVersion: change.expectedLatest,
            deleted: change.deleted,
            deletedAt: change.deleted ? change.at : null,
            createdAt: asDate(row.created_at),
            updatedAt: asDate(row.updated_at),
          };
          return { ok: true as const, head };
        });
      } catch (error) {
        return appendFailure(error);
      }
    });
  }

  purge(name: string, change: { at: Date; by: string }): Promise<boolean> {
    return this.run(() =>
      this.sql.transaction(async (tx) => {
        const [purged] = await tx.rows(PURGE_CONFIG, [name]);
        if (purged === undefined) return false;
        await appendEvent(tx, { type: 'config.purged', at: change.at, by: change.by, name, version: Number(purged.latest_version) });
        return true;
      }),
    );
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

  listEvents(query: ListEventsQuery): Promise<{ items: RegistryEvent[]; lastRevision: number }> {
    return this.run(() => listEvents(this.sql, query));
  }

  lastRevision(): Promise<number> {
    return this.run(() => lastRevision(this.sql));
  }

  getAlias(name: string, alias: string): Promise<AliasRecord | null> {
    return this.run(() => this.aliases.get(name, alias));
  }

  listAliases(name: string): Promise<AliasRecord[]> {
    return this.run(() => this.aliases.list(name));
  }

  listAliasHistory(name: string, alias: string, query: { before?: number; limit: number }): Promise<AliasMove[]> {
    return this.run(() => this.aliases.history(name, alias, query));
  }

  setAlias(change: SetAlias): Promise<AliasWriteOutcome> {
    return this.run(() => this.aliases.set(change));
  }

  deleteAlias(change: { name: string; alias: string; expectedMoves: number; at: Date; by: string }): Promise<AliasWriteOutcome> {
    return this.run(() => this.aliases.delete(change));
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
}

/**
 * The store the service runs on: Prisma, with the cache of current reads in front (caching-store.ts),
 * which on PostgreSQL checks what it holds by the heads' row versions.
 */
export function registryStore(database: Pick<Database, 'prisma' | 'kind' | 'sql' | 'commitStamp' | 'held'>): RegistryStore {
  const store = new PrismaRegistryStore(database);
  return new CachingRegistryStore(store, database.kind === 'postgresql' ? store : undefined);
}
