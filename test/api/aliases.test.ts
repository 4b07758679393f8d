// Aliases: set, move (If-Match on moves), read by alias, history (deletions included), the 32
// limit, `latest`, soft delete / undelete / purge / rollback, protection by role, and the feed.
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startService, type TestService } from '../support/app.js';
import { BACKENDS } from '../support/databases.js';
import { readFeed, story } from '../support/feed.js';

const ADMIN_SECRET = 'bootstrap-admin-secret-for-alias-tests-0123456789';

describe.each(BACKENDS)('aliases on %s', (kind) => {
  let svc: TestService;
  let writer: Record<string, string>;
  const admin = { authorization: `Bearer ${ADMIN_SECRET}` };
  const inject = (opts: InjectOptions) => svc.app.inject(opts);
  const call = (method: InjectOptions['method'], url: string, payload?: unknown, headers: Record<string, string> = writer) =>
    inject({ method, url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });

  /** A config with versions 1..n, each preserving one attribute `aN`. */
  async function configWith(name: string, n: number): Promise<void> {
    for (let v = 1; v <= n; v++) {
      const res = await call('PUT', `/v1/configs/${name}`, { config: { preserved_attributes: [`a${v}`] } });
      expect(res.statusCode, res.body).toBe(v === 1 ? 201 : 200);
    }
  }

  beforeAll(async () => {
    svc = await startService(kind, { registry: { adminToken: ADMIN_SECRET } });
    const token = await inject({ method: 'POST', url: '/v1/tokens', headers: admin, payload: { name: 'ci-writer', role: 'writer' } });
    writer = { authorization: `Bearer ${token.json().token}` };
  });
  afterAll(async () => svc?.close());

  it('creates (201, Location, ETag "1"), reads, and makes no move when nothing changes', async () => {
    await configWith('al-basic', 3);
    const created = await call('PUT', '/v1/configs/al-basic/aliases/production', { version: 2 });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.headers.location).toBe('/v1/configs/al-basic/aliases/production');
    expect(created.headers.etag).toBe('"1"');
    expect(created.json()).toMatchObject({
      name: 'al-basic',
      alias: 'production',
      version: 2,
      protected: false,
      moves: 1,
      updatedBy: 'ci-writer',
    });

    const got = await call('GET', '/v1/configs/al-basic/aliases/production');
    expect(got.statusCode).toBe(200);
    expect(got.headers.etag).toBe('"1"');
    expect(got.json()).toEqual(created.json());
    expect((await call('GET', '/v1/configs/al-basic/aliases/production', undefined, { ...writer, 'if-none-match': '"1"' })).statusCode).toBe(304);

    const same = await call('PUT', '/v1/configs/al-basic/aliases/production', { version: 2 });
    expect(same.statusCode).toBe(200);
    expect(same.headers.etag).toBe('"1"');
    expect(same.json()).toEqual(created.json());
  });

  it('moves with If-Match on moves: a stale ETag is a 412 and changes nothing; If-None-Match: * creates only', async () => {
    await configWith('al-cas', 3);
    await call('PUT', '/v1/configs/al-cas/aliases/staging', { version: 1 });
    const moved = await call('PUT', '/v1/configs/al-cas/aliases/staging', { version: 3 }, { ...writer, 'if-match': '"1"' });
    expect(moved.statusCode, moved.body).toBe(200);
    expect(moved.headers.etag).toBe('"2"');
    expect(moved.json()).toMatchObject({ version: 3, moves: 2 });

    const stale = await call('PUT', '/v1/configs/al-cas/aliases/staging', { version: 2 }, { ...writer, 'if-match': '"1"' });
    expect(stale.statusCode).toBe(412);
    expect(stale.json().detail).toContain('"2"');
    expect((await call('GET', '/v1/configs/al-cas/aliases/staging')).json().version).toBe(3);

    expect((await call('PUT', '/v1/configs/al-cas/aliases/staging', { version: 2 }, { ...writer, 'if-none-match': '*' })).statusCode).toBe(412);
    expect((await call('PUT', '/v1/configs/al-cas/aliases/fresh', { version: 2 }, { ...writer, 'if-match': '"1"' })).statusCode).toBe(412);
    expect((await call('PUT', '/v1/configs/al-cas/aliases/fresh', { version: 2 }, { ...writer, 'if-none-match': '*' })).statusCode).toBe(201);
    const listed = await call('GET', '/v1/configs/al-cas/aliases');
    expect(listed.json().items.map((a: { alias: string; version: number }) => [a.alias, a.version])).toEqual([
      ['fresh', 2],
      ['staging', 3],
    ]);
  });

  it('refuses what is not an alias write: an unknown version (422 /version), latest, bad names, no config', async () => {
    await configWith('al-bad', 2);
    const missing = await call('PUT', '/v1/configs/al-bad/aliases/production', { version: 3 });
    expect(missing.statusCode).toBe(422);
    expect(missing.json().errors).toEqual([{ pointer: '/version', detail: expect.stringContaining('1 to 2') }]);
    const latest = await call('PUT', '/v1/configs/al-bad/aliases/latest', { version: 1 });
    expect(latest.statusCode).toBe(422);
    expect(latest.json().errors).toEqual([{ parameter: 'alias', detail: expect.any(String) }]);
    expect((await call('DELETE', '/v1/configs/al-bad/aliases/latest')).statusCode).toBe(422);
    for (const bad of ['Production', '1st', 'a'.repeat(64), 'pro%20d', 'x.y']) {
      const res = await call('PUT', `/v1/configs/al-bad/aliases/${bad}`, { version: 1 });
      expect(res.statusCode, bad).toBe(422);
      expect(res.json().errors[0].parameter, bad).toBe('alias');
    }
    for (const body of [{ version: 0 }, { version: '1' }, { version: 1, protected: 'yes' }, { version: 1, extra: true }, {}]) {
      expect((await call('PUT', '/v1/configs/al-bad/aliases/production', body)).statusCode, JSON.stringify(body)).toBe(422);
    }
    expect((await call('PUT', '/v1/configs/al-nothing/aliases/production', { version: 1 })).statusCode).toBe(404);
    expect((await call('GET', '/v1/configs/al-bad/aliases/production')).statusCode).toBe(404);
    expect((await call('GET', '/v1/configs/al-bad/aliases')).json()).toEqual({ items: [] });
    // Nothing above made an alias or an event.
    expect(story(await readFeed(svc.app, 0, { headers: writer }), 'al-bad').filter((e) => e.startsWith('alias'))).toEqual([]);
  });

  it('answers getConfig, /dict and /python by alias with Content-Location and the version as ETag', async () => {
    await configWith('al-read', 3);
    await call('PUT', '/v1/configs/al-read/aliases/production', { version: 2 });
    const byAlias = await call('GET', '/v1/configs/al-read?alias=production');
    expect(byAlias.statusCode, byAlias.body).toBe(200);
    expect(byAlias.headers.etag).toBe('"2"');
    expect(byAlias.headers['content-location']).toBe('/v1/configs/al-read/versions/2');
    expect(byAlias.json()).toMatchObject({ name: 'al-read', version: 2, config: { preserved_attributes: ['a2'] } });
    expect((await call('GET', '/v1/configs/al-read?alias=production', undefined, { ...writer, 'if-none-match': '"2"' })).statusCode).toBe(304);
    // Without an alias: the latest, and no Content-Location.
    const latest = await call('GET', '/v1/configs/al-read');
    expect(latest.headers.etag).toBe('"3"');
    expect(latest.headers['content-location']).toBeUndefined();
    const reserved = await call('GET', '/v1/configs/al-read?alias=latest');
    expect(reserved.json().version).toBe(3);
    expect(reserved.headers['content-location']).toBe('/v1/configs/al-read/versions/3');

    const dict = await call('GET', '/v1/configs/al-read/dict?alias=production');
    expect(dict.body).toBe('{"preserved_attributes":["a2"]}');
    expect(dict.headers.etag).toBe('"2"');
    expect(dict.headers['content-location']).toBe('/v1/configs/al-read/dict?version=2');
    const python = await call('GET', '/v1/configs/al-read/python?alias=production');
    expect(python.statusCode).toBe(200);
    expect(python.body).toContain("'a2'");
    expect(python.headers.etag).toBe('"2"');
    expect(python.headers['content-location']).toBe('/v1/configs/al-read/python?version=2');

    const unknown = await call('GET', '/v1/configs/al-read?alias=staging');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().detail).toContain("'staging'");
    for (const url of ['/v1/configs/al-read/dict?alias=production&version=1', '/v1/configs/al-read/python?version=1&alias=production']) {
      const both = await call('GET', url);
      expect(both.statusCode, url).toBe(422);
      expect(both.json().errors).toEqual([{ parameter: 'alias', detail: expect.stringContaining('version') }]);
    }
    expect((await call('GET', '/v1/configs/al-read?alias=Bad')).statusCode).toBe(422);
  });

  it('never moves on a new version or a rollback', async () => {
    await configWith('al-stay', 2);
    await call('PUT', '/v1/configs/al-stay/aliases/production', { version: 2 });
    await call('PUT', '/v1/configs/al-stay', { config: { preserved_attributes: ['a3'] } });
    const rollback = await call('POST', '/v1/configs/al-stay/versions/1/rollback');
    expect(rollback.json().version).toBe(4);
    expect((await call('GET', '/v1/configs/al-stay/aliases/production')).json()).toMatchObject({ version: 2, moves: 1 });
    expect((await call('GET', '/v1/configs/al-stay?alias=production')).json().version).toBe(2);
  });

  it('keeps every move in the history, deletion included, and a re-created alias counts on', async () => {
    await configWith('al-hist', 3);
    await call('PUT', '/v1/configs/al-hist/aliases/production', { version: 1 });
    await call('PUT', '/v1/configs/al-hist/aliases/production', { version: 2 });
    expect((await call('DELETE', '/v1/configs/al-hist/aliases/production', undefined, { ...writer, 'if-match': '"1"' })).statusCode).toBe(412);
    expect((await call('DELETE', '/v1/configs/al-hist/aliases/production', undefined, { ...writer, 'if-match': '"2"' })).statusCode).toBe(204);
    expect((await call('GET', '/v1/configs/al-hist/aliases/production')).statusCode).toBe(404);
    expect((await call('DELETE', '/v1/configs/al-hist/aliases/production')).statusCode).toBe(404);
    expect((await call('GET', '/v1/configs/al-hist?alias=production')).statusCode).toBe(404);

    const history = await call('GET', '/v1/configs/al-hist/aliases/production/history');
    expect(history.statusCode).toBe(200);
    expect(history.json().items.map((m: { version: number | null; previousVersion: number | null; moves: number }) => [m.version, m.previousVersion, m.moves])).toEqual([
      [null, 2, 2],
      [2, 1, 2],
      [1, null, 1],
    ]);
    expect(history.json().items[0]).toMatchObject({ movedBy: 'ci-writer', protected: false });

    // Set again: an ETag from before the deletion ("1") must not match the new alias.
    const again = await call('PUT', '/v1/configs/al-hist/aliases/production', { version: 3 });
    expect(again.statusCode).toBe(201);
    expect(again.headers.etag).toBe('"3"');

    const first = await call('GET', '/v1/configs/al-hist/aliases/production/history?pageSize=2');
    expect(first.json().items.map((m: { version: number | null }) => m.version)).toEqual([3, null]);
    const rest = await call('GET', `/v1/configs/al-hist/aliases/production/history?pageSize=2&pageToken=${first.json().nextPageToken}`);
    expect(rest.json().items.map((m: { version: number | null }) => m.version)).toEqual([2, 1]);
    expect(rest.json().nextPageToken).toBeUndefined();
    expect((await call('GET', '/v1/configs/al-hist/aliases/never/history')).statusCode).toBe(404);
    expect((await call('GET', '/v1/configs/al-hist/aliases/production/history?pageToken=tampered.x')).statusCode).toBe(400);

    expect(story(await readFeed(svc.app, 0, { headers: writer }), 'al-hist').filter((e) => e.startsWith('alias'))).toEqual([
      'alias.set production v1',
      'alias.set production v2',
      'alias.deleted production',
      'alias.set production v3',
    ]);
  });

  it('hides aliases with a soft-deleted config, brings them back on undelete, and a purge erases them and their history', async () => {
    await configWith('al-life', 2);
    await call('PUT', '/v1/configs/al-life/aliases/production', { version: 1 });
    await call('DELETE', '/v1/configs/al-life');
    for (const url of ['/v1/configs/al-life/aliases', '/v1/configs/al-life/aliases/production', '/v1/configs/al-life/aliases/production/history', '/v1/configs/al-life?alias=production']) {
      expect((await call('GET', url)).statusCode, url).toBe(404);
    }
    expect((await call('PUT', '/v1/configs/al-life/aliases/production', { version: 2 })).statusCode).toBe(404);
    expect((await call('DELETE', '/v1/configs/al-life/aliases/production')).statusCode).toBe(404);
    await call('POST', '/v1/configs/al-life/undelete');
    expect((await call('GET', '/v1/configs/al-life/aliases/production')).json()).toMatchObject({ version: 1, moves: 1 });

    expect((await call('DELETE', '/v1/configs/al-life?purge=true', undefined, admin)).statusCode).toBe(204);
    await configWith('al-life', 1);
    expect((await call('GET', '/v1/configs/al-life/aliases/production')).statusCode).toBe(404);
    expect((await call('GET', '/v1/configs/al-life/aliases/production/history')).statusCode).toBe(404);
    // A new life starts at "1" again: nothing of the purged config's aliases is left to count on.
    expect((await call('PUT', '/v1/configs/al-life/aliases/production', { version: 1 })).headers.etag).toBe('"1"');
  });

  it('holds at most 32 aliases per config: the 33rd is a 409 and stores nothing', async () => {
    await configWith('al-many', 1);
    for (let i = 0; i < 32; i++) {
      expect((await call('PUT', `/v1/configs/al-many/aliases/a${String(i).padStart(2, '0')}`, { version: 1 })).statusCode).toBe(201);
    }
    const over = await call('PUT', '/v1/configs/al-many/aliases/one-more', { version: 1 });
    expect(over.statusCode).toBe(409);
    expect(over.json().detail).toContain('32');
    expect((await call('PUT', '/v1/configs/al-many/aliases/one-more?dryRun=true', { version: 1 })).statusCode).toBe(409);
    expect((await call('GET', '/v1/configs/al-many/aliases')).json().items).toHaveLength(32);
    expect((await call('GET', '/v1/configs/al-many/aliases/one-more/history')).statusCode).toBe(404);
    // Moving one of the 32 is still fine.
    expect((await call('PUT', '/v1/configs/al-many/aliases/a00', { version: 1, protected: false })).statusCode).toBe(200);
  });

  it('lets only admins set, move or delete a protected alias, or change protected', async () => {
    await configWith('al-prot', 3);
    const refused = await call('PUT', '/v1/configs/al-prot/aliases/production', { version: 1, protected: true });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().detail).toContain('admin');
    const created = await call('PUT', '/v1/configs/al-prot/aliases/production', { version: 1, protected: true }, admin);
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({ protected: true, updatedBy: 'admin' });

    expect((await call('PUT', '/v1/configs/al-prot/aliases/production', { version: 2 })).statusCode).toBe(403);
    expect((await call('PUT', '/v1/configs/al-prot/aliases/production', { version: 1 })).statusCode).toBe(403);
    expect((await call('PUT', '/v1/configs/al-prot/aliases/production', { version: 1, protected: false })).statusCode).toBe(403);
    expect((await call('DELETE', '/v1/configs/al-prot/aliases/production')).statusCode).toBe(403);
    // 403 comes before the precondition: a writer learns it may not, whatever its ETag.
    expect((await call('PUT', '/v1/configs/al-prot/aliases/production', { version: 2 }, { ...writer, 'if-match': '"9"' })).statusCode).toBe(403);
    expect((await call('GET', '/v1/configs/al-prot/aliases/production')).json()).toMatchObject({ version: 1, moves: 1 });

    // An admin moves it without restating protected: it stays protected.
    const moved = await call('PUT', '/v1/configs/al-prot/aliases/production', { version: 2 }, admin);
    expect(moved.json()).toMatchObject({ version: 2, protected: true, moves: 2 });
    // Changing only protected is a move too (the ETag changes, a 412 protects it).
    const opened = await call('PUT', '/v1/configs/al-prot/aliases/production', { version: 2, protected: false }, { ...admin, 'if-match': '"2"' });
    expect(opened.json()).toMatchObject({ version: 2, protected: false, moves: 3 });
    expect((await call('PUT', '/v1/configs/al-prot/aliases/production', { version: 3 })).statusCode).toBe(200);

    const reader = await inject({ method: 'POST', url: '/v1/tokens', headers: admin, payload: { name: 'al-reader', role: 'reader' } });
    const asReader = { authorization: `Bearer ${reader.json().token}` };
    expect((await call('PUT', '/v1/configs/al-prot/aliases/production', { version: 1 }, asReader)).statusCode).toBe(403);
    expect((await call('GET', '/v1/configs/al-prot/aliases/production', undefined, asReader)).statusCode).toBe(200);
  });
});
