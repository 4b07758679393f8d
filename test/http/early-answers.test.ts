// A request answered before its body has all arrived (413, 401, 403, 415, 429, and 431 from Node's
// parser) must reach a real client that is still sending, as the problem
// (src/http/lingering-close.ts). Without the lingering close, Node's fetch got EPIPE on about half
// of these uploads and Python's urllib on every one.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LINGER_LIMITS } from '../../src/http/lingering-close.js';
import { startService, type TestService } from '../support/app.js';
import { BACKENDS } from '../support/databases.js';
import { curl, nodeFetch, pythonUrllib, UPLOAD_CLIENTS, type UploadClient, type UploadResult } from '../support/upload-clients.js';

const run = promisify(execFile);
const ADMIN_SECRET = 'early-answers-admin-secret-0123456789';
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
const JSON_TYPE = { 'content-type': 'application/json' };
const MB = 1_000_000;

/** One line per upload: what a client must see, or the error it saw instead. */
function seen(result: UploadResult): string {
  if (result.error !== undefined) return `error ${result.error}`;
  let problem: { status?: unknown; title?: unknown; instance?: unknown; type?: unknown; detail?: unknown } = {};
  try {
    problem = JSON.parse(result.body ?? '') as typeof problem;
  } catch {
    // not JSON: the line shows it
  }
  const complete = typeof problem.type === 'string' && typeof problem.detail === 'string' && problem.detail !== '';
  return [
    result.status,
    result.contentType?.split(';')[0],
    `connection: ${result.connection}`,
    `${problem.status} ${problem.title} ${problem.instance}${complete ? '' : ' (incomplete problem)'}`,
  ].join(' | ');
}

const expected = (status: number, title: string, instance = '/v1/configs/big') =>
  `${status} | application/problem+json | connection: close | ${status} ${title} ${instance}`;

interface Case {
  label: string;
  client: UploadClient;
  size: number;
  chunked: boolean;
}

/** Runs the uploads one after another (the machine has two cores) and returns what each saw. */
async function uploadAll(
  cases: Case[],
  url: string,
  headers: Record<string, string>,
  scratch: string,
  before: () => Promise<void> = async () => {},
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const c of cases) {
    await before();
    out[c.label] = seen(await c.client({ url, size: c.size, chunked: c.chunked, headers }, scratch));
  }
  return out;
}

/** The uploads each early answer is tried with (the 413 test above goes through every size). */
const LARGE_UPLOADS: Case[] = [
    { label: 'Node fetch 5 MB length', client: nodeFetch, size: 5 * MB, chunked: false },
    { label: 'Node fetch 5 MB chunked', client: nodeFetch, size: 5 * MB, chunked: true },
    { label: 'Node fetch 50 MB length', client: nodeFetch, size: 50 * MB, chunked: false },
    { label: 'curl 5 MB length', client: curl, size: 5 * MB, chunked: false },
    { label: 'curl 50 MB length', client: curl, size: 50 * MB, chunked: false },
    { label: 'Python urllib 5 MB length', client: pythonUrllib, size: 5 * MB, chunked: false },
];

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'early-answers-'));
});
afterAll(async () => rm(scratch, { recursive: true, force: true }));

// The body limit is checked before anything touches the store: SQLite is enough here.
describe('a body over the limit', () => {
  let svc: TestService;
  let base: string;
  beforeAll(async () => {
    svc = await startService('sqlite', { registry: { adminToken: ADMIN_SECRET } });
    base = await svc.listen();
  });
  afterAll(async () => svc?.close());

  it('reaches Node fetch, Python urllib and curl as the 413 problem at 2, 5 and 50 MB, with a length or chunked', async () => {
    const cases: Case[] = [];
    for (const [name, client] of Object.entries(UPLOAD_CLIENTS)) {
      for (const size of [2 * MB, 5 * MB, 50 * MB]) {
        for (const chunked of [false, true]) cases.push({ label: `${name} ${size / MB} MB ${chunked ? 'chunked' : 'length'}`, client, size, chunked });
      }
    }
    const results = await uploadAll(cases, `${base}/v1/configs/big`, { ...JSON_TYPE, ...bearer(ADMIN_SECRET) }, scratch);
    expect(results).toEqual(Object.fromEntries(cases.map((c) => [c.label, expected(413, 'Request body too large')])));
    // And nothing was stored.
    const after = await svc.app.inject({ method: 'GET', url: '/v1/configs/big', headers: bearer(ADMIN_SECRET) });
    expect(after.statusCode).toBe(404);
  }, 300_000);

  it('cuts off a client that keeps sending, after the byte cap, and stays healthy', async () => {
    const flood = await sendAfterAnswer(svc, { pace: 'flat out' });
    expect(flood.answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(flood.answer).toContain('"title":"Request body too large"');
    expect(flood.answer.toLowerCase()).toContain('connection: close');
    // The server read at least the cap after its answer (the client wrote more: its own buffers).
    expect(flood.sentAfterAnswer).toBeGreaterThanOrEqual(LINGER_LIMITS.maxBytes);
    expect(flood.sentAfterAnswer).toBeLessThan(LINGER_LIMITS.maxBytes + 64 * 1024 * 1024);
    // Cut by bytes, well before the time cap.
    expect(flood.closedAfterMs).toBeLessThan(LINGER_LIMITS.maxMs);
    const health = await fetch(`${base}/healthz`);
    expect(health.status).toBe(200);
  }, 60_000);

  it('closes the connection of the 413 and answers a keep-alive client on another (fetch)', async () => {
    // The socket the 413 goes out on, as the server sees it.
    let bigSocket: Socket | undefined;
    const watch = (request: IncomingMessage) => {
      if (request.url === '/v1/configs/big') bigSocket = request.socket;
    };
    svc.app.server.on('request', watch);
    try {
      const headers = { ...JSON_TYPE, ...bearer(ADMIN_SECRET) };
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      const big = await fetch(`${base}/v1/configs/big`, { method: 'PUT', headers, body: `{"description":"${'x'.repeat(5 * MB)}"}` });
      expect(big.status).toBe(413);
      expect(big.headers.get('connection')).toBe('close');
      expect(((await big.json()) as { status: number }).status).toBe(413);
      // Closed once the body was read, or when fetch hung up in the middle of it (the server's
      // parser then reports the cut-short body as an error on the socket): either way, gone.
      if (!bigSocket!.destroyed) await new Promise((resolve) => bigSocket!.once('close', resolve));
      const put = await fetch(`${base}/v1/configs/after-413`, { method: 'PUT', headers, body: JSON.stringify({ config: {} }) });
      expect(put.status).toBe(201);
      // A body the server read whole keeps the connection.
      expect(put.headers.get('connection')).toBe('keep-alive');
      await put.arrayBuffer();
      expect((await fetch(`${base}/v1/configs/after-413`, { headers })).status).toBe(200);
    } finally {
      svc.app.server.off('request', watch);
    }
  });

  it('answers the next request of a keep-alive client on a new connection (curl)', async () => {
    const file = join(scratch, 'keep-alive-5mb.json');
    await writeFile(file, `{"description":"${'x'.repeat(5 * MB)}"}`);
    const auth = ['-H', `authorization: Bearer ${ADMIN_SECRET}`];
    const format = ['-o', '/dev/null', '-w', '%{http_code} %{num_connects}\\n'];
    const { stdout } = await run('curl', [
      '-s', ...format, ...auth, `${base}/v1/configs`,
      '--next', '-s', ...format, ...auth, '-X', 'PUT', '-H', 'content-type: application/json', '--data-binary', `@${file}`, `${base}/v1/configs/big`,
      '--next', '-s', ...format, ...auth, `${base}/v1/configs`,
    ]);
    // The second transfer reused the first connection; the 413 closed it, so the third connected anew.
    expect(stdout.trim().split('\n')).toEqual(['200 1', '413 0', '200 1']);
  });
});

describe('a client that keeps sending slowly after the answer', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startService('sqlite', { registry: { adminToken: ADMIN_SECRET }, lingering: { maxMs: 1_500 } });
    await svc.listen();
  });
  afterAll(async () => svc?.close());

  it('is cut off after the time cap', async () => {
    const trickle = await sendAfterAnswer(svc, { pace: 'slow' });
    expect(trickle.answer).toMatch(/^HTTP\/1\.1 413 /);
    // The cap runs from when the answer was written; this client saw it a little later.
    expect(trickle.closedAfterMs).toBeGreaterThanOrEqual(1_000);
    expect(trickle.closedAfterMs).toBeLessThan(1_500 + 5_000);
    expect((await fetch(`${svc.baseUrl}/healthz`)).status).toBe(200);
  }, 30_000);

  it('does not hold up shutdown', async () => {
    const closing = await startService('sqlite', { registry: { adminToken: ADMIN_SECRET } });
    await closing.listen();
    let closedIn: number | undefined;
    const trickle = await sendAfterAnswer(closing, {
      pace: 'slow',
      onAnswer: () => {
        const started = performance.now();
        void closing.close().then(() => (closedIn = performance.now() - started));
      },
    });
    expect(trickle.answer).toMatch(/^HTTP\/1\.1 413 /);
    // Cut at shutdown, not after the 10 s the connection could otherwise linger.
    expect(trickle.closedAfterMs).toBeLessThan(3_000);
    await expect.poll(() => closedIn, { timeout: 5_000 }).toBeLessThan(3_000);
  }, 30_000);
});

/**
 * A raw client: a chunked PUT whose first 1.5 MB trip the limit, then more chunks until the
 * server closes the connection (flat out: 64 KiB chunks as fast as the socket takes them; slow:
 * 1 KiB every 50 ms). How much it wrote after the answer came, and when the connection closed.
 */
async function sendAfterAnswer(
  svc: TestService,
  { pace, onAnswer, extraHeaders = '' }: { pace: 'flat out' | 'slow'; onAnswer?: () => void; extraHeaders?: string },
) {
  const port = (svc.app.server.address() as { port: number }).port;
  // Half-open allowed: the server's FIN after its answer does not make this client stop sending.
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let answer = '';
  let answeredAt: number | undefined;
  let sentAfterAnswer = 0;
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now())));
  socket.on('error', () => {}); // a reset after the cut is expected
  socket.on('data', (data: Buffer) => {
    answer += data.toString('latin1');
    if (answeredAt === undefined && /\r\n\r\n[\s\S]*\}$/.test(answer)) {
      answeredAt = performance.now();
      onAnswer?.();
    }
  });
  const chunk = (n: number) => Buffer.from(`${n.toString(16)}\r\n${'x'.repeat(n)}\r\n`);
  socket.write(
    `PUT /v1/configs/flood HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${ADMIN_SECRET}\r\n` +
      `content-type: application/json\r\ntransfer-encoding: chunked\r\n${extraHeaders}\r\n`,
  );
  socket.write(chunk(1_500_000));
  const piece = pace === 'flat out' ? chunk(64 * 1024) : chunk(1024);
  const started = performance.now();
  while (!socket.destroyed && socket.writable && performance.now() - started < 30_000) {
    const more = socket.write(piece);
    if (answeredAt !== undefined) sentAfterAnswer += piece.length;
    if (pace === 'slow') await new Promise((resolve) => setTimeout(resolve, 50));
    else if (!more) {
      await new Promise<void>((resolve) => {
        const done = () => {
          socket.off('drain', done).off('close', done);
          resolve();
        };
        socket.once('drain', done).once('close', done);
      });
    }
  }
  const closedAt = await closed;
  if (answeredAt === undefined) throw new Error(`no complete answer before the close: ${JSON.stringify(answer.slice(0, 300))}`);
  return { answer, sentAfterAnswer, closedAfterMs: closedAt - answeredAt };
}

// Headers over Node's 16 KiB limit on an upload: Node's parser refuses the request before any
// route (src/http/problem.ts answerClientError), and the answer takes the same lingering close.
describe('headers too large on an upload', () => {
  let svc: TestService;
  let base: string;
  const bigHeader = { 'x-trace-context': 'a'.repeat(20_000) };
  beforeAll(async () => {
    svc = await startService('sqlite');
    base = await svc.listen();
  });
  afterAll(async () => svc?.close());

  it('reaches Node fetch, Python urllib and curl as the 431 problem', async () => {
    const cases: Case[] = [...LARGE_UPLOADS, { label: 'Python urllib 5 MB chunked', client: pythonUrllib, size: 5 * MB, chunked: true }];
    const results = await uploadAll(cases, `${base}/v1/configs/big`, { ...JSON_TYPE, ...bigHeader }, scratch);
    expect(results).toEqual(Object.fromEntries(cases.map((c) => [c.label, expected(431, 'Request header fields too large')])));
    expect((await svc.app.inject({ method: 'GET', url: '/v1/configs/big' })).statusCode).toBe(404);
  }, 300_000);

  it('cuts off a client that keeps sending after the 431, at the byte cap, and stays healthy', async () => {
    const flood = await sendAfterAnswer(svc, { pace: 'flat out', extraHeaders: `x-trace-context: ${'a'.repeat(20_000)}\r\n` });
    expect(flood.answer).toMatch(/^HTTP\/1\.1 431 /);
    expect(flood.answer.toLowerCase()).toContain('connection: close');
    expect(flood.sentAfterAnswer).toBeGreaterThanOrEqual(LINGER_LIMITS.maxBytes);
    expect(flood.sentAfterAnswer).toBeLessThan(LINGER_LIMITS.maxBytes + 64 * 1024 * 1024);
    expect(flood.closedAfterMs).toBeLessThan(LINGER_LIMITS.maxMs);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  }, 60_000);
});

describe.each(BACKENDS)('other early answers to a large body on %s', (kind) => {
  let svc: TestService;
  let limited: TestService;
  let readerToken: string;
  let limitedToken: string;
  beforeAll(async () => {
    svc = await startService(kind, { registry: { adminToken: ADMIN_SECRET } });
    await svc.listen();
    const reader = await svc.app.inject({ method: 'POST', url: '/v1/tokens', headers: bearer(ADMIN_SECRET), payload: { name: 'reader', role: 'reader' } });
    readerToken = reader.json().token;
    limited = await startService(kind, { registry: { adminToken: ADMIN_SECRET }, rateLimitMax: 1 });
    await limited.listen();
    const writer = await limited.app.inject({ method: 'POST', url: '/v1/tokens', headers: bearer(ADMIN_SECRET), payload: { name: 'busy', role: 'writer' } });
    limitedToken = writer.json().token;
  });
  // The token's one request of the minute, used up before each upload (a window may have ended).
  const useUpTheLimit = async () => {
    await limited.app.inject({ method: 'GET', url: '/v1/configs', headers: bearer(limitedToken) });
  };
  afterAll(async () => {
    await svc?.close();
    await limited?.close();
  });

  const cases = LARGE_UPLOADS;
  const answers: Array<[status: number, title: string, where: () => string, headers: () => Record<string, string>, before?: () => Promise<void>]> = [
    [401, 'Unauthorized', () => svc.baseUrl!, () => JSON_TYPE],
    [403, 'Forbidden', () => svc.baseUrl!, () => ({ ...JSON_TYPE, ...bearer(readerToken) })],
    [415, 'Unsupported media type', () => svc.baseUrl!, () => ({ 'content-type': 'application/xml', ...bearer(ADMIN_SECRET) })],
    [429, 'Too many requests', () => limited.baseUrl!, () => ({ ...JSON_TYPE, ...bearer(limitedToken) }), useUpTheLimit],
  ];

  it('sends 100 Continue only to a request it will read: curl uploads nothing to be refused', async () => {
    const file = join(scratch, 'expect-50mb.json');
    await writeFile(file, `{"description":"${'x'.repeat(50 * MB)}"}`);
    // If the 100 never came, curl would wait these 20 s before sending anyway.
    const put = async (base: string, path: string, headers: Record<string, string>, body: string) => {
      const { stdout } = await run('curl', [
        '-s', '-o', '/dev/null', '-w', '%{http_code} %{size_upload} %{time_total}', '--expect100-timeout', '20', '-X', 'PUT',
        '-H', 'expect: 100-continue', ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}: ${v}`]), '--data-binary', body, `${base}${path}`,
      ]);
      const [status, uploaded, seconds] = stdout.split(' ').map(Number);
      return { status, uploaded, seconds: seconds! };
    };
    const admin = { ...JSON_TYPE, ...bearer(ADMIN_SECRET) };
    for (const [status, base, headers] of [
      [401, svc.baseUrl!, JSON_TYPE],
      [403, svc.baseUrl!, { ...JSON_TYPE, ...bearer(readerToken) }],
      [413, svc.baseUrl!, admin],
      [415, svc.baseUrl!, { ...admin, 'content-type': 'application/xml' }],
    ] as const) {
      expect(await put(base, '/v1/configs/big', headers, `@${file}`), String(status)).toMatchObject({ status, uploaded: 0 });
    }
    await useUpTheLimit();
    expect(await put(limited.baseUrl!, '/v1/configs/big', { ...JSON_TYPE, ...bearer(limitedToken) }, `@${file}`)).toMatchObject({ status: 429, uploaded: 0 });
    // A request it reads gets its 100 at once, after authorization.
    const created = await put(svc.baseUrl!, '/v1/configs/expect-continue', admin, '{"config":{}}');
    expect(created).toMatchObject({ status: 201, uploaded: 13 });
    expect(created.seconds).toBeLessThan(10);
  }, 120_000);

  it.each(answers)('%i %s reaches every client as the problem', async (status, title, where, headers, before) => {
    const results = await uploadAll(cases, `${where()}/v1/configs/big`, headers(), scratch, before);
    expect(results).toEqual(Object.fromEntries(cases.map((c) => [c.label, expected(status, title)])));
    const stored = await svc.app.inject({ method: 'GET', url: '/v1/configs/big', headers: bearer(ADMIN_SECRET) });
    expect(stored.statusCode).toBe(404);
  }, 300_000);
});
