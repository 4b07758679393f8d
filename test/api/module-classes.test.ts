import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/databases.js';
import { startService, type TestService } from '../support/app.js';

const BUILT_INS = [
  'torch.ao.nn.quantizable.LSTM',
  'torch.ao.nn.quantizable.MultiheadAttention',
  'torch.ao.nn.quantized.LSTM',
  'torch.ao.nn.quantized.MultiheadAttention',
];

describe.each(BACKENDS)('module classes on %s', (kind) => {
  let svc: TestService;
  const inject = (opts: InjectOptions) => svc.app.inject(opts);

  beforeAll(async () => {
    svc = await startService(kind);
  });
  afterAll(async () => svc?.close());

  it('has the four built-in classes from the first start', async () => {
    const res = await inject({ method: 'GET', url: '/v1/module-classes?prefix=torch.' });
    expect(res.statusCode).toBe(200);
    const items = res.json().items as Array<{ id: string; fromObserved: boolean; builtIn: boolean }>;
    expect(items.map((c) => c.id)).toEqual(BUILT_INS);
    expect(items.filter((c) => c.fromObserved).map((c) => c.id)).toEqual([
      'torch.ao.nn.quantized.LSTM',
      'torch.ao.nn.quantized.MultiheadAttention',
    ]);
    expect(items.every((c) => c.builtIn)).toBe(true);
  });

  it('registers, conflicts on a duplicate, gets, updates and pages', async () => {
    const created = await inject({
      method: 'POST',
      url: '/v1/module-classes',
      payload: { id: 'acme.q.Linear', fromObserved: true, description: 'quantized linear' },
    });
    expect(created.statusCode).toBe(201);
    expect(created.headers.location).toBe('/v1/module-classes/acme.q.Linear');
    expect(created.json()).toMatchObject({ id: 'acme.q.Linear', fromObserved: true, builtIn: false });
    const dup = await inject({ method: 'POST', url: '/v1/module-classes', payload: { id: 'acme.q.Linear' } });
    expect(dup.statusCode).toBe(409);
    expect(dup.headers['content-type']).toContain('application/problem+json');

    const bad = await inject({ method: 'POST', url: '/v1/module-classes', payload: { id: 'acme.def.X', extra: 1 } });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().errors.map((e: { pointer: string }) => e.pointer).sort()).toEqual(['/extra', '/id']);

    const patched = await inject({
      method: 'PATCH',
      url: '/v1/module-classes/acme.q.Linear',
      headers: { 'content-type': 'application/merge-patch+json' },
      payload: '{"description":null}',
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json().description).toBe('');
    expect((await inject({ method: 'GET', url: '/v1/module-classes/acme.q.Linear' })).json().description).toBe('');
    expect((await inject({ method: 'GET', url: '/v1/module-classes/acme.q.Nope' })).statusCode).toBe(404);

    for (const n of ['A', 'B', 'C', 'D']) {
      await inject({ method: 'POST', url: '/v1/module-classes', payload: { id: `paged.m.${n}` } });
    }
    const ids: string[] = [];
    let token: string | undefined;
    do {
      const page = (
        await inject({ method: 'GET', url: `/v1/module-classes?prefix=paged.&pageSize=3${token ? `&pageToken=${token}` : ''}` })
      ).json();
      ids.push(...page.items.map((c: { id: string }) => c.id));
      token = page.nextPageToken;
    } while (token);
    expect(ids).toEqual(['paged.m.A', 'paged.m.B', 'paged.m.C', 'paged.m.D']);
  });

  it('protects classes that live configs use, and lists those configs', async () => {
    await inject({ method: 'POST', url: '/v1/module-classes', payload: { id: 'ref.obs.M' } });
    await inject({ method: 'POST', url: '/v1/module-classes', payload: { id: 'ref.q.M', fromObserved: true } });
    for (const name of ['uses-b', 'uses-a']) {
      const res = await inject({
        method: 'PUT',
        url: `/v1/configs/${name}`,
        payload: { config: { observed_to_quantized_custom_module_class: { static: { 'ref.obs.M': 'ref.q.M' } } } },
      });
      expect(res.statusCode).toBe(201);
    }
    const refs = await inject({ method: 'GET', url: '/v1/module-classes/ref.q.M/references' });
    expect(refs.json()).toEqual({ items: ['uses-a', 'uses-b'] });

    const del = await inject({ method: 'DELETE', url: '/v1/module-classes/ref.obs.M' });
    expect(del.statusCode).toBe(409);
    expect(del.json().configs).toEqual(['uses-a', 'uses-b']);
    const off = await inject({ method: 'PATCH', url: '/v1/module-classes/ref.q.M', payload: { fromObserved: false } });
    expect(off.statusCode).toBe(409);
    expect(off.json().configs).toEqual(['uses-a', 'uses-b']);
    expect((await inject({ method: 'GET', url: '/v1/module-classes/ref.q.M' })).json().fromObserved).toBe(true);

    // Soft-deleted configs block nothing; undeleting one whose class is gone is a 422.
    for (const name of ['uses-a', 'uses-b']) {
      expect((await inject({ method: 'DELETE', url: `/v1/configs/${name}` })).statusCode).toBe(204);
    }
    expect((await inject({ method: 'GET', url: '/v1/module-classes/ref.q.M/references' })).json()).toEqual({ items: [] });
    expect((await inject({ method: 'DELETE', url: '/v1/module-classes/ref.obs.M' })).statusCode).toBe(204);
    const undelete = await inject({ method: 'POST', url: '/v1/configs/uses-a/undelete' });
    expect(undelete.statusCode).toBe(422);
    expect(undelete.json().errors[0]).toEqual({
      pointer: '/config/observed_to_quantized_custom_module_class/static/ref.obs.M',
      detail: "'ref.obs.M' is not a registered module class",
    });
    expect((await inject({ method: 'GET', url: '/v1/configs/uses-a' })).statusCode).toBe(404);
    expect((await inject({ method: 'DELETE', url: '/v1/module-classes/ref.obs.M' })).statusCode).toBe(404);
  });
});
