// Crashes: the real server process under write load, killed with SIGKILL at random moments
// (once during start-up, then under load), restarted on the same database each time. Every write
// acknowledged with a 2xx before a kill must be there afterwards with exactly the acknowledged
// content, every version history gap-free, the change feed gap-free with exactly one event per stored
// change (none without its change), and on SQLite `PRAGMA integrity_check` ok.
//
// CRASH_KILLS (3; 15 under SOAK=1) kills per backend.
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, BACKENDS, type TestDatabase } from '../support/databases.js';
import { openDumper } from '../support/db-dump.js';
import { acksWithoutEvents, feedStateViolations } from '../support/feed.js';
import { readState, violations } from '../support/registry-invariants.js';
import { spawnServer, startServer, type ServerProcess } from '../support/server-process.js';
import { call } from '../support/http-client.js';
import { missingAcks, startWriteLoad, type Ack } from '../support/write-load.js';
import { crashKills, recordCount } from './settings.js';

const KILLS = crashKills();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(BACKENDS)('SIGKILL under load on %s', (kind) => {
  const started: ServerProcess[] = [];
  let database: TestDatabase | undefined;

  afterAll(async () => {
    // Only the processes this test started, by their own handle.
    for (const server of started) await server.stop('SIGKILL');
    await database?.drop();
  });

  it(
    `survives ${KILLS} kills under load (and one during start-up) without losing an acknowledged write`,
    async () => {
      database = await createTestDatabase(kind);
      const env = { DATABASE_URL: database.url };
      const log: string[] = [];

      // A kill at a random moment of the very first start-up (migrations may be half way).
      const early = spawnServer(env);
      started.push(early);
      const earlyDelay = Math.floor(Math.random() * 600);
      await Promise.race([sleep(earlyDelay), early.exited]);
      await early.stop('SIGKILL');
      log.push(`start-up kill after ${earlyDelay} ms`);

      const acks: Ack[] = [];
      let lost = 0;
      for (let kill = 1; kill <= KILLS; kill++) {
        const server = await startServer(env);
        started.push(server);
        // Whatever was acknowledged before every earlier kill is still there.
        expect(await missingAcks(server.baseUrl, acks), `after kill ${kill - 1}`).toEqual([]);

        // Warm the process up (a cold one answers its first requests slowly), then load it.
        for (let i = 0; i < 3; i++) expect((await call(server.baseUrl, 'GET', '/v1/configs?pageSize=1')).status).toBe(200);
        const load = startWriteLoad(() => server.baseUrl, { clients: 6, tag: `k${kill}` });
        const delay = 300 + Math.floor(Math.random() * 1200);
        await sleep(delay);
        await server.stop('SIGKILL');
        const result = await load.stop();
        acks.push(...result.acks);
        lost += result.lost;
        log.push(`kill ${kill} after ${delay} ms of load: ${result.acks.length} acknowledged, ${result.lost} cut off`);
        expect([...result.statuses.keys()].filter((s) => s >= 500), log.join('\n')).toEqual([]);
        expect(result.acks.length, `kill ${kill} came after some acknowledged writes`).toBeGreaterThan(0);
      }

      const final = await startServer(env);
      started.push(final);
      expect(await missingAcks(final.baseUrl, acks), log.join('\n')).toEqual([]);

      const db = await openDumper(database.url);
      try {
        expect(violations(await readState(db)), log.join('\n')).toEqual([]);
        // The feed: every acknowledged write has its event, and events and stored rows agree.
        expect(await acksWithoutEvents(db, acks), log.join('\n')).toEqual([]);
        expect(await feedStateViolations(db), log.join('\n')).toEqual([]);
        if (kind === 'sqlite') {
          expect(await db.query('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
          expect(await db.query('PRAGMA foreign_key_check')).toEqual([]);
        }
      } finally {
        await db.close();
      }
      await final.stop('SIGTERM');
      recordCount(`crash.${kind}`, { kills: KILLS + 1, acknowledged: acks.length, cutOff: lost });
      console.log(`crash on ${kind}: ${KILLS + 1} kills survived, ${acks.length} acknowledged writes all present, ${lost} cut off\n${log.join('\n')}`);
    },
    120_000 + KILLS * 20_000,
  );
});
