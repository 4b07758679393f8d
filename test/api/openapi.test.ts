import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerClasses, startService, type TestService } from '../support/app.js';
import { BACKENDS } from '../support/databases.js';
import {
  ContractChecker,
  fetchDocument,
  operations,
  type ObservedResponse,
  type OpenApiDocument,
} from '../support/openapi-contract.js';

/** operationIds fixed by ../shared/API.md. */
const CONTRACT: Record<string, string> = {
  createModuleClass: 'post /v1/module-classes',
  listModuleClasses: 'get /v1/module-classes',
  getModuleClass: 'get /v1/module-classes/{id}',
  updateModuleClass: 'patch /v1/module-classes/{id}',
  deleteModuleClass: 'delete /v1/module-classes/{id}',
  listModuleClassReferences: 'get /v1/module-classes/{id}/references',
  putConfig: 'put /v1/configs/{name}',
  getConfig: 'get /v1/configs/{name}',
  patchConfig: 'patch /v1/configs/{name}',
  deleteConfig: 'delete /v1/configs/{name}',
  undeleteConfig: 'post /v1/configs/{name}/undelete',
  listConfigs: 'get /v1/configs',
  listConfigVersions: 'get /v1/configs/{name}/versions',
  getConfigVersion: 'get /v1/configs/{name}/versions/{version}',
  rollbackConfig: 'post /v1/configs/{name}/versions/{version}/rollback',
  diffConfigVersions: 'get /v1/configs/{name}/diff',
  setObservedToQuantizedMapping: 'put /v1/configs/{name}/mappings/{quantType}/{observedClass}',
  removeObservedToQuantizedMapping: 'delete /v1/configs/{name}/mappings/{quantType}/{observedClass}',
  setPreservedAttributes: 'put /v1/configs/{name}/preserved-attributes',
  getConfigDict: 'get /v1/configs/{name}/dict',
  getConfigPython: 'get /v1/configs/{name}/python',
  setConfigAlias: 'put /v1/configs/{name}/aliases/{alias}',
  listConfigAliases: 'get /v1/configs/{name}/aliases',
  getConfigAlias: 'get /v1/configs/{name}/aliases/{alias}',
  deleteConfigAlias: 'delete /v1/configs/{name}/aliases/{alias}',
  listConfigAliasHistory: 'get /v1/configs/{name}/aliases/{alias}/history',
  listEvents: 'get /v1/events',
  validateConfig: 'post /v1/validate',
  createToken: 'post /v1/tokens',
  listTokens: 'get /v1/tokens',
  revokeToken: 'delete /v1/tokens/{name}',
  getMetrics: 'get /metrics',
  streamEvents: 'get /v1/events/stream',
};

/** Swagger UI's and the web UI's pages and assets (and `/`, which sends browsers to /ui/): not part of the API. */
const UI_PREFIXES = ['/docs', '/ui'];
const notApi = (url: string) => url === '/' || UI_PREFIXES.some((prefix) => url === prefix || url.startsWith(`${prefix}/`) || url === `${prefix}*`);

/**
 * Every method + path Fastify has registered, read from `printRoutes()`'s tree: each line is
 * `<indent>├── <segment> (METHODS)`, with 4 characters of indent per level and a node's full path
 * being its ancestors' segments joined.
 */
function registeredRoutes(tree: string): Array<{ method: string; url: string }> {
  const stack: string[] = [];
  const routes: Array<{ method: string; url: string }> = [];
  for (const line of tree.split('\n')) {
    const match = /^(.*?)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    stack.length = depth;
    stack.push(match[2]!);
    const url = stack.join('');
    for (const method of (match[3] ?? '').split(', ').filter(Boolean)) routes.push({ method, url });
  }
  return routes;
}

/** `/v1/configs/:name` -> `/v1/configs/{name}` */
const toTemplate = (url: string) => url.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');

describe('OpenAPI document', () => {
  let svc: TestService;
  let doc: OpenApiDocument;
  beforeAll(async () => {
    svc = await startService('sqlite');
    const res = await svc.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    doc = res.json();
  });
  afterAll(async () => svc?.close());

  it('is OpenAPI 3.1 with every operationId of the contract on its path', () => {
    expect(doc.openapi).toBe('3.1.0');
    const found: Record<string, string> = {};
    for (const { method, path, operation } of operations(doc)) {
      if (operation.operationId) found[operation.operationId] = `${method} ${path}`;
    }
    for (const [id, where] of Object.entries(CONTRACT)) expect(found[id], id).toBe(where);
  });

  it('documents every route Fastify registered, and nothing else', () => {
    const routes = registeredRoutes(svc.app.printRoutes({ commonPrefix: false }));
    expect(routes.length, 'printRoutes() could not be read').toBeGreaterThan(20);
    const registered = new Set<string>();
    for (const { method, url } of routes) {
      if (notApi(url)) continue;
      // Fastify answers HEAD for every GET route by itself (exposeHeadRoutes).
      if (method === 'HEAD') {
        expect(routes.some((r) => r.method === 'GET' && r.url === url), `HEAD ${url} without GET`).toBe(true);
        continue;
      }
      registered.add(`${method.toLowerCase()} ${toTemplate(url)}`);
    }
    const documented = new Set(operations(doc).map(({ method, path }) => `${method} ${path}`));
    expect([...registered].filter((r) => !documented.has(r)), 'registered but undocumented').toEqual([]);
    expect([...documented].filter((d) => !registered.has(d)), 'documented but not registered').toEqual([]);
    for (const { method, path } of operations(doc)) {
      const url = path.replace(/\{([^}]+)\}/g, ':$1');
      expect(svc.app.hasRoute({ method: method.toUpperCase() as 'GET', url }), `${method} ${url}`).toBe(true);
    }
  });

  it('gives every operation an id, a declared tag, a summary, a description and described responses', () => {
    const declaredTags = new Set(((doc.tags ?? []) as Array<{ name: string }>).map((t) => t.name));
    const ids = new Set<string>();
    for (const { method, path, operation } of operations(doc)) {
      const where = `${method} ${path}`;
      expect(operation.operationId, where).toMatch(/^[a-z][A-Za-z]+$/);
      expect(ids.has(operation.operationId!), `duplicate operationId ${operation.operationId}`).toBe(false);
      ids.add(operation.operationId!);
      expect(operation.tags?.length, where).toBe(1);
      expect(declaredTags.has(operation.tags![0]!), where).toBe(true);
      expect(operation.summary, where).toBeTruthy();
      expect(operation.description, where).toBeTruthy();
      for (const [status, response] of Object.entries(operation.responses)) {
        expect(response.description, `${where} ${status}`).not.toMatch(/^(Default Response)?$/);
      }
    }
  });

  it('sends every error as application/problem+json with the Problem schema, and documents 5XX everywhere', () => {
    for (const { method, path, operation } of operations(doc)) {
      expect(Object.keys(operation.responses), `${method} ${path}`).toContain('5XX');
      for (const [status, response] of Object.entries(operation.responses)) {
        if (!/^[45]/.test(status)) continue;
        expect(response.content, `${method} ${path} ${status}`).toEqual({
          'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' }, example: expect.objectContaining({ status: expect.any(Number) }) },
        });
        const example = response.content!['application/problem+json']!.example as { status: number };
        expect(String(example.status)[0], `${method} ${path} ${status} example`).toBe(status[0]);
      }
    }
  });

  it('has an example for every request and response body', () => {
    const schemas = doc.components.schemas as Record<string, { examples?: unknown[] }>;
    const hasExample = (media: { schema?: unknown; example?: unknown; examples?: unknown }): boolean => {
      if (media.example !== undefined || media.examples !== undefined) return true;
      const schema = media.schema as { $ref?: string; examples?: unknown[] } | undefined;
      const resolved = schema?.$ref ? schemas[schema.$ref.replace('#/components/schemas/', '')] : schema;
      return Array.isArray(resolved?.examples) && resolved.examples.length > 0;
    };
    const missing: string[] = [];
    for (const { method, path, operation } of operations(doc)) {
      for (const [type, media] of Object.entries(operation.requestBody?.content ?? {})) {
        if (!hasExample(media)) missing.push(`${method} ${path} request ${type}`);
      }
      for (const [status, response] of Object.entries(operation.responses)) {
        for (const [type, media] of Object.entries(response.content ?? {})) {
          if (!hasExample(media)) missing.push(`${method} ${path} ${status} ${type}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('names its schemas for generated clients: the resources, one name per schema, none unused', () => {
    const names = Object.keys(doc.components.schemas);
    for (const name of ['ConvertCustomConfigDict', 'Config', 'ConfigVersion', 'ModuleClass', 'Problem', 'PutConfig', 'ConfigMergePatch', 'Token', 'CreatedToken']) {
      expect(names, name).toContain(name);
    }
    expect(names.filter((n) => n.endsWith('Input')), 'input/output twins left').toEqual([]);
    const text = JSON.stringify({ ...doc, components: { ...doc.components, schemas: {} } });
    const referenced = new Set([...text.matchAll(/#\/components\/schemas\/([A-Za-z0-9_]+)/g)].map((m) => m[1]));
    for (const [name, schema] of Object.entries(doc.components.schemas)) {
      for (const m of JSON.stringify(schema).matchAll(/#\/components\/schemas\/([A-Za-z0-9_]+)/g)) referenced.add(m[1]);
      void name;
    }
    expect(names.filter((n) => !referenced.has(n)), 'unused components').toEqual([]);
    for (const ref of referenced) expect(names, `dangling $ref ${ref}`).toContain(ref);
  });

  it('documents PATCH bodies as merge patches, and config replies with their ETag', () => {
    for (const path of ['/v1/configs/{name}', '/v1/module-classes/{id}']) {
      expect(Object.keys(doc.paths[path]!.patch!.requestBody!.content)).toEqual(['application/merge-patch+json', 'application/json']);
    }
    expect(doc.paths['/v1/configs/{name}']!.get!.responses['200']!.headers).toHaveProperty('ETag');
    expect(doc.paths['/v1/configs/{name}']!.get!.responses['304']).toEqual({
      description: expect.any(String),
      headers: { ETag: expect.anything(), 'Preference-Applied': expect.anything() },
    });
    // The stream is documented as what it is, with the header an EventSource resumes with.
    const stream = doc.paths['/v1/events/stream']!.get!;
    expect(Object.keys(stream.responses['200']!.content!)).toEqual(['text/event-stream']);
    expect(stream.parameters?.map((p) => `${p.in} ${p.name}`)).toEqual(
      expect.arrayContaining(['header last-event-id', 'query after', 'query name', 'query type']),
    );
    expect(doc.paths['/v1/events']!.get!.parameters?.map((p) => p.name)).toContain('wait');
    expect(doc.paths['/v1/configs/{name}']!.get!.parameters?.map((p) => p.name)).toContain('prefer');
    expect(doc.paths['/v1/configs/{name}']!.put!.responses['201']!.headers).toHaveProperty('Location');
    expect(Object.keys(doc.paths['/v1/configs/{name}/python']!.get!.responses['200']!.content!)).toEqual(['text/x-python']);
    expect(doc.paths['/v1/configs/{name}/dict']!.get!.responses['200']!.content!['application/json']!.schema).toEqual({
      $ref: '#/components/schemas/ConvertCustomConfigDict',
    });
  });

  it('declares on every operation the answers any request may get before its handler runs', () => {
    for (const { method, path, operation } of operations(doc)) {
      const statuses = Object.keys(operation.responses);
      // A URL that does not percent-decode (GET /v1/configs/%ZZ) is a 400 of the operation it looks like.
      expect(statuses, `${method} ${path}`).toEqual(expect.arrayContaining(['400', '408', '431']));
      if (path.includes('{')) expect(statuses, `${method} ${path}: path segment too long`).toContain('414');
      if (method !== 'get') expect(statuses, `${method} ${path}: a body`).toEqual(expect.arrayContaining(['413', '415']));
    }
    // Headers sent with every reply of a status are declared required (on the Header Object).
    expect(doc.paths['/v1/configs/{name}']!.get!.responses['200']!.headers!.ETag!.required).toBe(true);
    expect(doc.paths['/v1/configs/{name}']!.get!.responses['401']!.headers!['WWW-Authenticate']!.required).toBe(true);
    expect(doc.paths['/v1/configs/{name}']!.put!.responses['201']!.headers!.Location!.required).toBe(true);
    expect(doc.paths['/v1/configs/{name}']!.get!.responses['200']!.headers!['Content-Location']!.required).toBeUndefined();
    expect(JSON.stringify(doc.paths), 'a boolean `required` left in a header schema').not.toMatch(/"schema":\{[^{}]*"required":true/);
  });

  it('declares the bearer token scheme the protected operations refer to', () => {
    expect(doc.components.securitySchemes?.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('serves Swagger UI at /docs', async () => {
    const res = await svc.app.inject({ method: 'GET', url: '/docs' });
    expect([200, 302]).toContain(res.statusCode);
    const page = await svc.app.inject({ method: 'GET', url: '/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('swagger');
  });

  it('answers /healthz and /readyz', async () => {
    expect((await svc.app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await svc.app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({ status: 'ready' });
  });
});

const PARAMETER_VALUES: Record<string, string> = {
  name: 'probe',
  id: 'torch.ao.nn.quantized.LSTM',
  version: '1',
  quantType: 'static',
  observedClass: 'torch.ao.nn.quantizable.LSTM',
  slug: 'not-found',
};

/**
 * Every status and content type the server really answers is documented, and every body matches
 * its documented schema: each operation is hit over real HTTP with a normal request and with the
 * usual ways of getting it wrong (bad JSON, wrong content type, too large, bad path parameter,
 * unknown query parameter, failed precondition).
 */
describe.each(BACKENDS)('OpenAPI document tells the truth (%s)', (kind) => {
  let svc: TestService;
  let baseUrl: string;
  let doc: OpenApiDocument;
  beforeAll(async () => {
    svc = await startService(kind);
    baseUrl = await svc.listen();
    doc = await fetchDocument(baseUrl);
    await registerClasses(svc.app, []);
    const put = await fetch(`${baseUrl}/v1/configs/probe`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        config: { observed_to_quantized_custom_module_class: { static: { 'torch.ao.nn.quantizable.LSTM': 'torch.ao.nn.quantized.LSTM' } } },
      }),
    });
    expect(put.status).toBe(201);
  });
  afterAll(async () => svc?.close());

  it('for every operation, under normal and bad requests', async () => {
    const checker = new ContractChecker(doc);
    const seen: ObservedResponse[] = [];
    const statuses = new Set<string>();
    const send = async (method: string, path: string, url: string, init: { headers?: Record<string, string>; body?: string } = {}) => {
      const response = await fetch(baseUrl + url, { method: method.toUpperCase(), ...init });
      const contentType = response.headers.get('content-type');
      const observed = { method, path, status: response.status, contentType, body: await bodyOf(response), headers: response.headers };
      seen.push(observed);
      statuses.add(String(response.status));
    };
    // Reads before writes, deletes last, so the normal requests meet an existing config.
    const order = { get: 0, post: 1, put: 1, patch: 1, delete: 2 } as Record<string, number>;
    const ops = operations(doc).sort((a, b) => (order[a.method] ?? 3) - (order[b.method] ?? 3));
    for (const { method, path, operation } of ops) {
      const url = path.replace(/\{([^}]+)\}/g, (_, p: string) => encodeURIComponent(PARAMETER_VALUES[p]!));
      const bodyMedia = Object.entries(operation.requestBody?.content ?? {})[0];
      const example = bodyMedia ? exampleBody(doc, bodyMedia[1].schema) : undefined;
      const json = (type = bodyMedia?.[0] ?? 'application/json') => ({ 'content-type': type });
      await send(method, path, url, bodyMedia ? { headers: json(), body: JSON.stringify(example) } : {});
      await send(method, path, `${url}${url.includes('?') ? '&' : '?'}unknownParameter=1`);
      await send(method, path, url, { headers: { 'if-match': '"999"', ...(bodyMedia ? json() : {}) }, ...(bodyMedia ? { body: JSON.stringify(example) } : {}) });
      if (method === 'get') await send(method, path, url, { headers: { 'if-none-match': '"1"' } });
      // Answered by Node's HTTP parser before any route is found (431), or by Fastify's router (400).
      await send(method, path, url, { headers: { 'x-padding': 'x'.repeat(20_000) } });
      if (path.includes('{')) {
        await send(method, path, path.replace(/\{[^}]+\}/g, '%ZZ'));
        await send(method, path, path.replace(/\{[^}]+\}/g, 'a'.repeat(600)));
      }
      if (path.includes('{')) {
        const bad = path.replace(/\{([^}]+)\}/g, () => encodeURIComponent('not a valid value!'));
        await send(method, path, bad);
      }
      if (method !== 'get') {
        await send(method, path, url, { headers: json('application/json'), body: '{"unterminated": ' });
        await send(method, path, url, { headers: { 'content-type': 'text/plain' }, body: 'hello' });
        await send(method, path, url, { headers: json('application/json'), body: JSON.stringify({ big: 'x'.repeat(1024 * 1024) }) });
      }
    }
    expect(seen.flatMap((s) => checker.violations(s))).toEqual([]);
    // The probes did reach the interesting statuses (so a violation could have shown up).
    for (const status of ['200', '201', '204', '304', '400', '404', '412', '413', '414', '415', '422', '431']) expect(statuses, status).toContain(status);
  });
});

/** The body, or, of an event stream (which does not end), its first chunk. */
async function bodyOf(response: Response): Promise<string> {
  if (!(response.headers.get('content-type') ?? '').startsWith('text/event-stream')) return response.text();
  const reader = response.body!.getReader();
  const { value } = await reader.read();
  await reader.cancel();
  return new TextDecoder().decode(value);
}

/** A request body for an operation: the example of its schema (resolving a component $ref). */
function exampleBody(doc: OpenApiDocument, schema: unknown): unknown {
  const s = schema as { $ref?: string; examples?: unknown[] };
  const resolved = (s.$ref ? doc.components.schemas[s.$ref.replace('#/components/schemas/', '')] : s) as { examples?: unknown[] };
  return resolved.examples?.[0] ?? {};
}
