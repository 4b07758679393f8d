// The checker the fuzz suite and the OpenAPI tests rely on (test/support/openapi-contract.ts):
// against the service's real document, a real answer passes and each way of breaking the
// document is caught. Were it to pass everything, every suite using it would pass vacuously.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from '../support/app.js';
import { ContractChecker, type ObservedResponse, type OpenApiDocument } from '../support/openapi-contract.js';

describe('the OpenAPI contract checker', () => {
  let svc: TestService;
  let checker: ContractChecker;
  let real: ObservedResponse;
  let notFound: ObservedResponse;

  beforeAll(async () => {
    svc = await startService('sqlite', { rateLimitMax: 100 });
    checker = new ContractChecker((await svc.app.inject({ method: 'GET', url: '/openapi.json' })).json<OpenApiDocument>());
    const put = await svc.app.inject({
      method: 'PUT',
      url: '/v1/configs/checked',
      payload: { config: { preserved_attributes: ['a'] } },
    });
    expect(put.statusCode).toBe(201);
    const get = await svc.app.inject({ method: 'GET', url: '/v1/configs/checked' });
    const observe = (status: number, res: typeof get): ObservedResponse => ({
      method: 'get',
      path: '/v1/configs/{name}',
      status,
      contentType: String(res.headers['content-type']),
      body: res.body,
      headers: res.headers,
    });
    real = observe(200, get);
    notFound = observe(404, await svc.app.inject({ method: 'GET', url: '/v1/configs/missing' }));
  });
  afterAll(async () => svc?.close());

  it('passes real answers', () => {
    expect(checker.violations(real)).toEqual([]);
    expect(checker.violations(notFound)).toEqual([]);
    expect(notFound.contentType).toMatch(/^application\/problem\+json/);
  });

  it('fails a status the operation does not declare', () => {
    expect(checker.violations({ ...notFound, status: 418 })).toEqual([expect.stringMatching(/418: status not documented/)]);
    expect(checker.violations({ ...real, method: 'post' })).toEqual([expect.stringMatching(/no such operation/)]);
  });

  it('fails a content type the status does not declare', () => {
    expect(checker.violations({ ...real, contentType: 'text/html' })).toEqual([expect.stringMatching(/content type text\/html not documented/)]);
    expect(checker.violations({ ...notFound, contentType: 'application/json' })).toEqual([
      expect.stringMatching(/content type application\/json not documented/),
    ]);
  });

  it('fails a body that breaks its schema, or is not JSON', () => {
    const config = JSON.parse(real.body) as Record<string, unknown>;
    expect(checker.violations({ ...real, body: JSON.stringify({ ...config, version: 'three' }) })).toEqual([
      expect.stringMatching(/body\/version must be integer/),
    ]);
    const { name: _name, ...nameless } = config;
    expect(checker.violations({ ...real, body: JSON.stringify(nameless) }).join()).toMatch(/must have required property 'name'/);
    expect(checker.violations({ ...notFound, body: '{"title": 1}' }).length).toBeGreaterThan(0);
    expect(checker.violations({ ...real, body: '{' })).toEqual([expect.stringMatching(/body is not JSON/)]);
    // 304 is declared without a body.
    expect(checker.violations({ ...real, status: 304, body: 'x', contentType: null })).toEqual([expect.stringMatching(/without a body/)]);
  });

  it('fails a reply without a header the document requires', () => {
    const { etag: _etag, ...headers } = real.headers as Record<string, unknown>;
    expect(checker.violations({ ...real, headers })).toEqual([expect.stringMatching(/required header ETag not sent/)]);
    // Header names are matched without regard to case; optional ones (Content-Location) may be absent.
    expect(checker.violations({ ...real, headers: { ...headers, ETAG: '"1"' } })).toEqual([]);
  });
});
