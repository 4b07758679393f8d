// Opens the database named by DATABASE_URL: SQLite (`file:...`) or PostgreSQL
// (`postgresql://...`), migrated, with a Prisma client over the matching driver adapter.
//
// Two clients are generated from the one schema (a client generated for `sqlite` refuses the pg
// adapter, see scripts/prisma-generate.mjs); they have the same models and API, so the app is typed
// against the SQLite one and the PostgreSQL one is cast to it.
//
// A process uses one kind of database, so only that kind's client, adapter and driver are
// imported, when the database is opened: the other side (pg and its adapter, or better-sqlite3's
// native module) would be some 10 MB of resident memory that is never used.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Sqlite from 'better-sqlite3';
import type pg from 'pg';
import type {
  IsolationLevel,
  SqlDriverAdapter,
  SqlDriverAdapterFactory,
  SqlQuery,
  Transaction,
} from '@prisma/driver-adapter-utils';
import type { PrismaClient } from '../generated/sqlite/client.js';
import { DriverSql } from './driver-sql.js';
import { cacheStatements } from './statement-cache.js';
import { HeldConnection } from './held-connection.js';
import { WalIndexStamp } from './wal-index.js';
import { applyMigrations } from './migrate.js';

export type { PrismaClient };

export type DatabaseKind = 'sqlite' | 'postgresql';

export interface Database {
  readonly kind: DatabaseKind;
  readonly prisma: PrismaClient;
  /** The hot statements, on the driver adapter the Prisma client runs on (see driver-sql.ts). */
  readonly sql: DriverSql;
  /** PostgreSQL: a connection of the same pool kept for the read cache's probes (held-connection.ts). */
  readonly held: HeldConnection | undefined;
  /**
   * A value that changes whenever another connection commits to the database, read without a
   * query; undefined when that cannot be told now (PostgreSQL; SQLite inside a transaction).
   * See SerialConnection.commitStamp.
   */
  commitStamp(): number | undefined;
  /** How commitStamp is read: the WAL index (SQLite file), the PRAGMA alone, or not at all (PostgreSQL). */
  commitStampSource(): 'wal-index' | 'data_version' | undefined;
  /** Resolves when the database answers a trivial query; for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** Apply pending migrations before connecting (default true). */
  migrate?: boolean;
  log?: (msg: string) => void;
  /** PostgreSQL connection pool size (default 10). SQLite always uses one connection. */
  poolSize?: number;
}

/**
 * Milliseconds to wait for a PostgreSQL connection. Without a limit an unreachable server (a
 * firewall that drops packets, a hung host) leaves start-up and /readyz hanging.
 */
export const POSTGRES_CONNECT_TIMEOUT_MS = 3000;

/**
 * Server-side limit on one statement. This service's statements are key lookups and small
 * writes that take milliseconds; one that runs for seconds is waiting on something (a lock held
 * by a stuck transaction, an overloaded server), and the client is better served by a 503 it can
 * retry than by an open-ended wait.
 */
export const POSTGRES_STATEMENT_TIMEOUT_MS = 2500;

/**
 * Client-side limit on one query: the only guard when the server stops answering without closing
 * the connection (a network partition, a host that froze), where the statement timeout cannot
 * fire. A little above the statement timeout, so a merely slow statement is cancelled by the
 * server first. A transaction cut off this way waits once more for its ROLLBACK, so a request
 * fails within about twice this.
 */
export const POSTGRES_QUERY_TIMEOUT_MS = POSTGRES_STATEMENT_TIMEOUT_MS + 500;

/**
 * The server aborts a transaction whose client went quiet for this long: a replica cut off
 * mid-transaction by a partition would otherwise keep its row locks (and block every writer of
 * that config) until the server's TCP keepalive notices, hours later by default.
 */
export const POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_MS = 10_000;

/** Milliseconds a SQLite statement waits for another connection's write lock before SQLITE_BUSY. */
export const SQLITE_BUSY_TIMEOUT_MS = 5000;

/**
 * Connection settings for every SQLite connection Prisma opens.
 * - foreign_keys: the schema's relations (a config's versions, the classes it references) are
 *   enforced by the database; SQLite leaves them off unless asked, per connection.
 * - journal_mode=WAL: readers do not block the writer nor the writer the readers. It is stored in
 *   the file (the migrator sets it first), repeated here for a database opened without migrating.
 * - synchronous=FULL: a write we have acknowledged must survive SIGKILL and power loss. In WAL mode
 *   NORMAL (better-sqlite3's compiled-in default for WAL) skips the fsync at commit, so the last
 *   commits can vanish on power loss; FULL syncs the WAL on every commit.
 * - busy_timeout: wait for another process's write lock instead of failing at once with
 *   SQLITE_BUSY (also set by the driver's `timeout`, repeated to be explicit).
 */
const SQLITE_PRAGMAS: ReadonlyArray<readonly [name: string, value: string, expected: string]> = [
  ['foreign_keys', 'ON', '1'],
  ['journal_mode', 'WAL', 'wal'],
  ['synchronous', 'FULL', '2'],
  ['busy_timeout', String(SQLITE_BUSY_TIMEOUT_MS), String(SQLITE_BUSY_TIMEOUT_MS)],
];

/** Which backend a DATABASE_URL names. Throws an Error naming DATABASE_URL (never its password). */
export function databaseKind(url: string): DatabaseKind {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url.trim())?.[1]?.toLowerCase();
  if (scheme === 'file') return 'sqlite';
  if (scheme === 'postgres' || scheme === 'postgresql') return 'postgresql';
  throw new Error(
    `DATABASE_URL must be a SQLite file URL (file:./data/registry.db) or a PostgreSQL URL ` +
      `(postgresql://user:password@host:5432/db); got ${scheme === undefined ? 'a value without a scheme' : `a "${scheme}:" URL`}`,
  );
}

/** The URL with any password replaced by `***`, for logs and error messages. */
export function redactDatabaseUrl(url: string): string {
  return (
    url
      // user:password@ in the authority
      .replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/?#@]*):[^@/?#]*@/i, '$1:***@')
      // password=... as a query parameter (pg accepts it there too)
      .replace(/([?&]password=)[^&#]*/gi, '$1***')
  );
}

/**
 * `message` with the password of `url` (raw or percent-decoded) replaced by `***`, for error
 * messages that may quote a connection string or parts of it.
 */
export function hidePassword(message: string, url: string): string {
  let password: string;
  try {
    password = new URL(url).password;
  } catch {
    return message;
  }
  if (password === '') return message;
  let hidden = message.replaceAll(password, '***');
  try {
    hidden = hidden.replaceAll(decodeURIComponent(password), '***');
  } catch {
    // Malformed percent-encoding: the raw form is hidden above.
  }
  return hidden;
}

/** The absolute path of the SQLite file named by a `file:` URL, relative paths from the cwd. */
export function sqliteFilePath(url: string): string {
  const trimmed = url.trim();
  const withoutQuery = trimmed.replace(/[?#].*$/, '');
  const path = withoutQuery.startsWith('file://') ? fileURLToPath(withoutQuery) : withoutQuery.replace(/^file:/i, '');
  if (path === '' || path === ':memory:') {
    throw new Error('DATABASE_URL must name a SQLite file (e.g. file:./data/registry.db)');
  }
  return resolve(process.cwd(), path);
}

/**
 * Opens (and by default first migrates) the database. Fails fast: an unreachable PostgreSQL
 * rejects within a few seconds, and a SQLite connection whose settings did not take rejects too.
 */
export async function openDatabase(url: string, options: OpenDatabaseOptions = {}): Promise<Database> {
  const kind = databaseKind(url);
  const log = options.log ?? (() => {});
  if (options.migrate ?? true) {
    await applyMigrations(kind, url, log);
  }
  // The adapter connection Prisma opens (lazily, and again after a $disconnect), for DriverSql.
  let connection: SqlDriverAdapter | undefined;
  const connected = (opened: SqlDriverAdapter) => {
    connection = opened;
  };
  const poolSize = options.poolSize ?? 10;
  const prisma =
    kind === 'sqlite' ? await sqliteClient(url, connected) : await postgresClient(url, poolSize, log, connected);
  const adapter = (): SqlDriverAdapter => {
    if (connection === undefined) throw new Error('The database is not connected.');
    return connection;
  };
  // The adapter's pg.Pool (a public method of the 7.10 adapter), whichever one Prisma has open now.
  const pool = (): pg.Pool => {
    const driver = (adapter() as { underlyingDriver?: () => unknown }).underlyingDriver?.();
    if (driver === undefined) throw new Error('The PostgreSQL adapter does not expose its pool.');
    return driver as pg.Pool;
  };
  const held = kind === 'postgresql' ? new HeldConnection(pool, poolSize, log) : undefined;
  const database: Database = {
    kind,
    prisma,
    sql: new DriverSql(adapter, kind),
    held,
    commitStamp: () => (connection instanceof SerialConnection ? connection.commitStamp() : undefined),
    commitStampSource: () => (connection instanceof SerialConnection ? connection.stampSource : undefined),
    async ping() {
      await prisma.$queryRawUnsafe('SELECT 1');
    },
    async close() {
      // Before the pool ends, which waits for every connection checked out of it.
      await held?.release();
      await prisma.$disconnect();
    },
  };
  try {
    await prisma.$connect();
    if (kind === 'sqlite') await assertSqlitePragmas(prisma);
    else await database.ping();
  } catch (error) {
    await prisma.$disconnect().catch(() => {});
    throw error;
  }
  return database;
}

type Connected = (connection: SqlDriverAdapter) => void;

async function sqliteClient(url: string, connected: Connected): Promise<PrismaClient> {
  const [{ PrismaBetterSqlite3 }, { PrismaClient }] = await Promise.all([
    import('@prisma/adapter-better-sqlite3'),
    import('../generated/sqlite/client.js'),
  ]);
  const file = sqliteFilePath(url);
  mkdirSync(dirname(file), { recursive: true });
  const adapter = sqliteConnections(
    new PrismaBetterSqlite3({ url: file, timeout: SQLITE_BUSY_TIMEOUT_MS }),
    SQLITE_PRAGMAS.map(([name, value]) => `PRAGMA ${name} = ${value};`).join('\n'),
    connected,
  );
  return new PrismaClient({ adapter });
}

async function postgresClient(
  url: string,
  poolSize: number,
  log: (msg: string) => void,
  connected: Connected,
): Promise<PrismaClient> {
  const [{ PrismaPg }, { PrismaClient: PostgresPrismaClient }] = await Promise.all([
    import('@prisma/adapter-pg'),
    import('../generated/pg/client.js'),
  ]);
  const factory = new PrismaPg(
    {
      connectionString: url,
      max: poolSize,
      connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS,
      statement_timeout: POSTGRES_STATEMENT_TIMEOUT_MS,
      query_timeout: POSTGRES_QUERY_TIMEOUT_MS,
      idle_in_transaction_session_timeout: POSTGRES_IDLE_IN_TRANSACTION_TIMEOUT_MS,
      keepAlive: true,
    },
    { onPoolError: (error) => log(`PostgreSQL pool error: ${error.message}`) },
  );
  const adapter: SqlDriverAdapterFactory = {
    provider: factory.provider,
    adapterName: factory.adapterName,
    async connect() {
      const connection = await factory.connect();
      connected(connection);
      return connection;
    },
  };
  return new PostgresPrismaClient({ adapter }) as unknown as PrismaClient;
}

/**
 * Wraps the SQLite adapter factory so that every connection it opens
 * - runs `script` (the pragmas) first: the adapter has no option for them, and Prisma opens its
 *   connection lazily (and again after a `$disconnect`), so a one-off `$executeRaw` after
 *   `$connect` could be lost;
 * - is used by one transaction or one statement at a time (see SerialConnection).
 */
function sqliteConnections(factory: SqlDriverAdapterFactory, script: string, connected: Connected): SqlDriverAdapterFactory {
  return {
    provider: factory.provider,
    adapterName: factory.adapterName,
    async connect(): Promise<SqlDriverAdapter> {
      const connection = await factory.connect();
      try {
        await connection.executeScript(script);
      } catch (error) {
        await connection.dispose().catch(() => {});
        throw error;
      }
      const serial = new SerialConnection(connection);
      connected(serial);
      return serial;
    },
  };
}

let lastEpoch = 0;

/**
 * Commit stamps are numbers from one sequence for the whole process, so that two connections (a
 * reconnect after a disconnect, two replicas in one test process) never hand out the same number
 * for different states of the data: a value cached under one is never served under the other.
 */
function nextEpoch(): number {
  return ++lastEpoch;
}

/**
 * The 7.10 SQLite adapter has a single connection and queues transactions, but runs a plain
 * statement at once, even while an interactive transaction is open on that connection. Such a
 * statement (another request's) would then run *inside* that transaction: it would see its
 * uncommitted rows, and its own writes, already acknowledged, would vanish if the transaction
 * rolled back. Here plain statements wait for the open transaction to end, as they would on a
 * separate connection. (Using the top-level client instead of `tx` inside `$transaction` now
 * waits for the transaction's timeout instead of silently joining it.)
 */
class SerialConnection implements SqlDriverAdapter {
  readonly provider: SqlDriverAdapter['provider'];
  readonly adapterName: string;
  #tail: Promise<void> = Promise.resolve();
  #inTransaction = false;
  readonly #stamp: (() => number | undefined) | undefined;
  readonly #walIndex: WalIndexStamp | undefined;
  readonly stampSource: 'wal-index' | 'data_version' | undefined;

  constructor(private readonly inner: SqlDriverAdapter) {
    this.provider = inner.provider;
    this.adapterName = inner.adapterName;
    if (inner.getConnectionInfo !== undefined) {
      this.getConnectionInfo = inner.getConnectionInfo.bind(inner);
    }
    // The adapter's better-sqlite3 handle (a public property of the 7.10 adapter). Without it,
    // commitStamp answers undefined and every read goes to the database.
    const client = (inner as { client?: Sqlite.Database }).client;
    if (client === undefined) return;
    const dataVersion = client.prepare('PRAGMA data_version').pluck();
    cacheStatements(client);
    // That first read transaction also creates and initialises the WAL index, if it was not yet.
    dataVersion.get();
    this.#walIndex = client.memory ? undefined : WalIndexStamp.open(client.name);
    const walIndex = this.#walIndex;
    let version: unknown;
    let epoch = 0;
    /** A new epoch (see nextEpoch) when another connection has committed since the last call. */
    const foreignCommits = (): number => {
      const now = dataVersion.get();
      if (now !== version) {
        version = now;
        epoch = nextEpoch();
      }
      return epoch;
    };
    this.stampSource = walIndex === undefined ? 'data_version' : 'wal-index';
    if (walIndex === undefined) {
      this.#stamp = foreignCommits;
    } else {
      // The header moves on every commit, this connection's own too; data_version only on other
      // connections' commits. So the cheap check runs every time, and the PRAGMA only after a
      // commit: this process's own writes do not invalidate what it holds.
      let header: number | undefined;
      this.#stamp = () => {
        const now = walIndex.read();
        if (now === undefined) return undefined;
        if (now !== header) {
          header = now;
          return foreignCommits();
        }
        return epoch;
      };
    }
  }

  /**
   * A number that changes whenever another connection (another process, the CLI, a replica on the
   * same file) has committed since it was last read, and not for this connection's own commits,
   * which the caller sees anyway. Read with no query of the tables: the WAL index's header with
   * one pread (see wal-index.ts), and, only when that header moved, SQLite's PRAGMA data_version
   * (a read transaction: three system calls) to tell another's commit from our own. Where the
   * header cannot be read, the PRAGMA every time. Undefined while a transaction is open here (its
   * snapshot would hide other connections' commits) and when it cannot be told.
   */
  commitStamp(): number | undefined {
    if (this.#inTransaction || this.#stamp === undefined) return undefined;
    return this.#stamp();
  }

  getConnectionInfo?: SqlDriverAdapter['getConnectionInfo'];

  /** Waits for every earlier user of the connection; resolves to the function that frees it. */
  #acquire(): Promise<() => void> {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const turn = this.#tail.then(() => release);
    this.#tail = this.#tail.then(() => released);
    return turn;
  }

  async #alone<T>(work: () => Promise<T>): Promise<T> {
    const release = await this.#acquire();
    try {
      return await work();
    } finally {
      release();
    }
  }

  queryRaw(query: SqlQuery) {
    return this.#alone(() => this.inner.queryRaw(query));
  }

  executeRaw(query: SqlQuery) {
    return this.#alone(() => this.inner.executeRaw(query));
  }

  executeScript(script: string) {
    return this.#alone(() => this.inner.executeScript(script));
  }

  async startTransaction(isolationLevel?: IsolationLevel): Promise<Transaction> {
    const release = await this.#acquire();
    let transaction: Transaction;
    try {
      transaction = await this.inner.startTransaction(isolationLevel);
    } catch (error) {
      release();
      throw error;
    }
    this.#inTransaction = true;
    let open = true;
    const end = async (finish: () => Promise<void>) => {
      try {
        await finish();
      } finally {
        if (open) {
          open = false;
          this.#inTransaction = false;
          release();
        }
      }
    };
    return {
      provider: transaction.provider,
      adapterName: transaction.adapterName,
      options: transaction.options,
      queryRaw: (query) => transaction.queryRaw(query),
      executeRaw: (query) => transaction.executeRaw(query),
      commit: () => end(() => transaction.commit()),
      rollback: () => end(() => transaction.rollback()),
      createSavepoint: transaction.createSavepoint?.bind(transaction),
      rollbackToSavepoint: transaction.rollbackToSavepoint?.bind(transaction),
      releaseSavepoint: transaction.releaseSavepoint?.bind(transaction),
    };
  }

  dispose(): Promise<void> {
    this.#walIndex?.close();
    return this.inner.dispose();
  }
}

async function assertSqlitePragmas(prisma: PrismaClient): Promise<void> {
  for (const [name, , expected] of SQLITE_PRAGMAS) {
    const rows = await prisma.$queryRawUnsafe<Record<string, unknown>[]>(`PRAGMA ${name}`);
    const actual = String(Object.values(rows[0] ?? {})[0]).toLowerCase();
    if (actual !== expected) {
      throw new Error(`SQLite did not accept PRAGMA ${name} (wanted ${expected}, has ${actual})`);
    }
  }
}
