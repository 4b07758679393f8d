// SIGTERM: stop accepting, finish what is in flight, close the database, exit 0. Each test runs
// the real service as a process and holds a request in flight without any test-only route:
// either the client has not finished sending the body yet, or the database is locked by the test.
import Sqlite from 'better-sqlite3';
import { Agent, request as httpRequest } from 'node:http';
import { connect, type Socket } from 'node:net';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, sqliteFilePath } from '../../src/store/database.js';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { startServiceProcess, tryConnect, waitUntilRefused, type LogLine, type RunningService } from '../support/service-process.js';

const CONFIG = { config: { preserved_attributes: ['in_flight'] }, description: 'written during shutdown' };

function isIncoming(method: string, url: string) {
  return (line: LogLine) => {
    const req = line.req as { method?: string; url?: string } | undefined;
    return line.msg === 'incoming request' && req?.method === method && req.url === url;
  };
}

const isShuttingDown = (line: LogLine) => line.msg === 'shutting down' && line.signal === 'SIGTERM';

/** Everything the server sends on a socket until it closes it; the status is the first response's. */
function readResponse(socket: Socket): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.once('error', reject);
    socket.once('end', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]), text }));
  });
}

/** GET over a kept-alive connection that then sits idle in the agent's pool. */
function keepAliveGet(agent: Agent, port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', reject);
    req.end();
  });
}

async function storedVersions(url: string, name: string): Promise<number[]> {
  const database = await openDatabase(url, { migrate: false });
  try {
    const rows = await database.prisma.configVersion.findMany({ where: { configName: name }, orderBy: { version: 'asc' } });
    return rows.map((row) => row.version);
  } finally {
    await database.close();
  }
}

describe.each(BACKENDS)('graceful shutdown on %s', (kind) => {
  let db: TestDatabase;
  let service: RunningService | undefined;

  beforeEach(async () => {
    db = await createTestDatabase(kind);
  });
  afterEach(async () => {
    if (service !== undefined && service.child.exitCode === null) service.child.kill('SIGKILL');
    await service?.exited;
    service = undefined;
    await db.drop();
  });

  it('a request whose body is still arriving completes after SIGTERM; new connections are refused meanwhile', async () => {
    service = await startServiceProcess({ DATABASE_URL: db.url });
    const { port } = service;

    // An idle kept-alive connection must not hold shutdown up (it is closed, not waited for).
    const agent = new Agent({ keepAlive: true });
    expect(await keepAliveGet(agent, port, '/healthz')).toBe(200);

    // The request is in flight from the moment its headers arrive; the body follows later, on a
    // connection the client means to keep alive.
    const body = JSON.stringify(CONFIG);
    const socket = connect({ host: '127.0.0.1', port });
    const response = readResponse(socket);
    socket.write(
      `PUT /v1/configs/in-flight HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 10)}`,
    );
    await service.waitForLog(isIncoming('PUT', '/v1/configs/in-flight'), 'incoming PUT');

    service.child.kill('SIGTERM');
    await service.waitForLog(isShuttingDown, 'shutting down');
    await waitUntilRefused(port);
    expect(service.child.exitCode).toBeNull(); // still finishing the PUT

    // The rest of the body, and a second request pipelined behind it on the same connection.
    socket.write(`${body.slice(10)}GET /v1/configs/in-flight HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    const { status, text } = await response;
    expect(status, text).toBe(201);
    // The server ends the kept-alive connection after the answer instead of waiting for it to idle
    // out; a pipelined request is either not read or refused with a problem, never started.
    const [first, ...later] = text.split(/(?=HTTP\/1\.1 )/);
    expect(first).toMatch(/\r\nconnection: close\r\n/i);
    for (const answer of later) {
      expect(answer).toMatch(/^HTTP\/1\.1 503 /);
      expect(answer).toMatch(/\r\ncontent-type: application\/problem\+json/i);
    }
    expect(await service.exited).toEqual({ code: 0, signal: null });
    expect(service.logs.some((line) => line.msg === 'stopped')).toBe(true);
    expect(service.stderr()).toBe('');
    expect(await tryConnect(port)).toBe('refused');
    // Acknowledged means stored.
    expect(await storedVersions(db.url, 'in-flight')).toEqual([1]);
    agent.destroy();
  });

  it('a write waiting on a database lock completes after SIGTERM, then the database is closed', async () => {
    service = await startServiceProcess({ DATABASE_URL: db.url });
    const { port, baseUrl } = service;

    // Hold the database's write lock from outside: the PUT's transaction waits for it.
    let release: () => Promise<void>;
    let pgClient: pg.Client | undefined;
    if (kind === 'sqlite') {
      const locker = new Sqlite(sqliteFilePath(db.url));
      locker.exec('BEGIN IMMEDIATE');
      release = async () => {
        locker.exec('ROLLBACK');
        locker.close();
      };
    } else {
      pgClient = new pg.Client({ connectionString: db.url });
      await pgClient.connect();
      await pgClient.query('BEGIN');
      // Reads go on; inserts and updates of config rows wait.
      await pgClient.query('LOCK TABLE config IN EXCLUSIVE MODE');
      const client = pgClient;
      release = async () => {
        await client.query('ROLLBACK');
        await client.end();
      };
    }

    const put = fetch(`${baseUrl}/v1/configs/locked`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(CONFIG),
    });
    await service.waitForLog(isIncoming('PUT', '/v1/configs/locked'), 'incoming PUT');

    if (kind === 'postgresql') {
      // The PUT is really waiting in the database (not just received).
      for (;;) {
        const { rows } = await pgClient!.query<{ waiting: number }>(
          "SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
        );
        if (rows[0]!.waiting > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      service.child.kill('SIGTERM');
      await service.waitForLog(isShuttingDown, 'shutting down');
      await waitUntilRefused(port);
      expect(service.child.exitCode).toBeNull();
    } else {
      // better-sqlite3 waits for the lock synchronously (busy_timeout, 5 s): the whole process
      // waits with it, so the signal is delivered while the PUT waits and handled once the process
      // runs again (in practice after the PUT has been answered). What this shows on SQLite: a
      // signal during a lock wait loses no acknowledged write and still exits 0. The test above
      // is the one with a request truly in flight while shutdown runs, on both databases.
      // The lock is released well within the busy timeout.
      service.child.kill('SIGTERM');
    }
    await release();

    const res = await put;
    expect(res.status, await res.clone().text()).toBe(201);
    expect(((await res.json()) as { version: number }).version).toBe(1);
    expect(await service.exited).toEqual({ code: 0, signal: null });
    const order = service.logs.map((line) => line.msg);
    expect(order.indexOf('shutting down')).toBeGreaterThan(-1);
    expect(order.indexOf('stopped')).toBeGreaterThan(order.indexOf('shutting down'));
    expect(await tryConnect(port)).toBe('refused');
    expect(await storedVersions(db.url, 'locked')).toEqual([1]);
  });
});

describe('a second signal during shutdown', () => {
  let db: TestDatabase;
  let service: RunningService | undefined;
  beforeEach(async () => {
    db = await createTestDatabase('sqlite');
  });
  afterEach(async () => {
    if (service !== undefined && service.child.exitCode === null) service.child.kill('SIGKILL');
    await service?.exited;
    service = undefined;
    await db.drop();
  });

  /** A PUT whose body never finishes arriving, so that shutdown waits for it. */
  async function holdRequest(running: RunningService): Promise<Socket> {
    const socket = connect({ host: '127.0.0.1', port: running.port });
    socket.on('error', () => {});
    socket.write('PUT /v1/configs/held HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{');
    await running.waitForLog(isIncoming('PUT', '/v1/configs/held'), 'incoming PUT');
    return socket;
  }

  it('the same signal repeated at once (a Ctrl-C that npm passes on too) is one request: shutdown goes on', async () => {
    service = await startServiceProcess({ DATABASE_URL: db.url });
    const socket = await holdRequest(service);
    service.child.kill('SIGINT');
    service.child.kill('SIGINT');
    await service.waitForLog((line) => line.msg === 'shutting down', 'shutting down');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(service.child.exitCode, 'the repeat forced an exit').toBeNull();
    socket.destroy();
    expect(await service.exited).toEqual({ code: 0, signal: null });
  });

  it('a second signal later, or another signal, exits 1 at once', async () => {
    for (const [first, second, gapMs] of [['SIGTERM', 'SIGTERM', 1_200], ['SIGTERM', 'SIGINT', 0]] as const) {
      service = await startServiceProcess({ DATABASE_URL: db.url });
      const socket = await holdRequest(service);
      service.child.kill(first);
      await service.waitForLog((line) => line.msg === 'shutting down', 'shutting down');
      await new Promise((resolve) => setTimeout(resolve, gapMs));
      service.child.kill(second);
      expect(await service.exited).toEqual({ code: 1, signal: null });
      expect(service.logs.some((line) => line.msg === `second ${second}, exiting`)).toBe(true);
      socket.destroy();
    }
  });
});
