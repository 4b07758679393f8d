import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../src/registry/access.js';
import { AUTH_STATE_TTL_MS } from '../../src/registry/tokens.js';
import { startReplica, startService, type TestService } from '../support/app.js';
import { injectAnswer } from '../support/inject-answer.js';
import { BACKENDS } from '../support/databases.js';

const ADMIN_SECRET = 'bootstrap-admin-secret-for-tests-0123456789';
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

/**
 * The least role each operation needs, written out by hand from ../shared/API.md (not read from
 * the code), so that the table below checks the code rather than repeating it. A new operation
 * fails the first test until it is added here.
 */
const LEAST_ROLE: Record<string, Role | 'public'> = {
  getHealth: 'public',
  getReadiness: 'public',
  getMetrics: 'public',
  getOpenApi: 'public',
  listProblemTypes: 'public',
  getProblemType: 'public',
  createModuleClass: 'writer',
  listModuleClasses: 'reader',
  getModuleClass: 'reader',
  updateModuleClass: 'writer',
  deleteModuleClass: 'writer',
  listModuleClassReferences: 'reader',
  putConfig: 'writer',
  getConfig: 'reader',
  patchConfig: 'writer',
  deleteConfig: 'writer',
  undeleteConfig: 'writer',
  listConfigs: 'reader',
  listConfigVersions: 'reader',
  getConfigVersion: 'reader',
  rollbackConfig: 'writer',
  diffConfigVersions: 'reader',
  setObservedToQuantizedMapping: 'writer',
  removeObservedToQuantizedMapping: 'writer',
  setPreservedAttributes: 'writer',
  getConfigDict: 'reader',
  getConfigPython: 'reader',
  setConfigAlias: 'writer',
  listConfigAliases: 'reader',
  getConfigAlias: 'reader',
  deleteConfigAlias: 'writer',
  listConfigAliasHistory: 'reader',
  listEvents: 'reader',
  streamEvents: 'reader',
  validateConfig: 'reader',
  createToken: 'admin',
  listTokens: 'admin',
  revokeToken: 'admin',
};

const RANK: Record<Role, number> = { reader: 1, writer: 2, admin: 3 };

/** Values for path parameters: real enough to reach the handler, harmless when they do. */
const PATH_VALUES: Record<string, string> = {
  name: 'matrix-probe',
  id: 'my_pkg.nothing.Here',
  version: '1',
  quantType: 'static',
  observedClass: 'torch.ao.nn.quantizable.LSTM',
  alias: 'production',
};

interface Operation {
  id: string;
  method: string;
  url: string;
  hasBody: boolean;
  leastRole: Role | 'public';
  security?: unknown;
  requiredRole?: unknown;
  responses: string[];
}

type OpenApiDoc = {
  paths: Record<
    string,
    Record<string, { operationId: string; requestBody?: unknown; security?: unknown; 'x-required-role'?: unknown; responses: Record<string, unknown> }>
  >;
  components: { securitySchemes?: Record<string, unknown> };
};

function operationsOf(doc: OpenApiDoc): Operation[] {
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const url = path.replace(/\{(\w+)\}/g, (_, p: string) => encodeURIComponent(PATH_VALUES[p] ?? 'x'));
      ops.push({
        id: op.operationId,
        method: method.toUpperCase(),
        url,
        hasBody: op.requestBody !== undefined,
        leastRole: LEAST_ROLE[op.operationId]!,
        security: op.security,
        requiredRole: op['x-required-role'],
        responses: Object.keys(op.responses),
      });
    }
  }
  // Purge is the one operation whose role depends on the request: admin, where a soft delete is writer.
  const del = ops.find((o) => o.id === 'deleteConfig')!;
  ops.push({ ...del, id: 'deleteConfig?purge=true', url: `${del.url}?purge=true`, leastRole: 'admin' });
  return ops;
}

type Identity = {
  label: string;
  headers: () => Record<string, string>;
  /** The role it acts with; undefined for anonymous; 'invalid' for refused credentials. */
  role: Role | undefined | 'invalid';
};

type Outcome = 'allowed' | 401 | 403;

function expected(op: Operation, identity: Identity, anonymousRead: boolean): Outcome {
  if (op.leastRole === 'public') return 'allowed';
  if (identity.role === 'invalid') return 401;
  if (identity.role === undefined) return anonymousRead && op.leastRole === 'reader' ? 'allowed' : 401;
  return RANK[identity.role] >= RANK[op.leastRole] ? 'allowed' : 403;
}

async function call(svc: TestService, op: Operation, headers: Record<string, string>) {
  return injectAnswer(svc.app, {
    method: op.method,
    url: op.url,
    headers: { ...headers, ...(op.hasBody ? { 'content-type': 'application/json' } : {}) },
    ...(op.hasBody ? { payload: '{}' } : {}),
  });
}

async function createToken(svc: TestService, name: string, role: Role, as: Record<string, string> = bearer(ADMIN_SECRET)) {
  const res = await svc.app.inject({ method: 'POST', url: '/v1/tokens', headers: as, payload: { name, role } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ name: string; role: Role; token: string; createdAt: string }>();
}

describe.each(BACKENDS)('auth on %s', (kind) => {
  describe('roles by operation (REGISTRY_ADMIN_TOKEN set, anonymous reads off)', () => {
    let svc: TestService;
    let ops: Operation[];
    const secrets: Record<string, string> = {};
    const identities: Identity[] = [
      { label: 'anonymous', headers: () => ({}), role: undefined },
      { label: 'reader', headers: () => bearer(secrets.reader!), role: 'reader' },
      { label: 'writer', headers: () => bearer(secrets.writer!), role: 'writer' },
      { label: 'admin token', headers: () => bearer(secrets.admin!), role: 'admin' },
      { label: 'bootstrap admin', headers: () => bearer(ADMIN_SECRET), role: 'admin' },
      { label: 'unknown token', headers: () => bearer(`ccr_${randomBytes(32).toString('base64url')}`), role: 'invalid' },
      { label: 'revoked token', headers: () => bearer(secrets.revoked!), role: 'invalid' },
      { label: 'not a bearer header', headers: () => ({ authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }), role: 'invalid' },
    ];

    beforeAll(async () => {
      svc = await startService(kind, { registry: { adminToken: ADMIN_SECRET } });
      for (const role of ['reader', 'writer', 'admin'] as const) secrets[role] = (await createToken(svc, `t-${role}`, role)).token;
      secrets.revoked = (await createToken(svc, 't-revoked', 'admin')).token;
      const revoke = await svc.app.inject({ method: 'DELETE', url: '/v1/tokens/t-revoked', headers: bearer(ADMIN_SECRET) });
      expect(revoke.statusCode).toBe(204);
      const doc = (await svc.app.inject({ method: 'GET', url: '/openapi.json' })).json<OpenApiDoc>();
      ops = operationsOf(doc);
    });
    afterAll(async () => svc?.close());

    it('knows the least role of every operation in the OpenAPI document, and the document says it', () => {
      const inDoc = new Set(ops.filter((o) => !o.id.includes('?')).map((o) => o.id));
      expect([...inDoc].sort()).toEqual(Object.keys(LEAST_ROLE).sort());
      for (const op of ops.filter((o) => !o.id.includes('?'))) {
        if (op.leastRole === 'public') {
          expect(op.security, op.id).toBeUndefined();
          continue;
        }
        expect(op.security, op.id).toEqual([{ bearerAuth: [] }]);
        expect(op.requiredRole, op.id).toBe(op.leastRole);
        expect(op.responses, op.id).toEqual(expect.arrayContaining(['401', '403']));
      }
    });

    it('answers every operation for every identity as the role model says', async () => {
      const mismatches: string[] = [];
      for (const op of ops) {
        for (const identity of identities) {
          const res = await call(svc, op, identity.headers());
          const want = expected(op, identity, false);
          const got: Outcome = res.statusCode === 401 || res.statusCode === 403 ? res.statusCode : 'allowed';
          if (got !== want || res.statusCode >= 500) {
            mismatches.push(`${op.id} as ${identity.label}: ${res.statusCode} (wanted ${want}) ${res.body.slice(0, 120)}`);
            continue;
          }
          if (got === 401) {
            expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
            expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="[^"]+"/);
            if (identity.role === 'invalid') expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
            else expect(res.headers['www-authenticate']).not.toContain('error=');
          }
          if (got === 403) {
            expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
            expect(res.json()).toMatchObject({ status: 403, title: 'Forbidden' });
          }
        }
      }
      expect(mismatches).toEqual([]);
    });

    it('records the token name as updatedBy', async () => {
      const put = await svc.app.inject({
        method: 'PUT',
        url: '/v1/configs/by-writer',
        headers: bearer(secrets.writer!),
        payload: { config: {} },
      });
      expect(put.statusCode).toBe(201);
      expect(put.json().updatedBy).toBe('t-writer');
      const patch = await svc.app.inject({
        method: 'PATCH',
        url: '/v1/configs/by-writer',
        headers: { ...bearer(ADMIN_SECRET), 'content-type': 'application/merge-patch+json' },
        payload: { description: 'by the bootstrap admin' },
      });
      expect(patch.json().updatedBy).toBe('admin');
      const versions = await svc.app.inject({ method: 'GET', url: '/v1/configs/by-writer/versions', headers: bearer(secrets.reader!) });
      expect(versions.json().items.map((v: { updatedBy: string }) => v.updatedBy)).toEqual(['admin', 't-writer']);
    });

    it('lets a writer soft-delete but only an admin purge', async () => {
      await svc.app.inject({ method: 'PUT', url: '/v1/configs/to-purge', headers: bearer(secrets.writer!), payload: { config: {} } });
      const byWriter = await svc.app.inject({ method: 'DELETE', url: '/v1/configs/to-purge?purge=true', headers: bearer(secrets.writer!) });
      expect(byWriter.statusCode).toBe(403);
      const stillThere = await svc.app.inject({ method: 'GET', url: '/v1/configs/to-purge', headers: bearer(secrets.reader!) });
      expect(stillThere.statusCode).toBe(200);
      const byAdmin = await svc.app.inject({ method: 'DELETE', url: '/v1/configs/to-purge?purge=true', headers: bearer(secrets.admin!) });
      expect(byAdmin.statusCode).toBe(204);
      const listed = await svc.app.inject({ method: 'GET', url: '/v1/configs?showDeleted=true', headers: bearer(secrets.reader!) });
      expect(listed.json().items.map((c: { name: string }) => c.name)).not.toContain('to-purge');
    });
  });

  describe('anonymous reads on', () => {
    let svc: TestService;
    beforeAll(async () => {
      svc = await startService(kind, { registry: { adminToken: ADMIN_SECRET }, anonymousRead: true });
    });
    afterAll(async () => svc?.close());

    it('lets anonymous callers read, not write, and documents reads as optionally authenticated', async () => {
      const doc = (await svc.app.inject({ method: 'GET', url: '/openapi.json' })).json<OpenApiDoc>();
      const anonymous: Identity = { label: 'anonymous', headers: () => ({}), role: undefined };
      const mismatches: string[] = [];
      for (const op of operationsOf(doc)) {
        const res = await call(svc, op, {});
        const want = expected(op, anonymous, true);
        const got: Outcome = res.statusCode === 401 || res.statusCode === 403 ? res.statusCode : 'allowed';
        if (got !== want) mismatches.push(`${op.id}: ${res.statusCode} (wanted ${want})`);
        if (op.leastRole === 'reader') expect(op.security, op.id).toEqual([{ bearerAuth: [] }, {}]);
      }
      expect(mismatches).toEqual([]);
      // A presented token is still checked: a bad one is refused, not served as anonymous.
      const bad = await svc.app.inject({ method: 'GET', url: '/v1/configs', headers: bearer('ccr_nope') });
      expect(bad.statusCode).toBe(401);
    });
  });

  describe('token lifecycle', () => {
    let svc: TestService;
    beforeAll(async () => {
      svc = await startService(kind, { registry: { adminToken: ADMIN_SECRET } });
    });
    afterAll(async () => svc?.close());

    it('creates a token whose secret is shown once, lists it without secrets, and revokes it', async () => {
      const res = await svc.app.inject({
        method: 'POST',
        url: '/v1/tokens',
        headers: bearer(ADMIN_SECRET),
        payload: { name: 'ci-vision', role: 'writer' },
      });
      expect(res.statusCode).toBe(201);
      expect(res.headers.location).toBe('/v1/tokens/ci-vision');
      expect(res.headers['cache-control']).toBe('no-store');
      const created = res.json();
      expect(Object.keys(created).sort()).toEqual(['createdAt', 'name', 'role', 'token']);
      expect(created).toMatchObject({ name: 'ci-vision', role: 'writer' });
      expect(created.token).toMatch(/^ccr_[A-Za-z0-9_-]{43}$/);

      // It works at once.
      const put = await svc.app.inject({ method: 'PUT', url: '/v1/configs/c1', headers: bearer(created.token), payload: { config: {} } });
      expect(put.statusCode).toBe(201);

      const list = await svc.app.inject({ method: 'GET', url: '/v1/tokens', headers: bearer(ADMIN_SECRET) });
      expect(list.statusCode).toBe(200);
      expect(list.json()).toEqual({
        items: [{ name: 'ci-vision', role: 'writer', createdAt: created.createdAt, createdBy: 'admin' }],
      });
      expect(list.body).not.toContain(created.token);
      expect(list.body).not.toContain(createHash('sha256').update(created.token).digest('hex'));

      const revoke = await svc.app.inject({ method: 'DELETE', url: '/v1/tokens/ci-vision', headers: bearer(ADMIN_SECRET) });
      expect(revoke.statusCode).toBe(204);
      const after = await svc.app.inject({ method: 'GET', url: '/v1/configs/c1', headers: bearer(created.token) });
      expect(after.statusCode).toBe(401);
      expect(after.headers['www-authenticate']).toContain('error="invalid_token"');
      const again = await svc.app.inject({ method: 'DELETE', url: '/v1/tokens/ci-vision', headers: bearer(ADMIN_SECRET) });
      expect(again.statusCode).toBe(404);
      // The name is free again, and the new token has a new secret.
      const reborn = await createToken(svc, 'ci-vision', 'reader');
      expect(reborn.token).not.toBe(created.token);
    });

    it('refuses duplicate, reserved and malformed names and unknown roles', async () => {
      await createToken(svc, 'dup', 'reader');
      const post = (payload: unknown) =>
        svc.app.inject({ method: 'POST', url: '/v1/tokens', headers: bearer(ADMIN_SECRET), payload: payload as object });
      expect((await post({ name: 'dup', role: 'admin' })).statusCode).toBe(409);
      expect((await post({ name: 'admin', role: 'admin' })).statusCode).toBe(409);
      expect((await post({ name: 'anonymous', role: 'reader' })).statusCode).toBe(409);
      const badName = await post({ name: 'Bad Name', role: 'reader' });
      expect(badName.statusCode).toBe(422);
      expect(badName.json().errors[0].pointer).toBe('/name');
      const badRole = await post({ name: 'ok-name', role: 'superuser' });
      expect(badRole.statusCode).toBe(422);
      expect(badRole.json().errors[0].pointer).toBe('/role');
      expect((await post({ name: 'ok-name', role: 'reader', extra: 1 })).statusCode).toBe(422);
    });

    it('pages the token list by name', async () => {
      for (const name of ['p-c', 'p-a', 'p-b']) await createToken(svc, name, 'reader');
      const names: string[] = [];
      let pageToken: string | undefined;
      do {
        const res = await svc.app.inject({
          method: 'GET',
          url: `/v1/tokens?pageSize=2${pageToken ? `&pageToken=${encodeURIComponent(pageToken)}` : ''}`,
          headers: bearer(ADMIN_SECRET),
        });
        expect(res.statusCode).toBe(200);
        names.push(...res.json().items.map((t: { name: string }) => t.name));
        pageToken = res.json().nextPageToken;
      } while (pageToken !== undefined);
      expect(names).toEqual([...names].sort());
      expect(names).toEqual(expect.arrayContaining(['p-a', 'p-b', 'p-c']));
    });

    it('never stores a secret in clear: the table holds its SHA-256 only', async () => {
      const created = await createToken(svc, 'stored-check', 'writer');
      const rows = await svc.database.prisma.$queryRawUnsafe<Record<string, unknown>[]>(
        `SELECT * FROM api_token WHERE name = 'stored-check'`,
      );
      expect(rows).toHaveLength(1);
      const dump = JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
      const secretPart = created.token.slice('ccr_'.length);
      expect(dump).not.toContain(secretPart);
      expect(dump).not.toContain(Buffer.from(created.token).toString('base64'));
      expect(rows[0]!.secret_hash).toBe(createHash('sha256').update(created.token).digest('hex'));
      expect(rows[0]).toMatchObject({ name: 'stored-check', role: 'writer', created_by: 'admin' });
    });
  });

  describe('two replicas on one database', () => {
    let a: TestService;
    let b: TestService;
    let clockB = 0;
    beforeAll(async () => {
      a = await startService(kind);
      b = await startReplica(a.url, { registry: { clock: () => clockB } });
    });
    afterAll(async () => {
      await b?.close();
      await a?.close();
    });

    it('shares tokens at once, and switches auth on within the cache time', async () => {
      // Both start open; B remembers "no tokens" (its clock stands still).
      expect((await b.app.inject({ method: 'PUT', url: '/v1/configs/open-b', payload: { config: {} } })).statusCode).toBe(201);

      const admin = await createToken(a, 'first-admin', 'admin', {});
      // A token made on A works on B at once: presented tokens are always looked up.
      const viaB = await b.app.inject({ method: 'POST', url: '/v1/tokens', headers: bearer(admin.token), payload: { name: 'w', role: 'writer' } });
      expect(viaB.statusCode).toBe(201);
      expect(viaB.json()).toMatchObject({ name: 'w', role: 'writer' });
      const writer = viaB.json().token as string;
      const put = await a.app.inject({ method: 'PUT', url: '/v1/configs/by-w', headers: bearer(writer), payload: { config: {} } });
      expect(put.statusCode).toBe(201);
      expect(put.json().updatedBy).toBe('w');

      // A, which created the token, requires tokens at once.
      expect((await a.app.inject({ method: 'PUT', url: '/v1/configs/anon-a', payload: { config: {} } })).statusCode).toBe(401);
      // B created one too, so it knows as well; its cache was dropped.
      expect((await b.app.inject({ method: 'PUT', url: '/v1/configs/anon-b', payload: { config: {} } })).statusCode).toBe(401);

      // Revoked on B: refused on A from the next request.
      expect((await b.app.inject({ method: 'DELETE', url: '/v1/tokens/w', headers: bearer(admin.token) })).statusCode).toBe(204);
      expect((await a.app.inject({ method: 'GET', url: '/v1/configs', headers: bearer(writer) })).statusCode).toBe(401);
    });

    it('a replica that saw no tokens requires them once its cached answer expires', async () => {
      // Started after tokens existed (the test above): it requires them at once.
      const c = await startReplica(a.url, { registry: { clock: () => clockB } });
      try {
        expect((await c.app.inject({ method: 'GET', url: '/v1/configs' })).statusCode).toBe(401);
      } finally {
        await c.close();
      }
      // A fresh replica on an empty database caches "open"; a token created elsewhere takes
      // effect there when the cache expires.
      const other = await startService(kind);
      const d = await startReplica(other.url, { registry: { clock: () => clockB } });
      try {
        expect((await d.app.inject({ method: 'GET', url: '/v1/configs' })).statusCode).toBe(200);
        await createToken(other, 'late-admin', 'admin', {});
        expect((await d.app.inject({ method: 'GET', url: '/v1/configs' })).statusCode).toBe(200);
        clockB += AUTH_STATE_TTL_MS + 1;
        expect((await d.app.inject({ method: 'GET', url: '/v1/configs' })).statusCode).toBe(401);
      } finally {
        await d.close();
        await other.close();
      }
    });
  });

  describe('open registry (no REGISTRY_ADMIN_TOKEN, no tokens)', () => {
    let svc: TestService;
    beforeAll(async () => {
      svc = await startService(kind);
    });
    afterAll(async () => svc?.close());

    it('lets anyone do anything, as "anonymous", until the first (admin) token exists', async () => {
      const put = await svc.app.inject({ method: 'PUT', url: '/v1/configs/open', payload: { config: {} } });
      expect(put.statusCode).toBe(201);
      expect(put.json().updatedBy).toBe('anonymous');
      expect((await svc.app.inject({ method: 'DELETE', url: '/v1/configs/open?purge=true' })).statusCode).toBe(204);
      expect((await svc.app.inject({ method: 'GET', url: '/v1/tokens' })).statusCode).toBe(200);

      // The first token must be an admin one, or nobody could manage tokens afterwards.
      const reader = await svc.app.inject({ method: 'POST', url: '/v1/tokens', payload: { name: 'r', role: 'reader' } });
      expect(reader.statusCode).toBe(409);
      const admin = await createToken(svc, 'owner', 'admin', {});
      expect((await svc.app.inject({ method: 'PUT', url: '/v1/configs/open', payload: { config: {} } })).statusCode).toBe(401);
      expect((await svc.app.inject({ method: 'GET', url: '/v1/configs' })).statusCode).toBe(401);

      // The last admin token cannot be revoked (there is no REGISTRY_ADMIN_TOKEN to fall back on).
      const revoke = await svc.app.inject({ method: 'DELETE', url: '/v1/tokens/owner', headers: bearer(admin.token) });
      expect(revoke.statusCode).toBe(409);
      const second = await createToken(svc, 'owner-2', 'admin', bearer(admin.token));
      expect((await svc.app.inject({ method: 'DELETE', url: '/v1/tokens/owner', headers: bearer(second.token) })).statusCode).toBe(204);
      const list = await svc.app.inject({ method: 'GET', url: '/v1/tokens', headers: bearer(second.token) });
      expect(list.json().items).toEqual([expect.objectContaining({ name: 'owner-2', createdBy: 'owner' })]);
    });
  });
});
