import { UnavailableError } from './errors.js';

/**
 * Runs this process's writes to one config one after another, in arrival order.
 *
 * Correctness never depends on it: every write still ends in a compare-and-set on the config's
 * head, which is what serialises writers across replicas. What it buys is progress. Without it,
 * N concurrent writers to one config in one process all read the same version, one wins and the
 * others retry; under sustained contention an unlucky writer can lose every round and give up
 * with a 409 (16 writers on PostgreSQL did). Queued, each write reads the version the previous
 * one left and its compare-and-set succeeds the first time, unless another replica got there
 * first (then the retry loop in ConfigsService takes over, against one writer per replica).
 *
 * Waiting in line must not turn an outage into a hang: when a write fails because the database is
 * unavailable, the writes queued behind it fail the same way at once instead of each waiting for
 * its own timeout. MAX_WAIT_MS is only a backstop (every write is bounded by the database
 * timeouts): past it a write goes ahead without waiting any longer.
 */
export class WriteQueue {
  static readonly MAX_WAIT_MS = 30_000;

  /** Per config, the last write in line; it resolves to true if that write found the database unavailable. */
  readonly #tails = new Map<string, Promise<boolean>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve(false);
    let settle!: (unavailable: boolean) => void;
    const mine = new Promise<boolean>((resolve) => {
      settle = resolve;
    });
    this.#tails.set(key, mine);
    let timer: NodeJS.Timeout | undefined;
    let unavailable = false;
    try {
      const previousUnavailable = await Promise.race([
        previous,
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), WriteQueue.MAX_WAIT_MS))),
      ]);
      clearTimeout(timer);
      if (previousUnavailable) {
        unavailable = true;
        throw new UnavailableError('The database is unavailable; retry shortly.');
      }
      return await work();
    } catch (error) {
      unavailable = error instanceof UnavailableError;
      throw error;
    } finally {
      settle(unavailable);
      // The last write in line removes the entry, so the map holds only busy configs.
      if (this.#tails.get(key) === mine) this.#tails.delete(key);
    }
  }
}
