// Waiting for changes over real HTTP on one replica: GET /v1/events?wait=, the event stream, and a
// config's long-poll with If-None-Match and Prefer: wait. The hub's periodic re-read is pushed out
// to a minute here, so every prompt answer below was woken by the database's own signal (the
// WAL-index header, LISTEN); test/api/watch-replicas.test.ts does the same across processes.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReplica, startService, type TestService } from '../support/app.js';
import { BACKENDS, createTestDatabase } from '../support/databases.js';
import { openSse } from '../support/sse.js';

const DOC = { config: { preserved_attributes: ['a'] }, description: 'watched' };
const doc = (attribute: string) => ({ config: { preserved_attributes: [attribute] }, description: 'watched' });

describe.each(BACKENDS)('watching on %s', (kind) => {
  let svc: TestService;
  let base: string;

  beforeAll(async () => {
    svc = await startService(kind, {
      registry: { watch: { recheckMs: 60_000, maxWaiters: 6, maxStreams: 3 } },
      watching: { heartbeatMs: 100 },
      // Waits longer than this still answer normally: a waiting request is out of the deadline.
      timeouts: { handlerMs: 400 },
    });
    base = await svc.listen();
  });
  afterAll(async () => svc?.close());

  const put = (name: string, body: unknown = DOC, headers: Record<string, string> = {}) =>
    fetch(`${base}/v1/configs/${name}`, { method: 'PUT', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const revision = async () => Number((await fetch(`${base}/v1/events?limit=1`)).headers.get('x-registry-revision'));
  const gauges = async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    const read = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1]);
    return { waiters: read('registry_watch_waiters'), streams: read('registry_watch_streams') };
  };
  /** Until the replica holds this many waiters (so a write cannot come before the wait began). */
  const held = async (waiters: number) => {
    for (let i = 0; i < 500 && (await gauges()).waiters !== waiters; i++) await sleep(10);
    expect((await gauges()).waiters).toBe(waiters);
  };

  describe('GET /v1/events?wait=', () => {
    it('holds a reply with nothing to say until a matching change is committed, then answers with it', async () => {
      const after = await revision();
      const polling = fetch(`${base}/v1/events?after=${after}&name=ev-a&wait=30`);
      await held(1);
      expect((await put('ev-other')).status).toBe(201);
      expect((await put('ev-a')).status).toBe(201);
      const res = await polling;
      expect(res.status).toBe(200);
      const page = (await res.json()) as { items: Array<{ revision: number; name: string; type: string }>; lastRevision: number };
      expect(page.items).toMatchObject([{ revision: after + 2, name: 'ev-a', type: 'config.version_created' }]);
      expect(page.lastRevision).toBe(after + 2);
      expect(Number(res.headers.get('x-registry-revision'))).toBeGreaterThanOrEqual(after + 2);
      expect((await gauges()).waiters).toBe(0);
    });

    it('answers at once when something already matches, and with no items once the wait is up', async () => {
      const after = await revision();
      await put('ev-b');
      const now = await fetch(`${base}/v1/events?after=${after}&wait=30`);
      expect(((await now.json()) as { items: unknown[] }).items).toHaveLength(1);

      const quiet = await fetch(`${base}/v1/events?after=${after + 1}&name=ev-nobody&wait=1`);
      expect(quiet.status).toBe(200);
      expect(await quiet.json()).toEqual({ items: [], lastRevision: after + 1 });
    });

    it('moves a filtered waiter on past changes it does not want', async () => {
      const after = await revision();
      const polling = fetch(`${base}/v1/events?after=${after}&type=config.deleted&wait=1`);
      await held(1);
      await put('ev-c');
      const page = (await (await polling).json()) as { items: unknown[]; lastRevision: number };
      expect(page).toEqual({ items: [], lastRevision: after + 1 });
    });

    it('refuses a wait it cannot read with a 422 naming the parameter', async () => {
      for (const wait of ['61', '-1', '1.5', 'x', '']) {
        const res = await fetch(`${base}/v1/events?wait=${wait}`);
        expect(res.status, wait).toBe(422);
        expect(((await res.json()) as { errors: Array<{ parameter: string }> }).errors[0]!.parameter).toBe('wait');
      }
    });

    it('frees the waiter of a client that goes away at once', async () => {
      const abort = new AbortController();
      const polling = fetch(`${base}/v1/events?after=${await revision()}&wait=60`, { signal: abort.signal }).catch(() => 'aborted');
      await held(1);
      abort.abort();
      expect(await polling).toBe('aborted');
      await held(0);
    });
  });

  describe('GET /v1/configs/{name} with If-None-Match and Prefer: wait', () => {
    it('answers the new version as soon as it is written, saying it waited', async () => {
      await put('lp-a');
      const polling = fetch(`${base}/v1/configs/lp-a`, { headers: { 'if-none-match': '"1"', prefer: 'wait=30' } });
      await held(1);
      await put('lp-other');
      await put('lp-a', doc('b'));
      const res = await polling;
      expect(res.status).toBe(200);
      expect(res.headers.get('etag')).toBe('"2"');
      expect(res.headers.get('preference-applied')).toBe('wait=30');
      expect(((await res.json()) as { version: number }).version).toBe(2);
    });

    it('answers 304 only after the whole wait with nothing new', async () => {
      await put('lp-b');
      const started = performance.now();
      const res = await fetch(`${base}/v1/configs/lp-b`, { headers: { 'if-none-match': '"1"', prefer: 'respond-async, wait=1' } });
      expect(res.status).toBe(304);
      expect(res.headers.get('etag')).toBe('"1"');
      expect(res.headers.get('preference-applied')).toBe('wait=1');
      expect(performance.now() - started).toBeGreaterThanOrEqual(990);
    });

    it('answers 404 once the config is deleted while it waits', async () => {
      await put('lp-c');
      const polling = fetch(`${base}/v1/configs/lp-c`, { headers: { 'if-none-match': '"1"', prefer: 'wait=30' } });
      await held(1);
      expect((await fetch(`${base}/v1/configs/lp-c`, { method: 'DELETE' })).status).toBe(204);
      const res = await polling;
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.headers.get('preference-applied')).toBe('wait=30');
    });

    it('through ?alias=, answers when the alias moves, not when the config gets a version', async () => {
      await put('lp-alias');
      await put('lp-alias', doc('b'));
      const setAlias = (version: number) =>
        fetch(`${base}/v1/configs/lp-alias/aliases/production`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ version }),
        });
      expect((await setAlias(1)).status).toBe(201);
      const polling = fetch(`${base}/v1/configs/lp-alias?alias=production`, { headers: { 'if-none-match': '"1"', prefer: 'wait=30' } });
      await held(1);
      await put('lp-alias', doc('c'));
      await sleep(200);
      expect((await gauges()).waiters, 'a new version does not move the alias').toBe(1);
      expect((await setAlias(2)).status).toBe(200);
      const res = await polling;
      expect(res.status).toBe(200);
      expect(res.headers.get('etag')).toBe('"2"');
      expect(res.headers.get('content-location')).toBe('/v1/configs/lp-alias/versions/2');
      expect(res.headers.get('preference-applied')).toBe('wait=30');

      const gone = fetch(`${base}/v1/configs/lp-alias?alias=production`, { headers: { 'if-none-match': '"2"', prefer: 'wait=30' } });
      await held(1);
      expect((await fetch(`${base}/v1/configs/lp-alias/aliases/production`, { method: 'DELETE' })).status).toBe(204);
      expect((await gone).status).toBe(404);

      // `latest` is the newest version: a new version answers it.
      const latest = fetch(`${base}/v1/configs/lp-alias?alias=latest`, { headers: { 'if-none-match': '"3"', prefer: 'wait=30' } });
      await held(1);
      await put('lp-alias', doc('d'));
      expect((await latest).headers.get('etag')).toBe('"4"');
    });

    it('does not wait when the client is behind already, or asks for nothing it can wait on', async () => {
      await put('lp-d');
      await put('lp-d', doc('b'));
      const behind = await fetch(`${base}/v1/configs/lp-d`, { headers: { 'if-none-match': '"1"', prefer: 'wait=30' } });
      expect(behind.status).toBe(200);
      expect(behind.headers.get('preference-applied')).toBeNull();
      for (const prefer of ['wait=0', 'wait=soon', 'handling=lenient']) {
        const res = await fetch(`${base}/v1/configs/lp-d`, { headers: { 'if-none-match': '"2"', prefer } });
        expect(res.status, prefer).toBe(304);
        expect(res.headers.get('preference-applied'), prefer).toBeNull();
      }
      const unknown = await fetch(`${base}/v1/configs/lp-nobody`, { headers: { 'if-none-match': '"1"', prefer: 'wait=30' } });
      expect(unknown.status).toBe(404);
    });
  });

  describe('GET /v1/events/stream', () => {
    it('sends the backlog after Last-Event-ID, then each change as it commits, with heartbeats', async () => {
      const start = await revision();
      await put('st-a');
      await put('st-b');
      const stream = await openSse(`${base}/v1/events/stream?after=0`, { 'last-event-id': String(start) });
      expect(stream.status).toBe(200);
      expect(stream.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      expect(stream.headers.get('cache-control')).toBe('no-cache');
      const backlog = await stream.until(2);
      expect(backlog.map((e) => [e.id, e.event])).toEqual([
        [String(start + 1), 'config.version_created'],
        [String(start + 2), 'config.version_created'],
      ]);
      expect(JSON.parse(backlog[0]!.data)).toMatchObject({ revision: start + 1, name: 'st-a', version: 1 });
      await put('st-a', doc('b'));
      const [, , live] = await stream.until(3);
      expect(JSON.parse(live!.data)).toMatchObject({ revision: start + 3, name: 'st-a', version: 2 });
      await sleep(250);
      expect(stream.comments.filter((c) => c === 'keep-alive').length).toBeGreaterThan(0);
      stream.close();
    });

    it('applies the name and type filters', async () => {
      const start = await revision();
      const stream = await openSse(`${base}/v1/events/stream?after=${start}&name=st-f&type=config.deleted`);
      await put('st-f');
      await put('st-g');
      await fetch(`${base}/v1/configs/st-g`, { method: 'DELETE' });
      await fetch(`${base}/v1/configs/st-f`, { method: 'DELETE' });
      const [event] = await stream.until(1);
      expect(JSON.parse(event!.data)).toMatchObject({ revision: start + 4, type: 'config.deleted', name: 'st-f' });
      stream.close();
    });

    it('refuses a Last-Event-ID that is not a revision', async () => {
      const res = await fetch(`${base}/v1/events/stream`, { headers: { 'last-event-id': 'abc' } });
      expect(res.status).toBe(422);
      expect(((await res.json()) as { errors: Array<{ parameter: string }> }).errors[0]!.parameter).toBe('last-event-id');
    });

    it('answers HEAD with the headers only', async () => {
      const res = await fetch(`${base}/v1/events/stream`, { method: 'HEAD' });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      expect((await gauges()).streams).toBe(0);
    });
  });

  describe('limits', () => {
    it('answers 503 with Retry-After beyond the waiters and streams a replica may hold, and frees them on disconnect', async () => {
      const after = await revision();
      const aborts = Array.from({ length: 6 }, () => new AbortController());
      const polls = aborts.map((a) => fetch(`${base}/v1/events?after=${after}&name=nobody&wait=60`, { signal: a.signal }).catch(() => 'aborted'));
      await held(6);
      const refused = await fetch(`${base}/v1/events?after=${after}&name=nobody&wait=60`);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('2');
      expect(((await refused.json()) as { detail: string }).detail).toContain('WATCH_MAX_WAITERS');
      const refusedConfig = await fetch(`${base}/v1/configs/ev-a`, { headers: { 'if-none-match': '"1"', prefer: 'wait=60' } });
      expect(refusedConfig.status).toBe(503);
      // An answer that needs no waiting is not refused.
      expect((await fetch(`${base}/v1/events?after=0&wait=60`)).status).toBe(200);
      for (const a of aborts) a.abort();
      await Promise.all(polls);
      await held(0);

      const streams = await Promise.all([1, 2, 3].map(() => openSse(`${base}/v1/events/stream?after=${after}`)));
      expect((await gauges()).streams).toBe(3);
      const fourth = await openSse(`${base}/v1/events/stream?after=${after}`);
      expect(fourth.status).toBe(503);
      expect(fourth.headers.get('retry-after')).toBe('2');
      for (const s of streams) s.close();
      for (let i = 0; i < 200 && (await gauges()).streams !== 0; i++) await sleep(10);
      expect((await gauges()).streams).toBe(0);
    });
  });
});

describe.each(BACKENDS)('closing with waiters and streams on %s', (kind) => {
  it('answers every waiter with what it has and ends every stream at once', async () => {
    const db = await createTestDatabase(kind);
    const svc = await startReplica(db.url, { registry: { watch: { recheckMs: 60_000 } } });
    const base = await svc.listen();
    try {
      expect((await fetch(`${base}/v1/configs/c`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(DOC) })).status).toBe(201);
      const polls = Array.from({ length: 20 }, () => fetch(`${base}/v1/events?after=1&wait=60`));
      const configPolls = Array.from({ length: 20 }, () => fetch(`${base}/v1/configs/c`, { headers: { 'if-none-match': '"1"', prefer: 'wait=60' } }));
      const streams = await Promise.all(Array.from({ length: 5 }, () => openSse(`${base}/v1/events/stream?after=0`)));
      await Promise.all(streams.map((s) => s.until(1)));
      for (let i = 0; i < 500; i++) {
        const text = await (await fetch(`${base}/metrics`)).text();
        if (/^registry_watch_waiters 40$/m.test(text)) break;
        await sleep(10);
      }
      const started = performance.now();
      await svc.app.close();
      const elapsed = performance.now() - started;
      for (const res of await Promise.all(polls)) {
        expect(res.status).toBe(200);
        expect(await res.json()).toEqual({ items: [], lastRevision: 1 });
      }
      for (const res of await Promise.all(configPolls)) expect(res.status).toBe(304);
      await Promise.all(streams.map((s) => s.ended));
      expect(elapsed, 'app.close() did not wait for the waits').toBeLessThan(5_000);
    } finally {
      await svc.database.close();
      await db.drop();
    }
  });
});
