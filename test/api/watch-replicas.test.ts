// Waiting across replicas, with real service processes: two on one SQLite file and two on one
// PostgreSQL database. A waiter on A wakes on a write to B (the feed's long-poll, a config's
// long-poll, a stream); a stream client that keeps reconnecting with Last-Event-ID, to either
// replica, misses nothing while writes continue; on PostgreSQL, cutting A's connections (its
// LISTEN connection with them) loses nothing either; SIGTERM answers 100 waiters at once.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startTcpProxy, type TcpProxy } from '../support/outage-proxy.js';
import { startServer, type ServerProcess } from '../support/server-process.js';
import { openSse, type SseEvent } from '../support/sse.js';

type Server = ServerProcess & { baseUrl: string };

// startServer waits for the "Server listening" line, an info line.
const QUIET = {};

async function put(base: string, name: string, attribute: string): Promise<number> {
  const res = await fetch(`${base}/v1/configs/${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ config: { preserved_attributes: [attribute] } }),
  });
  if (res.status >= 300) throw new Error(`PUT ${name}: ${res.status} ${await res.text()}`);
  return res.status;
}

async function revisionOf(base: string): Promise<number> {
  return Number((await fetch(`${base}/v1/events?limit=1`)).headers.get('x-registry-revision'));
}

async function waiters(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(/^registry_watch_waiters (\d+)$/m.exec(text)?.[1]);
}

async function untilWaiters(base: string, count: number): Promise<void> {
  for (let i = 0; i < 1000 && (await waiters(base)) !== count; i++) await sleep(10);
  expect(await waiters(base)).toBe(count);
}

const revisions = (events: SseEvent[]) => events.map((e) => Number(e.id));
const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

describe.each(BACKENDS)('waiting across replicas on %s', (kind) => {
  let db: TestDatabase;
  let a: Server;
  let b: Server;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    // One first, so that the second does not race it through the first migration.
    a = await startServer({ DATABASE_URL: db.url, ...QUIET });
    b = await startServer({ DATABASE_URL: db.url, ...QUIET });
  }, 120_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await db?.drop();
  });

  it('wakes a long-poll on the feed of A with a write to B', async () => {
    const after = await revisionOf(a.baseUrl);
    const polling = fetch(`${a.baseUrl}/v1/events?after=${after}&name=x-feed&wait=30`);
    await untilWaiters(a.baseUrl, 1);
    await put(b.baseUrl, 'x-feed', 'one');
    const res = await polling;
    expect(res.status).toBe(200);
    const page = (await res.json()) as { items: Array<{ revision: number; name: string }>; lastRevision: number };
    expect(page.items).toMatchObject([{ revision: after + 1, name: 'x-feed' }]);
  });

  it("wakes a config's long-poll on A with a write to B", async () => {
    await put(a.baseUrl, 'x-config', 'one');
    const polling = fetch(`${a.baseUrl}/v1/configs/x-config`, { headers: { 'if-none-match': '"1"', prefer: 'wait=30' } });
    await untilWaiters(a.baseUrl, 1);
    await put(b.baseUrl, 'x-config', 'two');
    const res = await polling;
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('"2"');
    expect(res.headers.get('preference-applied')).toBe('wait=30');
  });

  it('streams on A what is written to B', async () => {
    const after = await revisionOf(a.baseUrl);
    const stream = await openSse(`${a.baseUrl}/v1/events/stream?after=${after}`);
    try {
      for (let i = 0; i < 5; i++) await put(b.baseUrl, `x-stream-${i}`, 'one');
      expect(revisions(await stream.until(5))).toEqual(range(after + 1, 5));
    } finally {
      stream.close();
    }
  });

  it('misses nothing for a stream client that reconnects with Last-Event-ID while writes continue', async () => {
    const start = await revisionOf(a.baseUrl);
    const writes = 120;
    let written = 0;
    const writer = (async () => {
      for (let i = 0; i < writes; i++) {
        // Both replicas write, in turns, to a few configs.
        await put(i % 2 === 0 ? b.baseUrl : a.baseUrl, `x-resume-${i % 4}`, `v${i}`);
        written++;
      }
    })();
    const received: SseEvent[] = [];
    let lastId = String(start);
    for (let round = 0; received.length < writes; round++) {
      // Alternate replicas, as a load balancer may; leave after a few events, mid-stream.
      const server = round % 2 === 0 ? a : b;
      const stream = await openSse(`${server.baseUrl}/v1/events/stream?after=0`, { 'last-event-id': lastId });
      const want = Math.min(writes, received.length + 7 + (round % 5));
      try {
        await stream.until(want - received.length);
      } catch (error) {
        if (written < writes) throw error;
      }
      stream.close();
      received.push(...stream.events);
      lastId = stream.lastEventId() ?? lastId;
      expect(round, 'rounds').toBeLessThan(200);
    }
    await writer;
    expect(revisions(received)).toEqual(range(start + 1, writes));
  }, 120_000);
});

describe.runIf(BACKENDS.includes('postgresql'))('a PostgreSQL replica whose connections are cut', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let a: Server;
  let b: Server;

  beforeAll(async () => {
    db = await createTestDatabase('postgresql');
    const url = new URL(db.url);
    proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    // A reaches the database only through the proxy: its pool and its LISTEN connection.
    a = await startServer({ DATABASE_URL: proxy.url(db.url), LOG_LEVEL: 'info' });
    b = await startServer({ DATABASE_URL: db.url, ...QUIET });
  }, 120_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await proxy?.close();
    await db?.drop();
  });

  it('streams every event written meanwhile once it is back, none missed, none twice', async () => {
    const start = await revisionOf(b.baseUrl);
    const stream = await openSse(`${a.baseUrl}/v1/events/stream?after=${start}`);
    try {
      const writes = 60;
      const writer = (async () => {
        for (let i = 0; i < writes; i++) {
          await put(b.baseUrl, `cut-${i % 3}`, `v${i}`);
          await sleep(25);
        }
      })();
      await stream.until(5);
      await proxy.cut('reset');
      await sleep(1500);
      await proxy.restore();
      await writer;
      expect(revisions(await stream.until(writes, 30_000))).toEqual(range(start + 1, writes));
      expect(a.output()).toContain('watch: the PostgreSQL listening connection was lost');
      await sleep(3000);
      expect(a.output()).toContain('watch: listening on PostgreSQL again');
    } finally {
      stream.close();
    }
  }, 90_000);

  it('wakes a waiter through the new LISTEN connection after a cut', async () => {
    const after = await revisionOf(b.baseUrl);
    const polling = fetch(`${a.baseUrl}/v1/events?after=${after}&name=after-cut&wait=30`);
    await untilWaiters(a.baseUrl, 1);
    await put(b.baseUrl, 'after-cut', 'one');
    const page = (await (await polling).json()) as { items: Array<{ name: string }> };
    expect(page.items).toMatchObject([{ name: 'after-cut' }]);
  });
});

describe.each(BACKENDS)('SIGTERM with waiters and streams on %s', (kind) => {
  let db: TestDatabase;
  let server: Server | undefined;
  afterEach(async () => {
    await server?.stop('SIGKILL');
    await db?.drop();
  });

  it('answers 100 long-polls and ends the streams at once, and exits 0', async () => {
    db = await createTestDatabase(kind);
    server = await startServer({ DATABASE_URL: db.url, ...QUIET });
    const base = server.baseUrl;
    await put(base, 'c', 'one');
    const polls = [
      ...Array.from({ length: 50 }, () => fetch(`${base}/v1/events?after=1&wait=60`)),
      ...Array.from({ length: 50 }, () => fetch(`${base}/v1/configs/c`, { headers: { 'if-none-match': '"1"', prefer: 'wait=60' } })),
    ];
    const streams = await Promise.all(Array.from({ length: 10 }, () => openSse(`${base}/v1/events/stream?after=0`)));
    await Promise.all(streams.map((s) => s.until(1)));
    await untilWaiters(base, 100);

    const started = performance.now();
    server.child.kill('SIGTERM');
    const answers = await Promise.all(polls);
    await Promise.all(streams.map((s) => s.ended));
    const exit = await server.exited;
    const elapsed = performance.now() - started;
    console.log(`SIGTERM with 100 waiters and 10 streams on ${kind}: exited in ${elapsed.toFixed(0)} ms`);
    // Past the shutdown grace (10 s) the service would exit 1: 0 means nothing held it up.
    expect(exit).toEqual({ code: 0, signal: null });
    expect(answers.slice(0, 50).map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(answers.slice(50).map((r) => r.status)).toEqual(Array(50).fill(304));
    expect(await answers[0]!.json()).toEqual({ items: [], lastRevision: 1 });
  }, 60_000);

  it('refuses streams beyond WATCH_MAX_STREAMS with 503 and Retry-After', async () => {
    db = await createTestDatabase(kind);
    server = await startServer({ DATABASE_URL: db.url, WATCH_MAX_STREAMS: '1', ...QUIET });
    const first = await openSse(`${server.baseUrl}/v1/events/stream`);
    const second = await openSse(`${server.baseUrl}/v1/events/stream`);
    expect(first.status).toBe(200);
    expect(second.status).toBe(503);
    expect(second.headers.get('retry-after')).toBe('2');
    first.close();
  });
});
