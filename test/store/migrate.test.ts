import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Sqlite from 'better-sqlite3';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sqliteFilePath, type DatabaseKind } from '../../src/store/database.js';
import {
  applyMigrationList,
  applyMigrations,
  loadMigrations,
  migrationsDirectory,
  type Migration,
} from '../../src/store/migrate.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';

const BUILT_IN_CLASSES = [
  { id: 'torch.ao.nn.quantizable.LSTM', from_observed: false },
  { id: 'torch.ao.nn.quantizable.MultiheadAttention', from_observed: false },
  { id: 'torch.ao.nn.quantized.LSTM', from_observed: true },
  { id: 'torch.ao.nn.quantized.MultiheadAttention', from_observed: true },
];

/** Runs one query on the raw driver and returns plain rows (booleans as booleans). */
async function query<T = Record<string, unknown>>(kind: DatabaseKind, url: string, sql: string): Promise<T[]> {
  if (kind === 'sqlite') {
    const db = new Sqlite(sqliteFilePath(url));
    try {
      const statement = db.prepare(sql);
      if (statement.reader) return statement.all() as T[];
      statement.run();
      return [];
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

function migration(name: string, sql: string): Migration {
  return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
}

describe('committed migrations', () => {
  it('are the same set, by name, for both databases', () => {
    const names = (kind: DatabaseKind) => loadMigrations(kind).map((m) => m.name);
    expect(names('sqlite')).toEqual(names('postgresql'));
    expect(names('sqlite').map((name) => name.replace(/^\d{14}_/, '')).slice(0, 2)).toEqual(['init', 'seed']);
  });

  it('checksum is the SHA-256 of the file bytes', () => {
    for (const m of loadMigrations('sqlite')) {
      const bytes = readFileSync(`${migrationsDirectory('sqlite')}/${m.name}/migration.sql`);
      expect(m.checksum).toBe(createHash('sha256').update(bytes).digest('hex'));
    }
  });

  it('resolve from the package root, not the working directory', () => {
    expect(migrationsDirectory('postgresql')).toBe(
      new URL('../../prisma/migrations/postgresql/', import.meta.url).pathname,
    );
  });
});

describe.each(BACKENDS)('applyMigrations on %s', (kind) => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase(kind);
  });
  afterEach(async () => {
    await db.drop();
  });

  it('migrates an empty database and records each migration as Prisma does', async () => {
    const expected = loadMigrations(kind);
    const logged: string[] = [];
    const applied = await applyMigrations(kind, db.url, (msg) => logged.push(msg));
    expect(applied).toEqual(expected.map((m) => m.name));
    expect(logged).toEqual(expected.map((m) => `applied migration ${m.name}`));

    const history = await query<{
      id: string;
      checksum: string;
      migration_name: string;
      started_at: unknown;
      finished_at: unknown;
      rolled_back_at: unknown;
      logs: unknown;
      applied_steps_count: number;
    }>(kind, db.url, 'SELECT * FROM _prisma_migrations ORDER BY migration_name');
    expect(history.map((row) => [row.migration_name, row.checksum])).toEqual(
      expected.map((m) => [m.name, m.checksum]),
    );
    for (const row of history) {
      expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(row.finished_at).not.toBeNull();
      expect(row.started_at).not.toBeNull();
      expect(row.rolled_back_at).toBeNull();
      expect(row.logs).toBeNull();
      expect(Number(row.applied_steps_count)).toBe(1);
    }
  });

  it('creates the history table with Prisma\'s column types', async () => {
    await applyMigrations(kind, db.url);
    if (kind === 'sqlite') {
      const columns = await query<{ name: string; type: string; notnull: number }>(
        kind,
        db.url,
        'SELECT name, type, "notnull" FROM pragma_table_info(\'_prisma_migrations\')',
      );
      expect(Object.fromEntries(columns.map((c) => [c.name, c.type]))).toEqual({
        id: 'TEXT',
        checksum: 'TEXT',
        finished_at: 'DATETIME',
        migration_name: 'TEXT',
        logs: 'TEXT',
        rolled_back_at: 'DATETIME',
        started_at: 'DATETIME',
        applied_steps_count: 'INTEGER UNSIGNED',
      });
    } else {
      const columns = await query<{ column_name: string; type: string }>(
        kind,
        db.url,
        `SELECT column_name, format_type(atttypid, atttypmod) AS type
           FROM information_schema.columns JOIN pg_attribute
             ON attrelid = '_prisma_migrations'::regclass AND attname = column_name
          WHERE table_name = '_prisma_migrations'`,
      );
      expect(Object.fromEntries(columns.map((c) => [c.column_name, c.type]))).toEqual({
        id: 'character varying(36)',
        checksum: 'character varying(64)',
        finished_at: 'timestamp with time zone',
        migration_name: 'character varying(255)',
        logs: 'text',
        rolled_back_at: 'timestamp with time zone',
        started_at: 'timestamp with time zone',
        applied_steps_count: 'integer',
      });
    }
  });

  it('seeds the four built-in module classes and a page-token key', async () => {
    await applyMigrations(kind, db.url);
    const classes = await query<{ id: string; from_observed: unknown; built_in: unknown; description: string }>(
      kind,
      db.url,
      'SELECT id, from_observed, built_in, description FROM module_class ORDER BY id',
    );
    expect(classes.map((c) => ({ id: c.id, from_observed: Boolean(c.from_observed) }))).toEqual(BUILT_IN_CLASSES);
    for (const c of classes) {
      expect(Boolean(c.built_in)).toBe(true);
      expect(c.description).not.toBe('');
    }
    const meta = await query<{ key: string; value: string }>(kind, db.url, 'SELECT key, value FROM registry_meta');
    expect(meta).toHaveLength(1);
    expect(meta[0]?.key).toBe('page_token_key');
    expect(meta[0]?.value).toMatch(/^[0-9a-f]{64}$/);
  });

  it('generates a different page-token key for each database', async () => {
    const other = await createTestDatabase(kind);
    try {
      await applyMigrations(kind, db.url);
      await applyMigrations(kind, other.url);
      const key = async (url: string) =>
        (await query<{ value: string }>(kind, url, "SELECT value FROM registry_meta WHERE key = 'page_token_key'"))[0]
          ?.value;
      expect(await key(db.url)).not.toBe(await key(other.url));
    } finally {
      await other.drop();
    }
  });

  it('is a no-op the second time', async () => {
    await applyMigrations(kind, db.url);
    const before = await query(kind, db.url, 'SELECT * FROM _prisma_migrations ORDER BY migration_name');
    const logged: string[] = [];
    expect(await applyMigrations(kind, db.url, (msg) => logged.push(msg))).toEqual([]);
    expect(logged).toEqual([]);
    expect(await query(kind, db.url, 'SELECT * FROM _prisma_migrations ORDER BY migration_name')).toEqual(before);
    expect(await query(kind, db.url, 'SELECT id FROM module_class')).toHaveLength(4);
  });

  it('applies only what is new', async () => {
    const [first, ...rest] = loadMigrations(kind) as [Migration, ...Migration[]];
    expect(await applyMigrationList(kind, db.url, [first])).toEqual([first.name]);
    expect(await applyMigrations(kind, db.url)).toEqual(rest.map((m) => m.name));
  });

  it('refuses when an applied migration was edited', async () => {
    await applyMigrations(kind, db.url);
    const [init, ...rest] = loadMigrations(kind) as [Migration, ...Migration[]];
    const edited = migration(init.name, `${init.sql}\n-- edited\n`);
    await expect(applyMigrationList(kind, db.url, [edited, ...rest])).rejects.toThrow(
      new RegExp(`migration ${init.name} was modified after it was applied`),
    );
  });

  it('refuses to go on after a migration that failed half-way (as recorded by Prisma)', async () => {
    await applyMigrations(kind, db.url);
    const later = migration('29990101000000_later', 'CREATE TABLE later_table (id INTEGER PRIMARY KEY);');
    await query(
      kind,
      db.url,
      `INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count)
       VALUES ('00000000-0000-4000-8000-000000000000', '${later.checksum}', '${later.name}', ${kind === 'sqlite' ? '0' : 'now()'}, 0)`,
    );
    await expect(applyMigrationList(kind, db.url, [...loadMigrations(kind), later])).rejects.toThrow(
      /failed earlier and is marked as unfinished/,
    );
  });

  it('rolls a failing migration back, records nothing, and applies it once fixed', async () => {
    await applyMigrations(kind, db.url);
    const broken = migration(
      '29990101000000_broken',
      'CREATE TABLE half_done (id INTEGER PRIMARY KEY);\nINSERT INTO no_such_table VALUES (1);',
    );
    await expect(applyMigrationList(kind, db.url, [...loadMigrations(kind), broken])).rejects.toThrow(
      /migration 29990101000000_broken failed: .*no_such_table/,
    );
    const tables = kind === 'sqlite'
      ? "SELECT name FROM sqlite_master WHERE name = 'half_done'"
      : "SELECT tablename FROM pg_tables WHERE tablename = 'half_done'";
    expect(await query(kind, db.url, tables)).toEqual([]);
    expect(
      await query(kind, db.url, "SELECT id FROM _prisma_migrations WHERE migration_name = '29990101000000_broken'"),
    ).toEqual([]);

    const fixed = migration('29990101000000_broken', 'CREATE TABLE half_done (id INTEGER PRIMARY KEY);');
    expect(await applyMigrationList(kind, db.url, [...loadMigrations(kind), fixed])).toEqual([fixed.name]);
  });

  it('warns, but goes on, when the database has migrations this build does not know', async () => {
    const future = migration('29990101000000_future', 'CREATE TABLE future_table (id INTEGER PRIMARY KEY);');
    await applyMigrationList(kind, db.url, [...loadMigrations(kind), future]);
    const logged: string[] = [];
    expect(await applyMigrations(kind, db.url, (msg) => logged.push(msg))).toEqual([]);
    expect(logged).toEqual(['database has migrations this build does not know: 29990101000000_future']);
  });
});

describe('applyMigrations on sqlite', () => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase('sqlite');
  });
  afterEach(async () => {
    await db.drop();
  });

  it('creates the database file and its folder', async () => {
    const url = db.url.replace(/registry\.db$/, 'nested/deeper/registry.db');
    await applyMigrations('sqlite', url);
    expect(await query('sqlite', url, 'SELECT count(*) AS n FROM module_class')).toEqual([{ n: 4 }]);
  });

  it('leaves the file in WAL mode', async () => {
    await applyMigrations('sqlite', db.url);
    expect(await query('sqlite', db.url, 'PRAGMA journal_mode')).toEqual([{ journal_mode: 'wal' }]);
  });

  // Prisma's SQLite migrations change a table by rebuilding it (new table, copy, drop, rename).
  // With foreign keys on, dropping the old parent would cascade-delete its children.
  it('rebuilds a parent table the way Prisma does without losing its children', async () => {
    await applyMigrations('sqlite', db.url);
    await query(
      'sqlite',
      db.url,
      `INSERT INTO config (name, latest_version, created_at, updated_at) VALUES ('c', 1, 0, 0)`,
    );
    await query(
      'sqlite',
      db.url,
      `INSERT INTO config_version (config_name, version, config_json, description, labels_json, content_hash, created_at, updated_by)
       VALUES ('c', 1, '{}', '', '{}', 'h', 0, 'me')`,
    );
    const rebuild = migration(
      '29990101000000_rebuild_config',
      `PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_config" (
    "name" TEXT NOT NULL PRIMARY KEY,
    "latest_version" INTEGER NOT NULL,
    "deleted" BOOLEAN NOT NULL DEFAULT false,
    "deleted_at" DATETIME,
    "created_at" DATETIME NOT NULL,
    "updated_at" DATETIME NOT NULL,
    "note" TEXT NOT NULL DEFAULT ''
);
INSERT INTO "new_config" ("name", "latest_version", "deleted", "deleted_at", "created_at", "updated_at")
  SELECT "name", "latest_version", "deleted", "deleted_at", "created_at", "updated_at" FROM "config";
DROP TABLE "config";
ALTER TABLE "new_config" RENAME TO "config";
CREATE INDEX "config_deleted_name_idx" ON "config"("deleted", "name");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;`,
    );
    await applyMigrationList('sqlite', db.url, [...loadMigrations('sqlite'), rebuild]);
    expect(await query('sqlite', db.url, 'SELECT config_name, version FROM config_version')).toEqual([
      { config_name: 'c', version: 1 },
    ]);
  });

  it('rolls back a migration that leaves foreign-key violations', async () => {
    await applyMigrations('sqlite', db.url);
    const orphan = migration(
      '29990101000000_orphan',
      `INSERT INTO config_class_ref (config_name, class_id, as_quantized) VALUES ('missing', 'missing', 0);`,
    );
    await expect(applyMigrationList('sqlite', db.url, [...loadMigrations('sqlite'), orphan])).rejects.toThrow(
      /foreign-key violation/,
    );
    expect(await query('sqlite', db.url, 'SELECT * FROM config_class_ref')).toEqual([]);
  });
});
