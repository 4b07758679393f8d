// While the app closes (after SIGTERM, see src/main.ts), requests already running finish and say
// `Connection: close`, and requests that still arrive on their connections are not run. The
// process-level behaviour is in test/lifecycle/shutdown.test.ts; this looks at the requests.
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/store/database.js';
import { BACKENDS } from '../support/databases.js';
import { startService, type TestService } from '../support/app.js';
import { waitUntilRefused } from '../support/service-process.js';

describe.each(BACKENDS)('requests while closing on %s', (kind) => {
  let svc: TestService | undefined;
  let socket: Socket | undefined;
  afterEach(async () => {
    socket?.destroy();
    await svc?.close().catch(() => {});
    svc = undefined;
  });

  it('a connection that never sent a request does not hold closing up', async () => {
    svc = await startService(kind);
    const base = await svc.listen();
    socket = connect({ host: '127.0.0.1', port: Number(new URL(base).port) });
    await new Promise<void>((resolve) => socket!.once('connect', resolve));
    const closed = new Promise<void>((resolve) => socket!.once('close', () => resolve()));
    socket.on('error', () => {});
    const started = performance.now();
    await svc.app.close();
    await closed;
    // Without the cut, server.close() waits for this socket for as long as the client keeps it.
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('the running request completes with Connection: close; one pipelined behind it is not run', async () => {
    svc = await startService(kind);
    const base = await svc.listen();
    const port = Number(new URL(base).port);

    const put = (name: string, body: string) =>
      `PUT /v1/configs/${name} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`;
    const body = JSON.stringify({ config: { preserved_attributes: ['x'] } });
    socket = connect({ host: '127.0.0.1', port });
    let text = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
    const ended = new Promise<void>((resolve) => socket!.once('end', resolve));
    await new Promise<void>((resolve) => socket!.once('connect', resolve));
    // In flight: headers sent, body not complete. It keeps the server (and its connection) open.
    const received = new Promise((resolve) => svc!.app.server.once('request', resolve));
    socket.write(`${put('running', body)}{`);
    await received;

    const closing = svc.app.close();
    await waitUntilRefused(port); // closing has begun

    // The rest of the body, and a second write pipelined behind it on the same connection.
    socket.write(`${body.slice(1)}${put('pipelined', body)}${body}`);
    await ended;
    await closing;
    expect(text).toMatch(/^HTTP\/1\.1 201 /);
    expect(text).toMatch(/\r\nconnection: close\r\n/i);

    // The second write was refused before it ran (its 503 is not delivered: the connection ends
    // with the first answer), so the client may safely send it again elsewhere.
    const database = await openDatabase(svc.url, { migrate: false });
    try {
      const names = (await database.prisma.config.findMany({ select: { name: true } })).map((c) => c.name);
      expect(names).toEqual(['running']);
    } finally {
      await database.close();
    }
  });
});
