// Racing alias moves over real sockets: each round, ALIAS_RACERS (200) clients read the alias's
// ETag and all move it at once with that If-Match, each to a version of its own. Exactly one wins
// per round, every other one gets 412, and the alias, its history and the feed each show exactly
// the winners. The racers are spread over two replica processes on one database (SQLite: two
// processes on one file), so that the store's compare-and-set decides, not only the check before
// it: within one process, SQLite's synchronous driver runs a whole short request before the next.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, createTestDatabase, type TestDatabase } from '../support/databases.js';
import { call, listAll } from '../support/http-client.js';
import { startServer, type ServerProcess } from '../support/server-process.js';
import { aliasRacers, aliasRounds, recordCount } from './settings.js';

const RACERS = aliasRacers();
const ROUNDS = aliasRounds();
const VERSIONS = 20;

describe.each(BACKENDS)('alias races on %s', (kind) => {
  const servers: Array<ServerProcess & { baseUrl: string }> = [];
  let database: TestDatabase | undefined;
  let bases: string[];

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    // One starts (and migrates) first, so the second finds the schema ready.
    for (let i = 0; i < 2; i++) servers.push(await startServer({ DATABASE_URL: database.url }));
    bases = servers.map((s) => s.baseUrl);
    for (let v = 1; v <= VERSIONS; v++) {
      const res = await call(bases[0]!, 'PUT', '/v1/configs/raced', { body: { config: { preserved_attributes: [`v${v}`] } } });
      expect(res.status, res.text).toBe(v === 1 ? 201 : 200);
    }
    expect((await call(bases[0]!, 'PUT', '/v1/configs/raced/aliases/production', { body: { version: 1 } })).status).toBe(201);
  }, 120_000);
  afterAll(async () => {
    for (const server of servers) await server.stop('SIGTERM');
    await database?.drop();
  });

  it(
    `${RACERS} movers with If-Match per round, ${ROUNDS} rounds: one winner each, the rest 412, nothing else moved`,
    async () => {
      const winners: Array<{ version: number; moves: number }> = [];
      let losers = 0;
      for (let round = 0; round < ROUNDS; round++) {
        // Every racer reads first, over the connection it will write on: the moves then arrive
        // together on open connections instead of one by one as sockets get connected.
        const reads = await Promise.all(
          Array.from({ length: RACERS }, (_, racer) => call(bases[racer % bases.length]!, 'GET', '/v1/configs/raced/aliases/production')),
        );
        const current = reads[0]!;
        const etag = current.headers.get('etag')!;
        expect(new Set(reads.map((r) => r.headers.get('etag')))).toEqual(new Set([etag]));
        const results = await Promise.all(
          Array.from({ length: RACERS }, async (_, racer) => {
            // Never the version it names now, so that every winner is a move.
            const version = ((current.json.version + (racer % (VERSIONS - 1))) % VERSIONS) + 1;
            const res = await call(bases[racer % bases.length]!, 'PUT', '/v1/configs/raced/aliases/production', {
              body: { version },
              headers: { 'if-match': etag },
            });
            return { status: res.status, version, body: res.json, etag: res.headers.get('etag') };
          }),
        );
        const won = results.filter((r) => r.status === 200);
        expect(won, `round ${round}: ${JSON.stringify(results.filter((r) => r.status !== 412).slice(0, 3))}`).toHaveLength(1);
        expect(results.filter((r) => r.status !== 200 && r.status !== 412), `round ${round}`).toEqual([]);
        losers += results.length - 1;
        const winner = won[0]!;
        expect(winner.body).toMatchObject({ version: winner.version, moves: current.json.moves + 1 });
        expect(winner.etag).toBe(`"${current.json.moves + 1}"`);
        winners.push({ version: winner.version, moves: winner.body.moves });
      }
      recordCount(`alias-race.${kind}`, { rounds: ROUNDS, racers: RACERS, losers });

      const now = await call(bases[0]!, 'GET', '/v1/configs/raced/aliases/production');
      expect(now.json).toMatchObject({ version: winners.at(-1)!.version, moves: ROUNDS + 1 });
      const history = await listAll<{ version: number; moves: number }>(bases[0]!, '/v1/configs/raced/aliases/production/history');
      expect(history.map((m) => [m.version, m.moves])).toEqual([...winners.map((w) => [w.version, w.moves])].reverse().concat([[1, 1]]));
      const feed = await call(bases[0]!, 'GET', '/v1/events?type=alias.set&limit=1000');
      expect(feed.json.items.map((e: { version: number }) => e.version)).toEqual([1, ...winners.map((w) => w.version)]);
    },
    180_000,
  );
});
