import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import type { SqlDriverAdapter } from '@prisma/driver-adapter-utils';
import type Sqlite from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cacheStatements } from '../../src/store/statement-cache.js';
import { DriverSql, statement } from '../../src/store/driver-sql.js';
import { isUniqueViolation } from '../../src/store/store-errors.js';

// The cache under the real driver adapter on a real file: what the adapter answers must not change.
describe('cacheStatements on the SQLite driver adapter', () => {
  let dir: string;
  let adapter: SqlDriverAdapter;
  let client: Sqlite.Database;
  let sql: DriverSql;
  let compiled: string[];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'statement-cache-'));
    adapter = await new PrismaBetterSqlite3({ url: `file:${join(dir, 'db.sqlite')}` }).connect();
    client = (adapter as unknown as { client: Sqlite.Database }).client;
    compiled = [];
    const prepare = client.prepare.bind(client);
    // Counts what SQLite really compiles, under the cache.
    client.prepare = ((text: string) => {
      compiled.push(text);
      return prepare(text);
    }) as typeof client.prepare;
    cacheStatements(client, 3);
    sql = new DriverSql(() => adapter, 'sqlite');
    await adapter.executeScript('CREATE TABLE t (k TEXT PRIMARY KEY, n INTEGER NOT NULL, at TEXT)');
  });

  afterEach(async () => {
    await adapter.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  const INSERT = statement('INSERT INTO t (k, n, at) VALUES (?, ?, ?)');
  const BY_KEY = statement('SELECT k, n, at FROM t WHERE k = ?');

  it('compiles a text once and binds each query its own arguments', async () => {
    const at = new Date('2026-12-04T21:00:00.000Z');
    for (let i = 0; i < 50; i++) expect(await sql.execute(INSERT, [`k${i}`, i, at])).toBe(1);
    for (let i = 0; i < 50; i += 7) {
      // The adapter's own text for a DateTime argument.
      expect(await sql.rows(BY_KEY, [`k${i}`])).toEqual([{ k: `k${i}`, n: i, at: '2026-12-04T21:00:00.000+00:00' }]);
    }
    expect(await sql.rows(BY_KEY, ['none'])).toEqual([]);
    expect(compiled.filter((t) => t === INSERT.sqlite)).toHaveLength(1);
    expect(compiled.filter((t) => t === BY_KEY.sqlite)).toHaveLength(1);
  });

  it('still answers a broken constraint as the adapter does, and the statement stays usable', async () => {
    await sql.execute(INSERT, ['a', 1, null]);
    const error = await sql.execute(INSERT, ['a', 2, null]).catch((e: unknown) => e);
    expect(isUniqueViolation(error)).toBe(true);
    expect(await sql.execute(INSERT, ['b', 2, null])).toBe(1);
    expect(await sql.rows(statement('SELECT k, n FROM t ORDER BY k'))).toEqual([
      { k: 'a', n: 1 },
      { k: 'b', n: 2 },
    ]);
  });

  it('runs transactions with its cached BEGIN, committed and rolled back', async () => {
    await sql.transaction(async (tx) => tx.execute(INSERT, ['kept', 1, null]));
    await expect(
      sql.transaction(async (tx) => {
        await tx.execute(INSERT, ['dropped', 2, null]);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    await sql.transaction(async (tx) => tx.execute(INSERT, ['kept too', 3, null]));
    expect((await sql.rows(statement('SELECT k FROM t ORDER BY k'))).map((r) => r.k)).toEqual(['kept', 'kept too']);
    expect(compiled.filter((t) => t === 'BEGIN')).toHaveLength(1);
  });

  it('sees a schema change made after a statement was compiled', async () => {
    const named = statement('SELECT k, n FROM t WHERE n > ?');
    const all = statement('SELECT * FROM t');
    const allOfT = statement('SELECT t.* FROM t');
    await sql.execute(INSERT, ['a', 1, null]);
    expect(await sql.rows(named, [0])).toEqual([{ k: 'a', n: 1 }]);
    expect(await sql.rows(all)).toEqual([{ k: 'a', n: 1, at: null }]);
    expect(await sql.rows(allOfT)).toEqual([{ k: 'a', n: 1, at: null }]);
    await adapter.executeScript("ALTER TABLE t ADD COLUMN note TEXT NOT NULL DEFAULT 'x'; CREATE INDEX t_n ON t (n)");
    expect(await sql.rows(named, [0])).toEqual([{ k: 'a', n: 1 }]);
    expect(await sql.rows(all)).toEqual([{ k: 'a', n: 1, at: null, note: 'x' }]);
    expect(await sql.rows(allOfT)).toEqual([{ k: 'a', n: 1, at: null, note: 'x' }]);
    await adapter.executeScript('ALTER TABLE t DROP COLUMN at');
    expect(await sql.rows(named, [0])).toEqual([{ k: 'a', n: 1 }]);
    expect(await sql.rows(statement('SELECT COUNT(*) AS c FROM t'))).toEqual([{ c: 1 }]);
    expect(compiled.filter((t) => t === named.sqlite)).toHaveLength(1);
  });

  it('keeps at most its size, dropping the least recently used text', async () => {
    const texts = ['SELECT 1 AS v', 'SELECT 2 AS v', 'SELECT 3 AS v', 'SELECT 4 AS v'].map(statement);
    for (const s of [texts[0]!, texts[1]!, texts[2]!, texts[0]!, texts[3]!, texts[0]!, texts[1]!]) await sql.rows(s);
    // 1, 2, 3 compiled; 1 used again; 4 drops 2 (the least recent); 1 still held; 2 compiled again.
    expect(compiled.filter((t) => t.startsWith('SELECT ') && t.endsWith('AS v'))).toEqual([
      'SELECT 1 AS v',
      'SELECT 2 AS v',
      'SELECT 3 AS v',
      'SELECT 4 AS v',
      'SELECT 2 AS v',
    ]);
  });
});
