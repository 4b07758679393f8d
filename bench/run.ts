// npm run bench [-- --quick] [--backend sqlite|postgresql] [--rounds N] [--seconds S] [--slice S]
//                [--connections N] [--writers N] [--large N] [--loader wrk|autocannon]
//                [--only name,name] [--profile] [--no-build] [--no-etcd]
//
// Starts the product in production mode (npm start's command line, LOG_LEVEL=warn), a bench-only
// baseline server and, when etcd is installed, an etcd member (bench/etcd.ts), each in its own
// process, builds registries of two sizes on each database, and
// drives them over loopback with wrk (or autocannon when wrk is not installed). Every scenario runs once per round;
// scenarios whose ratio is taken (a read and its bare baselines, the list pages) run interleaved,
// in slices of --slice seconds taking turns, so that they see the same moments of a shared machine. Ratios are taken within a
// round and the median over the rounds is reported. Prints a table and writes bench/results.json.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { configName, TEMPLATE_COUNT, templateBody, templateClasses, writeTargetName } from './fixture.js';
import { etcdInstalled, etcdKey, etcdVersion, putAll, putBody, rangeBody, startEtcd } from './etcd.js';
import { defaultLoader, runLoad, type LoadResult, type LoadSpec, type Loader } from './load.js';
import { ROOT, startBaseline, startService, type Memory, type Server } from './processes.js';
import { Api, createDatabase, registryCopies, replicate, seedThroughApi, verifyCopies, type BenchDatabase, type Kind } from './seed.js';

interface Options {
  quick: boolean;
  backends: Kind[];
  rounds: number;
  seconds: number;
  /** Seconds of one slice when scenarios take turns (see runInterleaved). */
  slice: number;
  warmup: number;
  /** Warm up before every run (else only in the first round). */
  warmupEveryRound: boolean;
  connections: number;
  /** Connections of the many-writers scenarios (put.32 and their baselines): one writer each. */
  writers: number;
  /** Whether etcd runs beside the registry (installed, and no --no-etcd). */
  etcd: boolean;
  small: number;
  large: number;
  writeTargets: number;
  only?: Set<string>;
  profile: boolean;
  build: boolean;
  loader: Loader;
}

function parseOptions(argv: string[]): Options {
  const flag = (name: string) => argv.includes(`--${name}`);
  const value = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const quick = flag('quick');
  const backend = value('backend');
  const only = value('only');
  return {
    quick,
    backends: backend === undefined ? ['sqlite', 'postgresql'] : [backend as Kind],
    rounds: Number(value('rounds') ?? (quick ? 2 : 3)),
    // wrk takes whole seconds.
    seconds: Number(value('seconds') ?? (quick ? 1 : 5)),
    slice: Number(value('slice') ?? 1),
    // Quick mode is a smoke run: no warm-up runs (the set-up has exercised the read paths).
    warmup: quick ? 0 : 1,
    warmupEveryRound: true,
    connections: Number(value('connections') ?? 10),
    writers: Number(value('writers') ?? 32),
    etcd: !flag('no-etcd') && etcdInstalled(),
    small: 1_000,
    large: Number(value('large') ?? (quick ? 10_000 : 100_000)),
    writeTargets: quick ? 200 : 1_000,
    ...(only === undefined ? {} : { only: new Set(only.split(',')) }),
    profile: flag('profile'),
    build: !flag('no-build'),
    loader: (value('loader') as Loader | undefined) ?? defaultLoader(),
  };
}

/** A measured scenario: how to load it, and which server answers. */
interface Scenario {
  name: string;
  what: string;
  spec: (servers: Servers) => LoadSpec;
  /**
   * The scenarios it takes turns with (see runInterleaved): the ones its ratios are taken against
   * or with. They run only in its group, before it in each slice.
   */
  turnsWith?: string[];
}

interface Servers {
  small: Server;
  large: Server;
  baseline: Server;
  etcd?: Server;
}

interface Fixture {
  /** Sampled paths of the large (and small) registry, spread evenly over the names. */
  largeNames: string[];
  smallNames: string[];
  /** So many names that reads rarely repeat (what a cache of rendered versions would have to hold). */
  coldNames: string[];
  etags: Map<string, string>;
  deepToken: string;
  usesClass: string;
  label: string;
  /** Range bodies of the sampled configs' keys in etcd, whose values are their GET bodies. */
  etcdRanges: string[];
  /** Put bodies for etcd: the write targets' keys, each with its template's PUT document. */
  etcdPuts: string[];
}

const SAMPLE = 1_000;

/** Response headers the bare baseline does not replay: Node writes these itself, the id is made per reply. */
const PER_CONNECTION_HEADERS = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding', 'x-request-id']);
const COLD_SAMPLE = 20_000;

function scenarios(o: Options, f: Fixture, token: string): Scenario[] {
  const auth = { authorization: `Bearer ${token}` };
  const base = (server: keyof Servers, s: Servers, connections = o.connections) => {
    const target = s[server];
    if (target === undefined) throw new Error(`no ${server} server in this run`);
    return { url: target.url, pid: target.pid, connections, seconds: o.seconds };
  };
  const get = (server: keyof Servers, names: string[], suffix = '', conditional = false, prefix = '') => (s: Servers): LoadSpec => ({
    ...base(server, s),
    headers: auth,
    requests: names.map((name) => ({
      path: `${prefix}/v1/configs/${name}${suffix}`,
      ...(conditional ? { headers: { 'if-none-match': f.etags.get(name)! } } : {}),
    })),
    expectStatus: conditional ? 304 : 200,
  });
  // Consecutive requests go to different configs, so connections rarely race on one head; a
  // description unique to the request makes every PUT a new version. The product and the raw
  // baseline get the same bodies in the same order.
  const bodyPrefixes = Array.from({ length: TEMPLATE_COUNT }, (_, k) => {
    const { config, labels } = templateBody(k);
    return `${JSON.stringify({ config, labels }).slice(0, -1)},"description":"write `;
  });
  const put = (server: keyof Servers, prefix: 'w' | 'r', connections = o.connections) => (s: Servers): LoadSpec => ({
    ...base(server, s, connections),
    method: 'PUT',
    headers: { ...auth, 'content-type': 'application/json' },
    requests: Array.from({ length: o.writeTargets }, (_, i) => ({ path: `/v1/configs/${writeTargetName(prefix, i)}` })),
    body: { prefixes: bodyPrefixes, suffix: ' of a bench run"}' },
    expectStatus: 200,
  });
  // etcd's gateway: every request a POST with a JSON body; a range must find its key.
  const etcd = (op: 'range' | 'put', connections = o.connections) => (s: Servers): LoadSpec => ({
    ...base('etcd', s, connections),
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    requests: [{ path: `/v3/kv/${op}` }],
    bodies: op === 'range' ? f.etcdRanges : f.etcdPuts,
    expectStatus: 200,
    ...(op === 'range' ? { expectBody: '"kvs"' } : {}),
  });
  const withEtcd = (names: string[]) => (o.etcd ? names : names.filter((n) => !n.includes('etcd')));
  const etcdName = `etcd ${o.etcd ? etcdVersion() : ''}`.trim();
  const list = (query: string) => (s: Servers): LoadSpec => ({
    ...base('large', s),
    headers: auth,
    requests: [{ path: `/v1/configs?${query}` }],
    expectStatus: 200,
  });
  const all: Scenario[] = [
    { name: 'get.bare', what: 'bare Fastify: same bytes (headers too) from memory', spec: get('baseline', f.largeNames) },
    {
      name: 'get.etcd',
      what: `${etcdName} range, JSON gateway (value: the same GET body)`,
      spec: etcd('range'),
    },
    { name: 'get.bare-body', what: 'bare Fastify: same body and ETag only', spec: get('baseline', f.largeNames, '', false, '/body-only') },
    {
      name: 'get',
      what: `GET /v1/configs/{name} (${fmtCount(o.large)} configs)`,
      spec: get('large', f.largeNames),
      // get.small: the growth ratio compares their latencies.
      turnsWith: withEtcd(['get.bare', 'get.bare-body', 'get.etcd', 'get.small']),
    },
    { name: 'get.small', what: `GET /v1/configs/{name} (${fmtCount(o.small)} configs)`, spec: get('small', f.smallNames) },
    {
      name: 'get.uncached',
      what: `GET spread over ${fmtCount(f.coldNames.length)} names (cold reads)`,
      spec: get('large', f.coldNames),
    },
    { name: 'dict.bare', what: 'bare Fastify: same bytes (headers too) from memory', spec: get('baseline', f.largeNames, '/dict') },
    { name: 'dict', what: 'GET /v1/configs/{name}/dict', spec: get('large', f.largeNames, '/dict'), turnsWith: ['dict.bare'] },
    { name: 'get.304.bare', what: 'bare Fastify: If-None-Match -> the same 304', spec: get('baseline', f.largeNames, '', true) },
    {
      name: 'get.304',
      what: 'GET /v1/configs/{name}, If-None-Match -> 304',
      spec: get('large', f.largeNames, '', true),
      turnsWith: ['get.304.bare'],
    },
    { name: 'put.raw', what: 'raw driver: one transaction, no ORM', spec: put('baseline', 'r') },
    { name: 'put.etcd', what: `${etcdName} put, JSON gateway (value: the same PUT body)`, spec: etcd('put') },
    { name: 'put', what: 'PUT /v1/configs/{name} (new version)', spec: put('large', 'w'), turnsWith: withEtcd(['put.raw', 'put.etcd']) },
    {
      name: `put.raw.${o.writers}`,
      what: `raw driver, ${o.writers} writers to different configs`,
      spec: put('baseline', 'r', o.writers),
    },
    { name: `put.etcd.${o.writers}`, what: `${etcdName} put, ${o.writers} writers to different keys`, spec: etcd('put', o.writers) },
    {
      name: `put.${o.writers}`,
      what: `PUT, ${o.writers} writers to different configs`,
      spec: put('large', 'w', o.writers),
      turnsWith: withEtcd([`put.raw.${o.writers}`, `put.etcd.${o.writers}`]),
    },
    {
      name: 'list.first',
      what: 'GET /v1/configs (first page of 100)',
      spec: list('pageSize=100'),
      // The pages whose latency is compared with the first page's.
      turnsWith: ['list.deep', 'list.usesClass', 'list.label'],
    },
    { name: 'list.deep', what: 'GET /v1/configs (page of 100 at 90%)', spec: list(`pageSize=100&pageToken=${encodeURIComponent(f.deepToken)}`) },
    { name: 'list.usesClass', what: `?usesClass= (1 in ${TEMPLATE_COUNT} configs)`, spec: list(`pageSize=100&usesClass=${f.usesClass}`) },
    { name: 'list.label', what: `?label= (1 in ${TEMPLATE_COUNT} configs)`, spec: list(`pageSize=100&label=${encodeURIComponent(f.label)}`) },
  ];
  return o.etcd ? all : all.filter((sc) => !sc.name.includes('etcd'));
}

/**
 * Ratios and their targets; `better` says which direction passes, `value` may differ per backend
 * (no value for a backend: no target there).
 */
interface RatioDef {
  name: string;
  what: string;
  of: string;
  over: string;
  metric: 'rps' | 'p50' | 'cpuUs';
  target?: { better: 'higher' | 'lower'; value: number | Partial<Record<Kind, number>> };
}

const ratioDefs = (o: Options): RatioDef[] => [
  {
    name: 'read',
    what: 'GET req/s / bare Fastify req/s',
    of: 'get',
    over: 'get.bare',
    metric: 'rps',
    target: { better: 'higher', value: { sqlite: 0.6, postgresql: 0.5 } },
  },
  { name: 'read CPU', what: 'server CPU µs per GET / per bare GET', of: 'get', over: 'get.bare', metric: 'cpuUs' },
  {
    name: 'read/etcd',
    what: 'GET req/s / etcd range req/s',
    of: 'get',
    over: 'get.etcd',
    metric: 'rps',
    target: { better: 'higher', value: { sqlite: 2, postgresql: 1 } },
  },
  { name: 'read CPU/etcd', what: 'server CPU µs per GET / per etcd range', of: 'get', over: 'get.etcd', metric: 'cpuUs' },
  { name: 'read (body only)', what: 'GET req/s / bare Fastify sending body and ETag only', of: 'get', over: 'get.bare-body', metric: 'rps' },
  { name: 'dict', what: '/dict req/s / bare Fastify req/s', of: 'dict', over: 'dict.bare', metric: 'rps' },
  { name: 'revalidation', what: '304 req/s / bare Fastify 304 req/s', of: 'get.304', over: 'get.304.bare', metric: 'rps' },
  { name: 'write', what: 'PUT req/s / raw-driver req/s', of: 'put', over: 'put.raw', metric: 'rps', target: { better: 'higher', value: 0.5 } },
  { name: 'write CPU', what: 'server CPU µs per PUT / per raw PUT', of: 'put', over: 'put.raw', metric: 'cpuUs' },
  { name: 'write/etcd', what: 'PUT req/s / etcd put req/s', of: 'put', over: 'put.etcd', metric: 'rps' },
  {
    name: `write ${o.writers}`,
    what: `PUT req/s / raw-driver req/s, ${o.writers} writers`,
    of: `put.${o.writers}`,
    over: `put.raw.${o.writers}`,
    metric: 'rps',
  },
  {
    name: `write ${o.writers}/etcd`,
    what: `PUT req/s / etcd put req/s, ${o.writers} writers`,
    of: `put.${o.writers}`,
    over: `put.etcd.${o.writers}`,
    metric: 'rps',
    target: { better: 'higher', value: 1 },
  },
  { name: 'deep/first', what: 'deep page p50 / first page p50', of: 'list.deep', over: 'list.first', metric: 'p50', target: { better: 'lower', value: 1.2 } },
  { name: 'usesClass/first', what: 'usesClass page p50 / first page p50', of: 'list.usesClass', over: 'list.first', metric: 'p50' },
  { name: 'label/first', what: 'label page p50 / first page p50', of: 'list.label', over: 'list.first', metric: 'p50' },
  { name: 'uncached/cached', what: 'GET p50 over many names / over the sampled ones', of: 'get.uncached', over: 'get', metric: 'p50' },
  { name: 'growth', what: 'GET p50 at large / at small registry', of: 'get', over: 'get.small', metric: 'p50', target: { better: 'lower', value: 1.2 } },
];

const RSS_TARGET_MIB = 200;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function fmtCount(n: number): string {
  return n.toLocaleString('en-US');
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function timed<T>(label: string, fn: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const result = await fn();
  log(`  ${label} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return result;
}

/** `--profile`: V8 CPU profiles of the large registry's service and of the baseline server. */
function profileFlags(which: 'service' | 'baseline'): string[] {
  return ['--cpu-prof', `--cpu-prof-dir=${join(ROOT, 'bench', 'profiles', which)}`];
}

interface Registry {
  db: BenchDatabase;
  service: Server;
  api: Api;
}

async function buildRegistry(kind: Kind, label: string, size: number, o: Options, token: string, writeTargets: boolean): Promise<Registry> {
  const db = await createDatabase(kind, label);
  const service = await startService(`${kind} ${label}`, {
    databaseUrl: db.url,
    adminToken: token,
    ...(o.profile && label === 'large' ? { nodeFlags: profileFlags('service') } : {}),
  });
  const api = new Api(service.url, token);
  await timed(`${label}: ${TEMPLATE_COUNT} templates and their classes through the API`, () => seedThroughApi(api));
  const copies = registryCopies(size);
  if (writeTargets) {
    for (const prefix of ['w', 'r'] as const) {
      for (let i = 0; i < o.writeTargets; i++) copies.push({ name: writeTargetName(prefix, i), template: configName(i % TEMPLATE_COUNT) });
    }
  }
  await timed(`${label}: ${fmtCount(copies.length)} copies with the raw driver, one transaction`, () => replicate(db, copies));
  const probes = [TEMPLATE_COUNT, Math.floor(size / 2) + 7, size - 1].map((i) => ({ name: configName(i), template: configName(i % TEMPLATE_COUNT) }));
  if (writeTargets) probes.push({ name: writeTargetName('w', 1), template: configName(1) });
  await timed(`${label}: ${probes.length} copies read back through HTTP like their templates`, () => verifyCopies(api, probes));
  return { db, service, api };
}

/**
 * Runs `specs` (a scenario after those it takes turns with) for `o.seconds` each, taking turns in slices of
 * `o.slice` seconds, in alternating order (A B, B A, A B, ...). A shared machine's speed drifts over
 * seconds; run one after the other, a scenario and its baseline would see different machines, and
 * that difference, not the code, decided many a ratio (BENCHMARKS.md). Each result sums its slices:
 * req/s and CPU per request over all of them; p50 and p99 are the medians of the slices' values.
 */
async function runInterleaved(specs: LoadSpec[], o: Options): Promise<LoadResult[]> {
  const slices = Math.max(1, Math.round(o.seconds / o.slice));
  const runs: LoadResult[][] = specs.map(() => []);
  for (let i = 0; i < slices; i++) {
    const order = specs.map((_, j) => (i % 2 === 0 ? j : specs.length - 1 - j));
    for (const j of order) runs[j]!.push(await drained(await runLoad({ ...specs[j]!, seconds: o.seconds / slices }, o.loader)));
  }
  return runs.map((parts) => {
    const requests = parts.reduce((sum, r) => sum + r.requests, 0);
    const seconds = parts.reduce((sum, r) => sum + r.requests / r.rps, 0);
    const cpuUs = parts.reduce((sum, r) => sum + r.cpuUs * r.requests, 0) / requests;
    return { rps: requests / seconds, p50: median(parts.map((r) => r.p50)), p99: median(parts.map((r) => r.p99)), requests, cpuUs };
  });
}

/**
 * Waits, after a run, for the server to finish what was in flight when the load generator stopped
 * (up to one request per connection, each taking about the run's p99 or less), so that the next
 * run, often on another server writing to the same database file, does not inherit that backlog:
 * on a slow disk, 32 writers' leftover commits held SQLite's write lock for the whole of the next
 * 1 s slice, which completed nothing.
 */
async function drained(result: LoadResult): Promise<LoadResult> {
  await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, Math.max(5, 1.5 * result.p99))));
  return result;
}

/** Every name in the registry, page by page (also checks the count), and a token for a deep page. */
async function walk(api: Api, expected: number): Promise<{ count: number; deepToken: string }> {
  let token: string | undefined;
  let count = 0;
  let deepToken: string | undefined;
  for (;;) {
    const res = await api.expect(200, 'GET', `/v1/configs?pageSize=1000${token === undefined ? '' : `&pageToken=${encodeURIComponent(token)}`}`);
    const page = (await res.json()) as { items: Array<{ name: string }>; nextPageToken?: string };
    count += page.items.length;
    if (deepToken === undefined && count >= expected * 0.9 && page.nextPageToken !== undefined) deepToken = page.nextPageToken;
    if (page.nextPageToken === undefined) break;
    token = page.nextPageToken;
  }
  if (count !== expected) throw new Error(`listing found ${count} configs, expected ${expected}`);
  return { count, deepToken: deepToken! };
}

function sampleNames(size: number, count = SAMPLE): string[] {
  const n = Math.min(count, size);
  return Array.from({ length: n }, (_, j) => configName(Math.floor((j * size) / n)));
}

interface BackendResult {
  kind: Kind;
  sizes: { small: number; large: number; largeLive: number };
  scenarios: Record<string, { what: string; rounds: LoadResult[]; median: { rps: number; p50: number; p99: number; cpuUs: number } }>;
  ratios: Record<string, { what: string; rounds: number[]; median: number; target?: string; pass?: boolean }>;
  rss: Memory & { target: string; pass: boolean };
}

async function runBackend(kind: Kind, o: Options): Promise<BackendResult> {
  log(`\n== ${kind}`);
  const token = randomBytes(24).toString('base64url');
  const cleanup: Array<() => Promise<void>> = [];
  try {
    const small = await buildRegistry(kind, 'small', o.small, o, token, false);
    cleanup.push(() => small.service.stop(), () => small.db.drop());
    const large = await buildRegistry(kind, 'large', o.large, o, token, true);
    cleanup.push(() => large.service.stop(), () => large.db.drop());
    const largeLive = o.large + 2 * o.writeTargets;

    const { deepToken } = await timed(`large: walked all ${fmtCount(largeLive)} configs by pages of 1000`, () => walk(large.api, largeLive));
    const largeNames = sampleNames(o.large);
    const coldNames = sampleNames(o.large, COLD_SAMPLE);
    const smallNames = sampleNames(o.small);
    const bodies: Record<string, { body: string; etag: string; headers: Record<string, string> }> = {};
    const etags = new Map<string, string>();
    await timed(`large: read the ${largeNames.length} sampled configs for the bare baseline`, async () => {
      for (const name of largeNames) {
        for (const suffix of ['', '/dict']) {
          const res = await large.api.expect(200, 'GET', `/v1/configs/${name}${suffix}`);
          const etag = res.headers.get('etag') ?? '';
          // What the baseline replays: every header but those Node writes itself and the request id.
          const headers = Object.fromEntries([...res.headers].filter(([h]) => !PER_CONNECTION_HEADERS.has(h)));
          bodies[`/v1/configs/${name}${suffix}`] = { body: await res.text(), etag, headers };
          if (suffix === '') etags.set(name, etag);
        }
      }
    });
    const bodiesFile = join(ROOT, 'bench', `.bodies-${kind}.json`);
    writeFileSync(bodiesFile, JSON.stringify(bodies));
    const baseline = await startBaseline({
      kind,
      databaseUrl: large.db.url,
      bodiesFile,
      ...(o.profile ? { nodeFlags: profileFlags('baseline') } : {}),
    });
    cleanup.push(() => baseline.stop());

    let etcd: Server | undefined;
    const etcdRanges: string[] = [];
    const etcdPuts: string[] = [];
    if (o.etcd) {
      const server = await startEtcd();
      etcd = server;
      cleanup.push(() => server.stop());
      // Reads: each sampled config under its own key, its value the very GET body the registry sent.
      const entries = largeNames.map((name) => ({ key: etcdKey(name), value: bodies[`/v1/configs/${name}`]!.body }));
      await timed(`etcd: ${entries.length} sampled configs put through the gateway`, () => putAll(server, entries));
      etcdRanges.push(...entries.map((e) => rangeBody(e.key)));
      // Writes: as many keys as the registry has write targets, each value its template's PUT body.
      for (let i = 0; i < o.writeTargets; i++) {
        const { config, labels } = templateBody(i % TEMPLATE_COUNT);
        etcdPuts.push(putBody(etcdKey(writeTargetName('e', i)), JSON.stringify({ config, labels, description: 'write of a bench run' })));
      }
    }

    const fixture: Fixture = {
      largeNames,
      smallNames,
      coldNames,
      etags,
      deepToken,
      usesClass: templateClasses(7).quantized,
      label: 'model:model-7',
      etcdRanges,
      etcdPuts,
    };
    // The filtered lists must really filter: a full first page, every item matching.
    for (const query of [`usesClass=${fixture.usesClass}`, `label=${fixture.label}`]) {
      const res = await large.api.expect(200, 'GET', `/v1/configs?pageSize=100&${query}`);
      const page = (await res.json()) as { items: Array<{ labels: Record<string, string> }> };
      if (page.items.length !== 100 || page.items.some((c) => c.labels.model !== 'model-7')) {
        throw new Error(`?${query} did not answer 100 configs of template 7`);
      }
    }

    const servers: Servers = { small: small.service, large: large.service, baseline, ...(etcd === undefined ? {} : { etcd }) };
    const list = scenarios(o, fixture, token).filter((s) => o.only === undefined || o.only.has(s.name));
    const results: BackendResult['scenarios'] = {};
    // A scenario named in another's turnsWith runs in that one's group, when that one runs too.
    const byName = new Map(list.map((s) => [s.name, s]));
    const runWithOthers = new Set(list.flatMap((s) => s.turnsWith ?? []));
    for (let round = 1; round <= o.rounds; round++) {
      log(`  round ${round}/${o.rounds}  (load average ${loadavg().map((l) => l.toFixed(2)).join(' ')})`);
      for (const scenario of list) {
        if (runWithOthers.has(scenario.name)) continue;
        const group = [...(scenario.turnsWith ?? []).flatMap((name) => byName.get(name) ?? []), scenario];
        const specs = group.map((s) => s.spec(servers));
        if (o.warmup > 0 && (round === 1 || o.warmupEveryRound)) {
          for (const spec of specs) await drained(await runLoad({ ...spec, seconds: o.warmup }, o.loader));
        }
        const measured = await runInterleaved(specs, o);
        group.forEach((member, i) => {
          const result = measured[i]!;
          (results[member.name] ??= { what: member.what, rounds: [], median: { rps: 0, p50: 0, p99: 0, cpuUs: 0 } }).rounds.push(result);
          log(
            `    ${member.name.padEnd(15)} ${result.rps.toFixed(0).padStart(7)} req/s  p50 ${result.p50.toFixed(2)} ms  p99 ${result.p99.toFixed(2)} ms  ${result.cpuUs.toFixed(0)} µs CPU/req`,
          );
        });
      }
    }
    // In the order of the scenario list, whatever order they ran in.
    const ordered: BackendResult['scenarios'] = {};
    for (const s of list) if (results[s.name] !== undefined) ordered[s.name] = results[s.name]!;
    for (const r of Object.values(ordered)) {
      r.median = {
        rps: median(r.rounds.map((x) => x.rps)),
        p50: median(r.rounds.map((x) => x.p50)),
        p99: median(r.rounds.map((x) => x.p99)),
        cpuUs: median(r.rounds.map((x) => x.cpuUs)),
      };
    }
    const ratios: BackendResult['ratios'] = {};
    for (const def of ratioDefs(o)) {
      const a = ordered[def.of];
      const b = ordered[def.over];
      if (a === undefined || b === undefined) continue;
      const rounds = a.rounds.map((x, i) => x[def.metric] / b.rounds[i]![def.metric]);
      const m = median(rounds);
      const target = typeof def.target?.value === 'number' ? def.target.value : def.target?.value[kind];
      ratios[def.name] = {
        what: def.what,
        rounds,
        median: m,
        ...(def.target === undefined || target === undefined
          ? {}
          : {
              target: `${def.target.better === 'higher' ? '>=' : '<='} ${target}`,
              pass: def.target.better === 'higher' ? m >= target : m <= target,
            }),
      };
    }
    const memory = large.service.memory();
    const rss = { ...memory, target: `< ${RSS_TARGET_MIB} MiB`, pass: memory.rssMiB < RSS_TARGET_MIB };
    return { kind, sizes: { small: o.small, large: o.large, largeLive }, scenarios: ordered, ratios, rss };
  } finally {
    for (const step of cleanup.reverse()) await step().catch((e: unknown) => log(`cleanup: ${String(e)}`));
  }
}

function table(result: BackendResult, o: Options): string {
  const lines: string[] = [];
  lines.push(`### ${result.kind}: ${o.loader}, ${o.connections} connections, ${o.seconds} s per run, median of ${o.rounds} rounds`);
  lines.push('');
  lines.push('| scenario | what | req/s | p50 ms | p99 ms | server CPU µs/req |');
  lines.push('|---|---|---:|---:|---:|---:|');
  for (const [name, s] of Object.entries(result.scenarios)) {
    lines.push(
      `| ${name} | ${s.what} | ${s.median.rps.toFixed(0)} | ${s.median.p50.toFixed(2)} | ${s.median.p99.toFixed(2)} | ${s.median.cpuUs.toFixed(0)} |`,
    );
  }
  lines.push('');
  lines.push('| ratio | definition | per round | median | target | |');
  lines.push('|---|---|---|---:|---|---|');
  for (const [name, r] of Object.entries(result.ratios)) {
    lines.push(
      `| ${name} | ${r.what} | ${r.rounds.map((x) => x.toFixed(2)).join(' ')} | ${r.median.toFixed(2)} | ${r.target ?? ''} | ${r.pass === undefined ? '' : r.pass ? 'ok' : 'MISSED'} |`,
    );
  }
  lines.push(
    `| RSS | service at ${fmtCount(result.sizes.largeLive)} configs, after the runs: ${result.rss.anonMiB.toFixed(0)} MiB private` +
      ` + ${result.rss.fileMiB.toFixed(0)} file + ${result.rss.shmemMiB.toFixed(0)} shared (peak ${result.rss.peakRssMiB.toFixed(0)}) | | ${result.rss.rssMiB.toFixed(0)} MiB | ${result.rss.target} | ${result.rss.pass ? 'ok' : 'MISSED'} |`,
  );
  return lines.join('\n');
}

function machine(o: Options) {
  return {
    ...(o.etcd ? { etcd: etcdVersion() } : {}),
    nproc: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    loadAverageAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const started = Date.now();
  if (o.build) {
    log('building dist/ (npm run build)');
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  }
  if (o.profile) mkdirSync(join(ROOT, 'bench', 'profiles'), { recursive: true });
  const info = machine(o);
  log(`${info.nproc} x ${info.cpu}, ${info.memoryGiB} GiB, node ${info.node}, load average ${info.loadAverageAtStart.join(' ')}`);
  const backends: BackendResult[] = [];
  for (const kind of o.backends) backends.push(await runBackend(kind, o));
  const output = backends.map((b) => table(b, o)).join('\n\n');
  process.stdout.write(`\n${output}\n`);
  const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  writeFileSync(
    join(ROOT, 'bench', 'results.json'),
    `${JSON.stringify(
      {
        when: new Date().toISOString(),
        version,
        command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
        machine: { ...info, loadAverageAtEnd: loadavg().map((l) => Math.round(l * 100) / 100) },
        options: { ...o, only: o.only === undefined ? undefined : [...o.only] },
        seconds: Math.round((Date.now() - started) / 1000),
        backends,
      },
      null,
      2,
    )}\n`,
  );
  log(`\nwrote bench/results.json (${Math.round((Date.now() - started) / 1000)} s)`);
  for (const b of backends) {
    const missed = [...Object.entries(b.ratios).filter(([, r]) => r.pass === false).map(([n]) => n), ...(b.rss.pass ? [] : ['RSS'])];
    if (missed.length > 0) log(`${b.kind} targets missed: ${missed.join(', ')}`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
