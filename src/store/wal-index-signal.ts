import type { ChangeSignal } from '../registry/watch-hub.js';
import { WalIndexStamp } from './wal-index.js';

/** How often the header is read while anyone waits: a 96-byte pread, some microseconds. */
export const WAL_INDEX_POLL_MS = 50;
/**
 * Without a readable WAL index (a file not in WAL mode, an index format we do not know) every
 * poll could be a commit; the hub is then woken this often, and reads the events table each time.
 */
const BLIND_WAKE_MS = 250;

/**
 * SQLite's wake-up: the header of the WAL index (wal-index.ts), which every commit by any process
 * changes before the commit is acknowledged, polled while anyone waits. No process can tell
 * another that it committed (SQLite has no notifications), but they all share this header; one
 * read per process per poll serves every waiter of that process.
 */
export class WalIndexSignal implements ChangeSignal {
  readonly #file: string;
  readonly #pollMs: number;
  #stamp: WalIndexStamp | undefined;
  #timer: NodeJS.Timeout | undefined;
  #last: number | undefined;
  #lastBlindWake = 0;

  /** `file`: the absolute path of the database file. */
  constructor(file: string, options: { pollMs?: number } = {}) {
    this.#file = file;
    this.#pollMs = options.pollMs ?? WAL_INDEX_POLL_MS;
  }

  start(wake: (revision?: number) => void): void {
    this.stop();
    this.#stamp ??= WalIndexStamp.open(this.#file);
    // The header as it is now: a commit after this changes it. One before was made before the
    // hub's first read, which sees it; the wake below makes that read happen.
    this.#last = this.#stamp?.read();
    this.#timer = setInterval(() => {
      const now = this.#stamp?.read();
      if (now === undefined) {
        // Unknown this instant (a commit being published) or unreadable: maybe a commit.
        const at = performance.now();
        if (at - this.#lastBlindWake < BLIND_WAKE_MS) return;
        this.#lastBlindWake = at;
        wake();
        return;
      }
      if (now !== this.#last) {
        this.#last = now;
        wake();
      }
    }, this.#pollMs);
    this.#timer.unref();
    wake();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async close(): Promise<void> {
    this.stop();
    this.#stamp?.close();
    this.#stamp = undefined;
  }
}
