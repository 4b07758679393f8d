// The wake-ups the watch hub subscribes to, on the real databases: the WAL-index poller on a
// SQLite file written by another connection, and the PostgreSQL LISTEN connection, also through a
// proxy that cuts it, resets it and blackholes it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Sqlite from 'better-sqlite3';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PostgresListener } from '../../src/store/postgres-listener.js';
import { WalIndexSignal } from '../../src/store/wal-index-signal.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/databases.js';
import { startTcpProxy, type TcpProxy } from '../support/outage-proxy.js';

/** Polls `condition` until it holds (a guard against hanging, not a timing assertion). */
async function eventually(condition: () => boolean, what: string, limitMs = 15_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('WalIndexSignal', () => {
  let dir: string;
  let writer: Sqlite.Database;
  let signal: WalIndexSignal;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wal-signal-'));
    writer = new Sqlite(join(dir, 'r.db'));
    writer.pragma('journal_mode = WAL');
    writer.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    signal = new WalIndexSignal(join(dir, 'r.db'), { pollMs: 5 });
  });
  afterEach(async () => {
    await signal.close();
    writer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('wakes once on start, then on each commit by another connection, and never while nobody commits', async () => {
    let wakes = 0;
    signal.start(() => wakes++);
    expect(wakes).toBe(1);
    writer.prepare('SELECT count(*) FROM t').get();
    await sleep(100);
    expect(wakes, 'reads and silence wake nobody').toBe(1);

    writer.prepare('INSERT INTO t (v) VALUES (?)').run('a');
    await eventually(() => wakes === 2, 'a wake-up after the first commit');
    writer.prepare('INSERT INTO t (v) VALUES (?)').run('b');
    await eventually(() => wakes === 3, 'a wake-up after the second commit');
  });

  it('stops polling on stop, and starts again', async () => {
    let wakes = 0;
    signal.start(() => wakes++);
    signal.stop();
    writer.prepare('INSERT INTO t (v) VALUES (?)').run('a');
    await sleep(60);
    expect(wakes).toBe(1);
    signal.start(() => wakes++);
    expect(wakes, 'a fresh start wakes (a commit made while stopped is in the table)').toBe(2);
    writer.prepare('INSERT INTO t (v) VALUES (?)').run('b');
    await eventually(() => wakes === 3, 'a wake-up after restarting');
  });
});

describe.runIf(postgresAvailable)('PostgresListener', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let listener: PostgresListener;
  let notifier: pg.Client;
  const logs: string[] = [];
  const wakes: Array<number | undefined> = [];

  beforeEach(async () => {
    db = await createTestDatabase('postgresql');
    const url = new URL(db.url);
    proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    // A password in the URL (trust auth ignores it) must never reach a log line.
    const proxied = new URL(proxy.url(db.url));
    proxied.password = 'sekret-password';
    listener = new PostgresListener(proxied.toString(), { pingMs: 200, log: (level, msg) => logs.push(`${level} ${msg}`) });
    notifier = new pg.Client({ connectionString: db.url });
    await notifier.connect();
    logs.length = 0;
    wakes.length = 0;
  });
  afterEach(async () => {
    await listener?.close();
    await notifier?.end().catch(() => {});
    await proxy?.close();
    await db?.drop();
  });

  const notify = (revision: string) => notifier.query(`SELECT pg_notify('registry_events', $1)`, [revision]);

  it('wakes once it listens, then with the revision of each notification', async () => {
    listener.start((revision) => wakes.push(revision));
    await eventually(() => wakes.length === 1, 'the wake-up after LISTEN');
    expect(wakes[0]).toBeUndefined();
    expect(listener.listening).toBe(true);
    await notify('7');
    await notify('8');
    await eventually(() => wakes.length === 3, 'two notifications');
    expect(wakes).toEqual([undefined, 7, 8]);
    // Other channels are not ours.
    await notifier.query(`SELECT pg_notify('other_channel', '9')`);
    await sleep(100);
    expect(wakes).toHaveLength(3);
  });

  it('after a cut connection, reconnects and wakes (what was notified meanwhile is in the table)', async () => {
    listener.start((revision) => wakes.push(revision));
    await eventually(() => wakes.length === 1, 'listening');
    await proxy.cut('refuse');
    await notify('11'); // lost: nobody listens
    await sleep(300);
    expect(wakes).toEqual([undefined]);
    await proxy.restore();
    await eventually(() => wakes.length === 2, 'the wake-up after reconnecting');
    expect(wakes[1]).toBeUndefined();
    await notify('12');
    await eventually(() => wakes.includes(12), 'notifications after reconnecting');
    expect(logs.some((line) => line.startsWith('warn watch: the PostgreSQL listening connection was lost'))).toBe(true);
    expect(logs).toContain('info watch: listening on PostgreSQL again');
    expect(logs.join('\n')).not.toContain('sekret-password');
  });

  it('replaces a connection that went silent (a partition) once a ping goes unanswered', async () => {
    listener.start((revision) => wakes.push(revision));
    await eventually(() => wakes.length === 1, 'listening');
    proxy.blackhole();
    // The ping's query timeout notices; the proxy stays silent until restored.
    await eventually(() => !listener.listening, 'the silent connection dropped', 20_000);
    await proxy.restore();
    await eventually(() => wakes.length === 2 && listener.listening, 'listening again', 20_000);
    await notify('21');
    await eventually(() => wakes.includes(21), 'notifications on the new connection');
  }, 40_000);

  it('keeps trying while the server refuses, and stops trying on stop', async () => {
    await proxy.cut('refuse');
    listener.start((revision) => wakes.push(revision));
    await sleep(600);
    expect(wakes).toEqual([]);
    expect(logs.filter((line) => line.includes('could not listen'))).toHaveLength(1);
    listener.stop();
    await proxy.restore();
    await sleep(2500);
    expect(wakes, 'no connection after stop').toEqual([]);
    expect(proxy.connections).toBe(0);
  });
});
