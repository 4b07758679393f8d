import type pg from 'pg';
import type { ChangeSignal } from '../registry/watch-hub.js';
import { hidePassword, POSTGRES_CONNECT_TIMEOUT_MS, POSTGRES_QUERY_TIMEOUT_MS } from './database.js';
import { EVENTS_CHANNEL } from './event-log.js';

/** While anyone waits, the listening connection is checked this often (a silently dead one is replaced). */
export const LISTENER_PING_MS = 5000;
/** How long close() lets the connection end politely before cutting it. */
const CLOSE_MS = 500;
/** Reconnection attempts back off from the first to the last of these, in milliseconds. */
const RECONNECT_MS = [100, 250, 500, 1000, 2000];

export interface PostgresListenerOptions {
  pingMs?: number;
  log?: (level: 'info' | 'warn', msg: string) => void;
}

/**
 * PostgreSQL's wake-up: `LISTEN registry_events` on one connection of its own per process (never
 * a pool connection, never one per waiter). Every write transaction that appends an event also
 * runs `pg_notify('registry_events', <revision>)`, which the server delivers at commit to every
 * listening session, this process's own included.
 *
 * A notification is only a hint: the events table is the truth. A notification is lost when the
 * connection is (a network cut, a server restart, a proxy that drops it); so after every
 * (re)connection the hub is woken to re-read everything after the last revision it saw, and a
 * ping every few seconds replaces a connection that died without a word (a partition leaves the
 * socket open; the query timeout notices). Reconnection backs off to a try every two seconds and
 * goes on for as long as anyone waits.
 */
export class PostgresListener implements ChangeSignal {
  readonly #url: string;
  readonly #pingMs: number;
  readonly #log: (level: 'info' | 'warn', msg: string) => void;
  #wake: ((revision?: number) => void) | undefined;
  #client: pg.Client | undefined;
  /** Bumped on every start and stop: a connection attempt of a past life ends itself. */
  #life = 0;
  #ping: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  #failures = 0;
  #connecting = false;
  /** Lost, or never got up: the next connection that listens says so in the log. */
  #outage = false;
  #ending: Promise<void> = Promise.resolve();

  constructor(url: string, options: PostgresListenerOptions = {}) {
    this.#url = url;
    this.#pingMs = options.pingMs ?? LISTENER_PING_MS;
    this.#log = options.log ?? (() => {});
  }

  start(wake: (revision?: number) => void): void {
    this.#wake = wake;
    if (this.#client !== undefined || this.#retry !== undefined || this.#connecting) return;
    const life = ++this.#life;
    void this.#connect(life);
  }

  stop(): void {
    this.#wake = undefined;
    this.#life++;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    clearInterval(this.#ping);
    this.#ping = undefined;
    this.#drop();
  }

  /** Stops; a connection that does not end politely within a moment is cut. */
  async close(): Promise<void> {
    const client = this.#client;
    this.stop();
    let timer: NodeJS.Timeout | undefined;
    const cut = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        if (client !== undefined) socketOf(client)?.destroy();
        resolve();
      }, CLOSE_MS);
    });
    await Promise.race([this.#ending, cut]);
    clearTimeout(timer);
  }

  /** Whether a listening connection is up now (for tests and logs). */
  get listening(): boolean {
    return this.#client !== undefined;
  }

  async #connect(life: number): Promise<void> {
    this.#connecting = true;
    try {
      await this.#attempt(life);
    } finally {
      this.#connecting = false;
    }
  }

  async #attempt(life: number): Promise<void> {
    const { default: pgModule } = await import('pg');
    const client = new pgModule.Client({
      connectionString: this.#url,
      connectionTimeoutMillis: POSTGRES_CONNECT_TIMEOUT_MS,
      query_timeout: POSTGRES_QUERY_TIMEOUT_MS,
      keepAlive: true,
      application_name: 'convert-config-registry (listen)',
    });
    // Until it is connected and listening, a failure is a failed attempt; afterwards, a loss.
    let up = false;
    const lost = (reason: string) => {
      if (!up || this.#client !== client) return;
      up = false;
      this.#client = undefined;
      clearInterval(this.#ping);
      this.#ping = undefined;
      void client.end().catch(() => {});
      if (life !== this.#life) return;
      this.#outage = true;
      this.#log('warn', `watch: the PostgreSQL listening connection was lost (${this.#safe(reason)}); reconnecting`);
      this.#scheduleRetry(life);
    };
    client.on('error', (error) => lost(error.message));
    client.on('end', () => lost('the connection ended'));
    client.on('notification', (message) => {
      if (message.channel !== EVENTS_CHANNEL || this.#client !== client) return;
      const revision = Number(message.payload);
      this.#wake?.(Number.isSafeInteger(revision) ? revision : undefined);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${EVENTS_CHANNEL}`);
    } catch (error) {
      void client.end().catch(() => {});
      if (life !== this.#life) return;
      if (!this.#outage) {
        this.#outage = true;
        this.#log('warn', `watch: could not listen on PostgreSQL (${this.#safe(String((error as Error).message))}); retrying`);
      }
      this.#failures++;
      this.#scheduleRetry(life);
      return;
    }
    if (life !== this.#life) {
      void client.end().catch(() => {});
      return;
    }
    up = true;
    this.#client = client;
    if (this.#outage) this.#log('info', 'watch: listening on PostgreSQL again');
    this.#outage = false;
    this.#failures = 0;
    let pinging = false;
    this.#ping = setInterval(() => {
      // One ping at a time: a silent connection holds the last one until its query timeout.
      if (pinging) return;
      pinging = true;
      client
        .query('SELECT 1')
        .catch((error: Error) => {
          lost(`no answer to a ping: ${error.message}`);
          // A connection that went silent may never emit 'end': make sure it is gone.
          socketOf(client)?.destroy();
        })
        .finally(() => {
          pinging = false;
        });
    }, this.#pingMs);
    this.#ping.unref();
    // Whatever was committed while not listening (before the first LISTEN, or during an outage)
    // is in the table: the hub re-reads after the last revision it saw.
    this.#wake?.();
  }

  #scheduleRetry(life: number): void {
    const delay = RECONNECT_MS[Math.min(this.#failures, RECONNECT_MS.length - 1)]!;
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      if (life === this.#life) void this.#connect(life);
    }, delay);
    this.#retry.unref();
  }

  #drop(): void {
    const client = this.#client;
    this.#client = undefined;
    if (client !== undefined) this.#ending = client.end().catch(() => {});
  }

  #safe(message: string): string {
    return hidePassword(message, this.#url).replace(/\s*\n\s*/g, ' ');
  }
}

/** The client's socket (pg keeps it as connection.stream), to cut a connection that hangs. */
function socketOf(client: pg.Client): { destroy(): void } | undefined {
  return (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
}
