import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/databases.js';
import { registerClasses, startService, type TestService } from '../support/app.js';

const LSTM_OBS = 'torch.ao.nn.quantizable.LSTM';
const LSTM_Q = 'torch.ao.nn.quantized.LSTM';

/** Every bad request answers a 4xx problem and leaves the stored data exactly as it was. */
describe.each(BACKENDS)('bad input on %s', (kind) => {
  let svc: TestService;
  const inject = (opts: InjectOptions) => svc.app.inject(opts);

  /** Everything a client could observe about the registry's contents. */
  async function snapshot(): Promise<string> {
    const parts: string[] = [];
    for (const url of [
      '/v1/configs?showDeleted=true&pageSize=1000',
      '/v1/module-classes?pageSize=1000',
      '/v1/configs/base/versions?pageSize=1000',
    ]) {
      parts.push((await inject({ method: 'GET', url })).body);
    }
    return parts.join('\n');
  }

  beforeAll(async () => {
    svc = await startService(kind);
    await registerClasses(svc.app, [{ id: 'my_pkg.Plain' }]);
    const res = await inject({
      method: 'PUT',
      url: '/v1/configs/base',
      payload: { config: { observed_to_quantized_custom_module_class: { static: { [LSTM_OBS]: LSTM_Q } } } },
    });
    expect(res.statusCode).toBe(201);
  });
  afterAll(async () => svc?.close());

  const validDoc = { config: { observed_to_quantized_custom_module_class: { static: { [LSTM_OBS]: LSTM_Q } } } };

  const cases: Array<{
    name: string;
    request: InjectOptions;
    status: number;
    errors?: Array<{ pointer?: string; parameter?: string; detail?: string | RegExp }>;
  }> = [
    {
      name: 'malformed JSON',
      request: { method: 'PUT', url: '/v1/configs/base', payload: '{"config": {', headers: { 'content-type': 'application/json' } },
      status: 400,
    },
    {
      name: 'empty JSON body',
      request: { method: 'PUT', url: '/v1/configs/base', payload: '', headers: { 'content-type': 'application/json' } },
      status: 400,
    },
    {
      name: 'prototype poisoning',
      request: {
        method: 'PUT',
        url: '/v1/configs/base',
        payload: '{"config":{},"__proto__":{"x":1}}',
        headers: { 'content-type': 'application/json' },
      },
      status: 400,
    },
    {
      name: 'wrong content type',
      request: { method: 'PUT', url: '/v1/configs/base', payload: 'config=1', headers: { 'content-type': 'text/plain' } },
      status: 415,
    },
    {
      name: 'merge-patch content type on PUT',
      request: {
        method: 'PUT',
        url: '/v1/configs/base',
        payload: JSON.stringify(validDoc),
        headers: { 'content-type': 'application/merge-patch+json' },
      },
      status: 415,
    },
    {
      name: 'body over 1 MiB',
      request: {
        method: 'PUT',
        url: '/v1/configs/base',
        payload: JSON.stringify({ ...validDoc, description: 'x'.repeat(1024 * 1024) }),
        headers: { 'content-type': 'application/json' },
      },
      status: 413,
    },
    {
      name: 'wrong types',
      request: { method: 'PUT', url: '/v1/configs/base', payload: { config: [], description: 5, labels: 'x' } },
      status: 422,
      errors: [{ pointer: '/config' }, { pointer: '/description' }, { pointer: '/labels' }],
    },
    {
      name: 'unknown top-level keys in the envelope and in the config',
      request: {
        method: 'PUT',
        url: '/v1/configs/base',
        payload: { config: { ...validDoc.config, float_to_observed_custom_module_class: {} }, extra: true },
      },
      status: 422,
      errors: [
        { pointer: '/config/float_to_observed_custom_module_class', detail: /unknown key/ },
        { pointer: '/extra', detail: /unknown key/ },
      ],
    },
    {
      name: 'unknown quant type, even with an empty inner map',
      request: {
        method: 'PUT',
        url: '/v1/configs/base',
        payload: { config: { observed_to_quantized_custom_module_class: { static: {}, int4: {} } } },
      },
      status: 422,
      errors: [{ pointer: '/config/observed_to_quantized_custom_module_class/int4', detail: "Unknown QuantType name 'int4'" }],
    },
    {
      name: 'eager-mode flat map',
      request: {
        method: 'PUT',
        url: '/v1/configs/base',
        payload: { config: { observed_to_quantized_custom_module_class: { [LSTM_OBS]: LSTM_Q } } },
      },
      status: 422,
      errors: [
        {
          pointer: `/config/observed_to_quantized_custom_module_class/${LSTM_OBS}`,
          detail: `Unknown QuantType name '${LSTM_OBS}'`,
        },
      ],
    },
    {
      name: 'unregistered identifiers and a quantized class without fromObserved, all listed',
      request: {
        method: 'PUT',
        url: '/v1/configs/base',
        payload: {
          config: {
            observed_to_quantized_custom_module_class: {
              static: { 'nope.Missing': LSTM_Q, [LSTM_OBS]: 'my_pkg.Plain' },
              dynamic: { [LSTM_OBS]: 'nope.AlsoMissing' },
            },
          },
        },
      },
      status: 422,
      errors: [
        { pointer: '/config/observed_to_quantized_custom_module_class/static/nope.Missing', detail: /not a registered/ },
        { pointer: `/config/observed_to_quantized_custom_module_class/static/${LSTM_OBS}`, detail: /fromObserved/ },
        { pointer: `/config/observed_to_quantized_custom_module_class/dynamic/${LSTM_OBS}`, detail: /AlsoMissing/ },
      ],
    },
    {
      name: 'malformed identifiers and attribute names',
      request: {
        method: 'PUT',
        url: '/v1/configs/base',
        payload: {
          config: {
            observed_to_quantized_custom_module_class: { static: { 'a.class.B': LSTM_Q, NoDots: LSTM_Q } },
            preserved_attributes: ['ok', '1bad', 'with space', 'import', 'ünï'],
          },
        },
      },
      status: 422,
      errors: [
        { pointer: '/config/observed_to_quantized_custom_module_class/static/a.class.B', detail: /keyword/ },
        { pointer: '/config/observed_to_quantized_custom_module_class/static/NoDots' },
        { pointer: '/config/preserved_attributes/1' },
        { pointer: '/config/preserved_attributes/2' },
        { pointer: '/config/preserved_attributes/3', detail: /keyword/ },
        { pointer: '/config/preserved_attributes/4' },
      ],
    },
    {
      name: 'bad labels',
      request: {
        method: 'PUT',
        url: '/v1/configs/base',
        payload: { ...validDoc, labels: { Team: 'x', ok: 'y'.repeat(300) } },
      },
      status: 422,
      errors: [{ pointer: '/labels/Team' }, { pointer: '/labels/ok' }],
    },
    {
      name: 'odd Unicode in a config name',
      request: { method: 'PUT', url: `/v1/configs/${encodeURIComponent('Ωmega\u0000')}`, payload: validDoc },
      status: 422,
      errors: [{ parameter: 'name' }],
    },
    {
      name: 'lone surrogate escaped in JSON',
      request: {
        method: 'PUT',
        url: '/v1/configs/base',
        payload: '{"config":{},"description":"\\ud800"}',
        headers: { 'content-type': 'application/json' },
      },
      status: 422,
      errors: [{ pointer: '/description' }],
    },
    {
      name: 'NUL in a description and a label value',
      request: {
        method: 'PUT',
        url: '/v1/configs/base',
        payload: { config: {}, description: 'a\u0000b', labels: { team: '\u0000' } },
      },
      status: 422,
      errors: [{ pointer: '/description', detail: /NUL/ }, { pointer: '/labels/team', detail: /NUL/ }],
    },
    {
      name: 'NUL in a list prefix',
      request: { method: 'GET', url: '/v1/configs?prefix=a%00' },
      status: 422,
      errors: [{ parameter: 'prefix' }],
    },
    {
      name: 'name too long',
      request: { method: 'PUT', url: `/v1/configs/${'a'.repeat(129)}`, payload: validDoc },
      status: 422,
      errors: [{ parameter: 'name' }],
    },
    {
      name: 'version that is not a number',
      request: { method: 'GET', url: '/v1/configs/base/versions/abc' },
      status: 422,
      errors: [{ parameter: 'version' }],
    },
    {
      name: 'unknown route',
      request: { method: 'GET', url: '/v2/nothing' },
      status: 404,
    },
    {
      name: 'patch with a non-object config',
      request: {
        method: 'PATCH',
        url: '/v1/configs/base',
        payload: '{"config": 7}',
        headers: { 'content-type': 'application/merge-patch+json' },
      },
      status: 422,
    },
    {
      name: 'patch that removes the config',
      request: {
        method: 'PATCH',
        url: '/v1/configs/base',
        payload: '{"config": null}',
        headers: { 'content-type': 'application/merge-patch+json' },
      },
      status: 422,
      errors: [{ pointer: '/config' }],
    },
    {
      name: 'stale If-Match on a builder route',
      request: {
        method: 'PUT',
        url: `/v1/configs/base/mappings/dynamic/${LSTM_OBS}`,
        payload: { quantizedClass: LSTM_Q },
        headers: { 'if-match': '"99"' },
      },
      status: 412,
    },
    {
      name: 'weak ETag in If-Match (strong comparison)',
      request: { method: 'PUT', url: '/v1/configs/base', payload: { config: {} }, headers: { 'if-match': 'W/"1"' } },
      status: 412,
    },
  ];

  it.each(cases)('$name -> $status, problem+json, nothing changed', async ({ request, status, errors }) => {
    const before = await snapshot();
    const res = await inject(request);
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toContain('application/problem+json');
    const body = res.json();
    expect(body).toMatchObject({ status, title: expect.any(String), type: expect.any(String), detail: expect.any(String) });
    expect(body.instance).toMatch(/^\//);
    expect(res.body).not.toMatch(/at .*\.ts:\d+|SELECT|prisma/i);
    for (const expected of errors ?? []) {
      const match = (body.errors ?? []).find(
        (e: { pointer?: string; parameter?: string; detail: string }) =>
          (expected.pointer === undefined || e.pointer === expected.pointer) &&
          (expected.parameter === undefined || e.parameter === expected.parameter) &&
          (expected.detail === undefined ||
            (typeof expected.detail === 'string' ? e.detail === expected.detail : expected.detail.test(e.detail))),
      );
      expect(match, `${JSON.stringify(expected)} in ${JSON.stringify(body.errors)}`).toBeDefined();
    }
    expect(await snapshot()).toBe(before);
  });
});
