import type pg from 'pg';
import type { Statement, SqlValue } from './driver-sql.js';

/**
 * One connection of the PostgreSQL pool (the one the Prisma client runs on, with its timeouts and
 * keepalive), kept checked out for a stream of small statements whose cost decides a hot path: the
 * read cache's probes, one per event-loop turn under load. Measured here per statement: ~210 µs of
 * CPU through the driver adapter, ~140-180 µs through `pool.query` (checking a client out and back
 * in each time), ~90-130 µs on a held client with a named prepared statement (parsed and planned
 * once per connection, then only bound and executed).
 *
 * Any error gives the connection back with that error, which makes the pool close it (as
 * `pool.query` does), and the next statement checks out another; a connection that breaks while
 * idle is given back the same way. With a pool of one connection nothing is held (every other
 * statement would wait for it): statements then go through `pool.query`.
 */
export class HeldConnection {
  /** The check-out under way or done, and its client once done. */
  #client: Promise<pg.PoolClient> | undefined;
  #current: pg.PoolClient | undefined;
  /** Clients already given back (a second release throws in pg-pool). */
  readonly #released = new WeakSet<pg.PoolClient>();

  constructor(
    private readonly pool: () => pg.Pool,
    private readonly poolSize: number,
    /** Where a connection that broke while held is reported (as the pool's own idle errors are). */
    private readonly log: (msg: string) => void = () => {},
  ) {}

  /** Rows as arrays of column values, in the statement's column order. */
  async rows(name: string, s: Statement, args: readonly SqlValue[]): Promise<unknown[][]> {
    const query = { name, text: s.postgresql, values: args as unknown[], rowMode: 'array' as const };
    if (this.poolSize < 2) return (await this.pool().query<unknown[]>(query)).rows;
    const client = await (this.#client ??= this.#checkOut());
    try {
      return (await client.query<unknown[]>(query)).rows;
    } catch (error) {
      this.#giveBack(client, error);
      throw error;
    }
  }

  /** Gives the connection back (before the pool ends: it waits for every connection checked out). */
  async release(): Promise<void> {
    const held = this.#client;
    this.#client = undefined;
    this.#current = undefined;
    const client = await held?.catch(() => undefined);
    if (client !== undefined) this.#giveBack(client);
  }

  #checkOut(): Promise<pg.PoolClient> {
    const checkOut = this.pool()
      .connect()
      .then((client) => {
        // Checked out, a client's errors are its holder's to handle (unhandled, they would end the process).
        client.on('error', (error) => {
          this.log(`PostgreSQL connection held for the read cache's probes failed (${error.message}); the next probe opens another`);
          this.#giveBack(client, error);
        });
        if (this.#client === checkOut) this.#current = client;
        return client;
      });
    checkOut.catch(() => {
      if (this.#client === checkOut) this.#client = undefined;
    });
    return checkOut;
  }

  #giveBack(client: pg.PoolClient, error?: unknown): void {
    if (this.#released.has(client)) return;
    this.#released.add(client);
    if (this.#current === client) {
      this.#current = undefined;
      this.#client = undefined;
    }
    client.release(error === undefined ? undefined : error instanceof Error ? error : new Error(String(error)));
  }
}
