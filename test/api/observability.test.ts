import { randomBytes } from 'node:crypto';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from '../support/app.js';
import { BACKENDS } from '../support/databases.js';

const ADMIN_SECRET = 'observability-bootstrap-secret-0123456789';
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

/** What the app writes to its log stream, line by line. */
function logCapture() {
  const lines: string[] = [];
  return {
    stream: { write: (line: string) => void lines.push(line) },
    lines,
    text: () => lines.join(''),
    records: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe.each(BACKENDS)('observability on %s', (kind) => {
  describe('logs', () => {
    let svc: TestService;
    const log = logCapture();
    beforeAll(async () => {
      svc = await startService(kind, {
        registry: { adminToken: ADMIN_SECRET },
        log: { level: 'trace', stream: log.stream, secrets: [ADMIN_SECRET] },
      });
    });
    afterAll(async () => svc?.close());

    it('never writes a token secret, whatever the request carried', async () => {
      const created = await svc.app.inject({
        method: 'POST',
        url: '/v1/tokens',
        headers: bearer(ADMIN_SECRET),
        payload: { name: 'logged-writer', role: 'writer' },
      });
      expect(created.statusCode).toBe(201);
      const secret = created.json().token as string;
      const unknown = `ccr_${randomBytes(32).toString('base64url')}`;

      const requests: InjectOptions[] = [
        // the secret in the Authorization header, on a success, a 403, and a public route
        { method: 'PUT', url: '/v1/configs/logged', headers: bearer(secret), payload: { config: {} } },
        { method: 'GET', url: '/v1/tokens', headers: bearer(secret) },
        { method: 'GET', url: '/healthz', headers: bearer(secret) },
        // an unknown token and the bootstrap one
        { method: 'GET', url: '/v1/configs', headers: bearer(unknown) },
        { method: 'GET', url: '/v1/configs', headers: bearer(ADMIN_SECRET) },
        // a secret where it does not belong: the URL, a malformed body (its text is in the error)
        { method: 'GET', url: `/v1/configs?access_token=${secret}`, headers: bearer(secret) },
        { method: 'GET', url: `/v1/nowhere/${ADMIN_SECRET}` },
        {
          method: 'PUT',
          url: '/v1/configs/logged',
          headers: { ...bearer(secret), 'content-type': 'application/json' },
          payload: `${secret} {not json`,
        },
        {
          method: 'PUT',
          url: '/v1/configs/logged',
          headers: { ...bearer(secret), 'content-type': 'application/json' },
          payload: `{"config": "${ADMIN_SECRET}`,
        },
      ];
      for (const request of requests) {
        const res = await svc.app.inject(request);
        expect(res.statusCode, `${request.method} ${request.url}`).toBeLessThan(500);
      }

      const text = log.text();
      expect(log.lines.length).toBeGreaterThan(requests.length * 2);
      for (const needle of [secret, secret.slice(4, 30), unknown, unknown.slice(4, 30), ADMIN_SECRET]) {
        expect(text).not.toContain(needle);
      }
      // Redaction did happen (so the checks above could have failed): by path and by pattern.
      const headerLines = log.records().filter((r) => r.msg === 'request headers');
      expect(headerLines.length).toBeGreaterThanOrEqual(requests.length);
      for (const line of headerLines.filter((r) => (r.headers as Record<string, unknown>).authorization !== undefined)) {
        expect((line.headers as Record<string, unknown>).authorization).toBe('[redacted]');
      }
      expect(text).toContain('ccr_[redacted]');
      // ...and every line is JSON.
      expect(() => log.records()).not.toThrow();
    });

    it('tags every line of a request with its id, the caller\'s X-Request-Id when plausible', async () => {
      const given = await svc.app.inject({ method: 'GET', url: '/v1/configs', headers: { ...bearer(ADMIN_SECRET), 'x-request-id': 'trace-abc.123:4' } });
      expect(given.headers['x-request-id']).toBe('trace-abc.123:4');
      const lines = log.records().filter((r) => r.reqId === 'trace-abc.123:4');
      expect(lines.map((r) => r.msg)).toEqual(expect.arrayContaining(['incoming request', 'request headers', 'request completed']));
      expect(lines.find((r) => r.msg === 'request completed')).toMatchObject({ actor: 'admin', res: { statusCode: 200 } });

      const fresh = await svc.app.inject({ method: 'GET', url: '/v1/configs' });
      expect(fresh.statusCode).toBe(401);
      expect(fresh.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(log.records().some((r) => r.reqId === fresh.headers['x-request-id'] && r.msg === 'request completed')).toBe(true);

      for (const bad of ['has spaces in it', 'x'.repeat(129), '{"json":1}']) {
        const res = await svc.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': bad } });
        expect(res.headers['x-request-id']).not.toBe(bad);
        expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      }
      const notFound = await svc.app.inject({ method: 'GET', url: '/nowhere', headers: { 'x-request-id': 'r-404' } });
      expect(notFound.statusCode).toBe(404);
      expect(notFound.headers['x-request-id']).toBe('r-404');
    });

    it('does not warn about running open when a bootstrap admin token is set', () => {
      expect(log.records().filter((r) => r.level === 40)).toEqual([]);
    });
  });

  it('warns once, at start-up, that an open registry runs without authentication', async () => {
    const log = logCapture();
    const svc = await startService(kind, { log: { level: 'info', stream: log.stream } });
    try {
      await svc.app.inject({ method: 'GET', url: '/v1/configs' });
      await svc.app.inject({ method: 'PUT', url: '/v1/configs/x', payload: { config: {} } });
      const warnings = log.records().filter((r) => (r.level as number) >= 40);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.msg).toMatch(/^Authentication is OFF: .*REGISTRY_ADMIN_TOKEN/);
    } finally {
      await svc.close();
    }
  });

  describe('metrics', () => {
    let svc: TestService;
    beforeAll(async () => {
      svc = await startService(kind);
    });
    afterAll(async () => svc?.close());

    it('counts requests and latencies by route pattern and status, and the registry by database', async () => {
      const put = (name: string, description: string) =>
        svc.app.inject({ method: 'PUT', url: `/v1/configs/${name}`, payload: { config: {}, description } });
      expect((await put('metric-one', 'a')).statusCode).toBe(201);
      expect((await put('metric-one', 'b')).statusCode).toBe(200);
      expect((await put('metric-two', 'a')).statusCode).toBe(201);
      expect((await svc.app.inject({ method: 'DELETE', url: '/v1/configs/metric-two' })).statusCode).toBe(204);
      for (let i = 0; i < 2; i++) await svc.app.inject({ method: 'GET', url: '/v1/configs/metric-one' });
      await svc.app.inject({ method: 'GET', url: '/v1/configs/metric-none' });
      await svc.app.inject({ method: 'GET', url: '/no/such/route' });

      const res = await svc.app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      const text = res.body;
      const route = 'route="/v1/configs/:name"';
      expect(text).toContain(`http_requests_total{method="GET",${route},status_code="200"} 2`);
      expect(text).toContain(`http_requests_total{method="GET",${route},status_code="404"} 1`);
      expect(text).toContain(`http_requests_total{method="PUT",${route},status_code="201"} 2`);
      expect(text).toContain(`http_requests_total{method="DELETE",${route},status_code="204"} 1`);
      expect(text).toContain('http_requests_total{method="GET",route="unmatched",status_code="404"} 1');
      expect(text).toMatch(new RegExp(`^http_request_duration_seconds_bucket\\{le="0.005",method="GET",${route.replace(/[/:]/g, '\\$&')},status_code="200"\\} \\d+$`, 'm'));
      expect(text).toContain(`http_request_duration_seconds_count{method="GET",${route},status_code="200"} 2`);
      expect(text).toContain('# TYPE http_request_duration_seconds histogram');
      // Route patterns, never raw URLs: a label per config name would grow without bound.
      expect(text).not.toContain('metric-one');
      expect(text).toMatch(/^registry_database_up 1$/m);
      expect(text).toMatch(/^registry_configs\{state="live"\} 1$/m);
      expect(text).toMatch(/^registry_configs\{state="deleted"\} 1$/m);
      expect(text).toMatch(/^registry_config_versions 3$/m);
      expect(text).toMatch(/^registry_module_classes 4$/m);
      expect(text).toMatch(/^registry_api_tokens 0$/m);
      // The three PUTs came one after another: a group each.
      expect(text).toMatch(/^registry_version_groups_total 3$/m);
      expect(text).toMatch(/^registry_version_group_appends_total 3$/m);
      expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
    });
  });
});
