// Group commit (src/store/group-commit.ts, version-appends.ts): new versions of different configs
// that arrive together commit in one transaction, and each keeps its own outcome: a write refused
// before the group (a stale If-Match, an invalid config) or inside it (a lost compare-and-set, a
// class gone since validation) fails alone, and the others commit with consecutive versions and
// consecutive revisions in the feed. On both databases, through the real service and its store.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { AppendOutcome, AppendVersion } from '../../src/registry/store.js';
import { openDatabase } from '../../src/store/database.js';
import { PrismaRegistryStore } from '../../src/store/prisma-registry-store.js';
import { CONFIG_WRITE_LOCK } from '../../src/store/version-appends.js';
import { registerClasses, startService, type TestService } from '../support/app.js';
import { BACKENDS } from '../support/databases.js';
import { feedRevision, readFeed } from '../support/feed.js';

const OBSERVED = 'grp.observed.Linear';
const QUANTIZED = 'grp.quantized.Linear';

function document(attribute: string, classes = true) {
  return {
    config: {
      ...(classes ? { observed_to_quantized_custom_module_class: { static: { [OBSERVED]: QUANTIZED } } } : {}),
      preserved_attributes: [attribute],
    },
    labels: { team: 'grp' },
  };
}

/** The metrics' count of groups so far (registry_version_groups_total). */
async function groups(svc: TestService): Promise<number> {
  const res = await svc.app.inject({ method: 'GET', url: '/metrics' });
  return Number(/^registry_version_groups_total (\d+)$/m.exec(res.body)?.[1]);
}

/** The feed after `before`: each event as [revision, name, version]. */
async function feedAfter(svc: TestService, before: number): Promise<Array<[number, string | undefined, number | undefined]>> {
  return (await readFeed(svc.app, before)).map((e) => [e.revision, e.name, e.version]);
}

/** `changes` ([name, version]) as committed one after another right after revision `before`. */
function consecutive(before: number, changes: Array<[string, number]>): Array<[number, string, number]> {
  return changes.map(([name, version], i) => [before + 1 + i, name, version]);
}

/** An append as ConfigsService makes it, of `name` after `expectedLatest`. */
function append(name: string, expectedLatest: number, classRefs: AppendVersion['classRefs'] = []): AppendVersion {
  const configJson = JSON.stringify({ preserved_attributes: [`${name}-${expectedLatest + 1}`] });
  return {
    expectedLatest,
    version: {
      name,
      version: expectedLatest + 1,
      configJson,
      description: 'grouped',
      labels: {},
      contentHash: `sha256:${name}-${expectedLatest + 1}`,
      createdAt: new Date(),
      updatedBy: 'group-test',
    },
    classRefs,
    changed: { labels: expectedLatest === 0, classRefs: classRefs.length > 0 || expectedLatest === 0 },
  };
}

/** Backends of this database waiting for a lock (the racing groups, see below). */
const WAITING_FOR_A_LOCK =
  "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'";

describe.each(BACKENDS)('group commit on %s', (kind) => {
  let svc: TestService;

  const put = (name: string, body: unknown, headers: Record<string, string> = {}) =>
    svc.app.inject({ method: 'PUT', url: `/v1/configs/${name}`, headers, payload: body as Record<string, unknown> });
  const latest = async (name: string) => {
    const res = await svc.app.inject({ method: 'GET', url: `/v1/configs/${name}` });
    return res.statusCode === 200 ? (res.json() as { version: number; config: { preserved_attributes: string[] } }) : null;
  };

  beforeAll(async () => {
    svc = await startService(kind);
    await registerClasses(svc.app, [{ id: OBSERVED }, { id: QUANTIZED, fromObserved: true }]);
  });
  afterAll(async () => svc?.close());

  it('commits concurrent writes together; a stale If-Match and an invalid config fail alone', async () => {
    for (let i = 0; i < 10; i++) expect((await put(`http-${i}`, document('v1'))).statusCode).toBe(201);
    const before = await feedRevision(svc.app);
    const groupsBefore = await groups(svc);

    const replies = await Promise.all([
      ...Array.from({ length: 8 }, (_, i) => put(`http-${i}`, document('v2'))),
      // Current is version 1: refused before it reaches the group.
      put('http-8', document('v2'), { 'if-match': '"7"' }),
      put('http-9', { config: { observed_to_quantized_custom_module_class: { static: { [OBSERVED]: 'grp.quantized.Missing' } } } }),
    ]);

    expect(replies.map((r) => r.statusCode)).toEqual([...Array(8).fill(200), 412, 422]);
    expect(replies[8]!.headers['content-type']).toContain('application/problem+json');
    expect(replies[9]!.json()).toMatchObject({ status: 422, errors: [{ pointer: '/config/observed_to_quantized_custom_module_class/static/grp.observed.Linear' }] });
    // Eight writes, fewer transactions: they were grouped.
    const grouped = (await groups(svc)) - groupsBefore;
    expect(grouped).toBeGreaterThanOrEqual(1);
    expect(grouped).toBeLessThan(8);

    for (let i = 0; i < 8; i++) expect(await latest(`http-${i}`)).toMatchObject({ version: 2, config: { preserved_attributes: ['v2'] } });
    expect(await latest('http-8')).toMatchObject({ version: 1, config: { preserved_attributes: ['v1'] } });
    expect(await latest('http-9')).toMatchObject({ version: 1 });

    // One event each for the eight, at consecutive revisions right after the feed's last, nothing for the two.
    const events = await readFeed(svc.app, before);
    expect(events.map((e) => e.revision)).toEqual(Array.from({ length: 8 }, (_, i) => before + 1 + i));
    expect(events.map((e) => `${e.type} ${e.name} ${e.version}`).sort()).toEqual(
      Array.from({ length: 8 }, (_, i) => `config.version_created http-${i} 2`),
    );
  });

  it('in one group, a lost compare-and-set, a taken name and a vanished class each fail alone', async () => {
    for (const name of ['store-a', 'store-b', 'store-c', 'store-d', 'store-e']) {
      expect((await put(name, document('v1', false))).statusCode).toBe(201);
    }
    const before = await feedRevision(svc.app);
    // The service's store class on a connection of its own (as another replica's): its group
    // queue is this test's alone, and the service sees its commits as another process's.
    const database = await openDatabase(svc.url);
    onTestFinished(() => database.close());
    const store = new PrismaRegistryStore(database);

    const submitted: Array<Promise<AppendOutcome>> = [
      store.appendVersion(append('store-a', 1)),
      // Another writer moved it past 1 first, as a racing If-Match writer on another replica would see.
      store.appendVersion(append('store-b', 3)),
      store.appendVersion(append('store-c', 1)),
      // Validated while the class was there; by the commit it is gone.
      store.appendVersion(append('store-d', 1, [{ classId: 'grp.vanished.Linear', asQuantized: false }])),
      store.appendVersion(append('store-e', 1)),
      store.appendVersion(append('store-new', 0)),
      // A create of a name that exists.
      store.appendVersion(append('store-a', 0)),
    ];
    const outcomes = await Promise.all(submitted);

    expect(store.appendGroups()).toEqual({ groups: 1, appends: 7 });
    expect(outcomes.map((o) => (o.ok ? `ok ${o.head.latestVersion}` : o.reason))).toEqual([
      'ok 2',
      'conflict',
      'ok 2',
      'missing-class',
      'ok 2',
      'ok 1',
      'conflict',
    ]);
    // Nothing of the refused ones was kept: their heads and latest versions are as they were.
    for (const [name, version] of [['store-a', 2], ['store-b', 1], ['store-c', 2], ['store-d', 1], ['store-e', 2], ['store-new', 1]] as const) {
      expect(await latest(name), name).toMatchObject({ version });
    }
    const versions = await svc.app.inject({ method: 'GET', url: '/v1/configs/store-d/versions' });
    expect((versions.json() as { items: unknown[] }).items).toHaveLength(1);
    // The four that committed, at consecutive revisions, in the order their heads were locked (by name).
    expect(await feedAfter(svc, before)).toEqual(
      consecutive(before, [
        ['store-a', 2],
        ['store-c', 2],
        ['store-e', 2],
        ['store-new', 1],
      ]),
    );
  });

  it('with every name once (PostgreSQL moves them in one statement), a lost compare-and-set and a taken name fail alone', async () => {
    for (const name of ['batch-a', 'batch-b', 'batch-c', 'batch-taken']) {
      expect((await put(name, document('v1', false))).statusCode).toBe(201);
    }
    const before = await feedRevision(svc.app);
    const database = await openDatabase(svc.url);
    onTestFinished(() => database.close());
    const store = new PrismaRegistryStore(database);

    const appends = [
      append('batch-c', 1),
      append('batch-b', 4), // lost: batch-b is at 1
      append('batch-new-2', 0),
      append('batch-a', 1),
      append('batch-taken', 0), // a create of a name that exists
      append('batch-new-1', 0),
    ];
    const outcomes = await Promise.all(appends.map((a) => store.appendVersion(a)));

    expect(store.appendGroups()).toEqual({ groups: 1, appends: 6 });
    expect(outcomes.map((o) => (o.ok ? `ok ${o.head.name} ${o.head.latestVersion}` : o.reason))).toEqual([
      'ok batch-c 2',
      'conflict',
      'ok batch-new-2 1',
      'ok batch-a 2',
      'conflict',
      'ok batch-new-1 1',
    ]);
    // Each head moved at its own version's time, to the millisecond, and a new head was created then.
    outcomes.forEach((outcome, i) => {
      if (!outcome.ok) return;
      expect(outcome.head.updatedAt.toISOString()).toBe(appends[i]!.version.createdAt.toISOString());
      if (appends[i]!.expectedLatest === 0) expect(outcome.head.createdAt.toISOString()).toBe(appends[i]!.version.createdAt.toISOString());
      else expect(outcome.head.createdAt.getTime()).toBeLessThan(appends[i]!.version.createdAt.getTime() + 1);
    });
    for (const [name, version] of [['batch-a', 2], ['batch-b', 1], ['batch-c', 2], ['batch-taken', 1], ['batch-new-1', 1], ['batch-new-2', 1]] as const) {
      expect(await latest(name), name).toMatchObject({ version });
    }
    const head = await svc.app.inject({ method: 'GET', url: '/v1/configs/batch-a' });
    expect(new Date(String((head.json() as { updatedAt: string }).updatedAt)).toISOString()).toBe(appends[3]!.version.createdAt.toISOString());
    expect(await feedAfter(svc, before)).toEqual(
      consecutive(before, [
        ['batch-a', 2],
        ['batch-c', 2],
        ['batch-new-1', 1],
        ['batch-new-2', 1],
      ]),
    );
  });

  it.runIf(kind === 'postgresql')(
    "two replicas' groups under way at once over the same names, creates and moves mixed: one winner per name, no deadlock reported",
    async () => {
      const [a, b] = await Promise.all([openDatabase(svc.url), openDatabase(svc.url)]);
      onTestFinished(() => Promise.all([a.close(), b.close()]).then(() => undefined));
      const stores = [new PrismaRegistryStore(a), new PrismaRegistryStore(b)];
      const stats = new pg.Client({ connectionString: svc.url });
      await stats.connect();
      onTestFinished(() => stats.end());
      const deadlocks = async () =>
        Number((await stats.query('SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()')).rows[0].deadlocks);
      const deadlocksBefore = await deadlocks();

      for (let round = 0; round < 15; round++) {
        const existing = Array.from({ length: 6 }, (_, i) => `race-${round}-old-${i}`);
        for (const name of existing) expect((await put(name, document('v1', false))).statusCode).toBe(201);
        // Round by round: both create the same new names; only moves; each creates its own.
        const shared = round % 3 === 0 ? Array.from({ length: 6 }, (_, i) => `race-${round}-new-${i}`) : [];
        const own = (replica: number) => (round % 3 === 2 ? Array.from({ length: 3 }, (_, i) => `race-${round}-r${replica}-${i}`) : []);
        // Each replica a group of all its names, in its own order (the groups sort them).
        const group = (replica: number) => {
          const names = [...existing, ...shared, ...own(replica)];
          if (replica === 1) names.reverse();
          return names.map((name) => append(name, existing.includes(name) ? 1 : 0));
        };
        // A third connection holds the first config's row, so that both groups are under way at
        // once: both wait (for it, or one for the other's insert of a shared name) before it lets go.
        await stats.query('BEGIN');
        await stats.query('SELECT name FROM config WHERE name = $1 FOR UPDATE', [existing[0]]);
        const racing = Promise.all(stores.map((store, i) => Promise.all(group(i).map((x) => store.appendVersion(x)))));
        await expect
          .poll(async () => Number((await stats.query(WAITING_FOR_A_LOCK)).rows[0].n), { timeout: 5000, interval: 20 })
          .toBeGreaterThanOrEqual(2);
        await stats.query('COMMIT');
        const [first, second] = await racing;
        // Per shared name, exactly one of the two replicas' appends won; each replica's own names all did.
        const won = new Map<string, number>();
        for (const outcome of [...first!, ...second!]) {
          expect(outcome.ok || outcome.reason === 'conflict', JSON.stringify(outcome)).toBe(true);
          if (outcome.ok) won.set(outcome.head.name, (won.get(outcome.head.name) ?? 0) + 1);
        }
        expect([...won.keys()].sort()).toEqual([...existing, ...shared, ...own(0), ...own(1)].sort());
        expect([...won.values()].every((n) => n === 1)).toBe(true);
        for (const name of existing) expect(await latest(name), name).toMatchObject({ version: 2 });
        for (const name of [...shared, ...own(0), ...own(1)]) expect(await latest(name), name).toMatchObject({ version: 1 });
      }
      // A deadlock is resolved by PostgreSQL aborting one group, whose appends then run alone and
      // succeed; its counter is what tells (a backend reports it within a second, when idle).
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(await deadlocks()).toBe(deadlocksBefore);
    },
  );

  it.runIf(kind === 'postgresql')(
    'does not hold a group up for a config another replica writes exclusively: that one waits alone',
    async () => {
      for (const name of ['held-a', 'held-b']) expect((await put(name, document('v1', false))).statusCode).toBe(201);
      const database = await openDatabase(svc.url);
      onTestFinished(() => database.close());
      const store = new PrismaRegistryStore(database);
      // What writeExclusively holds on another replica: the config's write lock, exclusively.
      const other = new pg.Client({ connectionString: svc.url });
      await other.connect();
      try {
        await other.query('BEGIN');
        await other.query('SELECT pg_advisory_xact_lock($1::int4, hashtext($2))', [CONFIG_WRITE_LOCK, 'held-a']);
        let heldDone = false;
        const held = store.appendVersion(append('held-a', 1)).then((outcome) => {
          heldDone = true;
          return outcome;
        });
        const free = store.appendVersion(append('held-b', 1));
        expect(await free).toMatchObject({ ok: true, head: { latestVersion: 2 } });
        expect(heldDone).toBe(false);
        await other.query('COMMIT');
        expect(await held).toMatchObject({ ok: true, head: { latestVersion: 2 } });
        expect(store.appendGroups()).toEqual({ groups: 1, appends: 2 });
      } finally {
        await other.end();
      }
    },
  );
});
