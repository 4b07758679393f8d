// The registry contents the robustness suites start from, restored idempotently through the API
// (generated requests may delete, purge or rewrite any of it).
import type { FastifyInstance } from 'fastify';
import type { World } from './requests.js';

export const LSTM_OBS = 'torch.ao.nn.quantizable.LSTM';
export const LSTM_Q = 'torch.ao.nn.quantized.LSTM';
export const PLAIN = 'my_pkg.Plain';
export const QUANTIZED = 'my_pkg.quantized.Q';

const CLASSES = [
  { id: LSTM_OBS, fromObserved: false },
  { id: LSTM_Q, fromObserved: true },
  { id: PLAIN, fromObserved: false },
  { id: QUANTIZED, fromObserved: true },
];

const BASE_VERSIONS = [
  { config: { observed_to_quantized_custom_module_class: { static: { [LSTM_OBS]: LSTM_Q } } }, labels: { team: 'vision' } },
  {
    config: { observed_to_quantized_custom_module_class: { static: { [LSTM_OBS]: LSTM_Q } }, preserved_attributes: ['attr1'] },
    labels: { team: 'vision', stage: 'dev' },
    description: 'two',
  },
  {
    config: {
      observed_to_quantized_custom_module_class: { dynamic: { [PLAIN]: QUANTIZED }, static: { [LSTM_OBS]: LSTM_Q } },
      preserved_attributes: ['attr1', 'attr2'],
    },
    labels: { team: 'vision' },
    description: 'three',
  },
];

/** Headers for the fixture's own requests (an admin token, when the service requires tokens). */
export type FixtureHeaders = Record<string, string>;

async function request(
  app: FastifyInstance,
  method: 'GET' | 'PUT' | 'POST' | 'PATCH' | 'DELETE',
  url: string,
  payload?: unknown,
  headers: FixtureHeaders = {},
) {
  const res = await app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });
  if (res.statusCode >= 500) throw new Error(`fixture ${method} ${url}: ${res.statusCode} ${res.body}`);
  return res;
}

/**
 * Classes registered as the fixture wants them; `base` live with three versions, its alias
 * `production` at 2 (after a move from 1) and `staging` at 3; `gone` soft-deleted.
 */
export async function ensureFixture(app: FastifyInstance, headers: FixtureHeaders = {}): Promise<void> {
  const call = (method: Parameters<typeof request>[1], url: string, payload?: unknown) => request(app, method, url, payload, headers);
  for (const c of CLASSES) {
    const res = await call('POST', '/v1/module-classes', c);
    if (res.statusCode === 409) await call('PATCH', `/v1/module-classes/${c.id}`, { fromObserved: c.fromObserved });
  }

  // base: live, at least three versions, the last one equal to BASE_VERSIONS[2].
  if ((await call('GET', '/v1/configs/base')).statusCode === 404) {
    if ((await call('POST', '/v1/configs/base/undelete')).statusCode !== 200) {
      await call('DELETE', '/v1/configs/base?purge=true');
    }
  }
  for (const version of BASE_VERSIONS) {
    const res = await call('PUT', '/v1/configs/base', version);
    if (res.statusCode >= 400) throw new Error(`fixture PUT base: ${res.statusCode} ${res.body}`);
  }

  const production = await call('GET', '/v1/configs/base/aliases/production');
  if (production.statusCode !== 200 || production.json<{ version: number }>().version !== 2) {
    await call('PUT', '/v1/configs/base/aliases/production', { version: 1, protected: false });
  }
  await call('PUT', '/v1/configs/base/aliases/production', { version: 2, protected: false });
  await call('PUT', '/v1/configs/base/aliases/staging', { version: 3, protected: false });

  // gone: exists, soft-deleted.
  const gone = await call('GET', '/v1/configs/gone');
  if (gone.statusCode === 200) {
    await call('DELETE', '/v1/configs/gone');
  } else if ((await call('PUT', '/v1/configs/gone', { config: { preserved_attributes: ['x'] } })).statusCode === 201) {
    await call('DELETE', '/v1/configs/gone');
  }
}

/** Names, ids, versions and page tokens that exist, for generated requests to aim at. */
export async function worldOf(app: FastifyInstance, headers: FixtureHeaders = {}): Promise<World> {
  const call = (method: Parameters<typeof request>[1], url: string, payload?: unknown) => request(app, method, url, payload, headers);
  const pageTokens: string[] = [];
  for (const url of [
    '/v1/configs?pageSize=1',
    '/v1/configs?pageSize=1&showDeleted=true',
    '/v1/configs?pageSize=1&prefix=b',
    '/v1/module-classes?pageSize=1',
    '/v1/configs/base/versions?pageSize=1',
    '/v1/configs/base/aliases/production/history?pageSize=1',
  ]) {
    const token = (await call('GET', url)).json<{ nextPageToken?: string }>().nextPageToken;
    if (token !== undefined) pageTokens.push(token);
  }
  return {
    strings: [
      'base',
      'gone',
      'never-made',
      LSTM_OBS,
      LSTM_Q,
      PLAIN,
      QUANTIZED,
      'torch.ao.nn.quantized.MultiheadAttention',
      'nope.Missing',
      'static',
      'dynamic',
      'weight_only',
      'qat',
      '1',
      '2',
      '3',
      'true',
      'false',
      'team:vision',
      'stage:dev',
      'production',
      'staging',
      'latest',
      'config.version_created',
      'alias.set',
      'module_class.deleted',
      '0',
      '100',
    ],
    pageTokens,
  };
}
