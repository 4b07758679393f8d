// Never stale across replicas: two real service processes on one database, B taking writes and A
// answering reads. A read on A that starts after B acknowledged a write must return that write (or
// a later one), however A keeps its reads (on SQLite the WAL index tells it of B's commits; on
// PostgreSQL one batched probe per turn confirms what it holds, src/store/caching-store.ts).
//
// - FRESHNESS_PAIRS (10,000; 50,000 under SOAK=1) write-on-B then read-on-A pairs on PostgreSQL
//   (a fifth as many on SQLite, whose freshness signal has tests of its own), from 16 configs at
//   once, each read on A finding the previous version in A's memory, while 8 more clients read
//   every config on A all along. On PostgreSQL A reaches the database over a link that delays
//   every packet by 2 ms each way (a network between hosts), so a probe is nearly always out,
//   its snapshot milliseconds old, when a checking read starts: reads that took the answer of a
//   probe sent before they began were stale 10 times in 2,000 pairs (a mutation check);
// - PostgreSQL: FRESHNESS_CUTS (6; 30) cuts of A's connections (refuse, reset, blackhole, through a
//   TCP proxy) between B's writes and A's reads, some reads already on their way when the cut
//   lands: each read returns the new write or a 503 problem, never the old version, and A
//   recovers by itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, createTestDatabase, postgresAvailable, type TestDatabase } from '../support/databases.js';
import { call, type Reply } from '../support/http-client.js';
import { startTcpProxy, type TcpProxy } from '../support/outage-proxy.js';
import { startTcpProxy as startLatencyProxy, type TcpProxy as LatencyProxy } from '../support/tcp-proxy.js';
import { startServer, type ServerProcess } from '../support/server-process.js';
import { freshnessCuts, freshnessPairs, recordCount } from './settings.js';

const PAIRS = freshnessPairs();
const CUTS = freshnessCuts();
const WRITERS = 16;
const READERS = 8;
/** Milliseconds each way between replica A and PostgreSQL in the pairs test. */
const LINK_LATENCY_MS = 2;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Server = ServerProcess & { baseUrl: string };

const body = (attrs: string[]) => ({ config: { preserved_attributes: attrs } });
const versionOf = (reply: Reply) => Number(/^"(\d+)"$/.exec(reply.headers.get('etag') ?? '')?.[1] ?? NaN);

/** A read that must be `version` (or later, whose content the caller cannot know) or, where allowed, a 503 problem. */
interface Check {
  name: string;
  version: number;
  reply: Reply;
}

/** What is wrong with a read after a write of `version` whose attributes were `[tag]`. */
function staleness(check: Check, tag: string, allow503: boolean): string | undefined {
  const { reply } = check;
  if (allow503 && reply.status === 503 && /\/problems\/unavailable$/.test(reply.json?.type ?? '')) return undefined;
  if (reply.status !== 200) return `${check.name}: ${reply.status} ${reply.text.slice(0, 200)}`;
  const seen = versionOf(reply);
  if (seen < check.version) return `${check.name}: version ${seen} read after version ${check.version} was acknowledged`;
  if (seen === check.version && JSON.stringify(reply.json.config.preserved_attributes) !== JSON.stringify([tag])) {
    return `${check.name}: version ${seen} with ${JSON.stringify(reply.json.config.preserved_attributes)}, written as ${tag}`;
  }
  return undefined;
}

async function put(server: Server, name: string, tag: string): Promise<number> {
  const reply = await call(server.baseUrl, 'PUT', `/v1/configs/${name}`, { body: body([tag]) });
  if (reply.status !== 200 && reply.status !== 201) throw new Error(`PUT ${name} on B: ${reply.status} ${reply.text}`);
  return versionOf(reply);
}

const get = (server: Server, name: string, timeoutMs?: number) =>
  call(server.baseUrl, 'GET', `/v1/configs/${name}`, timeoutMs === undefined ? {} : { timeoutMs });

describe.each(BACKENDS)('reads on one replica process after writes on another, on %s', (kind) => {
  const pairsToRun = kind === 'postgresql' ? PAIRS : Math.ceil(PAIRS / 5);
  let database: TestDatabase;
  let link: LatencyProxy | undefined;
  let a: Server;
  let b: Server;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    // B first: it migrates the database, A finds it ready.
    b = await startServer({ DATABASE_URL: database.url });
    let urlOfA = database.url;
    if (kind === 'postgresql') {
      const target = new URL(database.url);
      link = await startLatencyProxy({ host: target.hostname || '127.0.0.1', port: Number(target.port || 5432) }, { latencyMs: LINK_LATENCY_MS });
      target.hostname = '127.0.0.1';
      target.port = String(link.port);
      urlOfA = target.toString();
    }
    a = await startServer({ DATABASE_URL: urlOfA });
  }, 90_000);

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await link?.close();
    await database?.drop();
  });

  it(`${pairsToRun} write-on-B then read-on-A pairs: none stale`, async () => {
    const names = Array.from({ length: WRITERS }, (_, i) => `fresh-${i}`);
    for (const name of names) await put(b, name, 'start');
    let reading = true;
    let backgroundReads = 0;
    const background = Array.from({ length: READERS }, async (_, r) => {
      for (let i = r; reading; i++) {
        const reply = await get(a, names[i % names.length]!);
        if (reply.status !== 200) throw new Error(`background read on A: ${reply.status} ${reply.text}`);
        backgroundReads++;
      }
    });
    const stale: string[] = [];
    let pairs = 0;
    const perWriter = Math.ceil(pairsToRun / WRITERS);
    await Promise.all(
      names.map(async (name, w) => {
        // A holds the current version (each checking read leaves it there), then B moves past it.
        const warm = await get(a, name);
        if (warm.status !== 200) throw new Error(`warming read on A: ${warm.status} ${warm.text}`);
        for (let i = 0; i < perWriter && w * perWriter + i < pairsToRun; i++) {
          const tag = `p${i}`;
          const version = await put(b, name, tag);
          const problem = staleness({ name, version, reply: await get(a, name) }, tag, false);
          if (problem !== undefined) stale.push(problem);
          pairs++;
        }
      }),
    );
    reading = false;
    await Promise.all(background);
    recordCount(`replica-freshness.${kind}`, { pairs, stale: stale.length, backgroundReads });
    console.log(`${kind}: ${pairs} write-then-read pairs across two processes, ${stale.length} stale; ${backgroundReads} reads beside them`);
    expect(stale.slice(0, 20)).toEqual([]);
    expect(pairs).toBe(pairsToRun);
  }, 600_000);
});

describe.runIf(postgresAvailable)("reads on a replica whose database connection is cut between another's write and its read", () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let a: Server;
  let b: Server;
  const counts = { cuts: 0, reads: 0, fresh: 0, unavailable: 0 };

  beforeAll(async () => {
    database = await createTestDatabase('postgresql');
    const target = new URL(database.url);
    proxy = await startTcpProxy({ host: target.hostname || '127.0.0.1', port: Number(target.port || 5432) });
    b = await startServer({ DATABASE_URL: database.url });
    a = await startServer({ DATABASE_URL: proxy.url(database.url) });
  }, 90_000);

  afterAll(async () => {
    recordCount('replica-freshness.cuts', counts);
    await a?.stop('SIGKILL');
    await b?.stop();
    await proxy?.close();
    await database?.drop();
  });

  it(`${CUTS} cuts: every read returns the write acknowledged before it or a 503, never the old version`, async () => {
    const names = Array.from({ length: WRITERS }, (_, i) => `cut-${i}`);
    for (const name of names) await put(b, name, 'start');
    const modes = ['refuse', 'reset', 'blackhole'] as const;
    const problems: string[] = [];
    for (let cut = 0; cut < CUTS; cut++) {
      const mode = modes[cut % modes.length]!;
      // A holds every config; B writes them all.
      for (const name of names) expect((await get(a, name)).status).toBe(200);
      const tag = `c${cut}`;
      const versions = new Map<string, number>();
      for (const name of names) versions.set(name, await put(b, name, tag));
      // Half the reads start before the cut lands (their probe may be out, or not yet), half after.
      const early = names.slice(0, WRITERS / 2).map((name) => get(a, name, 30_000).then((reply) => ({ name, reply })));
      if (mode === 'blackhole') proxy.blackhole();
      else await proxy.cut(mode);
      const late = names.slice(WRITERS / 2).map((name) => get(a, name, 30_000).then((reply) => ({ name, reply })));
      const replies = await Promise.all([...early, ...late]);
      await proxy.restore();
      for (const { name, reply } of replies) {
        const problem = staleness({ name, version: versions.get(name)!, reply }, tag, true);
        if (problem !== undefined) problems.push(`${mode}: ${problem}`);
        counts.reads++;
        if (reply.status === 200) counts.fresh++;
        else counts.unavailable++;
      }
      // Back by itself, and current.
      let ready = false;
      for (const started = Date.now(); !ready && Date.now() - started < 20_000; await sleep(100)) {
        ready = (await call(a.baseUrl, 'GET', '/readyz')).status === 200;
      }
      expect(ready, `A ready again after the ${mode} cut`).toBe(true);
      for (const name of names) {
        const problem = staleness({ name, version: versions.get(name)!, reply: await get(a, name) }, tag, false);
        if (problem !== undefined) problems.push(`after ${mode}: ${problem}`);
      }
      counts.cuts++;
    }
    console.log(`cut between write and read: ${JSON.stringify(counts)}`);
    expect(problems).toEqual([]);
    // The cuts did cut: reads failed with 503 during them (a read answered 200 while its probe
    // could still reach the database is right too).
    expect(counts.unavailable).toBeGreaterThan(0);
  }, 600_000);
});
