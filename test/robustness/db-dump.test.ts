// The fuzz suite's "nothing changed" rests on test/support/db-dump.ts: it must be stable when
// nothing changes and notice the smallest change in any table.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from '../support/app.js';
import { BACKENDS } from '../support/databases.js';
import { openDumper, type DatabaseDumper } from '../support/db-dump.js';

describe.each(BACKENDS)('database dump on %s', (kind) => {
  let svc: TestService;
  let db: DatabaseDumper;

  beforeAll(async () => {
    svc = await startService(kind);
    db = await openDumper(svc.url);
  });
  afterAll(async () => {
    await db?.close();
    await svc?.close();
  });

  it('is the same twice, and covers every table', async () => {
    const dump = await db.dump();
    expect(await db.dump()).toBe(dump);
    for (const table of ['module_class', 'config', 'config_version', 'config_label', 'config_class_ref', 'registry_meta', '_prisma_migrations']) {
      expect(dump).toContain(`## ${table}`);
    }
  });

  it('notices a write through the API and a one-character change in any row', async () => {
    const before = await db.dump();
    expect((await svc.app.inject({ method: 'PUT', url: '/v1/configs/d', payload: { config: {}, labels: { a: 'b' } } })).statusCode).toBe(201);
    const written = await db.dump();
    expect(written).not.toBe(before);

    const changes = [
      `UPDATE config_label SET value = 'c' WHERE config_name = 'd'`,
      `UPDATE config_version SET description = ' ' WHERE config_name = 'd'`,
      `UPDATE registry_meta SET value = value || 'x' WHERE key = 'page_token_key'`,
      `UPDATE module_class SET description = description || '.' WHERE id = 'torch.ao.nn.quantized.LSTM'`,
    ];
    let previous = written;
    for (const sql of changes) {
      await svc.database.prisma.$executeRawUnsafe(sql);
      const now = await db.dump();
      expect(now, sql).not.toBe(previous);
      previous = now;
    }
  });
});
