// Replicas that start together against an empty database must migrate it once: one history, the
// built-in classes once, one page-token key.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.js';
import { applyMigrations, loadMigrations } from '../../src/store/migrate.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';

const run = promisify(execFile);
const child = fileURLToPath(new URL('../support/apply-migrations-child.ts', import.meta.url));
const root = fileURLToPath(new URL('../..', import.meta.url));

/** Node + tsx start-up takes about a second; under load more. A late child still runs. */
const START_DELAY_MS = 2500;

async function startReplica(kind: string, url: string, startAt: number): Promise<string[]> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', child, kind, url, String(startAt)], { cwd: root });
  return JSON.parse(stdout) as string[];
}

describe.each(BACKENDS)('concurrent start-up on %s', (kind) => {
  let db: TestDatabase;
  beforeEach(async () => {
    db = await createTestDatabase(kind);
  });
  afterEach(async () => {
    await db.drop();
  });

  async function expectMigratedOnce(appliedPerReplica: string[][]): Promise<void> {
    const names = loadMigrations(kind).map((m) => m.name);
    // Every migration was applied by exactly one replica.
    expect(appliedPerReplica.flat().sort()).toEqual(names);

    const database = await openDatabase(db.url, { migrate: false });
    try {
      const history = await database.prisma.$queryRawUnsafe<{ migration_name: string }[]>(
        'SELECT migration_name FROM _prisma_migrations ORDER BY migration_name',
      );
      expect(history.map((row) => row.migration_name)).toEqual(names);
      const classes = await database.prisma.moduleClass.findMany({ where: { builtIn: true } });
      expect(classes).toHaveLength(4);
      expect(await database.prisma.registryMeta.count()).toBe(1);
    } finally {
      await database.close();
    }
  }

  it('three processes migrate an empty database once', async () => {
    const startAt = Date.now() + START_DELAY_MS;
    const applied = await Promise.all([1, 2, 3].map(() => startReplica(kind, db.url, startAt)));
    await expectMigratedOnce(applied);
  });

  // On SQLite the driver is synchronous, so in one process these run one after the other; the
  // processes above are the real test there.
  it('three connections in one process migrate an empty database once', async () => {
    const applied = await Promise.all([1, 2, 3].map(() => applyMigrations(kind, db.url)));
    await expectMigratedOnce(applied);
  });
});
