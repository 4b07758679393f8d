// A client program written against types generated from the live OpenAPI document
// (./generated/registry-api.ts, made by openapi-typescript in generated-client.test.ts) and
// driven through openapi-fetch. It is type-checked with `tsc --noEmit` against freshly generated
// types, so a contract change that breaks clients breaks the build; then it runs against a
// listening server. Plain node:assert, no test framework: it is what a user would write.
import assert from 'node:assert/strict';
import createClient from 'openapi-fetch';
import type { components, paths } from './generated/registry-api.js';

type Config = components['schemas']['Config'];
type Problem = components['schemas']['Problem'];
type PutConfig = components['schemas']['PutConfig'];
type ConfigVersionPage = components['schemas']['ConfigVersionPage'];

export interface SeenResponse {
  method: string;
  path: string;
  status: number;
  contentType: string | null;
  body: string;
}

const LSTM = { observed: 'torch.ao.nn.quantizable.LSTM', quantized: 'torch.ao.nn.quantized.LSTM' };
const MHA = { observed: 'torch.ao.nn.quantizable.MultiheadAttention', quantized: 'torch.ao.nn.quantized.MultiheadAttention' };
const LINEAR = { observed: 'my_pkg.observed.CustomLinear', quantized: 'my_pkg.quantized.CustomLinear' };

function etag(response: Response): string {
  const value = response.headers.get('etag');
  assert.ok(value, 'every config reply carries an ETag');
  return value;
}

function expectProblem(error: Problem | undefined, response: Response, status: number): Problem {
  assert.equal(response.status, status);
  assert.ok(error, `a ${status} carries a problem`);
  assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
  assert.equal(error.status, status);
  // A reference relative to the request URI, naming a page of this registry (problem-pages.test.ts fetches each).
  assert.match(error.type, /^\/problems\/[a-z-]+$/);
  return error;
}

/** Runs the whole scenario; returns one line per step. `onResponse` sees every exchange. */
export async function runScenario(baseUrl: string, onResponse?: (seen: SeenResponse) => void): Promise<string[]> {
  const steps: string[] = [];
  const step = (line: string) => steps.push(line);
  const registry = createClient<paths>({ baseUrl });
  if (onResponse) {
    registry.use({
      async onResponse({ request, response, schemaPath }) {
        const body = await response.clone().text();
        onResponse({ method: request.method, path: schemaPath, status: response.status, contentType: response.headers.get('content-type'), body });
        return undefined;
      },
    });
  }

  // The generated types are precise: each line below must fail to compile (tsc reports an
  // unused expect-error directive otherwise), so the client is not typed as `any`.
  if (baseUrl === '') {
    // @ts-expect-error an unknown path
    await registry.GET('/v1/config/{name}', { params: { path: { name: 'x' } } });
    // @ts-expect-error PUT needs a config
    await registry.PUT('/v1/configs/{name}', { params: { path: { name: 'x' } }, body: { description: 'no config' } });
    // @ts-expect-error version is an integer
    await registry.GET('/v1/configs/{name}/versions/{version}', { params: { path: { name: 'x', version: 'one' } } });
  }

  {
    const { data } = await registry.GET('/readyz');
    assert.equal(data?.status, 'ready');
    step('GET /readyz: ready');
  }

  // Register our own classes next to the four PyTorch built-ins.
  {
    const observed = await registry.POST('/v1/module-classes', { body: { id: LINEAR.observed } });
    assert.equal(observed.response.status, 201);
    assert.equal(observed.response.headers.get('location'), `/v1/module-classes/${LINEAR.observed}`);
    assert.equal(observed.data?.fromObserved, false);
    const quantized = await registry.POST('/v1/module-classes', {
      body: { id: LINEAR.quantized, fromObserved: true, description: 'Our quantized linear' },
    });
    assert.equal(quantized.data?.fromObserved, true);
    const again = await registry.POST('/v1/module-classes', { body: { id: LINEAR.quantized, fromObserved: true } });
    expectProblem(again.error, again.response, 409);
    const { data: builtIns } = await registry.GET('/v1/module-classes', { params: { query: { prefix: 'torch.ao.nn.' } } });
    assert.deepEqual(
      builtIns?.items.map((c) => c.id),
      [LSTM.observed, MHA.observed, LSTM.quantized, MHA.quantized],
    );
    step('POST /v1/module-classes x2: 201 with Location; again: 409 problem; the 4 built-ins listed');
  }

  // Create a config; read it back conditionally.
  const name = 'vision-resnet50';
  const path = { name };
  {
    const { data, response } = await registry.PUT('/v1/configs/{name}', {
      params: { path, header: { 'if-none-match': '*' } },
      body: {
        config: { observed_to_quantized_custom_module_class: { static: { [LSTM.observed]: LSTM.quantized } }, preserved_attributes: ['attr1'] },
        description: 'LSTM head',
        labels: { team: 'vision' },
      },
    });
    assert.equal(response.status, 201);
    assert.equal(etag(response), '"1"');
    assert.equal(data?.version, 1);
    assert.equal(data?.config.observed_to_quantized_custom_module_class?.static?.[LSTM.observed], LSTM.quantized);
    const notModified = await registry.GET('/v1/configs/{name}', { params: { path, header: { 'if-none-match': '"1"' } } });
    assert.equal(notModified.response.status, 304);
    step('PUT /v1/configs/vision-resnet50 (If-None-Match: *): 201, ETag "1"; GET If-None-Match "1": 304');
  }

  // Merge-patch it: add a mapping (appended after the existing one) and a label.
  {
    const { data, response } = await registry.PATCH('/v1/configs/{name}', {
      params: { path, header: { 'if-match': '"1"' } },
      headers: { 'content-type': 'application/merge-patch+json' },
      body: { config: { observed_to_quantized_custom_module_class: { static: { [LINEAR.observed]: LINEAR.quantized } } }, labels: { stage: 'dev' } },
    });
    assert.equal(response.status, 200);
    assert.equal(etag(response), '"2"');
    assert.deepEqual(Object.keys(data?.config.observed_to_quantized_custom_module_class?.static ?? {}), [LSTM.observed, LINEAR.observed]);
    assert.deepEqual(data?.labels, { team: 'vision', stage: 'dev' });
    step('PATCH application/merge-patch+json (If-Match "1"): 200, ETag "2", mapping appended in order, label added');
  }

  // Two writers race from the same version: exactly one wins, the other gets 412.
  {
    const [a, b] = await Promise.all([
      registry.PUT('/v1/configs/{name}/preserved-attributes', {
        params: { path, header: { 'if-match': '"2"' } },
        body: { attributes: ['attr1', 'attr2'] },
      }),
      registry.PATCH('/v1/configs/{name}', {
        params: { path, header: { 'if-match': '"2"' } },
        headers: { 'content-type': 'application/merge-patch+json' },
        body: { description: 'LSTM head, int8' },
      }),
    ]);
    const statuses = [a.response.status, b.response.status].sort();
    assert.deepEqual(statuses, [200, 412]);
    const loser = a.response.status === 412 ? a : b;
    expectProblem(loser.error, loser.response, 412);
    const { data } = await registry.GET('/v1/configs/{name}', { params: { path } });
    assert.equal(data?.version, 3);
    step(`race: two writers with If-Match "2": one 200, one 412 problem; the config is at version 3`);
  }

  // The builder methods, one version each; a misspelt quant type is a compile error here and a 422 at the server.
  {
    const set = await registry.PUT('/v1/configs/{name}/mappings/{quantType}/{observedClass}', {
      params: { path: { name, quantType: 'dynamic', observedClass: MHA.observed } },
      body: { quantizedClass: MHA.quantized },
    });
    assert.equal(set.data?.version, 4);
    assert.deepEqual(set.data?.config.observed_to_quantized_custom_module_class?.dynamic, { [MHA.observed]: MHA.quantized });
    const removed = await registry.DELETE('/v1/configs/{name}/mappings/{quantType}/{observedClass}', {
      params: { path: { name, quantType: 'dynamic', observedClass: MHA.observed } },
    });
    assert.equal(removed.data?.version, 5);
    assert.equal(removed.data?.config.observed_to_quantized_custom_module_class?.dynamic, undefined);
    // openapi-fetch does not check `body` literals for excess properties; a body declared with
    // its generated type is checked.
    const misspelt: PutConfig = {
      config: {
        observed_to_quantized_custom_module_class: {
          // @ts-expect-error quant types are named properties: 'statik' is not one
          statik: { [LSTM.observed]: LSTM.quantized },
        },
      },
    };
    const bad = await registry.PUT('/v1/configs/{name}', { params: { path }, body: misspelt });
    const problem = expectProblem(bad.error, bad.response, 422);
    assert.deepEqual(problem.errors?.map((e) => e.pointer), ['/config/observed_to_quantized_custom_module_class/statik']);
    step('PUT/DELETE mappings/dynamic/...MultiheadAttention: versions 4 and 5; PUT with "statik": 422 with its pointer');
  }

  // Page through lists to the end.
  {
    const names = Array.from({ length: 7 }, (_, i) => `list-${String(i).padStart(2, '0')}`);
    for (const n of [...names].reverse()) {
      const { response } = await registry.PUT('/v1/configs/{name}', {
        params: { path: { name: n } },
        body: { config: {}, labels: { batch: 'paging' } },
      });
      assert.equal(response.status, 201);
    }
    const seen: string[] = [];
    const sizes: number[] = [];
    let pageToken: string | undefined;
    do {
      const { data, error } = await registry.GET('/v1/configs', {
        params: { query: { prefix: 'list-', label: ['batch:paging'], pageSize: 3, ...(pageToken ? { pageToken } : {}) } },
      });
      assert.equal(error, undefined);
      seen.push(...(data?.items.map((c: Config) => c.name) ?? []));
      sizes.push(data?.items.length ?? 0);
      pageToken = data?.nextPageToken;
    } while (pageToken !== undefined);
    assert.deepEqual(seen, names);
    assert.deepEqual(sizes, [3, 3, 1]);
    const versions: number[] = [];
    pageToken = undefined;
    do {
      const { data }: { data?: ConfigVersionPage } = await registry.GET('/v1/configs/{name}/versions', {
        params: { path, query: { pageSize: 2, ...(pageToken ? { pageToken } : {}) } },
      });
      versions.push(...(data?.items.map((v) => v.version) ?? []));
      pageToken = data?.nextPageToken;
    } while (pageToken !== undefined);
    assert.deepEqual(versions, [5, 4, 3, 2, 1]);
    const tampered = await registry.GET('/v1/configs', { params: { query: { pageToken: 'not-a-token' } } });
    expectProblem(tampered.error, tampered.response, 400);
    step('GET /v1/configs?prefix=list-&label=batch:paging&pageSize=3: pages of 3, 3, 1 in name order; versions (pageSize 2): 5..1; tampered token: 400');
  }

  // Roll back to version 1, then diff it against version 2.
  {
    const { data: v1 } = await registry.GET('/v1/configs/{name}/versions/{version}', { params: { path: { name, version: 1 } } });
    const { data, response } = await registry.POST('/v1/configs/{name}/versions/{version}/rollback', {
      params: { path: { name, version: 1 }, header: { 'if-match': '"5"' } },
    });
    assert.equal(response.status, 200);
    assert.equal(etag(response), '"6"');
    assert.deepEqual(data?.config, v1?.config);
    assert.equal(data?.description, v1?.description);
    assert.deepEqual(data?.labels, v1?.labels);
    const { data: diff } = await registry.GET('/v1/configs/{name}/diff', { params: { path, query: { from: 1, to: 2 } } });
    assert.deepEqual(diff?.changes.mappings.static?.added, [{ observed: LINEAR.observed, quantized: LINEAR.quantized }]);
    assert.deepEqual(diff?.changes.labels.added, { stage: 'dev' });
    const { data: dict } = await registry.GET('/v1/configs/{name}/dict', { params: { path } });
    assert.deepEqual(dict, v1?.config);
    const python = await registry.GET('/v1/configs/{name}/python', { params: { path }, parseAs: 'text' });
    assert.match(python.data ?? '', /\.set_observed_to_quantized_mapping\(torch\.ao\.nn\.quantizable\.LSTM, torch\.ao\.nn\.quantized\.LSTM, QuantType\.STATIC\)/);
    step('POST versions/1/rollback (If-Match "5"): version 6 equal to version 1; diff 1..2 lists the added mapping and label; /dict and /python agree');
  }

  // Delete (soft), see it hidden and listed with showDeleted, undelete.
  {
    const deleted = await registry.DELETE('/v1/configs/{name}', { params: { path, header: { 'if-match': '"6"' } } });
    assert.equal(deleted.response.status, 204);
    const gone = await registry.GET('/v1/configs/{name}', { params: { path } });
    expectProblem(gone.error, gone.response, 404);
    const { data: hidden } = await registry.GET('/v1/configs', { params: { query: { prefix: 'vision-' } } });
    assert.deepEqual(hidden?.items, []);
    const { data: shown } = await registry.GET('/v1/configs', { params: { query: { prefix: 'vision-', showDeleted: true } } });
    assert.equal(shown?.items[0]?.deleted, true);
    assert.ok(shown?.items[0]?.deletedAt);
    const blocked = await registry.PUT('/v1/configs/{name}', { params: { path }, body: { config: {} } });
    expectProblem(blocked.error, blocked.response, 409);
    const { data, response } = await registry.POST('/v1/configs/{name}/undelete', { params: { path } });
    assert.equal(response.status, 200);
    assert.equal(etag(response), '"6"');
    assert.equal(data?.version, 6);
    step('DELETE (If-Match "6"): 204; GET: 404 problem; hidden from lists, shown with showDeleted=true; PUT: 409; undelete: 200, still ETag "6"');
  }

  // A class in use cannot be deleted; the problem names the configs that use it.
  {
    const blocked = await registry.DELETE('/v1/module-classes/{id}', { params: { path: { id: LSTM.quantized } } });
    const problem = expectProblem(blocked.error, blocked.response, 409);
    assert.deepEqual(problem.configs, [name]);
    const { data } = await registry.GET('/v1/module-classes/{id}/references', { params: { path: { id: LSTM.quantized } } });
    assert.deepEqual(data?.items, [name]);
    step('DELETE /v1/module-classes/torch.ao.nn.quantized.LSTM: 409 naming vision-resnet50; its references list it');
  }

  // Lint before pushing, try a write as a dry run, promote version 6 to production, read by
  // alias, and follow the change feed from where we were.
  {
    const start = await registry.GET('/v1/events', { params: { query: { limit: 1 } } });
    const revision = Number(start.response.headers.get('x-registry-revision'));
    assert.ok(revision > 10, 'every write so far is in the feed');
    const config: components['schemas']['ConvertCustomConfigDict'] = { preserved_attributes: ['attr1', 'attr9'] };
    const linted = await registry.POST('/v1/validate', { body: { config } });
    assert.match(linted.data?.contentHash ?? '', /^sha256:[0-9a-f]{64}$/);

    const dry = await registry.PUT('/v1/configs/{name}', { params: { path, query: { dryRun: true } }, body: { config } });
    assert.equal(dry.response.headers.get('x-dry-run'), 'true');
    assert.equal(dry.data?.version, 7);
    assert.equal(dry.data?.contentHash, linted.data?.contentHash);
    assert.equal((await registry.GET('/v1/configs/{name}', { params: { path } })).data?.version, 6);

    const production = { name, alias: 'production' };
    const promoted = await registry.PUT('/v1/configs/{name}/aliases/{alias}', {
      params: { path: production, header: { 'if-none-match': '*' } },
      body: { version: 6 },
    });
    assert.equal(promoted.response.status, 201);
    assert.equal(etag(promoted.response), '"1"');
    assert.equal(promoted.data?.version, 6);
    const stale = await registry.PUT('/v1/configs/{name}/aliases/{alias}', {
      params: { path: production, header: { 'if-match': '"7"' } },
      body: { version: 5 },
    });
    expectProblem(stale.error, stale.response, 412);
    const byAlias = await registry.GET('/v1/configs/{name}', { params: { path, query: { alias: 'production' } } });
    assert.equal(byAlias.data?.version, 6);
    assert.equal(byAlias.response.headers.get('content-location'), `/v1/configs/${name}/versions/6`);

    const { data: feed } = await registry.GET('/v1/events', { params: { query: { after: revision, name: [name] } } });
    assert.deepEqual(
      feed?.items.map((e) => [e.type, e.alias, e.version]),
      [['alias.set', 'production', 6]],
    );
    assert.equal(feed?.lastRevision, revision + 1);
    step('POST /v1/validate; PUT ?dryRun=true: version 7 with X-Dry-Run, nothing stored; alias production -> 6 (201, ETag "1"), stale If-Match: 412; GET ?alias=production: version 6; the feed shows exactly the alias.set');
  }
  return steps;
}
