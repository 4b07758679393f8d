/**
 * Runs this process's writes to one config one after another, in arrival order.
 *
 * Correctness never depends on it: every write still ends in a compare-and-set on the config's
 * head, which is what serialises writers across replicas. What it buys is progress. Without it,
 * N concurrent writers to one config in one process all read the same version, one wins and the
 * others retry; under sustained contention an unlucky writer can lose every round and give up
 * with a 409 (16 writers on PostgreSQL did). Queued, each write reads the version the previous
 * one left and its compare-and-set succeeds the first time, unless another replica got there
 * first (then the retry loop in ConfigsService takes over).
 *
 * A write waits at most MAX_WAIT_MS for the ones ahead of it, then goes ahead anyway: when the
 * database hangs, a queue must not turn one slow write into a minute-long wait for the tenth
 * writer in line.
 */
export class WriteQueue {
  static readonly MAX_WAIT_MS = 1000;

  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = previous.then(() => done);
    this.#tails.set(key, tail);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([previous, new Promise<void>((resolve) => (timer = setTimeout(resolve, WriteQueue.MAX_WAIT_MS)))]);
    clearTimeout(timer);
    try {
      return await work();
    } finally {
      release();
      // The last writer in line removes the entry, so the map holds only busy configs.
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}
