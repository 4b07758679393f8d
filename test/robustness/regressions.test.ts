// Every bug the robustness suites found, shrunk to the smallest request that showed it, as a plain
// test on both databases. Each answered 500 or a non-problem body before its fix.
import net from 'node:net';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from '../support/app.js';
import { BACKENDS } from '../support/databases.js';
import { openDumper, type DatabaseDumper } from '../support/db-dump.js';
import { LSTM_OBS, LSTM_Q } from './fixture.js';
import { expectWellFormed } from './requests.js';

const json = { 'content-type': 'application/json' };

describe.each(BACKENDS)('shrunk counterexamples on %s', (kind) => {
  let svc: TestService;
  let db: DatabaseDumper;

  beforeAll(async () => {
    svc = await startService(kind);
    db = await openDumper(svc.url);
    const res = await svc.app.inject({
      method: 'PUT',
      url: '/v1/configs/base',
      payload: { config: { observed_to_quantized_custom_module_class: { static: { [LSTM_OBS]: LSTM_Q } } }, labels: { team: 'vision' } },
    });
    expect(res.statusCode).toBe(201);
  });
  afterAll(async () => {
    await db?.close();
    await svc?.close();
  });

  /** Sends a request that must be rejected with `status`: a complete problem, nothing changed. */
  async function rejected(request: InjectOptions, status: number) {
    const before = await db.dump();
    const res = await svc.app.inject(request);
    expectWellFormed(res, `${request.method} ${request.url}`);
    expect(res.statusCode, res.body).toBe(status);
    expect(await db.dump()).toBe(before);
    return res.json<{ detail: string; errors?: Array<{ pointer?: string; parameter?: string; detail: string }> }>();
  }

  it('a path that does not percent-decode is a 400 problem (was Fastify JSON)', async () => {
    await rejected({ method: 'GET', url: '/v1/module-classes/%' }, 400);
    await rejected({ method: 'GET', url: '/v1/configs/%ED%A0%80' }, 400); // a lone surrogate, WTF-8 encoded
    await rejected({ method: 'PUT', url: '/v1/configs/%zz', payload: { config: {} } }, 400);
  });

  it('a path segment over the router limit is a 414 problem (was Fastify JSON)', async () => {
    await rejected({ method: 'DELETE', url: `/v1/module-classes/${'a'.repeat(600)}` }, 414);
  });

  it('a merge patch nested thousands of levels deep is a 400 problem (was 500: stack overflow)', async () => {
    const depth = 5000;
    const body = await rejected(
      {
        method: 'PATCH',
        url: '/v1/configs/base',
        headers: { 'content-type': 'application/merge-patch+json' },
        payload: `{"config":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`,
      },
      400,
    );
    expect(body.errors?.[0]?.pointer).toBe(`/config${'/a'.repeat(31)}`);
  });

  it('a member named twice is a 400 problem naming it (was: the first value silently dropped)', async () => {
    const body = await rejected(
      { method: 'PUT', url: '/v1/configs/base', headers: json, payload: '{"config":{},"description":"a","description":"b"}' },
      400,
    );
    expect(body.errors).toEqual([{ pointer: '/description', detail: "member 'description' appears more than once" }]);
    // The same name spelled once with an escape is the same member.
    const escaped = await rejected(
      { method: 'PUT', url: '/v1/configs/base', headers: json, payload: '{"config":{},"description":"a","descr\\u0069ption":"b"}' },
      400,
    );
    expect(escaped.errors).toEqual([{ pointer: '/description', detail: "member 'description' appears more than once" }]);
    const nested = await rejected(
      {
        method: 'PUT',
        url: '/v1/configs/base',
        headers: json,
        payload: `{"config":{"observed_to_quantized_custom_module_class":{"static":{"${LSTM_OBS}":"a.B","${LSTM_OBS}":"${LSTM_Q}"}}}}`,
      },
      400,
    );
    expect(nested.errors?.[0]?.pointer).toBe(`/config/observed_to_quantized_custom_module_class/static/${LSTM_OBS}`);
  });

  it('a body that is not UTF-8 is a 400 problem (was: bytes replaced by U+FFFD and stored)', async () => {
    await rejected(
      { method: 'PUT', url: '/v1/configs/base', headers: json, payload: Buffer.from('{"config":{},"description":"caf\xe9"}', 'latin1') },
      400,
    );
  });

  it('more than 64 label filters is a 422 naming the parameter (was 500: too many bound parameters on SQLite)', async () => {
    const labels = Array.from({ length: 65 }, (_, i) => `label=k${i}:v`).join('&');
    const body = await rejected({ method: 'GET', url: `/v1/configs?${labels}` }, 422);
    expect(body.errors?.map((e) => e.parameter)).toEqual(['label']);
    const ok = await svc.app.inject({ method: 'GET', url: `/v1/configs?${Array.from({ length: 64 }, () => 'label=team:vision').join('&')}` });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().items.map((c: { name: string }) => c.name)).toEqual(['base']);
  });

  it(
    'a page of 1000 configs lists them all (was 500: the latest versions in one statement over the parameter cap)',
    async () => {
      for (let i = 0; i < 1001; i += 50) {
        await Promise.all(
          Array.from({ length: Math.min(50, 1001 - i) }, (_, j) =>
            svc.app.inject({ method: 'PUT', url: `/v1/configs/page-${String(i + j).padStart(4, '0')}`, payload: { config: {} } }),
          ),
        );
      }
      const res = await svc.app.inject({ method: 'GET', url: '/v1/configs?prefix=page-&pageSize=1000' });
      expect(res.statusCode, res.body).toBe(200);
      const page = res.json<{ items: Array<{ name: string; version: number }>; nextPageToken?: string }>();
      expect(page.items).toHaveLength(1000);
      expect(page.items.every((c) => c.version === 1)).toBe(true);
      const rest = await svc.app.inject({ method: 'GET', url: `/v1/configs?prefix=page-&pageSize=1000&pageToken=${page.nextPageToken}` });
      expect(rest.json().items.map((c: { name: string }) => c.name)).toEqual(['page-1000']);
    },
    120_000,
  );

  it('a request Node cannot parse as HTTP gets a problem, not Fastify JSON', async () => {
    const base = svc.baseUrl ?? (await svc.listen());
    const { port } = new URL(base);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => {
        socket.write('GET /v1/configs HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n');
      });
      let data = '';
      socket.on('data', (chunk) => (data += chunk.toString('latin1')));
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
    });
    const [head, body] = answer.split('\r\n\r\n') as [string, string];
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    expect(head).toMatch(/content-type: application\/problem\+json/i);
    expect(JSON.parse(body)).toMatchObject({ status: 400, title: 'Bad request', instance: '/v1/configs' });
  });
});
