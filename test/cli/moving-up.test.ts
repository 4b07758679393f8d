// Moving a registry between databases with the CLI, as README "Moving from SQLite to PostgreSQL"
// describes: fill a registry through the HTTP API, `registry export` it (a real process), `registry
// import` it into a new database of the other kind (a real process), start the app on that, and
// compare every read the API offers, byte for byte (aliases, their histories and the change feed
// included). Then the other way round.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/http/app.js';
import { createRegistry } from '../../src/registry/registry.js';
import { openDatabase, type Database, type DatabaseKind } from '../../src/store/database.js';
import { registryStore } from '../../src/store/prisma-registry-store.js';
import { registerClasses, startService, type TestService } from '../support/app.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../support/databases.js';
import { ROOT } from '../support/service-process.js';

const CLI = join(ROOT, 'src/registry-cli.ts');

/** Runs the CLI with stdin/stdout connected to files; resolves with its exit code and stderr. */
function runCli(args: string[], env: Record<string, string>, files: { stdin?: string; stdout?: string } = {}) {
  const stdin = files.stdin === undefined ? 'ignore' : openSync(files.stdin, 'r');
  const stdout = files.stdout === undefined ? 'pipe' : openSync(files.stdout, 'w');
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: [stdin, stdout, 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise<{ code: number | null; stderr: string }>((resolve) => {
    child.once('exit', (code) => {
      if (typeof stdin === 'number') closeSync(stdin);
      if (typeof stdout === 'number') closeSync(stdout);
      resolve({ code, stderr });
    });
  });
}

const LSTM_OBS = 'torch.ao.nn.quantizable.LSTM';
const LSTM_Q = 'torch.ao.nn.quantized.LSTM';
const MHA_OBS = 'torch.ao.nn.quantizable.MultiheadAttention';
const MHA_Q = 'torch.ao.nn.quantized.MultiheadAttention';

/** A registry with a bit of everything: edited built-ins, versions, labels, deletes, rollbacks. */
async function fill(app: FastifyInstance): Promise<void> {
  const send = async (options: InjectOptions, expected: number) => {
    const res = await app.inject(options);
    if (res.statusCode !== expected) throw new Error(`${options.method} ${options.url}: ${res.statusCode} ${res.body}`);
  };
  const json = (method: InjectOptions['method'], url: string, payload: unknown, expected: number, headers = {}) =>
    send({ method, url, payload: payload as object, headers }, expected);

  await registerClasses(app, [
    { id: 'my_pkg.observed.Conv' },
    { id: 'my_pkg.quantized.Conv', fromObserved: true },
    { id: 'my_pkg.observed.Unused' },
    { id: 'zoo.Z_last' },
  ]);
  await json('PATCH', `/v1/module-classes/${LSTM_Q}`, { description: 'edited built-in' }, 200);
  await send({ method: 'DELETE', url: '/v1/module-classes/my_pkg.observed.Unused' }, 204);

  // alpha: three versions, labels, key order that is not alphabetical.
  await send(
    {
      method: 'PUT',
      url: '/v1/configs/alpha',
      headers: { 'content-type': 'application/json' },
      payload:
        `{"config":{"observed_to_quantized_custom_module_class":{"weight_only":{"${MHA_OBS}":"${MHA_Q}"},` +
        `"static":{"${LSTM_OBS}":"${LSTM_Q}"}},"preserved_attributes":["zeta","alpha"]},` +
        '"description":"first","labels":{"team":"vision","arch":"rnn"}}',
    },
    201,
  );
  await json('PUT', '/v1/configs/alpha/mappings/dynamic/my_pkg.observed.Conv', { quantizedClass: 'my_pkg.quantized.Conv' }, 200);
  await json('PUT', '/v1/configs/alpha/preserved-attributes', { attributes: ['zeta', 'alpha', 'beta'] }, 200, {
    'if-match': '"2"',
  });
  // beta: two versions, then soft-deleted.
  await json('PUT', '/v1/configs/beta', { config: { preserved_attributes: ['a'] }, labels: { team: 'audio' } }, 201);
  await send(
    {
      method: 'PATCH',
      url: '/v1/configs/beta',
      headers: { 'content-type': 'application/merge-patch+json' },
      payload: JSON.stringify({ description: 'patched', labels: { stage: 'prod' } }),
    },
    200,
  );
  await send({ method: 'DELETE', url: '/v1/configs/beta' }, 204);
  // gamma: rolled back (a third version equal to the first).
  await json('PUT', '/v1/configs/gamma', { config: { observed_to_quantized_custom_module_class: { static: { [LSTM_OBS]: LSTM_Q } } }, labels: { team: 'vision' } }, 201);
  await json('PUT', '/v1/configs/gamma', { config: { observed_to_quantized_custom_module_class: { static: { 'my_pkg.observed.Conv': 'my_pkg.quantized.Conv' } } } }, 200);
  await send({ method: 'POST', url: '/v1/configs/gamma/versions/1/rollback' }, 200);
  // delta: purged, gone without a trace. epsilon: deleted and undeleted.
  await json('PUT', '/v1/configs/delta', { config: { preserved_attributes: ['d'] } }, 201);
  await send({ method: 'DELETE', url: '/v1/configs/delta?purge=true' }, 204);
  await json('PUT', '/v1/configs/epsilon', { config: { preserved_attributes: ['e'] }, description: 'back again' }, 201);
  await send({ method: 'DELETE', url: '/v1/configs/epsilon' }, 204);
  await send({ method: 'POST', url: '/v1/configs/epsilon/undelete' }, 200);
  // Enough configs to page through.
  for (const n of [1, 2, 3]) await json('PUT', `/v1/configs/page-${n}`, { config: { preserved_attributes: [`p${n}`] } }, 201);
  // Aliases: a protected one that moved, one deleted (its history stays), one on a deleted config.
  await json('PUT', '/v1/configs/alpha/aliases/production', { version: 1, protected: true }, 201);
  await json('PUT', '/v1/configs/alpha/aliases/production', { version: 3 }, 200, { 'if-match': '"1"' });
  await json('PUT', '/v1/configs/alpha/aliases/staging', { version: 2 }, 201);
  await send({ method: 'DELETE', url: '/v1/configs/alpha/aliases/staging' }, 204);
  await json('PUT', '/v1/configs/gamma/aliases/candidate', { version: 2 }, 201);
  await json('PUT', '/v1/configs/epsilon/aliases/production', { version: 1 }, 201);
  await send({ method: 'DELETE', url: '/v1/configs/epsilon' }, 204);
}

/** Follows a list through its page tokens; every page (tokens included) is part of the record. */
async function pages(app: FastifyInstance, url: string): Promise<string[]> {
  const out: string[] = [];
  let next: string | undefined = url;
  while (next !== undefined) {
    const res: { statusCode: number; body: string; json(): unknown } = await app.inject({ method: 'GET', url: next });
    out.push(`GET ${next} -> ${res.statusCode}\n${res.body}`);
    const token: string | undefined = (res.json() as { nextPageToken?: string }).nextPageToken;
    next = token === undefined ? undefined : `${url}${url.includes('?') ? '&' : '?'}pageToken=${encodeURIComponent(token)}`;
  }
  return out;
}

/** Every read the API offers over this registry, as `request -> status, headers, body` records. */
async function everyRead(app: FastifyInstance): Promise<string[]> {
  const get = async (url: string) => {
    const res = await app.inject({ method: 'GET', url });
    const headers = ['etag', 'content-type', 'location'].map((h) => `${h}: ${String(res.headers[h] ?? '')}`).join('; ');
    return `GET ${url} -> ${res.statusCode} (${headers})\n${res.body}`;
  };
  const records: string[] = [];
  records.push(...(await pages(app, '/v1/module-classes?pageSize=2')));
  const classes = (await app.inject({ method: 'GET', url: '/v1/module-classes?pageSize=1000' })).json() as { items: Array<{ id: string }> };
  for (const { id } of classes.items) {
    records.push(await get(`/v1/module-classes/${id}`), await get(`/v1/module-classes/${id}/references`));
  }
  for (const list of [
    '/v1/configs?showDeleted=true&pageSize=1000',
    '/v1/configs?pageSize=1000',
    '/v1/configs?label=team:vision',
    '/v1/configs?label=stage:prod&showDeleted=true',
    `/v1/configs?usesClass=${LSTM_Q}`,
    '/v1/configs?usesClass=my_pkg.quantized.Conv&showDeleted=true',
    '/v1/configs?prefix=page-',
  ]) {
    records.push(await get(list));
  }
  records.push(...(await pages(app, '/v1/configs?showDeleted=true&pageSize=2')));
  const configs = (await app.inject({ method: 'GET', url: '/v1/configs?showDeleted=true&pageSize=1000' })).json() as {
    items: Array<{ name: string; version: number }>;
  };
  for (const { name, version: latest } of configs.items) {
    records.push(await get(`/v1/configs/${name}`), await get(`/v1/configs/${name}/versions?pageSize=1000`));
    for (let version = 1; version <= latest; version += 1) {
      records.push(
        await get(`/v1/configs/${name}/versions/${version}`),
        await get(`/v1/configs/${name}/dict?version=${version}`),
        await get(`/v1/configs/${name}/python?version=${version}`),
        await get(`/v1/configs/${name}/diff?from=1&to=${version}`),
      );
    }
  }
  records.push(await get('/v1/configs/delta'));
  for (const { name } of configs.items) {
    records.push(await get(`/v1/configs/${name}/aliases`));
    const aliases = (await app.inject({ method: 'GET', url: `/v1/configs/${name}/aliases` })).json() as { items?: Array<{ alias: string }> };
    for (const { alias } of aliases.items ?? []) {
      records.push(await get(`/v1/configs/${name}/aliases/${alias}`), await get(`/v1/configs/${name}?alias=${alias}`));
    }
  }
  for (const alias of ['production', 'staging']) records.push(...(await pages(app, `/v1/configs/alpha/aliases/${alias}/history?pageSize=1`)));
  records.push(...(await pages(app, '/v1/configs/gamma/aliases/candidate/history')));
  // The whole feed, with the revision it stands at.
  const feed = await app.inject({ method: 'GET', url: '/v1/events?limit=1000' });
  records.push(`GET /v1/events -> ${feed.statusCode} (x-registry-revision: ${String(feed.headers['x-registry-revision'])})\n${feed.body}`);
  return records;
}

async function appOn(url: string): Promise<{ app: FastifyInstance; database: Database }> {
  const database = await openDatabase(url);
  const app = await buildApp({ registry: await createRegistry(registryStore(database)) });
  await app.ready();
  return { app, database };
}

/** The dump without its header's exportedAt and source kind: what must survive a round trip. */
function comparable(dump: string): string[] {
  const [header, ...rest] = dump.trimEnd().split('\n');
  const { exportedAt: _at, source, ...fixed } = JSON.parse(header!) as { exportedAt: string; source: { migrations: string[] } };
  return [JSON.stringify({ ...fixed, migrations: source.migrations }), ...rest];
}

const MOVES: Array<[DatabaseKind, DatabaseKind]> = postgresAvailable
  ? [
      ['sqlite', 'postgresql'],
      ['postgresql', 'sqlite'],
    ]
  : [['sqlite', 'sqlite']];

describe.each(MOVES)('moving a registry from %s to %s with `registry export` / `registry import`', (from, to) => {
  let dir: string;
  let source: TestService;
  let target: TestDatabase;
  let moved: { app: FastifyInstance; database: Database } | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'registry-move-'));
    source = await startService(from);
    target = await createTestDatabase(to);
    await fill(source.app);
  });
  afterAll(async () => {
    await moved?.app.close();
    await moved?.database.close();
    await source?.close();
    await target?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('carries every config, version, class, deleted state, index row and the page-token key', async () => {
    const dump = join(dir, 'dump.ndjson');
    const exported = await runCli(['export'], { DATABASE_URL: source.url }, { stdout: dump });
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stderr).toMatch(/registry export: config_version: 12 rows\n/);

    const imported = await runCli(['import'], { DATABASE_URL: target.url }, { stdin: dump });
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stderr).toMatch(/registry import: done: \d+ rows in one transaction\n$/);

    moved = await appOn(target.url);
    const before = await everyRead(source.app);
    const after = await everyRead(moved.app);
    expect(before.length).toBeGreaterThan(80);
    expect(after).toEqual(before);
    expect(before.at(-1)).toMatch(/"type":"alias\.deleted".*"type":"config\.deleted","at":"[^"]+","by":"anonymous","name":"epsilon"/);

    // The same rows come back out of the new database.
    const again = join(dir, 'again.ndjson');
    expect((await runCli(['export', '--output', again], { DATABASE_URL: target.url })).code).toBe(0);
    expect(comparable(readFileSync(again, 'utf8'))).toEqual(comparable(readFileSync(dump, 'utf8')));
  });

  it('the moved registry takes writes where the old one left off', async () => {
    const app = moved!.app;
    const put = await app.inject({
      method: 'PUT',
      url: '/v1/configs/alpha/preserved-attributes',
      headers: { 'if-match': '"3"' },
      payload: { attributes: ['after', 'move'] },
    });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.headers.etag).toBe('"4"');
    // The feed goes on from the last imported revision, and aliases from their moves.
    const imported = (await source.app.inject({ method: 'GET', url: '/v1/events?limit=1000' })).json() as { lastRevision: number };
    const next = (await app.inject({ method: 'GET', url: `/v1/events?after=${imported.lastRevision - 1}` })).json();
    expect(next.items.map((e: { revision: number; type: string; name: string; version: number }) => [e.revision, e.type, e.name, e.version])).toEqual([
      [imported.lastRevision, 'config.deleted', 'epsilon', 1],
      [imported.lastRevision + 1, 'config.version_created', 'alpha', 4],
    ]);
    const production = await app.inject({ method: 'PUT', url: '/v1/configs/alpha/aliases/production', headers: { 'if-match': '"2"' }, payload: { version: 4 } });
    expect(production.statusCode, production.body).toBe(200);
    expect(production.headers.etag).toBe('"3"');
    const recreated = await app.inject({ method: 'PUT', url: '/v1/configs/alpha/aliases/staging', payload: { version: 4 } });
    expect(recreated.headers.etag).toBe('"2"');
    const undelete = await app.inject({ method: 'POST', url: '/v1/configs/beta/undelete' });
    expect(undelete.statusCode, undelete.body).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/v1/configs?usesClass=my_pkg.quantized.Conv' })).json()).toMatchObject({
      items: [{ name: 'alpha' }],
    });
    // The class index moved too: a referenced class cannot be deleted.
    expect((await app.inject({ method: 'DELETE', url: `/v1/module-classes/${LSTM_Q}` })).statusCode).toBe(409);
  });

  it('refuses to import into the moved registry again (it is no longer empty)', async () => {
    const result = await runCli(['import', '--input', join(dir, 'dump.ndjson')], { DATABASE_URL: target.url });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/registry import: the target database already holds a registry \(module_class: 3, config: 7, config_version: 13, /);
  });
});
