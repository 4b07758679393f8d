// The registry the UI's browser tests and screenshots look at, written through the HTTP API as
// a team would (test/ui/ and scripts/ui-screenshots.ts): a few configs with labels, one with
// three versions whose third changes one mapping, a deleted one, and aliases where the registry
// has them.

export const BROWSER_ARGS = [
  '--no-sandbox', // root, on CI and our machines
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  // Without these Chromium keeps trying to reach Google's services, on a network that has none.
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

type Headers = Record<string, string>;

export interface DemoClient {
  base: string;
  headers?: Headers;
}

export async function call(client: DemoClient, method: string, path: string, body?: unknown, headers: Headers = {}): Promise<Response> {
  const res = await fetch(client.base + path, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' }), ...client.headers, ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return res;
}

async function must(client: DemoClient, method: string, path: string, body?: unknown, headers: Headers = {}): Promise<Response> {
  const res = await call(client, method, path, body, headers);
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res;
}

const LSTM = { 'torch.ao.nn.quantizable.LSTM': 'torch.ao.nn.quantized.LSTM' };
const MHA = { 'torch.ao.nn.quantizable.MultiheadAttention': 'torch.ao.nn.quantized.MultiheadAttention' };

/** Whether the registry has the aliases endpoints (the aliases issue) yet. */
export async function hasAliases(client: DemoClient): Promise<boolean> {
  const res = await call(client, 'GET', '/v1/configs/no-such-config-for-probe/aliases');
  const body = (await res.json().catch(() => ({}))) as { detail?: string };
  return !(res.status === 404 && (body.detail ?? '').startsWith('No route'));
}

/** Whether the registry has the change feed (GET /v1/events). */
export async function hasEvents(client: DemoClient): Promise<boolean> {
  return (await call(client, 'GET', '/v1/events?limit=1')).status === 200;
}

/** Whether the registry streams the change feed (GET /v1/events/stream, Server-Sent Events). */
export async function hasEventStream(client: DemoClient): Promise<boolean> {
  const controller = new AbortController();
  const res = await fetch(`${client.base}/v1/events/stream`, { headers: { accept: 'text/event-stream', ...client.headers }, signal: controller.signal });
  controller.abort();
  return res.status === 200 && (res.headers.get('content-type') ?? '').startsWith('text/event-stream');
}

export async function seedDemo(client: DemoClient): Promise<void> {
  for (const [id, fromObserved, description] of [
    ['my_pkg.observed.CustomConv', false, 'Observed conv with a fused BN'],
    ['my_pkg.quantized.CustomConv', true, 'Quantized conv, per-tensor'],
    ['my_pkg.quantized.FastConv', true, 'Quantized conv, per-channel, faster kernel'],
    ['my_pkg.observed.CustomLinear', false, 'Observed linear'],
    ['my_pkg.quantized.CustomLinear', true, 'Quantized linear'],
  ] as const) {
    await must(client, 'POST', '/v1/module-classes', { id, fromObserved, description });
  }
  const conv = (quantized: string) => ({ 'my_pkg.observed.CustomConv': quantized });
  // resnet50-int8: v1, v2 (description and a label), v3 (one mapping changed).
  await must(client, 'PUT', '/v1/configs/resnet50-int8', {
    config: {
      observed_to_quantized_custom_module_class: { static: { ...LSTM, ...conv('my_pkg.quantized.CustomConv') } },
      preserved_attributes: ['attr1'],
    },
    description: 'LSTM head and custom conv, static int8',
    labels: { team: 'vision', stage: 'dev' },
  });
  await must(client, 'PATCH', '/v1/configs/resnet50-int8', { description: 'LSTM head and custom conv, static int8 (calibrated on 2k images)', labels: { stage: 'review' } }, { 'if-match': '"1"' });
  await must(client, 'PATCH', '/v1/configs/resnet50-int8', {
    config: { observed_to_quantized_custom_module_class: { static: conv('my_pkg.quantized.FastConv') } },
  }, { 'if-match': '"2"' });
  await must(client, 'PUT', '/v1/configs/bert-base-dynamic', {
    config: { observed_to_quantized_custom_module_class: { dynamic: { ...MHA, 'my_pkg.observed.CustomLinear': 'my_pkg.quantized.CustomLinear' } } },
    description: 'BERT base, dynamic quantization of attention and linear layers',
    labels: { team: 'nlp', stage: 'prod' },
  });
  await must(client, 'PUT', '/v1/configs/lstm-speech', {
    config: { observed_to_quantized_custom_module_class: { static: LSTM, weight_only: { 'my_pkg.observed.CustomLinear': 'my_pkg.quantized.CustomLinear' } }, preserved_attributes: ['sample_rate', 'hop_length'] },
    description: 'Streaming speech model',
    labels: { team: 'speech' },
  });
  await must(client, 'PUT', '/v1/configs/mobilenet-v3-int8', {
    config: { observed_to_quantized_custom_module_class: { static: conv('my_pkg.quantized.CustomConv') } },
    description: 'Mobile vision backbone',
    labels: { team: 'vision', stage: 'prod' },
  });
  await must(client, 'PUT', '/v1/configs/old-experiment', { config: {}, description: 'Abandoned', labels: { team: 'vision' } });
  await must(client, 'DELETE', '/v1/configs/old-experiment');
  if (await hasAliases(client)) {
    await must(client, 'PUT', '/v1/configs/resnet50-int8/aliases/production', { version: 1, protected: true });
    await must(client, 'PUT', '/v1/configs/resnet50-int8/aliases/production', { version: 2 }, { 'if-match': '"1"' });
    await must(client, 'PUT', '/v1/configs/resnet50-int8/aliases/staging', { version: 3 });
  }
}
