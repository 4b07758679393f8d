import { DeadlineQueue } from './deadline-queue.js';
import { UnavailableError } from './errors.js';
import type { EventType, ListEventsQuery, RegistryEvent } from './store.js';

/**
 * Waiting for changes: long-polls (`GET /v1/events?wait=`, a config with `Prefer: wait=`) and
 * Server-Sent Event streams, for every process that shares the database.
 *
 * The events table is the truth; a wake-up is only a hint that it may have grown. One hub per
 * process keeps a cursor (the newest revision it has read) and, while anyone waits, reads what
 * came after it once per hint, for everybody, then hands each event to the waiters that want it.
 * Waiters are grouped by the config name they filter on (plus one group for those that take any
 * name), so an event only visits the waiters that could want it; one read fans out to all of them
 * (etcd's watchable store: synced watcher groups and one event batch; Consul's blocking queries:
 * an index and a wait, nothing per waiter on the database).
 *
 * A waiter starts from a revision it has accounted for (`after`). When the hub's cursor is at or
 * below it, the waiter joins its group at once ("synced"). When the hub has already read past it,
 * the recent events the hub keeps are replayed to it; older than those, the waiter reads the table
 * with its own filter until it has caught up, then joins ("unsynced", as in etcd). So no event is
 * skipped between a caller's own read and the moment it starts to wait.
 *
 * Waiting holds no database connection. Long-polls expire through one shared deadline queue (one
 * timer), a client that goes away is removed at once (its AbortSignal), and SIGTERM (close)
 * answers every waiter with what it has and ends every stream.
 *
 * The hub knows nothing of databases: the wake-ups come from a ChangeSignal (store/ has one per
 * database: the SQLite WAL-index header, PostgreSQL LISTEN), and a slow periodic re-read while
 * anyone waits covers a signal that went quiet without saying so.
 */

/** The events table, as far as waiting needs it (RegistryStore has both). */
export interface EventLog {
  listEvents(query: ListEventsQuery): Promise<{ items: RegistryEvent[]; lastRevision: number }>;
  lastRevision(): Promise<number>;
}

/**
 * Tells the hub that someone (any process sharing the database) may have committed. Hints may
 * come without a commit and several commits may share one; what matters is that none is missed
 * for long.
 */
export interface ChangeSignal {
  /**
   * Starts watching, and calls `wake` after commits, once soon after starting, and after any
   * interruption during which a commit could have gone unnoticed (a reconnect). `revision`, when
   * known, is the newest revision the hint is about.
   */
  start(wake: (revision?: number) => void): void;
  /** Nobody waits any more: stop what watching costs (polling, a connection). */
  stop(): void;
  /** The process is stopping. */
  close(): Promise<void>;
}

/** Which events a waiter wants: names ORed, types ORed, the two ANDed; absent means any. */
export interface EventFilter {
  names?: readonly string[];
  types?: readonly EventType[];
}

export interface WaitQuery {
  /** The newest revision the caller has accounted for: only later events count. */
  after: number;
  filter?: EventFilter;
  /** A finer test than the filter (applied in memory), e.g. which alias an alias event moved. */
  test?: (event: RegistryEvent) => boolean;
  /** The most events one answer carries. */
  limit: number;
  waitMs: number;
  /** Aborted when the client goes away: the waiter is dropped at once. */
  signal?: AbortSignal;
}

export interface WaitResult {
  /** Matching events after `after`, ascending; empty when the wait ran out or the hub closed. */
  items: RegistryEvent[];
  /** The newest revision this answer accounts for (as listEvents' lastRevision). */
  lastRevision: number;
  /** The newest revision the hub had read when it answered (X-Registry-Revision). */
  newestRevision: number;
}

/** Where a stream's events go. */
export interface StreamSink {
  /**
   * Matching events in order, and the revision they account through. A promise (a client that has
   * not taken what it was sent) holds the reads of a stream that is catching up from the table;
   * events that arrive live are never held for one client.
   */
  events(items: RegistryEvent[], through: number): void | Promise<void>;
  /** The hub is closing (shutdown), or could not keep the stream going: end it. */
  end(): void;
}

export interface WatchLimits {
  /** Long-polls held at once (both kinds together). */
  maxWaiters: number;
  /** Open event streams. */
  maxStreams: number;
}

export interface WatchHubOptions extends Partial<WatchLimits> {
  /** The periodic re-read while anyone waits, in case a wake-up was lost. */
  recheckMs?: number;
  /** How long the hub keeps watching after the last waiter left (long-polls come back at once). */
  lingerMs?: number;
  /**
   * A failed read (the database away): the hub retries at the next recheck. Called for the first
   * failure after a success, then at most every ERROR_REPORT_MS while reads keep failing.
   */
  onError?: (error: unknown) => void;
  /** Milliseconds, monotonic. */
  now?: () => number;
}

export const DEFAULT_WATCH_LIMITS: WatchLimits = { maxWaiters: 2000, maxStreams: 200 };

/** Events per read of the table. */
const PAGE = 1000;
/** Recent events kept for waiters that start just behind the cursor. */
const RECENT = 4096;
/** While reads keep failing, onError hears of it this often. */
const ERROR_REPORT_MS = 30_000;
/** Seconds a client turned away by a limit is told to wait before trying again. */
const LIMIT_RETRY_AFTER_S = 2;

/** Too many waiters or streams on this replica: a 503 the client may retry (here or elsewhere). */
export class WatchLimitError extends UnavailableError {
  override readonly retryAfterSeconds = LIMIT_RETRY_AFTER_S;
}

interface Entry {
  after: number;
  readonly names: ReadonlySet<string> | undefined;
  readonly types: ReadonlySet<EventType> | undefined;
  readonly test: ((event: RegistryEvent) => boolean) | undefined;
  readonly filter: EventFilter;
  readonly pageSize: number;
  readonly kind: 'waiter' | 'stream';
  /** pending: before the hub knows its cursor, or reading the table to catch up; synced: in its groups. */
  state: 'pending' | 'catching-up' | 'stalled' | 'synced' | 'done';
  deliver(items: RegistryEvent[], through: number): void | Promise<void>;
  /** Ended by the hub: a waiter's deadline passed or the hub closed; a stream's hub closed. */
  finish(): void;
}

export class WatchHub {
  readonly #log: EventLog;
  readonly #signal: ChangeSignal | undefined;
  readonly #limits: WatchLimits;
  readonly #recheckMs: number;
  readonly #lingerMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #now: () => number;
  readonly #deadlines: DeadlineQueue<Entry>;

  /** Synced entries by the config name they filter on; those that take any name apart. */
  readonly #byName = new Map<string, Set<Entry>>();
  readonly #anyName = new Set<Entry>();
  /** Entries waiting for the cursor, catching up, or stalled by a failed read. */
  readonly #unsynced = new Set<Entry>();
  #waiters = 0;
  #streams = 0;

  #active = false;
  #closed = false;
  /** Bumped when the hub stops watching: reads begun before belong to a past life. */
  #generation = 0;
  /** The newest revision read and handed out; undefined until known (or while idle). */
  #cursor: number | undefined;
  /** Events with revision in (#recentFrom, #cursor], ascending. */
  #recent: RegistryEvent[] = [];
  #recentFrom = 0;
  #cursorWaiters: Array<{ resolve: (revision: number) => void; reject: (error: unknown) => void }> = [];
  #reading = false;
  #dirty = false;
  #recheck: NodeJS.Timeout | undefined;
  #linger: NodeJS.Timeout | undefined;
  #failing = false;
  #reportedAt = 0;

  constructor(log: EventLog, signal: ChangeSignal | undefined, options: WatchHubOptions = {}) {
    this.#log = log;
    this.#signal = signal;
    this.#limits = {
      maxWaiters: options.maxWaiters ?? DEFAULT_WATCH_LIMITS.maxWaiters,
      maxStreams: options.maxStreams ?? DEFAULT_WATCH_LIMITS.maxStreams,
    };
    this.#recheckMs = options.recheckMs ?? 1000;
    this.#lingerMs = options.lingerMs ?? 10_000;
    const report = options.onError ?? (() => {});
    this.#onError = (error) => {
      const now = this.#now();
      if (this.#failing && now - this.#reportedAt < ERROR_REPORT_MS) return;
      this.#failing = true;
      this.#reportedAt = now;
      report(error);
    };
    this.#now = options.now ?? (() => performance.now());
    this.#deadlines = new DeadlineQueue((expired) => {
      for (const entry of expired) if (entry.state !== 'done') entry.finish();
    }, this.#now);
  }

  /** Long-polls and streams held now, for the metrics gauges. */
  counts(): { waiters: number; streams: number } {
    return { waiters: this.#waiters, streams: this.#streams };
  }

  get limits(): WatchLimits {
    return this.#limits;
  }

  /**
   * A revision such that every change up to it is visible to a read that starts now, and every
   * later one will reach a waiter that starts after it: read something after this resolves, then
   * wait with `after` set to it, and no change in between goes unnoticed.
   */
  position(): Promise<number> {
    if (this.#closed) return this.#log.lastRevision();
    this.#activate();
    this.#idleUnlessWaited();
    if (this.#cursor !== undefined) return Promise.resolve(this.#cursor);
    return new Promise((resolve, reject) => this.#cursorWaiters.push({ resolve, reject }));
  }

  /**
   * Resolves with the matching events after `query.after` as soon as one is committed, or with
   * none when `waitMs` passes, the hub closes or the signal aborts. Throws WatchLimitError when
   * this replica holds its maximum of waiters.
   */
  wait(query: WaitQuery): Promise<WaitResult> {
    if (this.#closed || query.signal?.aborted) return Promise.resolve(this.#answer([], this.#accountedFor(query.after)));
    if (this.#waiters >= this.#limits.maxWaiters) {
      throw new WatchLimitError(
        `This replica already holds ${this.#limits.maxWaiters} waiting requests (WATCH_MAX_WAITERS); retry shortly.`,
      );
    }
    return new Promise<WaitResult>((resolve) => {
      let cancelDeadline = () => {};
      const settle = (items: RegistryEvent[], lastRevision: number) => {
        if (entry.state === 'done') return;
        this.#remove(entry);
        cancelDeadline();
        query.signal?.removeEventListener('abort', onAbort);
        resolve(this.#answer(items, lastRevision));
      };
      const nothing = () => settle([], this.#accountedFor(entry.after));
      // The client went away: its waiter goes at once (the answer is for nobody).
      const onAbort = nothing;
      const entry = this.#entry('waiter', query, query.limit, {
        deliver: (items, through) => {
          const cut = items.length > query.limit;
          const taken = cut ? items.slice(0, query.limit) : items;
          settle(taken, cut ? taken[taken.length - 1]!.revision : through);
        },
        finish: nothing,
      });
      query.signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters++;
      cancelDeadline = this.#deadlines.add(entry, this.#now() + Math.max(0, query.waitMs));
      this.#register(entry);
    });
  }

  /**
   * Hands every matching event after `query.after` to `sink`, first those already in the table,
   * then each as it is committed, until the returned function is called or the hub closes. Throws
   * WatchLimitError when this replica holds its maximum of streams.
   */
  subscribe(query: Omit<WaitQuery, 'limit' | 'waitMs' | 'signal'>, sink: StreamSink): () => void {
    if (this.#closed) {
      sink.end();
      return () => {};
    }
    if (this.#streams >= this.#limits.maxStreams) {
      throw new WatchLimitError(`This replica already serves ${this.#limits.maxStreams} event streams (WATCH_MAX_STREAMS); retry shortly.`);
    }
    const entry = this.#entry('stream', query, PAGE, {
      deliver: (items, through) => sink.events(items, through),
      finish: () => {
        this.#remove(entry);
        sink.end();
      },
    });
    this.#streams++;
    this.#register(entry);
    return () => this.#remove(entry);
  }

  /** Shutdown: every waiter is answered with what it has, every stream ended, watching stopped. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#deadlines.drain();
    const everyone = [...this.#unsynced, ...this.#anyName, ...[...this.#byName.values()].flatMap((set) => [...set])];
    for (const entry of new Set(everyone)) if (entry.state !== 'done') entry.finish();
    this.#deactivate();
    clearTimeout(this.#linger);
    await this.#signal?.close();
  }

  #entry(
    kind: Entry['kind'],
    query: { after: number; filter?: EventFilter; test?: (event: RegistryEvent) => boolean },
    pageSize: number,
    callbacks: Pick<Entry, 'deliver' | 'finish'>,
  ): Entry {
    const filter = query.filter ?? {};
    return {
      after: Math.max(0, query.after),
      names: filter.names !== undefined && filter.names.length > 0 ? new Set(filter.names) : undefined,
      types: filter.types !== undefined && filter.types.length > 0 ? new Set(filter.types) : undefined,
      test: query.test,
      filter,
      pageSize: Math.min(PAGE, Math.max(1, pageSize)),
      kind,
      state: 'pending',
      ...callbacks,
    };
  }

  #answer(items: RegistryEvent[], lastRevision: number): WaitResult {
    return { items, lastRevision, newestRevision: Math.max(lastRevision, this.#cursor ?? 0) };
  }

  /** What an answer without events accounts for: the waiter's start, or the cursor if further on. */
  #accountedFor(after: number): number {
    return Math.max(after, this.#cursor ?? 0);
  }

  #register(entry: Entry): void {
    this.#activate();
    clearTimeout(this.#linger);
    this.#linger = undefined;
    if (this.#cursor === undefined) {
      this.#unsynced.add(entry);
      return;
    }
    this.#join(entry);
  }

  /** Into the groups if the cursor has not passed `after`; else replayed from memory, or caught up from the table. */
  #join(entry: Entry): void {
    const cursor = this.#cursor;
    if (cursor === undefined) {
      entry.state = 'pending';
      this.#unsynced.add(entry);
      return;
    }
    if (entry.after < cursor) {
      if (entry.after < this.#recentFrom) {
        this.#unsynced.add(entry);
        void this.#catchUp(entry);
        return;
      }
      const missed = this.#recentAfter(entry.after).filter((event) => this.#matches(entry, event));
      if (missed.length > 0) {
        // Held promises are ignored here: what is replayed from memory is small.
        void entry.deliver(missed, cursor);
        if (entry.state === 'done') return;
      }
    }
    this.#unsynced.delete(entry);
    entry.state = 'synced';
    if (entry.names === undefined) {
      this.#anyName.add(entry);
      return;
    }
    for (const name of entry.names) {
      let group = this.#byName.get(name);
      if (group === undefined) this.#byName.set(name, (group = new Set()));
      group.add(entry);
    }
  }

  /** Reads the table with the entry's own filter until it reaches what the hub keeps, then joins. */
  async #catchUp(entry: Entry): Promise<void> {
    entry.state = 'catching-up';
    const generation = this.#generation;
    try {
      while (entry.state === 'catching-up' && generation === this.#generation) {
        if (entry.after >= this.#recentFrom) {
          this.#join(entry);
          return;
        }
        const query: ListEventsQuery = { after: entry.after, limit: entry.pageSize };
        if (entry.filter.names !== undefined && entry.filter.names.length > 0) query.names = [...entry.filter.names];
        if (entry.filter.types !== undefined && entry.filter.types.length > 0) query.types = [...entry.filter.types];
        const page = await this.#log.listEvents(query);
        if (entry.state !== 'catching-up') return;
        const items = entry.test === undefined ? page.items : page.items.filter(entry.test);
        entry.after = Math.max(entry.after, page.lastRevision);
        if (items.length > 0) await entry.deliver(items, page.lastRevision);
      }
    } catch (error) {
      if (entry.state !== 'catching-up') return;
      // Tried again at the next wake-up or recheck.
      entry.state = 'stalled';
      this.#onError(error);
    }
  }

  #matches(entry: Entry, event: RegistryEvent): boolean {
    if (event.revision <= entry.after) return false;
    if (entry.names !== undefined && (event.name === undefined || !entry.names.has(event.name))) return false;
    if (entry.types !== undefined && !entry.types.has(event.type)) return false;
    return entry.test === undefined || entry.test(event);
  }

  /** The kept events after `after` (which is at least #recentFrom). */
  #recentAfter(after: number): RegistryEvent[] {
    const recent = this.#recent;
    let low = 0;
    let high = recent.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (recent[mid]!.revision <= after) low = mid + 1;
      else high = mid;
    }
    return recent.slice(low);
  }

  #remove(entry: Entry): void {
    if (entry.state === 'done') return;
    entry.state = 'done';
    this.#unsynced.delete(entry);
    this.#anyName.delete(entry);
    if (entry.names !== undefined) {
      for (const name of entry.names) {
        const group = this.#byName.get(name);
        if (group === undefined) continue;
        group.delete(entry);
        if (group.size === 0) this.#byName.delete(name);
      }
    }
    if (entry.kind === 'waiter') this.#waiters--;
    else this.#streams--;
    this.#idleUnlessWaited();
  }

  #idleUnlessWaited(): void {
    if (this.#waiters + this.#streams > 0 || this.#linger !== undefined || !this.#active) return;
    this.#linger = setTimeout(() => {
      this.#linger = undefined;
      if (this.#waiters + this.#streams === 0) this.#deactivate();
    }, this.#lingerMs);
    this.#linger.unref();
  }

  #activate(): void {
    if (this.#active || this.#closed) return;
    this.#active = true;
    this.#recheck = setInterval(this.#wake, this.#recheckMs);
    this.#recheck.unref();
    this.#signal?.start(this.#wake);
    this.#wake();
  }

  #deactivate(): void {
    if (!this.#active) return;
    this.#active = false;
    this.#generation++;
    clearInterval(this.#recheck);
    this.#signal?.stop();
    this.#cursor = undefined;
    this.#recent = [];
    this.#recentFrom = 0;
  }

  /** A hint that the table may have grown: one read for everybody, however many hints arrive meanwhile. */
  readonly #wake = (revision?: number): void => {
    if (!this.#active) return;
    if (revision !== undefined && this.#cursor !== undefined && revision <= this.#cursor && this.#unsynced.size === 0) return;
    this.#dirty = true;
    if (!this.#reading) void this.#read();
  };

  async #read(): Promise<void> {
    this.#reading = true;
    const generation = this.#generation;
    try {
      while (this.#dirty && generation === this.#generation) {
        this.#dirty = false;
        if (this.#cursor === undefined) {
          await this.#startCursor(generation);
          continue;
        }
        for (const entry of this.#unsynced) if (entry.state === 'stalled') void this.#catchUp(entry);
        for (;;) {
          const page = await this.#log.listEvents({ after: this.#cursor, limit: PAGE });
          if (generation !== this.#generation) return;
          this.#failing = false;
          this.#dispatch(page.items, page.lastRevision);
          if (page.items.length < PAGE) break;
        }
      }
    } catch (error) {
      this.#onError(error);
      if (this.#cursor === undefined) {
        const waiters = this.#cursorWaiters;
        this.#cursorWaiters = [];
        for (const waiter of waiters) waiter.reject(error);
      }
    } finally {
      this.#reading = false;
    }
  }

  async #startCursor(generation: number): Promise<void> {
    const revision = await this.#log.lastRevision();
    if (generation !== this.#generation) return;
    this.#cursor = revision;
    this.#recentFrom = revision;
    this.#recent = [];
    const waiters = this.#cursorWaiters;
    this.#cursorWaiters = [];
    for (const waiter of waiters) waiter.resolve(revision);
    for (const entry of [...this.#unsynced]) if (entry.state === 'pending') this.#join(entry);
  }

  /** One read's events to every synced entry that wants them, then the cursor moves on. */
  #dispatch(events: RegistryEvent[], through: number): void {
    const hits = new Map<Entry, RegistryEvent[]>();
    const collect = (entry: Entry, event: RegistryEvent) => {
      if (!this.#matches(entry, event)) return;
      const list = hits.get(entry);
      if (list === undefined) hits.set(entry, [event]);
      else list.push(event);
    };
    for (const event of events) {
      this.#recent.push(event);
      if (event.name !== undefined) {
        const group = this.#byName.get(event.name);
        if (group !== undefined) for (const entry of group) collect(entry, event);
      }
      for (const entry of this.#anyName) collect(entry, event);
    }
    this.#cursor = Math.max(this.#cursor ?? 0, through, events[events.length - 1]?.revision ?? 0);
    if (this.#recent.length > 2 * RECENT) {
      const drop = this.#recent.length - RECENT;
      this.#recentFrom = this.#recent[drop - 1]!.revision;
      this.#recent = this.#recent.slice(drop);
    }
    for (const [entry, items] of hits) {
      if (entry.state !== 'synced') continue;
      try {
        void entry.deliver(items, this.#cursor);
      } catch (error) {
        this.#onError(error);
      }
    }
  }
}
