// One database per test (or per file), so test files can run in parallel:
//
//   describe.each(BACKENDS)('%s', (kind) => {
//     let db: { url: string; drop(): Promise<void> };
//     beforeEach(async () => { db = await createTestDatabase(kind); });
//     afterEach(() => db.drop());
//     ...openDatabase(db.url)...
//   });
//
// PostgreSQL suites run when the server answers (see global-setup.ts); with REQUIRE_POSTGRES=1
// (as in .ci/run) an unreachable server fails the run instead of skipping them.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import type { DatabaseKind } from '../../src/store/database.js';
import { databaseUrl, TEST_DATABASE_PREFIX, withAdminClient } from './postgres-admin.js';

export interface TestDatabase {
  /** A DATABASE_URL for an empty database (not migrated: openDatabase does that). */
  readonly url: string;
  /** Removes the database and everything in it. */
  drop(): Promise<void>;
}

export const postgresAvailable: boolean = inject('postgresAvailable');

export const BACKENDS: DatabaseKind[] = postgresAvailable ? ['sqlite', 'postgresql'] : ['sqlite'];

export async function createTestDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  return kind === 'sqlite' ? createSqliteDatabase() : createPostgresDatabase();
}

async function createSqliteDatabase(): Promise<TestDatabase> {
  // A folder of its own: SQLite puts -wal and -shm files beside the database.
  const dir = await mkdtemp(join(tmpdir(), 'registry-test-'));
  return {
    url: `file:${join(dir, 'registry.db')}`,
    drop: () => rm(dir, { recursive: true, force: true }),
  };
}

async function createPostgresDatabase(): Promise<TestDatabase> {
  if (!postgresAvailable) throw new Error('PostgreSQL is not available in this run (see BACKENDS)');
  const name = `${TEST_DATABASE_PREFIX}${Math.floor(Date.now() / 1000)}_${randomBytes(6).toString('hex')}`;
  await withAdminClient(async (client) => {
    // A linguistic default collation, as many production servers have (en_US.UTF-8), so that a
    // column missing its COLLATE "C" shows up as wrong ordering. ICU needs PostgreSQL 15+.
    await client
      .query(`CREATE DATABASE "${name}" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'`)
      .catch(() => client.query(`CREATE DATABASE "${name}"`));
  });
  return {
    url: databaseUrl(name),
    drop: () => withAdminClient(async (client) => void (await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`))),
  };
}
