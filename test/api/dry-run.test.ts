// Dry runs answer exactly what the write would (status, ETag, Location, body, warnings, every 4xx)
// with X-Dry-Run: true, and store nothing: the whole database is byte for byte the same after
// one, the feed's counter included. POST /v1/validate answers the canonical form or the 422.
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerClasses, startService, type TestService } from '../support/app.js';
import { BACKENDS } from '../support/databases.js';
import { openDumper, type DatabaseDumper } from '../support/db-dump.js';

const ADMIN_SECRET = 'bootstrap-admin-secret-for-dry-run-tests-0123456789';
const LSTM_OBS = 'torch.ao.nn.quantizable.LSTM';
const LSTM_Q = 'torch.ao.nn.quantized.LSTM';
const MHA_OBS = 'torch.ao.nn.quantizable.MultiheadAttention';
const MHA_Q = 'torch.ao.nn.quantized.MultiheadAttention';

interface Case {
  what: string;
  method: InjectOptions['method'];
  url: string;
  payload?: unknown;
  headers?: Record<string, string>;
  status: number;
  /** Who asks (default: a writer). */
  as?: 'writer' | 'admin' | 'reader';
  contentType?: string;
}

/** What must be equal between a dry run and the write: all but the moments they ran at. */
function comparable(body: string): unknown {
  const value = JSON.parse(body) as Record<string, unknown>;
  const { updatedAt: _u, createdAt: _c, ...rest } = value;
  return rest;
}

describe.each(BACKENDS)('dry run on %s', (kind) => {
  let svc: TestService;
  let raw: DatabaseDumper;
  const who: Record<string, Record<string, string>> = { admin: { authorization: `Bearer ${ADMIN_SECRET}` } };
  const inject = (opts: InjectOptions) => svc.app.inject(opts);
  const as = (role: string, headers: Record<string, string> = {}) => ({ ...who[role], ...headers });

  beforeAll(async () => {
    svc = await startService(kind, { registry: { adminToken: ADMIN_SECRET } });
    raw = await openDumper(svc.url);
    for (const role of ['writer', 'reader']) {
      const res = await inject({ method: 'POST', url: '/v1/tokens', headers: who.admin, payload: { name: `dry-${role}`, role } });
      who[role] = { authorization: `Bearer ${res.json().token}` };
    }
    await registerClasses(svc.app, [{ id: 'dry_pkg.Observed' }, { id: 'dry_pkg.Quantized', fromObserved: true }], who.admin);
    const put = (name: string, config: unknown) =>
      inject({ method: 'PUT', url: `/v1/configs/${name}`, headers: who.writer, payload: { config } as object });
    await put('dry', { observed_to_quantized_custom_module_class: { static: { [LSTM_OBS]: LSTM_Q } } });
    await put('dry', { observed_to_quantized_custom_module_class: { static: { [LSTM_OBS]: LSTM_Q } }, preserved_attributes: ['a'] });
    await put('dry-gone', { preserved_attributes: ['x'] });
    await inject({ method: 'DELETE', url: '/v1/configs/dry-gone', headers: who.writer });
    await inject({ method: 'PUT', url: '/v1/configs/dry/aliases/staging', headers: who.writer, payload: { version: 1 } });
    await inject({ method: 'PUT', url: '/v1/configs/dry/aliases/production', headers: who.admin, payload: { version: 1, protected: true } });
  });
  afterAll(async () => {
    await raw?.close();
    await svc?.close();
  });

  // Each case runs as a dry run, then for real; the cases build on each other's real writes.
  const cases: Case[] = [
    { what: 'PUT that creates', method: 'PUT', url: '/v1/configs/dry-new', payload: { config: { preserved_attributes: ['p'] }, labels: { team: 'x' } }, status: 201 },
    { what: 'PUT that changes', method: 'PUT', url: '/v1/configs/dry-new', payload: { config: { preserved_attributes: ['q'] } }, headers: { 'if-match': '"1"' }, status: 200 },
    { what: 'PUT that changes nothing', method: 'PUT', url: '/v1/configs/dry-new', payload: { config: { preserved_attributes: ['q'] } }, status: 200 },
    { what: 'PUT with qat (warnings)', method: 'PUT', url: '/v1/configs/dry-qat', payload: { config: { observed_to_quantized_custom_module_class: { qat: { [LSTM_OBS]: LSTM_Q } } } }, status: 201 },
    { what: 'PUT with a stale If-Match', method: 'PUT', url: '/v1/configs/dry', payload: { config: {} }, headers: { 'if-match': '"1"' }, status: 412 },
    { what: 'PUT If-None-Match: * on an existing name', method: 'PUT', url: '/v1/configs/dry', payload: { config: {} }, headers: { 'if-none-match': '*' }, status: 412 },
    { what: 'PUT naming an unregistered class', method: 'PUT', url: '/v1/configs/dry', payload: { config: { observed_to_quantized_custom_module_class: { static: { 'no_pkg.X': LSTM_Q } } } }, status: 422 },
    { what: 'PUT to a deleted name', method: 'PUT', url: '/v1/configs/dry-gone', payload: { config: {} }, status: 409 },
    { what: 'PUT by a reader', method: 'PUT', url: '/v1/configs/dry-new', payload: { config: {} }, as: 'reader', status: 403 },
    { what: 'PATCH', method: 'PATCH', url: '/v1/configs/dry', payload: { description: 'patched', labels: { stage: 'dev' } }, contentType: 'application/merge-patch+json', status: 200 },
    { what: 'PATCH of a missing config', method: 'PATCH', url: '/v1/configs/dry-none', payload: { description: 'x' }, contentType: 'application/merge-patch+json', status: 404 },
    { what: 'set a mapping', method: 'PUT', url: `/v1/configs/dry/mappings/dynamic/${MHA_OBS}`, payload: { quantizedClass: MHA_Q }, status: 200 },
    { what: 'set a mapping to a class without fromObserved', method: 'PUT', url: '/v1/configs/dry/mappings/static/dry_pkg.Observed', payload: { quantizedClass: 'dry_pkg.Observed' }, status: 422 },
    { what: 'remove a mapping', method: 'DELETE', url: `/v1/configs/dry/mappings/dynamic/${MHA_OBS}`, status: 200 },
    { what: 'remove an absent mapping', method: 'DELETE', url: `/v1/configs/dry/mappings/dynamic/${MHA_OBS}`, status: 404 },
    { what: 'set preserved attributes', method: 'PUT', url: '/v1/configs/dry/preserved-attributes', payload: { attributes: ['b', 'c'] }, status: 200 },
    { what: 'roll back', method: 'POST', url: '/v1/configs/dry/versions/1/rollback', status: 200 },
    { what: 'roll back to a missing version', method: 'POST', url: '/v1/configs/dry/versions/99/rollback', status: 404 },
    { what: 'undelete', method: 'POST', url: '/v1/configs/dry-gone/undelete', status: 200 },
    { what: 'undelete a live config', method: 'POST', url: '/v1/configs/dry-gone/undelete', status: 409 },
    { what: 'create an alias', method: 'PUT', url: '/v1/configs/dry/aliases/candidate', payload: { version: 2 }, status: 201 },
    { what: 'move an alias', method: 'PUT', url: '/v1/configs/dry/aliases/staging', payload: { version: 2 }, headers: { 'if-match': '"1"' }, status: 200 },
    { what: 'set an alias where it is', method: 'PUT', url: '/v1/configs/dry/aliases/staging', payload: { version: 2 }, status: 200 },
    { what: 'move an alias with a stale If-Match', method: 'PUT', url: '/v1/configs/dry/aliases/staging', payload: { version: 1 }, headers: { 'if-match': '"1"' }, status: 412 },
    { what: 'alias to a missing version', method: 'PUT', url: '/v1/configs/dry/aliases/staging', payload: { version: 99 }, status: 422 },
    { what: 'move a protected alias as a writer', method: 'PUT', url: '/v1/configs/dry/aliases/production', payload: { version: 2 }, status: 403 },
    { what: 'move a protected alias as an admin', method: 'PUT', url: '/v1/configs/dry/aliases/production', payload: { version: 2 }, as: 'admin', status: 200 },
    { what: 'set the reserved alias', method: 'PUT', url: '/v1/configs/dry/aliases/latest', payload: { version: 1 }, status: 422 },
  ];

  it.each(cases)('$what: the dry run answers what the write does, and stores nothing', async (c) => {
    const request = (dryRun: boolean): InjectOptions => ({
      method: c.method,
      url: `${c.url}${dryRun ? '?dryRun=true' : ''}`,
      headers: as(c.as ?? 'writer', { ...c.headers, ...(c.contentType ? { 'content-type': c.contentType } : {}) }),
      ...(c.payload === undefined ? {} : { payload: JSON.stringify(c.payload) }),
      ...(c.payload !== undefined && !c.contentType ? { headers: as(c.as ?? 'writer', { ...c.headers, 'content-type': 'application/json' }) } : {}),
    });
    const before = await raw.dump();
    const dry = await inject(request(true));
    expect(await raw.dump(), 'the dry run changed the database').toBe(before);
    expect(dry.statusCode, dry.body).toBe(c.status);
    expect(dry.headers['x-dry-run']).toBe('true');

    const real = await inject(request(false));
    expect(real.statusCode, real.body).toBe(c.status);
    expect(real.headers['x-dry-run']).toBeUndefined();
    for (const header of ['etag', 'location', 'content-type']) expect(dry.headers[header], header).toBe(real.headers[header]);
    expect(comparable(dry.body)).toEqual(comparable(real.body));
    if (c.status < 300 && c.what.includes('nothing') === false && !c.what.includes('where it is')) {
      expect(await raw.dump(), 'the real write changed nothing: the comparison proves little').not.toBe(before);
    }
  });

  it('marks every reply to a dry run, refusals before the handler included', async () => {
    const badQuery = await inject({ method: 'PUT', url: '/v1/configs/dry?dryRun=true&x=1', headers: as('writer'), payload: { config: {} } });
    expect(badQuery.statusCode).toBe(422);
    expect(badQuery.headers['x-dry-run']).toBe('true');
    const anonymous = await inject({ method: 'PUT', url: '/v1/configs/dry?dryRun=true', payload: { config: {} } });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers['x-dry-run']).toBe('true');
    const off = await inject({ method: 'PUT', url: '/v1/configs/dry-off?dryRun=false', headers: as('writer'), payload: { config: {} } });
    expect(off.statusCode).toBe(201);
    expect(off.headers['x-dry-run']).toBeUndefined();
    expect((await inject({ method: 'PUT', url: '/v1/configs/dry?dryRun=yes', headers: as('writer'), payload: { config: {} } })).statusCode).toBe(422);
  });

  describe('POST /v1/validate', () => {
    const validate = (payload: unknown, role = 'reader') =>
      inject({ method: 'POST', url: '/v1/validate', headers: as(role, { 'content-type': 'application/json' }), payload: JSON.stringify(payload) });

    it('answers the canonical form (order kept, empties dropped), its hash and warnings, storing nothing', async () => {
      const before = await raw.dump();
      const text =
        `{"config":{"preserved_attributes":[],"observed_to_quantized_custom_module_class":{"static":{},"qat":{"${LSTM_OBS}":"${LSTM_Q}"},` +
        `"dynamic":{"${MHA_OBS}":"${MHA_Q}","${LSTM_OBS}":"${LSTM_Q}"}}}}`;
      const res = await inject({ method: 'POST', url: '/v1/validate', headers: as('reader', { 'content-type': 'application/json' }), payload: text });
      expect(res.statusCode, res.body).toBe(200);
      const canonical = `{"observed_to_quantized_custom_module_class":{"qat":{"${LSTM_OBS}":"${LSTM_Q}"},"dynamic":{"${MHA_OBS}":"${MHA_Q}","${LSTM_OBS}":"${LSTM_Q}"}}}`;
      expect(res.body.startsWith(`{"config":${canonical},`)).toBe(true);
      const { createHash } = await import('node:crypto');
      expect(res.json().contentHash).toBe(`sha256:${createHash('sha256').update(canonical).digest('hex')}`);
      expect(res.json().warnings).toEqual([expect.stringContaining('qat')]);
      expect(await raw.dump()).toBe(before);

      // The hash is the one a write of it gets.
      const put = await inject({ method: 'PUT', url: '/v1/configs/dry-validated', headers: as('writer', { 'content-type': 'application/json' }), payload: text });
      expect(put.json().contentHash).toBe(res.json().contentHash);
      expect((await validate({ config: {} })).json()).toEqual({ config: {}, contentHash: expect.stringMatching(/^sha256:/), warnings: [] });
    });

    it('answers the 422 a write would get, with pointers', async () => {
      const unregistered = { config: { observed_to_quantized_custom_module_class: { static: { 'no_pkg.X': 'dry_pkg.Observed' } } } };
      const res = await validate(unregistered);
      expect(res.statusCode).toBe(422);
      const write = await inject({ method: 'PUT', url: '/v1/configs/dry-invalid', headers: as('writer'), payload: unregistered });
      expect(res.json().errors).toEqual(write.json().errors);
      expect(res.json().errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual([
        '/config/observed_to_quantized_custom_module_class/static/no_pkg.X',
        '/config/observed_to_quantized_custom_module_class/static/no_pkg.X',
      ].sort());
      const statik = await validate({ config: { observed_to_quantized_custom_module_class: { statik: {} } } });
      expect(statik.statusCode).toBe(422);
      expect(statik.json().errors[0].pointer).toBe('/config/observed_to_quantized_custom_module_class/statik');
      expect((await validate({ config: {}, name: 'x' })).statusCode).toBe(422);
      expect((await validate({})).statusCode).toBe(422);
      const malformed = await inject({ method: 'POST', url: '/v1/validate', headers: as('reader', { 'content-type': 'application/json' }), payload: '{"config":' });
      expect(malformed.statusCode).toBe(400);
      expect((await inject({ method: 'POST', url: '/v1/validate', payload: { config: {} } })).statusCode).toBe(401);
    });
  });
});
