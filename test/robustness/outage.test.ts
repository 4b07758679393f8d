// Outages on PostgreSQL: the real service process reaches the (shared, never stopped) server
// through a TCP proxy, which the test cuts under write load. Requests must fail fast with 503
// problems (not hang, not 500), /readyz must say 503, and once the proxy is back the same process
// must recover by itself, with nothing it acknowledged lost, and the change feed agreeing with what
// is stored (every acknowledged write with its event, no event without its write).
//
// Three kinds of outage, each OUTAGE_CYCLES times (1; 5 under SOAK=1):
// - refuse:    every connection destroyed, nothing listens (server down, port closed);
// - reset:     every connection destroyed, new ones reset on accept (a proxy or pooler failing);
// - blackhole: connections stay open and nothing gets through (a network partition, a frozen
//              host); only timeouts can end such a request.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/databases.js';
import { openDumper } from '../support/db-dump.js';
import { acksWithoutEvents, feedStateViolations } from '../support/feed.js';
import { call } from '../support/http-client.js';
import { readState, violations } from '../support/registry-invariants.js';
import { startServer, type ServerProcess } from '../support/server-process.js';
import { startTcpProxy, type TcpProxy } from '../support/outage-proxy.js';
import { missingAcks, startWriteLoad, type Ack } from '../support/write-load.js';
import { outageCycles, recordCount } from './settings.js';

const CYCLES = outageCycles();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The longest a request may take while the database is away. Cut connections fail at once; a
 * blackhole is ended by the service's own timeouts (PostgreSQL connect 3 s, query 3 s; see
 * src/store/database.ts), never by the client giving up. A blackhole lasts longer than its bound,
 * so a request that waited for the database to come back would fail the test.
 */
const MAX_MS = { refuse: 5_000, reset: 5_000, blackhole: 10_000 } as const;
const OUTAGE_MS = { refuse: 2_500, reset: 2_500, blackhole: 12_000 } as const;
type Mode = keyof typeof MAX_MS;

describe.runIf(postgresAvailable)('PostgreSQL outages under load', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let server: ServerProcess & { baseUrl: string };
  const acks: Ack[] = [];
  const counts = { outages: 0, requests: 0, unavailable: 0, acknowledged: 0 };

  beforeAll(async () => {
    database = await createTestDatabase('postgresql');
    proxy = await startTcpProxy({ host: new URL(database.url).hostname || '127.0.0.1', port: Number(new URL(database.url).port || 5432) });
    server = await startServer({ DATABASE_URL: proxy.url(database.url) });
  }, 60_000);

  afterAll(async () => {
    recordCount('outage.postgresql', counts);
    console.log(`outages on postgresql: ${JSON.stringify(counts)}`);
    await server?.stop('SIGKILL');
    await proxy?.close();
    await database?.drop();
  });

  const modes: Mode[] = Array.from({ length: CYCLES }, () => ['refuse', 'reset', 'blackhole'] as Mode[]).flat();

  it.each(modes.map((mode, i) => [i + 1, mode] as const))(
    'outage %i (%s): fast 503 problems, /readyz 503, recovery without restart, nothing lost',
    async (_, mode) => {
      const base = () => server.baseUrl;
      expect((await call(base(), 'GET', '/readyz')).status).toBe(200);
      const tag = `o${counts.outages}`;

      // Load before, during and after the outage.
      const before = startWriteLoad(base, { clients: 4, tag: `${tag}a`, timeoutMs: 30_000 });
      await sleep(500);
      const healthy = await before.stop();
      expect(healthy.acks.length, 'writes succeed before the outage').toBeGreaterThan(0);

      const during = startWriteLoad(base, { clients: 4, tag: `${tag}b`, timeoutMs: 30_000 });
      await sleep(200);
      if (mode === 'blackhole') proxy.blackhole();
      else await proxy.cut(mode);
      const readiness: number[] = [];
      const outageEnds = Date.now() + OUTAGE_MS[mode];
      while (Date.now() < outageEnds) {
        const ready = await call(base(), 'GET', '/readyz', { timeoutMs: 30_000 });
        readiness.push(ready.status);
        expect(ready.elapsedMs, '/readyz answered in time').toBeLessThan(MAX_MS[mode]);
        await sleep(200);
      }
      await proxy.restore();
      const outage = await during.stop();

      // The same process comes back by itself.
      let recoveredAfter = -1;
      for (const started = Date.now(); Date.now() - started < 20_000; await sleep(100)) {
        if ((await call(base(), 'GET', '/readyz')).status === 200) {
          recoveredAfter = Date.now() - started;
          break;
        }
      }
      expect(recoveredAfter, '/readyz 200 again after the database came back').toBeGreaterThanOrEqual(0);
      expect(server.child.exitCode, 'no restart').toBeNull();
      const after = startWriteLoad(base, { clients: 4, tag: `${tag}c` });
      await sleep(700);
      const recovered = await after.stop();
      expect(recovered.acks.length, 'writes succeed again').toBeGreaterThan(0);

      // During the outage: only successes (before the cut took effect) and 503 problems, each fast.
      const summary = `${mode}: statuses ${JSON.stringify([...outage.statuses])}, readiness ${readiness.join(',')}`;
      expect(outage.lost, `no request hung or was cut off (${summary})`).toBe(0);
      for (const reply of outage.replies) {
        expect(reply.status === 503 || (reply.status >= 200 && reply.status < 300), summary).toBe(true);
        if (reply.status === 503) expect(reply.problemType, summary).toMatch(/\/problems\/unavailable$/);
        expect(reply.elapsedMs, `a request took ${Math.round(reply.elapsedMs)} ms (${summary})`).toBeLessThan(MAX_MS[mode]);
      }
      expect(outage.statuses.get(503) ?? 0, summary).toBeGreaterThan(0);
      expect(readiness.filter((s) => s === 503).length, summary).toBeGreaterThan(0);
      expect(readiness.every((s) => s === 503 || s === 200), summary).toBe(true);
      for (const load of [healthy, recovered]) {
        expect([...load.statuses.keys()].every((s) => s >= 200 && s < 300), JSON.stringify([...load.statuses])).toBe(true);
        expect(load.lost).toBe(0);
      }

      acks.push(...healthy.acks, ...outage.acks, ...recovered.acks);
      expect(await missingAcks(base(), acks), summary).toEqual([]);
      counts.outages += 1;
      counts.requests += healthy.replies.length + outage.replies.length + recovered.replies.length;
      counts.unavailable += outage.statuses.get(503) ?? 0;
      counts.acknowledged = acks.length;
      console.log(
        `${mode} outage: ${outage.replies.length} requests during it (${outage.statuses.get(503) ?? 0} x 503, slowest ` +
          `${Math.round(Math.max(0, ...outage.replies.map((r) => r.elapsedMs)))} ms), ready again ${recoveredAfter} ms after restore`,
      );
    },
    90_000,
  );

  it('leaves the database consistent (read directly, not through the proxy)', async () => {
    const db = await openDumper(database.url);
    try {
      expect(violations(await readState(db))).toEqual([]);
      // The feed: every acknowledged write has its event, and events and stored rows agree.
      expect(await acksWithoutEvents(db, acks)).toEqual([]);
      expect(await feedStateViolations(db)).toEqual([]);
    } finally {
      await db.close();
    }
    expect(acks.length).toBeGreaterThan(0);
  });
});
