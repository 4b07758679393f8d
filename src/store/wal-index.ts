import { closeSync, openSync, readSync } from 'node:fs';

/**
 * Tells whether any connection has committed to a SQLite database in WAL mode by reading the
 * header of its WAL index (the `<db>-shm` file) with one `pread`.
 *
 * Why not `PRAGMA data_version`: it starts a read transaction, i.e. two `fcntl` locks on the WAL
 * index and an `fstat` of the database (~10 µs of CPU per call on these machines, the largest
 * single cost of a cached GET). better-sqlite3 exposes no cheaper signal and Node cannot map a
 * file, so this reads the bytes SQLite keeps in shared memory for exactly this purpose: every
 * connection, in any process, checks that header at the start of each read transaction to learn
 * whether another has committed (walIndexTryHdr in SQLite's wal.c).
 *
 * The layout is part of SQLite's file format (https://www.sqlite.org/walformat.html, "The
 * WAL-Index Header"): processes linked against different SQLite versions share one -shm file, so
 * it cannot change. Two copies of the 48-byte header start the file; a committing writer updates
 * the second copy, then the first, before it releases its lock and before its caller learns of the
 * commit. Each commit changes the header (iChange, mxFrame and the frame checksum, or the salts
 * when the WAL starts over), so equal headers mean that nobody has committed in between.
 *
 * `read()` answers a number that changes when the header does (also on this connection's own
 * commits and on checkpoints that restart the WAL: only ever more changes than data_version, never
 * fewer), or undefined when that cannot be told now: the copies differ (a commit is being
 * published this instant), the index is not initialised, or the file is not one we know. Callers
 * treat undefined as "read the database".
 */
export class WalIndexStamp {
  static readonly HEADER_BYTES = 48;
  /** iVersion of the WAL-index header format SQLite has written since 3.7.0. */
  static readonly FORMAT_VERSION = 3007000;

  readonly #fd: number;
  readonly #scratch = Buffer.alloc(2 * WalIndexStamp.HEADER_BYTES);
  /** The scratch buffer as native-endian 32-bit words: both copies compared without a call into C++. */
  readonly #words = new Int32Array(this.#scratch.buffer, this.#scratch.byteOffset, (2 * WalIndexStamp.HEADER_BYTES) / 4);
  readonly #last = new Int32Array(WalIndexStamp.HEADER_BYTES / 4);
  #changes = 0;
  #closed = false;

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /** Opens `<databaseFile>-shm` read-only; undefined when it is not there (not in WAL mode). */
  static open(databaseFile: string): WalIndexStamp | undefined {
    let fd: number;
    try {
      fd = openSync(`${databaseFile}-shm`, 'r');
    } catch {
      return undefined;
    }
    const stamp = new WalIndexStamp(fd);
    if (stamp.read() === undefined) {
      // Not a WAL index we can read (yet): the caller keeps using the PRAGMA.
      stamp.close();
      return undefined;
    }
    return stamp;
  }

  read(): number | undefined {
    if (this.#closed) return undefined;
    const bytes = 2 * WalIndexStamp.HEADER_BYTES;
    if (readSync(this.#fd, this.#scratch, 0, bytes, 0) !== bytes) return undefined;
    const words = this.#words;
    const n = WalIndexStamp.HEADER_BYTES / 4;
    // The two copies differ while a writer is publishing its commit: unknown for this instant.
    for (let i = 0; i < n; i++) if (words[i] !== words[n + i]) return undefined;
    // iVersion is a native-endian u32 at byte 0, as the words are read; isInit is the byte at 12.
    if (words[0] !== WalIndexStamp.FORMAT_VERSION || this.#scratch[12] !== 1) return undefined;
    const last = this.#last;
    let changed = false;
    for (let i = 0; i < n; i++) {
      if (last[i] !== words[i]) {
        last[i] = words[i]!;
        changed = true;
      }
    }
    if (changed) this.#changes++;
    return this.#changes;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.#fd);
  }
}
