// The database goes away and comes back while the service keeps running: /readyz and every
// request that needs the database answer a 503 problem (promptly, not after a hang), and the
// service recovers by itself. PostgreSQL is reached through a TCP proxy the test cuts, so the
// shared server is never touched.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReplica, type TestService } from '../support/app.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/databases.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

/** Polls until `check` passes (the pool reconnects on the next use, not at an instant). */
async function eventually(check: () => Promise<void>, attempts = 50): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      return await check();
    } catch (error) {
      if (i >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

describe.runIf(postgresAvailable)('a PostgreSQL outage', () => {
  let testDb: TestDatabase;
  let proxy: TcpProxy;
  let svc: TestService;

  beforeAll(async () => {
    testDb = await createTestDatabase('postgresql');
    const direct = new URL(testDb.url);
    proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
    const viaProxy = new URL(testDb.url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    // A short handler timeout, so that a request stuck on a hung database ends as a 503 too.
    svc = await startReplica(viaProxy.toString(), { timeouts: { handlerMs: 4000 } });
    const put = await svc.app.inject({ method: 'PUT', url: '/v1/configs/before', payload: { config: {} } });
    expect(put.statusCode).toBe(201);
  });
  afterAll(async () => {
    // The proxy first: a test that failed mid-partition would otherwise leave the pool hanging.
    await proxy?.close();
    await svc?.close();
    await testDb?.drop();
  });

  async function expectUnavailable(method: 'GET' | 'PUT', url: string, payload?: object) {
    const res = await svc.app.inject({ method, url, ...(payload === undefined ? {} : { payload }) });
    expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.headers['retry-after']).toBe('1');
    const body = res.json();
    expect(body).toMatchObject({ status: 503, title: 'Service unavailable' });
    // No internals: no driver message, host or SQL.
    expect(res.body).not.toMatch(/ECONN|127\.0\.0\.1|SELECT|prisma|terminated|stack/i);
    return res;
  }

  async function expectRecovered() {
    await proxy.restore();
    await eventually(async () => {
      const ready = await svc.app.inject({ method: 'GET', url: '/readyz' });
      expect(ready.statusCode, ready.body).toBe(200);
    });
    expect((await svc.app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({ status: 'ready' });
    const get = await svc.app.inject({ method: 'GET', url: '/v1/configs/before' });
    expect(get.statusCode).toBe(200);
  }

  it.each(['refuse', 'reset'] as const)('answers 503 problems while connections fail (%s), and recovers without a restart', async (mode) => {
    expect((await svc.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    await proxy.cut(mode);
    await expectUnavailable('GET', '/readyz');
    await expectUnavailable('GET', '/v1/configs/before');
    await expectUnavailable('GET', '/v1/configs');
    await expectUnavailable('PUT', '/v1/configs/during', { config: {} });
    // The process is alive and still reports its own metrics.
    expect((await svc.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const metrics = await svc.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toMatch(/^registry_database_up 0$/m);
    expect(metrics.body).toMatch(/^http_requests_total\{method="GET",route="\/readyz",status_code="503"\} \d+$/m);
    await expectRecovered();
    const put = await svc.app.inject({ method: 'PUT', url: `/v1/configs/after-${mode}`, payload: { config: {} } });
    expect(put.statusCode).toBe(201);
  });

  it('answers 503 problems while the database hangs (a partition), and recovers', async () => {
    // Warm the pool, so that some requests stall on an open connection (only the handler
    // timeout ends those) and others wait for a new one (the 3 s connect timeout ends those).
    await Promise.all([1, 2, 3].map(() => svc.app.inject({ method: 'GET', url: '/v1/configs/before' })));
    await proxy.cut('blackhole');
    // Each of these would hang without the deadlines (the test's own timeout would then fail it).
    const stuck = await Promise.all([
      expectUnavailable('GET', '/readyz'),
      expectUnavailable('GET', '/v1/configs/before'),
      expectUnavailable('GET', '/v1/configs'),
      expectUnavailable('PUT', '/v1/configs/during-partition', { config: {} }),
    ]);
    expect(stuck.map((r) => r.json().status)).toEqual([503, 503, 503, 503]);
    const metrics = await svc.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toMatch(/^registry_database_up 0$/m);
    await expectRecovered();
  }, 30_000);
});
