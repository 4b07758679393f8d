// The change feed: one event per change on every write path, none for writes that change nothing
// or fail, revisions 1..N without gaps, and GET /v1/events' paging and filters.
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from '../support/app.js';
import { BACKENDS } from '../support/databases.js';
import { openDumper, type DatabaseDumper } from '../support/db-dump.js';
import { feedRevision, feedViolations, readFeed, storedFeed, story } from '../support/feed.js';

const LSTM_OBS = 'torch.ao.nn.quantizable.LSTM';
const LSTM_Q = 'torch.ao.nn.quantized.LSTM';
const MHA_OBS = 'torch.ao.nn.quantizable.MultiheadAttention';
const MHA_Q = 'torch.ao.nn.quantized.MultiheadAttention';

describe.each(BACKENDS)('the change feed on %s', (kind) => {
  let svc: TestService;
  let raw: DatabaseDumper;
  const inject = (opts: InjectOptions) => svc.app.inject(opts);
  const json = (method: InjectOptions['method'], url: string, payload?: unknown, headers: Record<string, string> = {}) =>
    inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });

  beforeAll(async () => {
    svc = await startService(kind);
    raw = await openDumper(svc.url);
  });
  afterAll(async () => {
    await raw?.close();
    await svc?.close();
  });

  /** Runs `write` and answers the events it appended (and checks its status). */
  async function eventsOf(status: number, write: () => Promise<{ statusCode: number; body: string }>) {
    const before = await feedRevision(svc.app);
    const res = await write();
    expect(res.statusCode, res.body).toBe(status);
    return readFeed(svc.app, before);
  }

  it('starts empty at revision 0: the built-in classes are the starting state, not changes', async () => {
    const res = await json('GET', '/v1/events');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ items: [], lastRevision: 0 });
    expect(res.headers['x-registry-revision']).toBe('0');
  });

  it('appends exactly one event per config write, none for a write that changes nothing or fails', async () => {
    const name = 'feed-config';
    const doc = { config: { observed_to_quantized_custom_module_class: { static: { [LSTM_OBS]: LSTM_Q } } }, description: 'd' };
    const created = await eventsOf(201, () => json('PUT', `/v1/configs/${name}`, doc));
    expect(created).toMatchObject([{ type: 'config.version_created', name, version: 1, by: 'anonymous' }]);
    expect(Date.parse(created[0]!.at)).toBeGreaterThan(Date.now() - 60_000);

    expect(await eventsOf(200, () => json('PUT', `/v1/configs/${name}`, doc))).toEqual([]);
    expect(await eventsOf(412, () => json('PUT', `/v1/configs/${name}`, { ...doc, description: 'x' }, { 'if-match': '"7"' }))).toEqual([]);
    expect(await eventsOf(422, () => json('PUT', `/v1/configs/${name}`, { config: { statik: {} } }))).toEqual([]);

    const patch = await eventsOf(200, () =>
      inject({
        method: 'PATCH',
        url: `/v1/configs/${name}`,
        headers: { 'content-type': 'application/merge-patch+json' },
        payload: JSON.stringify({ labels: { stage: 'dev' } }),
      }),
    );
    expect(patch.map((e) => [e.type, e.version])).toEqual([['config.version_created', 2]]);
    const mapping = `/v1/configs/${name}/mappings/dynamic/${MHA_OBS}`;
    expect(story(await eventsOf(200, () => json('PUT', mapping, { quantizedClass: MHA_Q })), name)).toEqual(['config.version_created v3']);
    expect(await eventsOf(200, () => json('PUT', mapping, { quantizedClass: MHA_Q }))).toEqual([]);
    const attributes = `/v1/configs/${name}/preserved-attributes`;
    expect(story(await eventsOf(200, () => json('PUT', attributes, { attributes: ['a'] })), name)).toEqual(['config.version_created v4']);
    expect(story(await eventsOf(200, () => json('DELETE', mapping)), name)).toEqual(['config.version_created v5']);
    expect(await eventsOf(404, () => json('DELETE', mapping))).toEqual([]);
    const rollback = await eventsOf(200, () => json('POST', `/v1/configs/${name}/versions/1/rollback`));
    expect(story(rollback, name)).toEqual(['config.version_created v6']);
    expect(await eventsOf(200, () => json('POST', `/v1/configs/${name}/versions/6/rollback`))).toEqual([]);

    expect(story(await eventsOf(204, () => json('DELETE', `/v1/configs/${name}`)), name)).toEqual(['config.deleted v6']);
    expect(await eventsOf(404, () => json('DELETE', `/v1/configs/${name}`))).toEqual([]);
    expect(story(await eventsOf(200, () => json('POST', `/v1/configs/${name}/undelete`)), name)).toEqual(['config.undeleted v6']);
    expect(await eventsOf(409, () => json('POST', `/v1/configs/${name}/undelete`))).toEqual([]);
    expect(story(await eventsOf(204, () => json('DELETE', `/v1/configs/${name}?purge=true`)), name)).toEqual(['config.purged v6']);
    expect(await eventsOf(404, () => json('DELETE', `/v1/configs/${name}?purge=true`))).toEqual([]);

    // The purge erased the history, not the feed: every event of the config is still there.
    expect(story(await readFeed(svc.app), name)).toEqual([
      'config.version_created v1',
      'config.version_created v2',
      'config.version_created v3',
      'config.version_created v4',
      'config.version_created v5',
      'config.version_created v6',
      'config.deleted v6',
      'config.undeleted v6',
      'config.purged v6',
    ]);
  });

  it('appends one event per module class change, none when nothing changes or the change is refused', async () => {
    const id = 'feed_pkg.quantized.Linear';
    const created = await eventsOf(201, () => json('POST', '/v1/module-classes', { id, fromObserved: true }));
    expect(created).toMatchObject([{ type: 'module_class.created', classId: id, by: 'anonymous' }]);
    expect(created[0]).not.toHaveProperty('name');
    expect(await eventsOf(409, () => json('POST', '/v1/module-classes', { id }))).toEqual([]);

    const updated = await eventsOf(200, () => json('PATCH', `/v1/module-classes/${id}`, { description: 'ours' }));
    expect(updated).toMatchObject([{ type: 'module_class.updated', classId: id }]);
    const before = (await json('GET', `/v1/module-classes/${id}`)).json();
    expect(await eventsOf(200, () => json('PATCH', `/v1/module-classes/${id}`, { description: 'ours', fromObserved: true }))).toEqual([]);
    expect(await eventsOf(200, () => json('PATCH', `/v1/module-classes/${id}`, {}))).toEqual([]);
    // Nothing changed, so nothing was written: not even updatedAt.
    expect((await json('GET', `/v1/module-classes/${id}`)).json()).toEqual(before);

    // In use as a quantized class: turning fromObserved off and deleting are refused, eventless.
    const user = { config: { observed_to_quantized_custom_module_class: { static: { [LSTM_OBS]: id } } } };
    await eventsOf(201, () => json('PUT', '/v1/configs/feed-class-user', user));
    expect(await eventsOf(409, () => json('PATCH', `/v1/module-classes/${id}`, { fromObserved: false }))).toEqual([]);
    expect((await json('GET', `/v1/module-classes/${id}`)).json().fromObserved).toBe(true);
    expect(await eventsOf(409, () => json('DELETE', `/v1/module-classes/${id}`))).toEqual([]);
    await eventsOf(204, () => json('DELETE', '/v1/configs/feed-class-user'));

    expect(await eventsOf(204, () => json('DELETE', `/v1/module-classes/${id}`))).toMatchObject([
      { type: 'module_class.deleted', classId: id },
    ]);
    expect(await eventsOf(404, () => json('DELETE', `/v1/module-classes/${id}`))).toEqual([]);
  });

  it('numbers the feed 1..N without gaps, exactly as stored, and the counter agrees', async () => {
    const feed = await readFeed(svc.app);
    const stored = await storedFeed(raw);
    expect(feedViolations(stored)).toEqual([]);
    expect(feed.map((e) => e.revision)).toEqual(stored.events.map((e) => e.revision));
    expect(feed.map(({ at: _at, ...rest }) => rest)).toEqual(stored.events.map(({ at: _at, ...rest }) => rest));
    expect(await feedRevision(svc.app)).toBe(stored.counter);
  });

  it('pages with after and limit, and lastRevision says where to go on', async () => {
    const all = await readFeed(svc.app);
    expect(all.length).toBeGreaterThan(5);
    const newest = all[all.length - 1]!.revision;

    const first = await json('GET', '/v1/events?limit=2');
    expect(first.json().items.map((e: { revision: number }) => e.revision)).toEqual([1, 2]);
    // Cut short by the limit: it accounts only for what it shows, while the header tells the newest.
    expect(first.json().lastRevision).toBe(2);
    expect(first.headers['x-registry-revision']).toBe(String(newest));

    const next = await json('GET', '/v1/events?after=2&limit=3');
    expect(next.json().items.map((e: { revision: number }) => e.revision)).toEqual([3, 4, 5]);

    const tail = await json('GET', `/v1/events?after=${newest - 1}&limit=1`);
    expect(tail.json()).toMatchObject({ items: [{ revision: newest }], lastRevision: newest });
    const end = await json('GET', `/v1/events?after=${newest}`);
    expect(end.json()).toEqual({ items: [], lastRevision: newest });
  });

  it('filters by name and type (each repeatable, ORed), and a filtered reader still moves on', async () => {
    await json('PUT', '/v1/configs/feed-a', { config: { preserved_attributes: ['a'] } });
    await json('PUT', '/v1/configs/feed-b', { config: { preserved_attributes: ['b'] } });
    await json('PUT', '/v1/configs/feed-a', { config: { preserved_attributes: ['a2'] } });
    await json('DELETE', '/v1/configs/feed-b');
    const newest = await feedRevision(svc.app);

    const a = await json('GET', '/v1/events?name=feed-a');
    expect(story(a.json().items, 'feed-a')).toEqual(['config.version_created v1', 'config.version_created v2']);
    expect(a.json().items.every((e: { name: string }) => e.name === 'feed-a')).toBe(true);
    expect(a.json().lastRevision).toBe(newest);

    const both = await json('GET', '/v1/events?name=feed-a&name=feed-b');
    expect(both.json().items).toHaveLength(4);

    const deletions = await json('GET', '/v1/events?type=config.deleted&type=config.purged');
    const types = new Set(deletions.json().items.map((e: { type: string }) => e.type));
    expect([...types].sort()).toEqual(['config.deleted', 'config.purged']);

    const none = await json('GET', `/v1/events?name=feed-nothing&after=3`);
    expect(none.json()).toEqual({ items: [], lastRevision: newest });
    expect(none.headers['x-registry-revision']).toBe(String(newest));
  });

  it('refuses malformed parameters with a 422 naming them', async () => {
    for (const query of ['after=-1', 'after=1e3', 'after=%201', 'after=2147483648', 'limit=0', 'limit=1001', 'type=config.exploded', 'name=Not_A_Name', 'since=3']) {
      const res = await json('GET', `/v1/events?${query}`);
      expect(res.statusCode, query).toBe(422);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json().errors[0].parameter, query).toBe(query.split('=')[0]);
    }
    // A repeatable filter's bad value is named with its own problem, not zod's "Invalid input".
    const type = await json('GET', '/v1/events?type=config.exploded');
    expect(type.json().errors).toEqual([{ parameter: 'type', detail: expect.stringMatching(/^Invalid option: expected one of "config\.version_created"\|/) }]);
    const second = await json('GET', '/v1/events?type=config.deleted&type=config.exploded');
    expect(second.json().errors).toEqual([{ parameter: 'type', detail: expect.stringMatching(/^\/1: Invalid option: expected one of /) }]);
  });
});
