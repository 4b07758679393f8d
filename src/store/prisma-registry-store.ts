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

/** Latest versions fetched per query when listing (an OR of this many (name, version) pairs). */
const LATEST_VERSIONS_PER_QUERY = 200;

/** Thrown inside a transaction to roll it back when the compare-and-set on the head fails. */
class HeadMoved extends Error {}

/**
 * Names and ids are ASCII (see the grammars in src/domain/identifiers.ts), so every name with
 * `prefix` sorts in [prefix, prefix + U+007F). A range keeps the primary-key index usable and,
 * unlike LIKE, needs no escaping of `_`.
 */
function prefixRange(prefix: string | undefined): { gte?: string; lt?: string } {
  return prefix === undefined ? {} : { gte: prefix, lt: `${prefix}\u007f` };
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Errors that mean "the database cannot answer now" rather than "this request is wrong":
 * Prisma's connection codes, driver adapter connection kinds, socket errors, SQLite busy.
 *
 * What the 7.10 pg adapter actually throws (seen through test/support/tcp-proxy.ts, see
 * test/api/readiness.test.ts): a refused connection is P1001; a dropped connection is a plain
 * Error "Connection terminated unexpectedly" (no code); a connect that times out is
 * "Connection terminated due to connection timeout"; a transaction that cannot start in time is
 * P2028. The message patterns below are the only handle on the plain ones.
 */
function isUnavailable(error: unknown): boolean {
  const code = errorCode(error);
  if (code !== undefined && /^(P1001|P1002|P1008|P1017|P2024|P2028|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|57P01|57P03|08\d{3}|SQLITE_BUSY)/.test(code)) {
    return true;
  }
  const kind = (error as { cause?: { kind?: unknown } } | null)?.cause?.kind;
  if (typeof kind === 'string' && /DatabaseNotReachable|ConnectionClosed|SocketTimeout|TooManyConnections|TransactionAlreadyClosed|SocketError/i.test(kind)) {
    return true;
  }
  const message = error instanceof Error ? error.message : '';
  return /ECONNREFUSED|Connection terminated|connect ETIMEDOUT|database is locked|timeout exceeded when trying to connect|Can't reach database|Server has closed the connection|terminating connection/i.test(
    message,
  );
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

/** The registry's storage port on Prisma, the same code for SQLite and PostgreSQL. */
export class PrismaRegistryStore implements RegistryStore {
  constructor(private readonly prisma: PrismaClient) {}

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
    return this.run(async () => {
      try {
        await this.prisma.moduleClass.create({ data: record });
        return true;
      } catch (error) {
        if (errorCode(error) === 'P2002') return false;
        throw error;
      }
    });
  }

  updateModuleClass(
    id: string,
    update: { fromObserved?: boolean; description?: string; updatedAt: Date },
  ): Promise<{ ok: true; record: ModuleClassRecord } | { ok: false; blockedBy: string[] } | null> {
    return this.run(() =>
      this.prisma.$transaction(async (tx) => {
        const current = await tx.moduleClass.findUnique({ where: { id } });
        if (current === null) return null;
        if (update.fromObserved === false && current.fromObserved) {
          const blockers = await tx.configClassRef.findMany({
            where: { classId: id, asQuantized: true },
            orderBy: { configName: 'asc' },
            take: 100,
            select: { configName: true },
          });
          if (blockers.length > 0) return { ok: false as const, blockedBy: blockers.map((b) => b.configName) };
        }
        const record = await tx.moduleClass.update({ where: { id }, data: update });
        return { ok: true as const, record };
      }),
    );
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
    return this.run(async () => {
      const row = await this.prisma.config.findUnique({
        where: { name },
        include: { versions: { orderBy: { version: 'desc' }, take: 1 } },
      });
      if (row === null) return null;
      const latest = row.versions[0];
      if (latest === undefined) throw new Error(`config '${name}' has no versions`);
      return { head: toHead(row), latest: toVersion(latest) };
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
      const heads = await this.prisma.config.findMany({
        where: {
          name: { ...prefixRange(query.prefix), ...(query.after === undefined ? {} : { gt: query.after }) },
          ...(query.showDeleted ? {} : { deleted: false }),
          ...(query.usesClass === undefined ? {} : { classRefs: { some: { classId: query.usesClass } } }),
          AND: query.labels.map((l) => ({ labels: { some: { key: l.key, value: l.value } } })),
        },
        orderBy: { name: 'asc' },
        take: query.limit,
      });
      if (heads.length === 0) return [];
      // A few queries for all the latest versions of the page, not one per config. Chunked: an OR
      // of a whole 1000-config page exceeds SQLite's expression depth limit (1000).
      const chunks: Array<typeof heads> = [];
      for (let i = 0; i < heads.length; i += LATEST_VERSIONS_PER_QUERY) chunks.push(heads.slice(i, i + LATEST_VERSIONS_PER_QUERY));
      const versions = await Promise.all(
        chunks.map((chunk) =>
          this.prisma.configVersion.findMany({
            where: { OR: chunk.map((h) => ({ configName: h.name, version: h.latestVersion })) },
          }),
        ),
      );
      const byName = new Map(versions.flat().map((v) => [v.configName, v]));
      return heads.map((h) => ({ head: toHead(h), latest: toVersion(byName.get(h.name)!) }));
    });
  }

  appendVersion(append: AppendVersion): Promise<AppendOutcome> {
    const { version, expectedLatest } = append;
    return this.run(async () => {
      try {
        return await this.prisma.$transaction(async (tx) => {
          const head = await this.moveHead(tx, version.name, expectedLatest, version.createdAt);
          await tx.configVersion.create({
            data: {
              configName: version.name,
              version: version.version,
              configJson: version.configJson,
              description: version.description,
              labelsJson: JSON.stringify(version.labels),
              contentHash: version.contentHash,
              createdAt: version.createdAt,
              updatedBy: version.updatedBy,
            },
          });
          if (expectedLatest > 0) {
            await tx.configLabel.deleteMany({ where: { configName: version.name } });
            await tx.configClassRef.deleteMany({ where: { configName: version.name } });
          }
          const labels = Object.entries(version.labels).map(([key, value]) => ({ configName: version.name, key, value }));
          if (labels.length > 0) await tx.configLabel.createMany({ data: labels });
          await this.insertRefs(tx, version.name, append.classRefs);
          return { ok: true as const, head: toHead(head) };
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
          const { count } = await tx.config.updateMany({
            where: { name, latestVersion: change.expectedLatest, deleted: !change.deleted },
            data: { deleted: change.deleted, deletedAt: change.deleted ? change.at : null },
          });
          if (count !== 1) throw new HeadMoved();
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

  ping(): Promise<void> {
    return this.run(async () => {
      await this.prisma.$queryRaw`SELECT 1`;
    });
  }

  createToken(record: TokenRecord): Promise<boolean> {
    return this.run(async () => {
      try {
        await this.prisma.apiToken.create({ data: record });
        return true;
      } catch (error) {
        if (errorCode(error) === 'P2002') return false;
        throw error;
      }
    });
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

  /** Compare-and-set on the head row: the one point where racing writers are serialised. */
  private async moveHead(tx: Tx, name: string, expectedLatest: number, at: Date): Promise<ConfigRow> {
    if (expectedLatest === 0) {
      // A concurrent create of the same name fails here with a unique violation (P2002).
      return tx.config.create({ data: { name, latestVersion: 1, createdAt: at, updatedAt: at } });
    }
    const { count } = await tx.config.updateMany({
      where: { name, latestVersion: expectedLatest, deleted: false },
      data: { latestVersion: expectedLatest + 1, updatedAt: at },
    });
    if (count !== 1) throw new HeadMoved();
    return tx.config.findUniqueOrThrow({ where: { name } });
  }

  private async insertRefs(tx: Tx, name: string, refs: ClassRef[]): Promise<void> {
    if (refs.length === 0) return;
    await tx.configClassRef.createMany({
      data: refs.map((r) => ({ configName: name, classId: r.classId, asQuantized: r.asQuantized })),
    });
  }

  private appendFailure(error: unknown): AppendOutcome {
    if (error instanceof HeadMoved || errorCode(error) === 'P2002') return { ok: false, reason: 'conflict' };
    if (errorCode(error) === 'P2003') return { ok: false, reason: 'missing-class' };
    throw error;
  }
}
