// Group commit: writes that arrive together share one transaction, and so one commit (one fsync
// on SQLite, one WAL flush and one hold of the change feed's counter on PostgreSQL).
//
// Written here because no library fits: DataLoader batches reads by key and caches them, and
// queues such as p-queue or fastq run tasks one by one; what a group commit needs is "take all
// that is waiting, hand it to one function, give each caller its own outcome".

/** How many writes one group takes at most; the rest wait for the next. */
export const MAX_GROUP_SIZE = 64;

interface Waiting<I, O> {
  item: I;
  resolve: (outcome: O) => void;
  reject: (error: unknown) => void;
}

/** What the queue has done, for tests and metrics. */
export interface GroupCommitStats {
  /** Groups committed (or failed) so far. */
  groups: number;
  /** Items those groups carried. */
  items: number;
  /** The largest group so far. */
  largest: number;
}

/**
 * Runs `commit` for the items submitted while the previous group was under way, at most
 * `maxSize` at a time and `concurrency` groups at a time (the store chooses, see
 * prisma-registry-store.ts). An item submitted while nothing runs waits only
 * for the end of the current event-loop turn, so the writes that arrived in the same turn (one
 * read of the sockets) share a group. Each caller gets the outcome `commit` answered for its item,
 * or the error the whole group failed with; `commit` resolves only after its transaction
 * committed, so no caller hears of a write before it is durable.
 */
export class GroupCommit<I, O> {
  readonly #waiting: Array<Waiting<I, O>> = [];
  #running = 0;
  #scheduled = false;
  readonly stats: GroupCommitStats = { groups: 0, items: 0, largest: 0 };

  constructor(
    private readonly commit: (items: I[]) => Promise<O[]>,
    private readonly maxSize = MAX_GROUP_SIZE,
    private readonly concurrency = 1,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#running >= this.concurrency || this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      void this.#run();
    });
  }

  async #run(): Promise<void> {
    if (this.#running >= this.concurrency || this.#waiting.length === 0) return;
    this.#running++;
    const group = this.#waiting.splice(0, this.maxSize);
    // More than a group was waiting: the rest go next turn if another group may run.
    if (this.#waiting.length > 0) this.#schedule();
    this.stats.groups++;
    this.stats.items += group.length;
    this.stats.largest = Math.max(this.stats.largest, group.length);
    try {
      const outcomes = await this.commit(group.map((w) => w.item));
      if (outcomes.length !== group.length) throw new Error(`a group of ${group.length} got ${outcomes.length} outcomes`);
      group.forEach((w, i) => w.resolve(outcomes[i]!));
    } catch (error) {
      for (const w of group) w.reject(error);
    } finally {
      this.#running--;
      // What arrived during this commit goes next, with what arrives in this turn.
      if (this.#waiting.length > 0) this.#schedule();
    }
  }
}
