// Applies the committed migrations (prisma/migrations/<kind>/<timestamp>_<name>/migration.sql) at
// start-up, recording each in Prisma's own `_prisma_migrations` table with the same columns and
// checksum, so a later `prisma migrate deploy` on a machine that has the schema engine sees them as
// applied. (`prisma migrate deploy` itself cannot run here: it spawns a binary we cannot download.)
//
// Replicas that start together must migrate once:
// - PostgreSQL: the whole run holds `pg_advisory_lock(72707369)`, the lock id Prisma Migrate uses,
//   so we also exclude a concurrent `prisma migrate deploy`. Each migration runs in its own
//   transaction together with its history row.
// - SQLite: each migration runs in a `BEGIN IMMEDIATE` transaction (the database's write lock),
//   which re-reads the history before applying anything.
//
// SQL goes through the raw drivers (better-sqlite3 `exec`, a pg simple query), not Prisma: Prisma's
// pg adapter splits scripts on `;` and would break `$$` bodies.
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
// The drivers are imported by the function that uses them: a process migrates one kind of
// database, and the other driver would only take memory (see database.ts).
import type Sqlite from 'better-sqlite3';
import { POSTGRES_CONNECT_TIMEOUT_MS, sqliteFilePath, type DatabaseKind } from './database.js';

/** The lock id Prisma Migrate takes on PostgreSQL (see prisma-engines, `advisory_lock`). */
const PRISMA_MIGRATE_ADVISORY_LOCK = 72707369;

/** How long a starting replica waits for another one that is applying migrations (SQLite). */
const SQLITE_MIGRATION_LOCK_TIMEOUT_MS = 60_000;

/**
 * Resolved from this file, not the working directory: src/store/ under tsx and dist/store/ after
 * `tsc` sit at the same depth below the package root.
 */
const MIGRATIONS_ROOT = new URL('../../prisma/migrations/', import.meta.url);

export interface Migration {
  /** The folder name, e.g. `20261128043700_init`; also `_prisma_migrations.migration_name`. */
  readonly name: string;
  readonly sql: string;
  /** Lowercase hex SHA-256 of the file's bytes, as Prisma computes it. */
  readonly checksum: string;
}

interface HistoryRow {
  migration_name: string;
  checksum: string;
  finished_at: unknown;
  rolled_back_at: unknown;
}

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

/** The migrations folder for one backend (`prisma/migrations/sqlite` or `.../postgresql`). */
export function migrationsDirectory(kind: DatabaseKind): string {
  return fileURLToPath(new URL(`${kind}/`, MIGRATIONS_ROOT));
}

/** The committed migrations for one backend, in the order they apply (by folder name, as Prisma). */
export function loadMigrations(kind: DatabaseKind): Migration[] {
  const dir = migrationsDirectory(kind);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (error) {
    throw new MigrationError(`cannot read the migrations folder ${dir}: ${(error as Error).message}`);
  }
  return entries
    .filter((entry) => statSync(`${dir}/${entry}`).isDirectory())
    .sort()
    .map((name) => {
      const bytes = readFileSync(`${dir}/${name}/migration.sql`);
      return { name, sql: bytes.toString('utf8'), checksum: createHash('sha256').update(bytes).digest('hex') };
    });
}

/**
 * Brings the database at `url` up to date with the committed migrations and returns the names it
 * applied (empty when there was nothing to do). Safe to call from several processes at once.
 * Throws a MigrationError, and applies nothing further, if an applied migration's file has changed,
 * if the history holds a failed migration, or if a migration fails (that migration is rolled back).
 */
export async function applyMigrations(
  kind: DatabaseKind,
  url: string,
  log: (msg: string) => void = () => {},
): Promise<string[]> {
  return applyMigrationList(kind, url, loadMigrations(kind), log);
}

/** applyMigrations with the migrations given rather than read from prisma/migrations (tests). */
export async function applyMigrationList(
  kind: DatabaseKind,
  url: string,
  migrations: readonly Migration[],
  log: (msg: string) => void = () => {},
): Promise<string[]> {
  const sorted = [...migrations].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return kind === 'sqlite' ? applySqlite(url, sorted, log) : applyPostgres(url, sorted, log);
}

/**
 * Checks the recorded history against the files and returns the migrations still to apply.
 * Rows with `rolled_back_at` set are ignored, as Prisma does.
 */
function pendingMigrations(
  migrations: Migration[],
  history: HistoryRow[],
): { pending: Migration[]; unknown: string[] } {
  const live = history.filter((row) => row.rolled_back_at === null);
  const failed = live.filter((row) => row.finished_at === null);
  if (failed.length > 0) {
    throw new MigrationError(
      `migration ${failed.map((row) => row.migration_name).join(', ')} failed earlier and is marked as ` +
        'unfinished in _prisma_migrations; repair the database by hand, then mark it rolled back ' +
        "(set rolled_back_at) so it can be applied again",
    );
  }
  const applied = new Map(live.map((row) => [row.migration_name, row.checksum]));
  for (const migration of migrations) {
    const checksum = applied.get(migration.name);
    if (checksum !== undefined && checksum !== migration.checksum) {
      throw new MigrationError(
        `migration ${migration.name} was modified after it was applied (checksum ${checksum} in ` +
          `_prisma_migrations, ${migration.checksum} on disk); never edit an applied migration, add a new one`,
      );
    }
  }
  const known = new Set(migrations.map((migration) => migration.name));
  return {
    pending: migrations.filter((migration) => !applied.has(migration.name)),
    // A newer release has migrated this database; this (older) process may still work with it,
    // so that is a warning, not an error.
    unknown: [...applied.keys()].filter((name) => !known.has(name)),
  };
}

function warnUnknown(unknown: string[], log: (msg: string) => void): void {
  if (unknown.length > 0) log(`database has migrations this build does not know: ${unknown.join(', ')}`);
}

// --- SQLite -------------------------------------------------------------------------------------

// Prisma's own DDL for the history table on SQLite.
const SQLITE_HISTORY_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)`;

async function setWalMode(db: Sqlite.Database): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_BUSY' || attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 80));
    }
  }
}

async function applySqlite(url: string, migrations: Migration[], log: (msg: string) => void): Promise<string[]> {
  const file = sqliteFilePath(url);
  mkdirSync(dirname(file), { recursive: true });
  const { default: Sqlite } = await import('better-sqlite3');
  const db = new Sqlite(file, { timeout: SQLITE_MIGRATION_LOCK_TIMEOUT_MS });
  const appliedNow: string[] = [];
  try {
    // WAL is a property of the file: set once here, it holds for every later connection. Switching
    // it can fail with SQLITE_BUSY at once (without the busy handler) while another process opens
    // the same new file, as replicas starting together do: retry for a while.
    await setWalMode(db);
    db.pragma('synchronous = FULL');
    // Off on this connection only, as SQLite's documented procedure for schema changes requires:
    // Prisma's SQLite migrations rebuild tables (create new, copy, drop old, rename), and with
    // foreign keys on, dropping the old parent table would fire ON DELETE CASCADE on its children.
    // `PRAGMA foreign_keys` is a no-op inside a transaction, so it is set here, and each migration
    // is checked with `foreign_key_check` before it commits instead.
    db.pragma('foreign_keys = OFF');

    for (;;) {
      // IMMEDIATE takes the write lock now (waiting up to the timeout for another process that is
      // migrating), so the history read below cannot go stale before we write.
      db.exec('BEGIN IMMEDIATE');
      let committed = false;
      try {
        db.exec(SQLITE_HISTORY_TABLE);
        const history = db
          .prepare('SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations"')
          .all() as HistoryRow[];
        const { pending, unknown } = pendingMigrations(migrations, history);
        if (appliedNow.length === 0) warnUnknown(unknown, log);
        const next = pending[0];
        if (next === undefined) {
          db.exec('COMMIT');
          committed = true;
          break;
        }
        const id = randomUUID();
        // Prisma's native engine stores these DATETIME columns as Unix epoch milliseconds.
        db.prepare(
          'INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES (?, ?, ?, ?, 0)',
        ).run(id, next.checksum, next.name, Date.now());
        try {
          db.exec(next.sql);
        } catch (error) {
          throw new MigrationError(`migration ${next.name} failed: ${(error as Error).message}`);
        }
        const violations = db.pragma('foreign_key_check') as unknown[];
        if (violations.length > 0) {
          throw new MigrationError(
            `migration ${next.name} leaves ${violations.length} foreign-key violation(s), e.g. ${JSON.stringify(violations[0])}`,
          );
        }
        db.prepare('UPDATE "_prisma_migrations" SET finished_at = ?, applied_steps_count = 1 WHERE id = ?').run(
          Date.now(),
          id,
        );
        db.exec('COMMIT');
        committed = true;
        appliedNow.push(next.name);
        log(`applied migration ${next.name}`);
      } finally {
        if (!committed && db.inTransaction) db.exec('ROLLBACK');
      }
    }
  } finally {
    db.close();
  }
  return appliedNow;
}

// --- PostgreSQL ---------------------------------------------------------------------------------

// Prisma's own DDL for the history table on PostgreSQL.
const POSTGRES_HISTORY_TABLE = `CREATE TABLE IF NOT EXISTS _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
)`;

async function applyPostgres(url: string, migrations: Migration[], log: (msg: string) => void): Promise<string[]> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS });
  // An 'error' event without a listener would crash the process; the failing query reports it.
  client.on('error', () => {});
  await client.connect();
  const appliedNow: string[] = [];
  try {
    // Waits while another replica (or `prisma migrate deploy`) migrates; released below, or by the
    // server if this connection dies.
    await client.query(`SELECT pg_advisory_lock(${PRISMA_MIGRATE_ADVISORY_LOCK})`);
    try {
      // Quiet the "relation already exists, skipping" notice on every start.
      await client.query("SET client_min_messages = 'warning'");
      await client.query(POSTGRES_HISTORY_TABLE);
      const history = await client.query<HistoryRow>(
        'SELECT migration_name, checksum, finished_at, rolled_back_at FROM _prisma_migrations',
      );
      const { pending, unknown } = pendingMigrations(migrations, history.rows);
      warnUnknown(unknown, log);
      for (const migration of pending) {
        await client.query('BEGIN');
        try {
          const id = randomUUID();
          await client.query(
            'INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)',
            [id, migration.checksum, migration.name],
          );
          try {
            // No parameters: pg sends a simple query, which may hold many statements.
            await client.query(migration.sql);
          } catch (error) {
            throw new MigrationError(`migration ${migration.name} failed: ${(error as Error).message}`);
          }
          // clock_timestamp(): now() is the transaction's start time.
          await client.query(
            'UPDATE _prisma_migrations SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = $1',
            [id],
          );
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK').catch(() => {});
          throw error;
        }
        appliedNow.push(migration.name);
        log(`applied migration ${migration.name}`);
      }
    } finally {
      await client.query(`SELECT pg_advisory_unlock(${PRISMA_MIGRATE_ADVISORY_LOCK})`).catch(() => {});
    }
  } finally {
    await client.end().catch(() => {});
  }
  return appliedNow;
}
