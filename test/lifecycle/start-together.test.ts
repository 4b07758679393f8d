// Replicas that start together on an empty database (docker compose up, a rollout): three real
// service processes, each on its own port. They must migrate once between them, seed the built-in
// classes once, all become ready, and then behave as one registry. (test/store/
// concurrent-migrate.test.ts races the migrator alone; this is the whole service.)
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.js';
import { loadMigrations } from '../../src/store/migrate.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startServiceProcess, type RunningService } from '../support/service-process.js';

const BUILT_IN = [
  'torch.ao.nn.quantizable.LSTM',
  'torch.ao.nn.quantizable.MultiheadAttention',
  'torch.ao.nn.quantized.LSTM',
  'torch.ao.nn.quantized.MultiheadAttention',
];

describe.each(BACKENDS)('three replicas starting together on an empty %s database', (kind) => {
  let db: TestDatabase;
  let replicas: RunningService[] = [];

  beforeEach(async () => {
    db = await createTestDatabase(kind);
  });
  afterEach(async () => {
    for (const replica of replicas) if (replica.child.exitCode === null) replica.child.kill('SIGKILL');
    await Promise.all(replicas.map((replica) => replica.exited));
    replicas = [];
    await db.drop();
  });

  it('migrate once, seed once, all become ready and share one registry', async () => {
    replicas = await Promise.all([1, 2, 3].map(() => startServiceProcess({ DATABASE_URL: db.url })));
    expect(new Set(replicas.map((r) => r.port)).size).toBe(3);

    for (const replica of replicas) {
      const ready = await fetch(`${replica.baseUrl}/readyz`);
      expect(ready.status).toBe(200);
    }

    // One migration history: every migration recorded once, and applied (logged) by one replica.
    const names = loadMigrations(kind).map((m) => m.name);
    const appliedLines = replicas.flatMap((r) =>
      r.logs.map((line) => /^applied migration (\S+)$/.exec(line.msg ?? '')?.[1]).filter((name) => name !== undefined),
    );
    expect(appliedLines.sort()).toEqual(names);
    const database = await openDatabase(db.url, { migrate: false });
    try {
      const history = await database.prisma.$queryRawUnsafe<{ migration_name: string }[]>(
        'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY migration_name',
      );
      expect(history.map((row) => row.migration_name)).toEqual(names);
      expect(await database.prisma.moduleClass.count()).toBe(4);
      expect(await database.prisma.registryMeta.count()).toBe(1);
    } finally {
      await database.close();
    }

    // One set of built-in classes, the same bytes from every replica.
    const lists = await Promise.all(replicas.map(async (r) => (await fetch(`${r.baseUrl}/v1/module-classes`)).text()));
    expect(new Set(lists).size).toBe(1);
    expect((JSON.parse(lists[0]!) as { items: Array<{ id: string }> }).items.map((c) => c.id)).toEqual(BUILT_IN);

    // One registry: a write on one is read on another, and page tokens work across replicas
    // (they are signed with the key the migrations stored once).
    const [a, b, c] = replicas as [RunningService, RunningService, RunningService];
    const put = await fetch(`${a.baseUrl}/v1/configs/shared`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ config: { preserved_attributes: ['x'] } }),
    });
    expect(put.status).toBe(201);
    expect((await fetch(`${b.baseUrl}/v1/configs/shared`)).status).toBe(200);
    const page = (await (await fetch(`${b.baseUrl}/v1/module-classes?pageSize=2`)).json()) as { nextPageToken: string };
    const next = await fetch(`${c.baseUrl}/v1/module-classes?pageSize=2&pageToken=${encodeURIComponent(page.nextPageToken)}`);
    expect(next.status).toBe(200);
    expect(((await next.json()) as { items: Array<{ id: string }> }).items.map((x) => x.id)).toEqual(BUILT_IN.slice(2));

    for (const replica of replicas) replica.child.kill('SIGTERM');
    const exits = await Promise.all(replicas.map((r) => r.exited));
    expect(exits).toEqual(replicas.map(() => ({ code: 0, signal: null })));
  });
});
