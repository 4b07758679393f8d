// The change feed under concurrent writers on two real replica processes sharing one database
// (SQLite: two processes on one file; PostgreSQL: two on one database). While 40 writers run, a
// follower reads the feed the way a consumer does (after=lastRevision, from either replica); if a
// revision ever became visible before a smaller one, the follower would step over the smaller one
// and miss it. Afterwards: revisions are exactly 1..N, the follower saw every one of them once, each
// config's versions appear in version order, and every acknowledged write has exactly its event.
//
// FEED_WRITERS (40; 80 under SOAK=1) writers, FEED_WRITES (5; 25) writes each.
import { afterAll, describe, expect, it } from 'vitest';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { openDumper } from '../support/db-dump.js';
import { feedViolations, storedFeed, type FeedEvent } from '../support/feed.js';
import { call } from '../support/http-client.js';
import { startServer, type ServerProcess } from '../support/server-process.js';
import { feedWriters, feedWrites } from './settings.js';

const WRITERS = feedWriters();
const WRITES = feedWrites();

/** Reads the feed page by page from `bases` in turn, until told to stop and caught up. */
async function follow(bases: string[], stopped: () => boolean): Promise<{ events: FeedEvent[]; polls: number }> {
  const events: FeedEvent[] = [];
  let after = 0;
  let polls = 0;
  for (let caughtUpAfterStop = false; !caughtUpAfterStop; ) {
    const wasStopped = stopped();
    const base = bases[polls++ % bases.length]!;
    const res = await call(base, 'GET', `/v1/events?after=${after}&limit=50`);
    expect(res.status, res.text).toBe(200);
    events.push(...(res.json.items as FeedEvent[]));
    after = res.json.lastRevision;
    if (res.json.items.length === 0) {
      if (wasStopped) caughtUpAfterStop = true;
      else await new Promise((r) => setTimeout(r, 5));
    }
  }
  return { events, polls };
}

describe.each(BACKENDS)('the feed under 40 writers on two replicas, %s', (kind) => {
  const servers: ServerProcess[] = [];
  let database: TestDatabase | undefined;
  afterAll(async () => {
    for (const server of servers) await server.stop('SIGTERM');
    await database?.drop();
  });

  it(
    `is gap-free and in commit order: ${WRITERS} writers x ${WRITES} writes, a follower misses nothing`,
    async () => {
      database = await createTestDatabase(kind);
      const env = { DATABASE_URL: database.url };
      // One starts (and migrates) first, so the second finds the schema ready.
      const first = await startServer(env);
      servers.push(first);
      const second = await startServer(env);
      servers.push(second);
      const bases = [first.baseUrl, second.baseUrl];

      let stop = false;
      const follower = follow(bases, () => stop);
      const acks: Array<{ name: string; version: number }> = [];
      const aliasAcks: Array<{ name: string; alias: string; version: number }> = [];
      await Promise.all(
        Array.from({ length: WRITERS }, async (_, writer) => {
          const base = bases[writer % 2]!;
          // Half write their own config, half share four, so that both kinds of contention occur.
          const name = writer % 2 === 0 ? `own-${writer}` : `shared-${writer % 4}`;
          for (let i = 0; i < WRITES; i++) {
            const res = await call(base, 'PUT', `/v1/configs/${name}`, {
              body: { config: { preserved_attributes: [`w${writer}_${i}`] } },
            });
            expect([200, 201], res.text).toContain(res.status);
            acks.push({ name, version: res.json.version });
            if (i === WRITES - 1 && writer % 5 === 0) {
              const alias = await call(base, 'PUT', `/v1/configs/${name}/aliases/w${writer}`, { body: { version: 1 } });
              expect(alias.status, alias.text).toBe(201);
              aliasAcks.push({ name, alias: `w${writer}`, version: 1 });
            }
          }
        }),
      );
      stop = true;
      const followed = await follower;

      const dumper = await openDumper(database.url);
      try {
        const stored = await storedFeed(dumper);
        expect(feedViolations(stored)).toEqual([]);
        expect(stored.counter).toBe(acks.length + aliasAcks.length);
        // The follower, reading while commits landed on both replicas, saw every revision once.
        expect(followed.events.map((e) => e.revision)).toEqual(stored.events.map((e) => e.revision));

        // Every acknowledged write has exactly its event, and no event is without its write.
        const key = (e: { name?: string; version?: number; alias?: string }) => `${e.name} ${e.alias ?? ''} ${e.version}`;
        const expected = [...acks.map((a) => key(a)), ...aliasAcks.map((a) => key(a))].sort();
        expect(stored.events.map(key).sort()).toEqual(expected);

        // Each config's versions were committed, and numbered, in version order.
        const lastVersion = new Map<string, number>();
        for (const event of stored.events.filter((e) => e.type === 'config.version_created')) {
          expect(event.version, `${event.name} at revision ${event.revision}`).toBe((lastVersion.get(event.name!) ?? 0) + 1);
          lastVersion.set(event.name!, event.version!);
        }
        console.log(`feed order on ${kind}: ${stored.counter} revisions, follower polled ${followed.polls} times`);
      } finally {
        await dumper.close();
      }
    },
    240_000,
  );
});
