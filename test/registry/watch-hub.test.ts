// The watch hub's own logic (it knows nothing of databases): which waiter gets which event, that
// none is skipped or repeated between a caller's read and its wait, that one read of the feed
// serves every waiter, deadlines, limits, clients that go away, shutdown. The feed here is an
// array behind the EventLog port, which counts its reads; test/api/watch*.test.ts run the same
// hub over the real databases and real replicas.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { DeadlineQueue } from '../../src/registry/deadline-queue.js';
import type { EventType, ListEventsQuery, RegistryEvent } from '../../src/registry/store.js';
import { WatchHub, WatchLimitError, type ChangeSignal, type EventLog, type StreamSink } from '../../src/registry/watch-hub.js';

class Feed implements EventLog {
  readonly events: RegistryEvent[] = [];
  reads = 0;
  failNext = 0;
  /** Held reads: each waits for the test to let it go. */
  hold: Promise<void> | undefined;

  append(type: EventType, name?: string, extra: Partial<RegistryEvent> = {}): RegistryEvent {
    const event: RegistryEvent = { revision: this.events.length + 1, type, at: new Date(), by: 'test', ...(name ? { name } : {}), ...extra };
    this.events.push(event);
    return event;
  }

  async listEvents(query: ListEventsQuery): Promise<{ items: RegistryEvent[]; lastRevision: number }> {
    this.reads++;
    const snapshot = this.events.length;
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('the database is away');
    }
    await this.hold;
    const matching = this.events
      .slice(0, snapshot)
      .filter(
        (e) =>
          e.revision > query.after &&
          (query.names === undefined || (e.name !== undefined && query.names.includes(e.name))) &&
          (query.types === undefined || query.types.includes(e.type)),
      );
    if (matching.length > query.limit) {
      const items = matching.slice(0, query.limit);
      return { items, lastRevision: items[items.length - 1]!.revision };
    }
    return { items: matching, lastRevision: snapshot };
  }

  async lastRevision(): Promise<number> {
    this.reads++;
    return this.events.length;
  }
}

class ManualSignal implements ChangeSignal {
  wake: ((revision?: number) => void) | undefined;
  starts = 0;
  stops = 0;
  start(wake: (revision?: number) => void): void {
    this.starts++;
    this.wake = wake;
    wake();
  }
  stop(): void {
    this.stops++;
    this.wake = undefined;
  }
  async close(): Promise<void> {
    this.stop();
  }
  /** A commit somewhere: the hint the store's signal would give. */
  commit(): void {
    this.wake?.();
  }
}

function setUp(options: ConstructorParameters<typeof WatchHub>[2] = {}) {
  const feed = new Feed();
  const signal = new ManualSignal();
  // A recheck far away, so that only the signal wakes the hub unless a test says otherwise.
  const hub = new WatchHub(feed, signal, { recheckMs: 60_000, lingerMs: 50, ...options });
  return { feed, signal, hub };
}

/** Lets the hub's reads (promises) run. */
const settle = () => sleep(5);

describe('DeadlineQueue', () => {
  it('expires items in deadline order with one timer, skipping cancelled ones', async () => {
    const expired: string[] = [];
    const queue = new DeadlineQueue<string>((items) => expired.push(...items));
    const now = performance.now();
    queue.add('c', now + 60);
    queue.add('a', now + 20);
    const cancelB = queue.add('b', now + 40);
    queue.add('d', now + 70);
    cancelB();
    await sleep(30);
    expect(expired).toEqual(['a']);
    await sleep(60);
    expect(expired).toEqual(['a', 'c', 'd']);
    expect(queue.size).toBe(0);
  });

  it('drains what is left, earliest first', () => {
    const queue = new DeadlineQueue<number>(() => {
      throw new Error('not expected');
    });
    const now = performance.now();
    for (const n of [5, 3, 9, 1]) queue.add(n, now + 10_000 + n);
    expect(queue.drain()).toEqual([1, 3, 5, 9]);
  });
});

describe('WatchHub', () => {
  it('answers a waiter with the matching events as soon as a commit is signalled', async () => {
    const { feed, signal, hub } = setUp();
    feed.append('config.version_created', 'a');
    const waiting = hub.wait({ after: 1, filter: { names: ['b'] }, limit: 10, waitMs: 10_000 });
    await settle();
    feed.append('config.version_created', 'a');
    signal.commit();
    await settle();
    expect(hub.counts().waiters, 'an event for another config does not answer it').toBe(1);
    const wanted = feed.append('config.deleted', 'b');
    signal.commit();
    const result = await waiting;
    expect(result).toMatchObject({ items: [wanted], lastRevision: 3 });
    expect(hub.counts().waiters).toBe(0);
  });

  it('filters on types (ORed) within names (ORed)', async () => {
    const { feed, signal, hub } = setUp();
    const waiting = hub.wait({ after: 0, filter: { names: ['a', 'b'], types: ['config.deleted', 'alias.set'] }, limit: 10, waitMs: 10_000 });
    await settle();
    feed.append('config.version_created', 'a');
    feed.append('module_class.created', undefined, { classId: 'x.Y' });
    feed.append('config.deleted', 'c');
    const hit1 = feed.append('alias.set', 'b', { alias: 'production', version: 1 });
    const hit2 = feed.append('config.deleted', 'a');
    signal.commit();
    expect(await waiting).toMatchObject({ items: [hit1, hit2], lastRevision: 5 });
  });

  it('gives a waiter with nothing new an empty answer at its deadline, accounting for what the hub has read', async () => {
    const { feed, signal, hub } = setUp();
    const waiting = hub.wait({ after: 0, filter: { names: ['b'] }, limit: 10, waitMs: 80 });
    await settle();
    feed.append('config.version_created', 'a');
    feed.append('config.version_created', 'a');
    signal.commit();
    const started = performance.now();
    expect(await waiting).toMatchObject({ items: [], lastRevision: 2 });
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('cuts a long answer at the limit, and then accounts only for what it carries', async () => {
    const { feed, signal, hub } = setUp();
    const waiting = hub.wait({ after: 0, limit: 2, waitMs: 10_000 });
    await settle();
    const [e1, e2] = [feed.append('config.version_created', 'a'), feed.append('config.version_created', 'b')];
    feed.append('config.version_created', 'c');
    signal.commit();
    expect(await waiting).toMatchObject({ items: [e1, e2], lastRevision: 2 });
  });

  it('replays from memory to a waiter that starts behind the cursor (events read between its own read and its wait)', async () => {
    const { feed, signal, hub } = setUp();
    // Someone else keeps the hub busy, so its cursor moves past what the new waiter read.
    const other = hub.wait({ after: 0, filter: { names: ['zzz'] }, limit: 10, waitMs: 10_000 });
    await settle();
    const missed = feed.append('config.version_created', 'a');
    signal.commit();
    await settle();
    const reads = feed.reads;
    // This caller's own read saw revision 0; the hub has already handed out revision 1.
    const result = await hub.wait({ after: 0, filter: { names: ['a'] }, limit: 10, waitMs: 10_000 });
    expect(result).toMatchObject({ items: [missed], lastRevision: 1 });
    expect(feed.reads, 'answered from memory').toBe(reads);
    await hub.close();
    await other;
  });

  it('catches a waiter far behind up from the feed with its own filter', async () => {
    const { feed, hub } = setUp();
    for (let i = 0; i < 20; i++) feed.append('config.version_created', i % 2 === 0 ? 'even' : 'odd');
    const result = await hub.wait({ after: 4, filter: { names: ['odd'] }, limit: 3, waitMs: 10_000 });
    expect(result.items.map((e) => e.revision)).toEqual([6, 8, 10]);
    expect(result.lastRevision).toBe(10);
  });

  it('skips events up to a waiter\'s own start when the hub is behind it (its caller read further than the hub)', async () => {
    const { feed, signal, hub } = setUp();
    const other = hub.wait({ after: 0, filter: { names: ['zzz'] }, limit: 10, waitMs: 10_000 });
    await settle();
    feed.append('config.version_created', 'a');
    feed.append('config.version_created', 'a');
    // The caller's own read saw revision 2; the hub has not read it yet.
    const waiting = hub.wait({ after: 2, filter: { names: ['a'] }, limit: 10, waitMs: 10_000 });
    const fresh = feed.append('config.version_created', 'a');
    signal.commit();
    expect(await waiting).toMatchObject({ items: [fresh], lastRevision: 3 });
    await hub.close();
    await other;
  });

  it('retries the catch-up of a waiter whose read of the feed failed', async () => {
    const errors: unknown[] = [];
    const { feed, hub } = setUp({ recheckMs: 30, onError: (e) => errors.push(e) });
    for (let i = 0; i < 10; i++) feed.append('config.version_created', 'a');
    await hub.position();
    feed.failNext = 1;
    const result = await hub.wait({ after: 0, filter: { names: ['a'] }, limit: 3, waitMs: 10_000 });
    expect(result.items.map((e) => e.revision)).toEqual([1, 2, 3]);
    expect(errors).toHaveLength(1);
    await hub.close();
  });

  it('serves a thousand waiters of one config with one read of the feed per commit', async () => {
    const { feed, signal, hub } = setUp();
    const waiting = Array.from({ length: 1000 }, () => hub.wait({ after: 0, filter: { names: ['hot'] }, limit: 10, waitMs: 10_000 }));
    await settle();
    expect(hub.counts().waiters).toBe(1000);
    const reads = feed.reads;
    const event = feed.append('config.version_created', 'hot');
    // Hints that arrive while a read is under way share the one read after it.
    for (let i = 0; i < 5; i++) signal.commit();
    const results = await Promise.all(waiting);
    expect(results.every((r) => r.items.length === 1 && r.items[0] === event)).toBe(true);
    expect(feed.reads - reads, 'one read for all of them, and one more for the hints during it').toBe(2);
  });

  it('refuses waiters and streams beyond its limits with a retryable error', async () => {
    const { hub } = setUp({ maxWaiters: 2, maxStreams: 1 });
    const a = hub.wait({ after: 0, limit: 1, waitMs: 10_000 });
    const b = hub.wait({ after: 0, limit: 1, waitMs: 10_000 });
    expect(() => hub.wait({ after: 0, limit: 1, waitMs: 10_000 })).toThrow(WatchLimitError);
    const sink: StreamSink = { events: () => {}, end: () => {} };
    hub.subscribe({ after: 0 }, sink);
    let refused: unknown;
    try {
      hub.subscribe({ after: 0 }, sink);
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(WatchLimitError);
    expect((refused as WatchLimitError).retryAfterSeconds).toBeGreaterThan(0);
    await hub.close();
    await Promise.all([a, b]);
  });

  it('drops the waiter of a client that went away at once', async () => {
    const { hub } = setUp();
    const abort = new AbortController();
    const waiting = hub.wait({ after: 0, limit: 1, waitMs: 60_000, signal: abort.signal });
    expect(hub.counts().waiters).toBe(1);
    abort.abort();
    expect(hub.counts().waiters).toBe(0);
    expect((await waiting).items).toEqual([]);
  });

  it('answers every waiter and ends every stream on close, and stops watching', async () => {
    const { feed, signal, hub } = setUp();
    feed.append('config.version_created', 'a');
    const waiting = [hub.wait({ after: 1, limit: 1, waitMs: 60_000 }), hub.wait({ after: 1, filter: { names: ['a'] }, limit: 1, waitMs: 60_000 })];
    let ended = 0;
    hub.subscribe({ after: 1 }, { events: () => {}, end: () => ended++ });
    await settle();
    const started = performance.now();
    await hub.close();
    expect(await Promise.all(waiting)).toEqual([
      { items: [], lastRevision: 1, newestRevision: 1 },
      { items: [], lastRevision: 1, newestRevision: 1 },
    ]);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(ended).toBe(1);
    expect(hub.counts()).toEqual({ waiters: 0, streams: 0 });
    expect(signal.stops).toBeGreaterThan(0);
    // After close, a wait answers at once.
    expect((await hub.wait({ after: 1, limit: 1, waitMs: 60_000 })).items).toEqual([]);
  });

  it('streams the backlog and then live events in order, none twice and none missed, while commits continue', async () => {
    const { feed, signal, hub } = setUp();
    for (let i = 0; i < 2500; i++) feed.append('config.version_created', `c${i % 7}`);
    const seen: number[] = [];
    const sink: StreamSink = {
      // A slow client: each page of the backlog is taken a little later.
      events: (items) => {
        seen.push(...items.map((e) => e.revision));
        return sleep(2);
      },
      end: () => {},
    };
    const stop = hub.subscribe({ after: 100 }, sink);
    for (let i = 0; i < 50; i++) {
      feed.append('config.version_created', 'live');
      signal.commit();
      await sleep(1);
    }
    await settle();
    await sleep(50);
    stop();
    const expected = Array.from({ length: 2550 - 100 }, (_, i) => 101 + i);
    expect(seen).toEqual(expected);
    await hub.close();
  });

  it('re-reads the feed on its recheck when a wake-up is lost', async () => {
    const { feed, hub } = setUp({ recheckMs: 30 });
    const waiting = hub.wait({ after: 0, limit: 10, waitMs: 10_000 });
    await settle();
    const event = feed.append('config.version_created', 'a'); // no signal
    expect((await waiting).items).toEqual([event]);
    await hub.close();
  });

  it('keeps waiters through failed reads and serves them once the feed answers again', async () => {
    const errors: unknown[] = [];
    const { feed, signal, hub } = setUp({ recheckMs: 30, onError: (e) => errors.push(e) });
    const waiting = hub.wait({ after: 0, limit: 10, waitMs: 10_000 });
    await settle();
    feed.failNext = 2;
    const event = feed.append('config.version_created', 'a');
    signal.commit();
    expect((await waiting).items).toEqual([event]);
    expect(errors.length).toBeGreaterThan(0);
    await hub.close();
  });

  it('stops watching a while after the last waiter left, and starts again for the next', async () => {
    const { feed, signal, hub } = setUp({ lingerMs: 30 });
    await hub.wait({ after: 0, limit: 1, waitMs: 10 });
    expect(signal.starts).toBe(1);
    await sleep(80);
    expect(signal.stops).toBe(1);
    const waiting = hub.wait({ after: 0, limit: 1, waitMs: 10_000 });
    await settle();
    expect(signal.starts).toBe(2);
    const event = feed.append('alias.set', 'a', { alias: 'production' });
    signal.commit();
    expect((await waiting).items).toEqual([event]);
    await hub.close();
  });

  it('gives a position from which a read and a wait together miss nothing', async () => {
    const { feed, signal, hub } = setUp();
    feed.append('config.version_created', 'a');
    const position = await hub.position();
    expect(position).toBe(1);
    // A commit between the caller's read and its wait still reaches the waiter.
    const event = feed.append('config.version_created', 'a');
    signal.commit();
    await settle();
    const result = await hub.wait({ after: position, filter: { names: ['a'] }, test: (e) => e.type === 'config.version_created', limit: 1, waitMs: 10_000 });
    expect(result.items).toEqual([event]);
    await hub.close();
  });
});
