import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/databases.js';
import { registerClasses, startService, type TestService } from '../support/app.js';

const LSTM_OBS = 'torch.ao.nn.quantizable.LSTM';
const LSTM_Q = 'torch.ao.nn.quantized.LSTM';
const MHA_OBS = 'torch.ao.nn.quantizable.MultiheadAttention';
const MHA_Q = 'torch.ao.nn.quantized.MultiheadAttention';

describe.each(BACKENDS)('configs on %s', (kind) => {
  let svc: TestService;
  const inject = (opts: InjectOptions) => svc.app.inject(opts);
  const put = (name: string, payload: unknown, headers: Record<string, string> = {}) =>
    inject({ method: 'PUT', url: `/v1/configs/${name}`, payload: payload as object, headers });
  const get = (url: string, headers: Record<string, string> = {}) => inject({ method: 'GET', url, headers });

  beforeAll(async () => {
    svc = await startService(kind);
    await registerClasses(svc.app, [
      { id: 'my_pkg.custom.ObservedA' },
      { id: 'my_pkg.custom.ObservedB' },
      { id: 'my_pkg.custom.QuantizedA', fromObserved: true },
      { id: 'my_pkg.custom.QuantizedB', fromObserved: true },
    ]);
  });
  afterAll(async () => svc?.close());

  it('creates with 201, Location and ETag, and GET returns the same bytes in the client order', async () => {
    // Dynamic before static, and inner keys out of alphabetical order: the order must survive.
    const body =
      '{"config":{"observed_to_quantized_custom_module_class":{"dynamic":{"my_pkg.custom.ObservedB":"my_pkg.custom.QuantizedB"},' +
      `"static":{"${MHA_OBS}":"${MHA_Q}","${LSTM_OBS}":"${LSTM_Q}"}},"preserved_attributes":["z","a"]},` +
      '"description":"two heads","labels":{"team":"vision","arch":"rnn"}}';
    const res = await inject({
      method: 'PUT',
      url: '/v1/configs/order-kept',
      payload: body,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(201);
    expect(res.headers.location).toBe('/v1/configs/order-kept');
    expect(res.headers.etag).toBe('"1"');
    const storedConfig =
      '{"observed_to_quantized_custom_module_class":{"dynamic":{"my_pkg.custom.ObservedB":"my_pkg.custom.QuantizedB"},' +
      `"static":{"${MHA_OBS}":"${MHA_Q}","${LSTM_OBS}":"${LSTM_Q}"}},"preserved_attributes":["z","a"]}`;
    expect(res.body).toContain(`"config":${storedConfig}`);
    const json = res.json();
    expect(json).toMatchObject({ name: 'order-kept', version: 1, description: 'two heads', updatedBy: 'anonymous' });
    expect(Object.keys(json.labels)).toEqual(['team', 'arch']);
    expect(json.contentHash).toMatch(/^sha256:[0-9a-f]{64}$/);

    const again = await get('/v1/configs/order-kept');
    expect(again.statusCode).toBe(200);
    expect(again.body).toBe(res.body);
    const dict = await get('/v1/configs/order-kept/dict');
    expect(dict.body).toBe(storedConfig);
    const { createHash } = await import('node:crypto');
    expect(json.contentHash).toBe(`sha256:${createHash('sha256').update(storedConfig).digest('hex')}`);
  });

  it('canonicalises: empty quant types and empty preserved attributes are dropped', async () => {
    const res = await put('canon', {
      config: {
        observed_to_quantized_custom_module_class: { static: {}, weight_only: { [LSTM_OBS]: LSTM_Q } },
        preserved_attributes: [],
      },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().config).toEqual({ observed_to_quantized_custom_module_class: { weight_only: { [LSTM_OBS]: LSTM_Q } } });
  });

  it('makes no version for an identical write, a new one for a change, and PUT clears what it leaves out', async () => {
    const doc = { config: { preserved_attributes: ['a'] }, description: 'd', labels: { team: 'x' } };
    expect((await put('idem', doc)).statusCode).toBe(201);
    const same = await put('idem', { ...doc, labels: { team: 'x' } });
    expect(same.statusCode).toBe(200);
    expect(same.json().version).toBe(1);
    const changed = await put('idem', { config: { preserved_attributes: ['a'] } });
    expect(changed.statusCode).toBe(200);
    expect(changed.json()).toMatchObject({ version: 2, description: '', labels: {} });
    const versions = await get('/v1/configs/idem/versions');
    expect(versions.json().items.map((v: { version: number }) => v.version)).toEqual([2, 1]);
  });

  it('honours If-Match, If-None-Match: * and answers 304 to a current If-None-Match', async () => {
    await put('cond', { config: {} });
    expect((await put('cond', { config: {} }, { 'if-none-match': '*' })).statusCode).toBe(412);
    expect((await put('cond', { config: { preserved_attributes: ['x'] } }, { 'if-match': '"7"' })).statusCode).toBe(412);
    expect((await get('/v1/configs/cond')).json().version).toBe(1);
    const ok = await put('cond', { config: { preserved_attributes: ['x'] } }, { 'if-match': '"1"' });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers.etag).toBe('"2"');
    expect((await put('cond-new', { config: {} }, { 'if-match': '"1"' })).statusCode).toBe(412);
    expect((await get('/v1/configs/cond-new')).statusCode).toBe(404);
    expect((await put('cond-new', { config: {} }, { 'if-none-match': '*' })).statusCode).toBe(201);
    const notModified = await get('/v1/configs/cond', { 'if-none-match': '"2"' });
    expect(notModified.statusCode).toBe(304);
    expect(notModified.headers.etag).toBe('"2"');
    expect(notModified.body).toBe('');
    expect(notModified.headers['content-length']).toBeUndefined();
    expect(notModified.headers['content-type']).toBeUndefined();
    expect((await get('/v1/configs/cond', { 'if-none-match': '"1"' })).statusCode).toBe(200);
  });

  it('merge-patches description, labels and config, validating the merged document', async () => {
    await put('patchy', { config: { preserved_attributes: ['a'] }, description: 'one', labels: { team: 'v', stage: 'dev' } });
    const res = await inject({
      method: 'PATCH',
      url: '/v1/configs/patchy',
      headers: { 'content-type': 'application/merge-patch+json', 'if-match': '"1"' },
      payload: JSON.stringify({
        description: 'two',
        labels: { stage: null, owner: 'me' },
        config: { observed_to_quantized_custom_module_class: { static: { [LSTM_OBS]: LSTM_Q } } },
      }),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      version: 2,
      description: 'two',
      labels: { team: 'v', owner: 'me' },
      config: { observed_to_quantized_custom_module_class: { static: { [LSTM_OBS]: LSTM_Q } }, preserved_attributes: ['a'] },
    });
    expect(Object.keys(res.json().labels)).toEqual(['team', 'owner']);

    const bad = await inject({
      method: 'PATCH',
      url: '/v1/configs/patchy',
      headers: { 'content-type': 'application/merge-patch+json' },
      payload: JSON.stringify({ config: { observed_to_quantized_custom_module_class: { statik: { [LSTM_OBS]: LSTM_Q } } } }),
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.headers['content-type']).toContain('application/problem+json');
    expect(bad.json().errors).toContainEqual({
      pointer: '/config/observed_to_quantized_custom_module_class/statik',
      detail: "Unknown QuantType name 'statik'",
    });
    expect((await get('/v1/configs/patchy')).json().version).toBe(2);
    const missing = await inject({
      method: 'PATCH',
      url: '/v1/configs/nope',
      headers: { 'content-type': 'application/merge-patch+json' },
      payload: '{"description":"x"}',
    });
    expect(missing.statusCode).toBe(404);
  });

  it('runs the PyTorch builder methods with their overwrite and order rules', async () => {
    await put('builder', {
      config: {
        observed_to_quantized_custom_module_class: {
          static: { 'my_pkg.custom.ObservedA': 'my_pkg.custom.QuantizedA', [LSTM_OBS]: LSTM_Q },
        },
      },
    });
    // Re-mapping an existing key keeps its position.
    let res = await inject({
      method: 'PUT',
      url: '/v1/configs/builder/mappings/static/my_pkg.custom.ObservedA',
      payload: { quantizedClass: 'my_pkg.custom.QuantizedB' },
    });
    expect(res.statusCode).toBe(200);
    expect(Object.entries(res.json().config.observed_to_quantized_custom_module_class.static)).toEqual([
      ['my_pkg.custom.ObservedA', 'my_pkg.custom.QuantizedB'],
      [LSTM_OBS, LSTM_Q],
    ]);
    // A new quant type goes after the existing ones (first insertion order).
    res = await inject({
      method: 'PUT',
      url: '/v1/configs/builder/mappings/dynamic/my_pkg.custom.ObservedB',
      payload: { quantizedClass: 'my_pkg.custom.QuantizedB' },
    });
    expect(Object.keys(res.json().config.observed_to_quantized_custom_module_class)).toEqual(['static', 'dynamic']);
    expect(res.json().version).toBe(3);

    res = await inject({ method: 'PUT', url: '/v1/configs/builder/preserved-attributes', payload: { attributes: ['b', 'a', 'b'] } });
    expect(res.json().config.preserved_attributes).toEqual(['b', 'a', 'b']);
    res = await inject({ method: 'PUT', url: '/v1/configs/builder/preserved-attributes', payload: { attributes: ['c'] } });
    expect(res.json().config.preserved_attributes).toEqual(['c']);

    res = await inject({ method: 'DELETE', url: '/v1/configs/builder/mappings/dynamic/my_pkg.custom.ObservedB' });
    expect(res.statusCode).toBe(200);
    expect(Object.keys(res.json().config.observed_to_quantized_custom_module_class)).toEqual(['static']);
    res = await inject({ method: 'DELETE', url: '/v1/configs/builder/mappings/dynamic/my_pkg.custom.ObservedB' });
    expect(res.statusCode).toBe(404);

    res = await inject({
      method: 'PUT',
      url: '/v1/configs/builder/mappings/Static/my_pkg.custom.ObservedA',
      payload: { quantizedClass: 'my_pkg.custom.QuantizedB' },
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors).toContainEqual({ parameter: 'quantType', detail: "Unknown QuantType name 'Static'" });

    res = await inject({
      method: 'PUT',
      url: '/v1/configs/builder/mappings/static/my_pkg.custom.ObservedA',
      payload: { quantizedClass: 'my_pkg.custom.ObservedB' },
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().errors[0].detail).toContain('fromObserved');

    res = await inject({
      method: 'PUT',
      url: '/v1/configs/missing/preserved-attributes',
      payload: { attributes: ['a'] },
    });
    expect(res.statusCode).toBe(404);
  });

  it('rolls back to an old version as a new version, and diffs versions', async () => {
    await put('rb', { config: { preserved_attributes: ['a'] }, description: 'first', labels: { k: 'v' } });
    await put('rb', {
      config: { observed_to_quantized_custom_module_class: { static: { [LSTM_OBS]: LSTM_Q } }, preserved_attributes: ['b'] },
      description: 'second',
    });
    const diff = await get('/v1/configs/rb/diff?from=1&to=2');
    expect(diff.statusCode).toBe(200);
    expect(diff.json()).toMatchObject({
      from: 1,
      to: 2,
      changes: {
        mappings: { static: { added: [{ observed: LSTM_OBS, quantized: LSTM_Q }], removed: [], changed: [] } },
        preservedAttributes: { added: ['b'], removed: ['a'] },
        description: { from: 'first', to: 'second' },
        labels: { added: {}, removed: { k: 'v' }, changed: {} },
      },
    });
    const rb = await inject({ method: 'POST', url: '/v1/configs/rb/versions/1/rollback', headers: { 'if-match': '"2"' } });
    expect(rb.statusCode).toBe(200);
    expect(rb.headers.etag).toBe('"3"');
    expect(rb.json()).toMatchObject({ version: 3, description: 'first', labels: { k: 'v' }, config: { preserved_attributes: ['a'] } });
    const again = await inject({ method: 'POST', url: '/v1/configs/rb/versions/1/rollback' });
    expect(again.json().version).toBe(3);
    expect((await inject({ method: 'POST', url: '/v1/configs/rb/versions/9/rollback' })).statusCode).toBe(404);
    const v2 = await get('/v1/configs/rb/versions/2');
    expect(v2.json()).toMatchObject({ name: 'rb', version: 2, description: 'second' });
    expect((await get('/v1/configs/rb/dict?version=2')).json()).toEqual(v2.json().config);
  });

  it('soft-deletes, hides, undeletes and purges', async () => {
    await put('gone', { config: { observed_to_quantized_custom_module_class: { static: { [LSTM_OBS]: LSTM_Q } } } });
    expect((await inject({ method: 'DELETE', url: '/v1/configs/gone', headers: { 'if-match': '"5"' } })).statusCode).toBe(412);
    expect((await inject({ method: 'DELETE', url: '/v1/configs/gone' })).statusCode).toBe(204);
    // Twice: on SQLite the second read is answered from the read cache, which holds the deletion.
    for (let i = 0; i < 2; i++) {
      expect((await get('/v1/configs/gone')).statusCode).toBe(404);
      expect((await get('/v1/configs/gone/dict')).statusCode).toBe(404);
    }
    expect((await get('/v1/configs/gone/versions')).statusCode).toBe(404);
    expect((await get('/v1/configs?prefix=gone')).json().items).toEqual([]);
    const shown = (await get('/v1/configs?prefix=gone&showDeleted=true')).json().items;
    expect(shown).toHaveLength(1);
    expect(shown[0]).toMatchObject({ name: 'gone', deleted: true, version: 1 });
    expect(shown[0].deletedAt).toMatch(/Z$/);
    expect((await put('gone', { config: {} })).statusCode).toBe(409);
    expect((await put('gone', { config: {} }, { 'if-none-match': '*' })).statusCode).toBe(412);
    const undone = await inject({ method: 'POST', url: '/v1/configs/gone/undelete' });
    expect(undone.statusCode).toBe(200);
    expect(undone.headers.etag).toBe('"1"');
    expect((await get('/v1/configs/gone')).statusCode).toBe(200);
    expect((await inject({ method: 'DELETE', url: '/v1/configs/gone?purge=true' })).statusCode).toBe(204);
    expect((await get('/v1/configs?prefix=gone&showDeleted=true')).json().items).toEqual([]);
    expect((await get('/v1/configs/gone/versions/1')).statusCode).toBe(404);
    expect((await put('gone', { config: {} })).statusCode).toBe(201);
  });

  it('exports a Python snippet that builds the config with chained setters', async () => {
    await put('py', {
      config: {
        observed_to_quantized_custom_module_class: { dynamic: { [LSTM_OBS]: LSTM_Q } },
        preserved_attributes: ['attr1'],
      },
    });
    const res = await get('/v1/configs/py/python');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toContain('text/x-python');
    expect(res.body).toContain('import torch.ao.nn.quantizable');
    expect(res.body).toContain(`.set_observed_to_quantized_mapping(${LSTM_OBS}, ${LSTM_Q}, QuantType.DYNAMIC)`);
    expect(res.body).toContain(".set_preserved_attributes(['attr1'])");
  });

  it('lists with prefix, label and usesClass filters and pages to the end with opaque tokens', async () => {
    for (let i = 0; i < 7; i++) {
      const static_ = i % 2 === 0 ? { [LSTM_OBS]: LSTM_Q } : { [MHA_OBS]: MHA_Q };
      await put(`list-${i}`, {
        config: { observed_to_quantized_custom_module_class: { static: static_ } },
        labels: { parity: i % 2 === 0 ? 'even' : 'odd', team: 'nlp' },
      });
    }
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const res = await get(`/v1/configs?prefix=list-&pageSize=3${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`);
      expect(res.statusCode).toBe(200);
      const page = res.json();
      seen.push(...page.items.map((c: { name: string }) => c.name));
      token = page.nextPageToken;
      if (token !== undefined) expect(token).not.toMatch(/list-/);
      pages++;
    } while (token !== undefined);
    expect(pages).toBe(3);
    expect(seen).toEqual(['list-0', 'list-1', 'list-2', 'list-3', 'list-4', 'list-5', 'list-6']);

    const even = (await get('/v1/configs?prefix=list-&label=parity:even&label=team:nlp')).json().items;
    expect(even.map((c: { name: string }) => c.name)).toEqual(['list-0', 'list-2', 'list-4', 'list-6']);
    const none = (await get('/v1/configs?prefix=list-&label=parity:even&label=team:cv')).json().items;
    expect(none).toEqual([]);
    const mha = (await get(`/v1/configs?prefix=list-&usesClass=${MHA_Q}`)).json().items;
    expect(mha.map((c: { name: string }) => c.name)).toEqual(['list-1', 'list-3', 'list-5']);

    const first = (await get('/v1/configs?prefix=list-&pageSize=2')).json();
    // The signature's first character: all six of its bits are signature (a last character's low
    // bits are padding, and changing only those left the token valid 1 time in 256).
    const dot = first.nextPageToken.indexOf('.');
    const tampered = `${first.nextPageToken.slice(0, dot + 1)}${first.nextPageToken[dot + 1] === 'A' ? 'B' : 'A'}${first.nextPageToken.slice(dot + 2)}`;
    const bad = await get(`/v1/configs?prefix=list-&pageSize=2&pageToken=${encodeURIComponent(tampered)}`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].parameter).toBe('pageToken');
    const otherFilter = await get(`/v1/configs?prefix=lis&pageSize=2&pageToken=${encodeURIComponent(first.nextPageToken)}`);
    expect(otherFilter.statusCode).toBe(400);
    expect((await get('/v1/configs?label=nocolon')).statusCode).toBe(422);
    // A label filter's problem says what the form is (zod alone said "Invalid input").
    for (const [query, detail] of [
      ['label=team=vision', 'must be key:value, not key=value (e.g. team:vision)'],
      ['label=nocolon', 'must be key:value, e.g. team:vision'],
      ['label=Team:vision', 'must be key:value with a label key matching ^[a-z][a-z0-9_.-]{0,62}$'],
      ['label=team:vision&label=stage=prod', '/1: must be key:value, not key=value (e.g. team:vision)'],
    ]) {
      const res = await get(`/v1/configs?${query}`);
      expect(res.statusCode, query).toBe(422);
      expect(res.json().errors, query).toEqual([{ parameter: 'label', detail }]);
    }
    expect((await get('/v1/configs?pageSize=0')).statusCode).toBe(422);
    expect((await get('/v1/configs?pageSize=1001')).statusCode).toBe(422);
    expect((await get('/v1/configs?bogus=1')).json().errors).toContainEqual({ parameter: 'bogus', detail: "unknown key 'bogus'" });
  });

  it('pages through label and usesClass filters: latest versions, cursors, deleted configs, combined filters', async () => {
    // 12 configs, every third one with a history of 3 versions, the last one of each history
    // moving to the other class and parity; two deleted. Each filtered listing is walked in pages
    // of 2 and must equal the same filter applied to the unfiltered listing.
    for (let i = 0; i < 12; i++) {
      const versions = i % 3 === 0 ? 3 : 1;
      for (let v = 1; v <= versions; v++) {
        const flipped = v === 3;
        const even = (i % 2 === 0) !== flipped;
        await put(`fp-${String(i).padStart(2, '0')}`, {
          config: {
            observed_to_quantized_custom_module_class: { static: even ? { [LSTM_OBS]: LSTM_Q } : { [MHA_OBS]: MHA_Q } },
            preserved_attributes: [`v${v}`],
          },
          labels: { parity: even ? 'even' : 'odd', ...(i % 4 === 0 ? { tier: 'gold' } : {}) },
        });
      }
    }
    for (const name of ['fp-02', 'fp-07']) expect((await inject({ method: 'DELETE', url: `/v1/configs/${name}` })).statusCode).toBe(204);

    type Item = { name: string; version: number; labels: Record<string, string>; config: Record<string, unknown>; deleted?: boolean };
    const walk = async (query: string) => {
      const items: Item[] = [];
      let token: string | undefined;
      do {
        const res = await get(`/v1/configs?prefix=fp-&pageSize=2&${query}${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`);
        expect(res.statusCode).toBe(200);
        items.push(...res.json().items);
        token = res.json().nextPageToken;
      } while (token !== undefined);
      return items;
    };
    const usesMha = (c: Item) => JSON.stringify(c.config).includes(MHA_Q);
    for (const showDeleted of [false, true]) {
      const all = await walk(showDeleted ? 'showDeleted=true' : '');
      expect(all.length).toBe(showDeleted ? 12 : 10);
      const cases: Array<[string, (c: Item) => boolean]> = [
        ['label=parity:even', (c) => c.labels.parity === 'even'],
        ['label=parity:odd&label=tier:gold', (c) => c.labels.parity === 'odd' && c.labels.tier === 'gold'],
        [`usesClass=${MHA_Q}`, (c) => usesMha(c) && c.deleted !== true],
        [`usesClass=${MHA_Q}&label=tier:gold`, (c) => usesMha(c) && c.labels.tier === 'gold' && c.deleted !== true],
      ];
      for (const [query, keep] of cases) {
        const filtered = await walk(`${query}${showDeleted ? '&showDeleted=true' : ''}`);
        // Whole items: the latest version of each, in name order, each once.
        expect(filtered, query).toEqual(all.filter(keep));
      }
    }
    // The histories' latest versions are what the filters see.
    const flipped = await walk('label=parity:odd');
    expect(flipped.find((c) => c.name === 'fp-00')).toMatchObject({ version: 3, config: { preserved_attributes: ['v3'] } });
  });

  it('serves a full page of 1000 configs', async () => {
    // A regression: the latest versions of a page were fetched with one OR of every
    // (name, version) pair, which SQLite refused past its expression depth limit (a 500).
    for (let i = 0; i < 1001; i++) {
      const res = await put(`big-page-${String(i).padStart(4, '0')}`, { config: {} });
      expect(res.statusCode).toBe(201);
    }
    const page = await get('/v1/configs?prefix=big-page-&pageSize=1000');
    expect(page.statusCode).toBe(200);
    expect(page.json().items).toHaveLength(1000);
    expect(page.json().items[999].name).toBe('big-page-0999');
    expect(page.json().nextPageToken).toBeDefined();
  }, 120_000);

  it('orders names by code point on every backend', async () => {
    for (const name of ['cp-a.b', 'cp-a-b', 'cp-a_b', 'cp-ab', 'cp-a0']) await put(name, { config: {} });
    const names = (await get('/v1/configs?prefix=cp-')).json().items.map((c: { name: string }) => c.name);
    expect(names).toEqual(['cp-a-b', 'cp-a.b', 'cp-a0', 'cp-a_b', 'cp-ab']);
  });

  it('flags qat entries with a warning', async () => {
    const res = await put('qat-only', { config: { observed_to_quantized_custom_module_class: { qat: { [LSTM_OBS]: LSTM_Q } } } });
    expect(res.statusCode).toBe(201);
    expect(res.json().warnings?.[0]).toMatch(/qat/);
  });
});
