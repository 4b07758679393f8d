import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Sqlite from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WalIndexStamp } from '../../src/store/wal-index.js';

/** A connection set up as the product's (src/store/database.ts): WAL, full sync. */
function connect(file: string): Sqlite.Database {
  const db = new Sqlite(file, { timeout: 5000 });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  return db;
}

describe('the WAL-index commit stamp', () => {
  let dir: string;
  let file: string;
  let reader: Sqlite.Database;
  let writer: Sqlite.Database;
  let stamp: WalIndexStamp;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wal-index-'));
    file = join(dir, 'r.db');
    writer = connect(file);
    writer.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    reader = connect(file);
    reader.pragma('data_version');
    stamp = WalIndexStamp.open(file)!;
  });
  afterEach(() => {
    stamp?.close();
    reader?.close();
    writer?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stays the same while nobody commits, reads and empty transactions included', () => {
    const first = stamp.read();
    expect(first).toBeTypeOf('number');
    writer.prepare('SELECT count(*) FROM t').get();
    writer.transaction(() => writer.prepare('SELECT * FROM t').all())();
    reader.prepare('SELECT * FROM t').all();
    expect(stamp.read()).toBe(first);
  });

  it('changes on every commit PRAGMA data_version sees, through checkpoints and WAL restarts', () => {
    // A seeded random walk over what another connection can do to the file.
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const insert = writer.prepare('INSERT INTO t (v) VALUES (?)');
    const actions: Array<[string, () => void]> = [
      ['insert', () => insert.run('x'.repeat(Math.floor(random() * 5000)))],
      ['update', () => writer.prepare('UPDATE t SET v = ? WHERE id = (SELECT max(id) FROM t)').run(String(random()))],
      ['delete', () => writer.prepare('DELETE FROM t WHERE id = (SELECT min(id) FROM t)').run()],
      ['read', () => writer.prepare('SELECT count(*) FROM t').get()],
      ['checkpoint passive', () => writer.pragma('wal_checkpoint(PASSIVE)')],
      ['checkpoint restart', () => writer.pragma('wal_checkpoint(RESTART)')],
      ['checkpoint truncate', () => writer.pragma('wal_checkpoint(TRUNCATE)')],
    ];
    const version = reader.prepare('PRAGMA data_version').pluck();
    let lastVersion = version.get();
    let lastStamp = stamp.read();
    let commits = 0;
    let unchanged = 0;
    for (let i = 0; i < 600; i++) {
      const [name, act] = actions[Math.floor(random() * actions.length)]!;
      act();
      const nowVersion = version.get();
      const nowStamp = stamp.read();
      expect(nowStamp, `after ${name} (step ${i})`).toBeTypeOf('number');
      if (nowVersion !== lastVersion) {
        commits++;
        expect(nowStamp, `a commit (${name}, step ${i}) must move the stamp`).not.toBe(lastStamp);
      } else if (nowStamp === lastStamp) {
        unchanged++;
      }
      lastVersion = nowVersion;
      lastStamp = nowStamp;
    }
    expect(commits).toBeGreaterThan(200);
    // Reads and most checkpoints leave it alone, so the cache stays useful.
    expect(unchanged).toBeGreaterThan(50);
  });

  it('changes when another process commits', () => {
    const before = stamp.read();
    execFileSync(
      process.execPath,
      [
        '-e',
        `const Sqlite = require('better-sqlite3');
         const db = new Sqlite(process.argv[1]);
         db.prepare("INSERT INTO t (v) VALUES ('from another process')").run();
         db.close();`,
        file,
      ],
      { cwd: process.cwd() },
    );
    expect(stamp.read()).not.toBe(before);
  });

  it('is not opened where there is no WAL index (rollback journal)', () => {
    const other = join(dir, 'journal.db');
    const db = new Sqlite(other);
    db.pragma('journal_mode = DELETE');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY)');
    expect(WalIndexStamp.open(other)).toBeUndefined();
    db.close();
  });
});

describe('reading a WAL-index header', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wal-index-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A -shm file whose two header copies are `first` and `second` (48 bytes each, walformat.html). */
  function shm(first: Buffer, second: Buffer = first): string {
    const file = join(dir, `db${Math.random()}`);
    writeFileSync(`${file}-shm`, Buffer.concat([first, second, Buffer.alloc(32 * 1024)]));
    return file;
  }
  function header(change: number, init = 1): Buffer {
    const h = Buffer.alloc(48);
    h.writeUInt32LE(3007000, 0); // iVersion
    h.writeUInt32LE(change, 8); // iChange
    h[12] = init; // isInit
    h.writeUInt32LE(change * 3, 16); // mxFrame
    return h;
  }

  it('answers nothing while a commit is being published (the copies differ), then the new state', () => {
    const file = shm(header(1));
    const stamp = WalIndexStamp.open(file)!;
    const before = stamp.read();
    expect(before).toBeTypeOf('number');
    // A writer has updated the second copy and not yet the first (rewritten in place: same file).
    writeFileSync(`${file}-shm`, Buffer.concat([header(1), header(2), Buffer.alloc(32 * 1024)]));
    expect(stamp.read()).toBeUndefined();
    writeFileSync(`${file}-shm`, Buffer.concat([header(2), header(2), Buffer.alloc(32 * 1024)]));
    const after = stamp.read();
    expect(after).toBeTypeOf('number');
    expect(after).not.toBe(before);
    expect(stamp.read()).toBe(after);
    stamp.close();
  });

  it('answers nothing for an index that is not initialised or not of a known format', () => {
    expect(WalIndexStamp.open(shm(header(1, 0)))).toBeUndefined();
    const unknown = header(1);
    unknown.writeUInt32LE(3007001, 0);
    expect(WalIndexStamp.open(shm(unknown))).toBeUndefined();
  });
});
