import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/databases.js';
import { registerClasses, startReplica, startService, type TestService } from '../support/app.js';

const OBSERVED = 'replica_reads.ObservedLSTM';
const QUANTIZED = 'replica_reads.QuantizedLSTM';

function configWith(attrs: string[], mapping = false) {
  return {
    config: {
      ...(mapping ? { observed_to_quantized_custom_module_class: { static: { [OBSERVED]: QUANTIZED } } } : {}),
      preserved_attributes: attrs,
    },
  };
}

/**
 * Two replicas on one database: every read on one replica sees what the other wrote before it,
 * at once, whatever either keeps in memory (src/store/caching-store.ts). Each check reads on A
 * twice before B writes, so that A has the old state cached if it caches at all.
 */
describe.each(BACKENDS)('reads across replicas on %s', (kind) => {
  let a: TestService;
  let b: TestService;

  const get = (svc: TestService, name: string) => svc.app.inject({ method: 'GET', url: `/v1/configs/${name}` });
  const put = (svc: TestService, name: string, body: object, headers: Record<string, string> = {}) =>
    svc.app.inject({ method: 'PUT', url: `/v1/configs/${name}`, payload: body, headers });
  const warm = async (name: string) => {
    const first = await get(a, name);
    expect((await get(a, name)).body).toBe(first.body);
    return first;
  };

  beforeAll(async () => {
    a = await startService(kind);
    b = await startReplica(a.url);
    await registerClasses(a.app, [{ id: OBSERVED }, { id: QUANTIZED, fromObserved: true }]);
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('serves the version another replica just wrote, every round', async () => {
    expect((await put(a, 'shared', configWith(['v1']))).statusCode).toBe(201);
    for (let round = 2; round <= 20; round++) {
      await warm('shared');
      expect((await put(b, 'shared', configWith([`v${round}`]))).statusCode).toBe(200);
      const res = await get(a, 'shared');
      expect(res.statusCode).toBe(200);
      expect(res.headers.etag).toBe(`"${round}"`);
      expect(res.json().config.preserved_attributes).toEqual([`v${round}`]);
      const dict = await a.app.inject({ method: 'GET', url: '/v1/configs/shared/dict' });
      expect(dict.json().preserved_attributes).toEqual([`v${round}`]);
    }
  });

  it('answers If-Match and If-None-Match against the other replica\'s latest version', async () => {
    await put(a, 'cond', configWith(['one']));
    await warm('cond');
    await put(b, 'cond', configWith(['two']));
    // A saw version 1; the config is at 2 now.
    expect((await a.app.inject({ method: 'GET', url: '/v1/configs/cond', headers: { 'if-none-match': '"1"' } })).statusCode).toBe(200);
    expect((await put(a, 'cond', configWith(['three']), { 'if-match': '"1"' })).statusCode).toBe(412);
    expect((await put(a, 'cond', configWith(['three']), { 'if-match': '"2"' })).statusCode).toBe(200);
    // PATCH builds on the latest content, not on what A read before.
    await warm('cond');
    await put(b, 'cond', { ...configWith(['four']), description: 'from b' });
    const patched = await a.app.inject({
      method: 'PATCH',
      url: '/v1/configs/cond',
      headers: { 'content-type': 'application/merge-patch+json' },
      payload: { labels: { team: 'a' } },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ version: 5, description: 'from b', labels: { team: 'a' } });
    expect(patched.json().config.preserved_attributes).toEqual(['four']);
  });

  it('follows deletes, undeletes, purges and a re-created name', async () => {
    expect((await put(a, 'life', configWith(['old_life']))).statusCode).toBe(201);
    await put(a, 'life', configWith(['old_life', 'v2']));
    await warm('life');
    expect((await b.app.inject({ method: 'DELETE', url: '/v1/configs/life' })).statusCode).toBe(204);
    expect((await get(a, 'life')).statusCode).toBe(404);
    expect((await b.app.inject({ method: 'POST', url: '/v1/configs/life/undelete' })).statusCode).toBe(200);
    expect((await get(a, 'life')).statusCode).toBe(200);
    await warm('life');
    // Purged and made again up to the same version number: same name, same version, other content.
    expect((await b.app.inject({ method: 'DELETE', url: '/v1/configs/life?purge=true' })).statusCode).toBe(204);
    expect((await get(a, 'life')).statusCode).toBe(404);
    await put(b, 'life', configWith(['new_life']));
    await put(b, 'life', configWith(['new_life', 'v2']));
    const res = await get(a, 'life');
    expect(res.headers.etag).toBe('"2"');
    expect(res.json().config.preserved_attributes).toEqual(['new_life', 'v2']);
    // And a write on A builds on the new history.
    const patched = await a.app.inject({
      method: 'PUT',
      url: '/v1/configs/life/preserved-attributes',
      payload: { attributes: ['x'] },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.headers.etag).toBe('"3"');
    const history = await a.app.inject({ method: 'GET', url: '/v1/configs/life/versions' });
    expect(history.json().items.map((v: { config: { preserved_attributes: string[] } }) => v.config.preserved_attributes)).toEqual([
      ['x'],
      ['new_life', 'v2'],
      ['new_life'],
    ]);
  });

  it('validates a write on one replica against classes another replica changed', async () => {
    // A writes with the classes once (so it has read them), then they change on B.
    expect((await put(a, 'uses-classes', configWith(['x'], true))).statusCode).toBe(201);
    expect((await b.app.inject({ method: 'DELETE', url: '/v1/configs/uses-classes?purge=true' })).statusCode).toBe(204);
    const flip = await b.app.inject({ method: 'PATCH', url: `/v1/module-classes/${QUANTIZED}`, payload: { fromObserved: false } });
    expect(flip.statusCode).toBe(200);
    const refused = await put(a, 'uses-classes', configWith(['y'], true));
    expect(refused.statusCode).toBe(422);
    expect(refused.body).toContain('fromObserved');
    expect((await b.app.inject({ method: 'DELETE', url: `/v1/module-classes/${QUANTIZED}` })).statusCode).toBe(204);
    const missing = await put(a, 'uses-classes', configWith(['z'], true));
    expect(missing.statusCode).toBe(422);
    expect(missing.body).toContain('is not a registered module class');
    // Registered again on B: A accepts it at once.
    await registerClasses(b.app, [{ id: QUANTIZED, fromObserved: true }]);
    expect((await put(a, 'uses-classes', configWith(['w'], true))).statusCode).toBe(201);
  });
});
