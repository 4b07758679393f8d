import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from '../support/app.js';
import { BACKENDS } from '../support/databases.js';

const ADMIN_SECRET = 'limits-bootstrap-secret-0123456789';
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

describe.each(BACKENDS)('limits and headers on %s', (kind) => {
  describe('rate limiting', () => {
    let svc: TestService;
    const tokens: Record<string, string> = {};
    beforeAll(async () => {
      svc = await startService(kind, { registry: { adminToken: ADMIN_SECRET }, rateLimitMax: 3 });
      for (const name of ['alice', 'bob']) {
        const res = await svc.app.inject({
          method: 'POST',
          url: '/v1/tokens',
          headers: bearer(ADMIN_SECRET),
          payload: { name, role: 'reader' },
          remoteAddress: `10.9.9.${name.length}`,
        });
        tokens[name] = res.json().token;
      }
    });
    afterAll(async () => svc?.close());

    it('counts per token, whatever the address, and answers 429 problems with Retry-After', async () => {
      const asAlice = (remoteAddress: string) =>
        svc.app.inject({ method: 'GET', url: '/v1/configs', headers: bearer(tokens.alice!), remoteAddress });
      // Three addresses, one token: one budget.
      for (const address of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) {
        const res = await asAlice(address);
        expect(res.statusCode).toBe(200);
        expect(res.headers['x-ratelimit-limit']).toBe('3');
      }
      const limited = await asAlice('10.0.0.4');
      expect(limited.statusCode).toBe(429);
      expect(limited.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(limited.json()).toMatchObject({ status: 429, title: 'Too many requests', instance: '/v1/configs' });
      // Bob, from Alice's first address, has his own budget.
      expect((await svc.app.inject({ method: 'GET', url: '/v1/configs', headers: bearer(tokens.bob!), remoteAddress: '10.0.0.1' })).statusCode).toBe(200);
    });

    it('counts callers without a valid token per address, before refusing them', async () => {
      const anonymous = (remoteAddress: string, headers: Record<string, string> = {}) =>
        svc.app.inject({ method: 'GET', url: '/v1/configs', headers, remoteAddress });
      expect((await anonymous('10.1.0.1')).statusCode).toBe(401);
      expect((await anonymous('10.1.0.1', bearer('ccr_guess1'))).statusCode).toBe(401);
      expect((await anonymous('10.1.0.1', bearer('ccr_guess2'))).statusCode).toBe(401);
      // Guessing tokens does not buy a fresh budget.
      expect((await anonymous('10.1.0.1', bearer('ccr_guess3'))).statusCode).toBe(429);
      expect((await anonymous('10.1.0.2')).statusCode).toBe(401);
    });

    it('never limits health, readiness and metrics', async () => {
      for (let i = 0; i < 8; i++) {
        for (const url of ['/healthz', '/readyz', '/metrics']) {
          const res = await svc.app.inject({ method: 'GET', url, remoteAddress: '10.1.0.1' });
          expect(res.statusCode, url).toBe(200);
          expect(res.headers['x-ratelimit-limit'], url).toBeUndefined();
        }
      }
    });

    it('documents 429 on limited operations only', async () => {
      const doc = (await svc.app.inject({ method: 'GET', url: '/openapi.json' })).json();
      expect(Object.keys(doc.paths['/v1/configs'].get.responses)).toContain('429');
      expect(Object.keys(doc.paths['/healthz'].get.responses)).not.toContain('429');
    });
  });

  describe('defaults (no rate limit, no CORS)', () => {
    let svc: TestService;
    beforeAll(async () => {
      svc = await startService(kind);
    });
    afterAll(async () => svc?.close());

    it('does not rate-limit when RATE_LIMIT_MAX is 0', async () => {
      for (let i = 0; i < 20; i++) {
        const res = await svc.app.inject({ method: 'GET', url: '/v1/configs' });
        expect(res.statusCode).toBe(200);
        expect(res.headers['x-ratelimit-limit']).toBeUndefined();
      }
    });

    it('sends security headers on every reply, problems included', async () => {
      for (const url of ['/v1/configs', '/v1/configs/absent', '/nowhere', '/healthz']) {
        const res = await svc.app.inject({ method: 'GET', url });
        expect(res.headers['x-content-type-options'], url).toBe('nosniff');
        expect(res.headers['content-security-policy'], url).toContain("default-src 'self'");
        expect(res.headers['strict-transport-security'], url).toMatch(/max-age=\d+/);
        expect(res.headers['x-frame-options'], url).toBe('SAMEORIGIN');
        expect(res.headers['x-powered-by'], url).toBeUndefined();
      }
    });

    it('serves Swagger UI at /docs under its Content-Security-Policy', async () => {
      const page = await svc.app.inject({ method: 'GET', url: '/docs/' });
      expect(page.statusCode).toBe(200);
      const csp = String(page.headers['content-security-policy']);
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('upgrade-insecure-requests');
      // Every script is a same-origin file (no inline code, which script-src 'self' would block)...
      const scripts = [...page.body.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
      expect(scripts.length).toBeGreaterThan(0);
      for (const [, attributes, body] of scripts) {
        expect(attributes).toMatch(/src="\.\/static\/[^"]+"/);
        expect(body!.trim()).toBe('');
      }
      // ...and every script and stylesheet it names is there.
      const assets = [...page.body.matchAll(/(?:src|href)="(\.\/[^"]+)"/g)].map((m) => m[1]!);
      expect(assets.length).toBeGreaterThanOrEqual(4);
      for (const asset of [...assets, './json']) {
        const res = await svc.app.inject({ method: 'GET', url: new URL(asset, 'http://x/docs/').pathname });
        expect(res.statusCode, asset).toBe(200);
      }
      const initializer = await svc.app.inject({ method: 'GET', url: '/docs/static/swagger-initializer.js' });
      expect(initializer.body).toContain("resolveUrl('./json')");
    });

    it('sends no CORS headers unless origins are configured', async () => {
      const res = await svc.app.inject({ method: 'GET', url: '/v1/configs', headers: { origin: 'https://ml.example.com' } });
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      const preflight = await svc.app.inject({
        method: 'OPTIONS',
        url: '/v1/configs/x',
        headers: { origin: 'https://ml.example.com', 'access-control-request-method': 'PUT' },
      });
      expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    });
  });

  describe('CORS configured', () => {
    let svc: TestService;
    beforeAll(async () => {
      svc = await startService(kind, {
        registry: { adminToken: ADMIN_SECRET },
        corsOrigins: ['https://ml.example.com'],
      });
    });
    afterAll(async () => svc?.close());

    it('allows the configured origins only, with the headers clients need', async () => {
      const preflight = await svc.app.inject({
        method: 'OPTIONS',
        url: '/v1/configs/x',
        headers: {
          origin: 'https://ml.example.com',
          'access-control-request-method': 'PUT',
          'access-control-request-headers': 'authorization,content-type,if-match',
        },
      });
      expect(preflight.statusCode).toBe(204);
      expect(preflight.headers['access-control-allow-origin']).toBe('https://ml.example.com');
      expect(String(preflight.headers['access-control-allow-methods'])).toContain('PUT');
      expect(String(preflight.headers['access-control-allow-headers']).toLowerCase()).toMatch(/authorization.*content-type.*if-match/);
      // Long-polls and a resumed stream from a page (see README "Watching").
      expect(String(preflight.headers['access-control-allow-headers']).toLowerCase()).toMatch(/prefer.*last-event-id/);
      expect(preflight.headers['access-control-allow-credentials']).toBeUndefined();

      // A refusal is readable by the page too: it carries the CORS headers and exposes the challenge.
      const refused = await svc.app.inject({ method: 'GET', url: '/v1/configs', headers: { origin: 'https://ml.example.com' } });
      expect(refused.statusCode).toBe(401);
      expect(refused.headers['access-control-allow-origin']).toBe('https://ml.example.com');
      expect(String(refused.headers['access-control-expose-headers'])).toMatch(/WWW-Authenticate/);

      const ok = await svc.app.inject({ method: 'GET', url: '/v1/configs', headers: { origin: 'https://ml.example.com', ...bearer(ADMIN_SECRET) } });
      expect(ok.statusCode).toBe(200);
      expect(ok.headers['access-control-allow-origin']).toBe('https://ml.example.com');
      expect(String(ok.headers['access-control-expose-headers'])).toMatch(/ETag/);
      expect(String(ok.headers['access-control-expose-headers'])).toMatch(/Preference-Applied/);

      const other = await svc.app.inject({ method: 'GET', url: '/v1/configs', headers: { origin: 'https://evil.example', ...bearer(ADMIN_SECRET) } });
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
    });
  });

  describe('body limit with auth on', () => {
    let svc: TestService;
    beforeAll(async () => {
      svc = await startService(kind, { registry: { adminToken: ADMIN_SECRET } });
    });
    afterAll(async () => svc?.close());

    it('answers 413 to a writer and 401 (without reading it) to anyone else', async () => {
      const big = JSON.stringify({ config: {}, description: 'x'.repeat(1024 * 1024) });
      const headers = { 'content-type': 'application/json' };
      const asAdmin = await svc.app.inject({ method: 'PUT', url: '/v1/configs/big', headers: { ...headers, ...bearer(ADMIN_SECRET) }, payload: big });
      expect(asAdmin.statusCode).toBe(413);
      expect(asAdmin.headers['content-type']).toMatch(/^application\/problem\+json/);
      const anonymous = await svc.app.inject({ method: 'PUT', url: '/v1/configs/big', headers, payload: big });
      expect(anonymous.statusCode).toBe(401);
    });
  });
});

describe('timeouts', () => {
  it('sets the server limits it is given', async () => {
    const svc = await startService('sqlite', {
      timeouts: { requestMs: 12_000, handlerMs: 9_000, connectionMs: 100_000, keepAliveMs: 61_000 },
    });
    try {
      await svc.listen();
      expect(svc.app.server.requestTimeout).toBe(12_000);
      expect(svc.app.server.timeout).toBe(100_000);
      expect(svc.app.server.keepAliveTimeout).toBe(61_000);
      // The handler deadline is ours (src/http/handler-deadline.ts): test/http/handler-deadline.test.ts
      // tests it, and test/api/readiness.test.ts sees it end requests stuck on a hung database.
    } finally {
      await svc.close();
    }
  });
});
