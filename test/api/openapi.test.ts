import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from '../support/app.js';

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
  createToken: 'post /v1/tokens',
  listTokens: 'get /v1/tokens',
  revokeToken: 'delete /v1/tokens/{name}',
  getMetrics: 'get /metrics',
};

describe('OpenAPI document', () => {
  let svc: TestService;
  let doc: {
    openapi: string;
    paths: Record<string, Record<string, { operationId?: string; tags?: string[]; responses?: Record<string, unknown> }>>;
    components: { schemas: Record<string, unknown>; securitySchemes?: Record<string, unknown> };
  };
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
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        if (op.operationId) found[op.operationId] = `${method} ${path}`;
      }
    }
    for (const [id, where] of Object.entries(CONTRACT)) expect(found[id], id).toBe(where);
  });

  it('names the resource schemas as components', () => {
    for (const name of ['ConvertCustomConfigDict', 'Config', 'ConfigVersion', 'ModuleClass', 'Problem', 'Token', 'CreatedToken']) {
      expect(doc.components.schemas, name).toHaveProperty(name);
    }
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
