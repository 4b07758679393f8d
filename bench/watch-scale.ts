// npm run bench:watch-scale [-- --backend sqlite|postgresql] [--writes N] [--polls N] [--streams N] [--no-build]
//
// Watching at scale (issue 16, item 5): replica A holds 1,000 long-polls and 100 event streams
// while writes go to replica B (two product processes, production settings, one database, as in
// bench/watch-latency.ts). Half the long-polls wait on the whole feed (GET /v1/events?wait=60, so
// every write answers all of them), half on one config each (GET /v1/configs/{name} with
// If-None-Match and Prefer: wait=60, ten per config over fifty configs, so a write answers ten);
// every stream gets every event. After each write, every waiter it answered is armed again and
// the next write waits until A holds all 1,000 once more. Reported: commit-to-delivery per kind
// (from B's acknowledgement, as in watch-latency.ts), and A's memory with no waiter, with the
// long-polls held and with the streams open too (RSS from /proc, V8's heap from A's /metrics).
// Timings only: nothing here is asserted.
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { startService, type Server } from './processes.js';
import { Api, createDatabase, type Kind } from './seed.js';
import { commandLine, connecting, metric, openStream, percentiles, reconnects, revision, untilHeld, write } from './watch-clients.js';

const { value, backends } = commandLine();
const writes = Number(value('writes') ?? 40);
const polls = Number(value('polls') ?? 1_000);
const streamCount = Number(value('streams') ?? 100);
const CONFIGS = 50;

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}


/** The replicas of the run under way: what they wrote is shown when it fails. */
const running: Server[] = [];
process.on('unhandledRejection', async (error) => {
  // What a process that died was still writing.
  await sleep(1_000);
  for (const server of running) log(`${server.name} (${existsSync(`/proc/${server.pid}`) ? 'running' : 'gone'}) wrote:\n${server.output()}`);
  log(`watch-scale failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)} (cause: ${String((error as { cause?: unknown }).cause)})`);
  process.exit(1);
});

interface MemoryPoint {
  rssMiB: number;
  heapMiB: number;
}

async function memory(server: Server, api: Api): Promise<MemoryPoint> {
  // A moment for the held requests' garbage to be collected in the ordinary course.
  await sleep(1_000);
  return { rssMiB: server.memory().rssMiB, heapMiB: (await metric(api, 'nodejs_heap_size_used_bytes')) / 2 ** 20 };
}

/** Resolves with the time its answer arrived (the whole body read). */
async function held(request: () => Promise<Response>, expected: number[]): Promise<{ at: number; response: Response; body: string }> {
  const response = await connecting(request);
  const body = await response.text();
  if (!expected.includes(response.status)) throw new Error(`long-poll answered ${response.status}: ${body}`);
  return { at: performance.now(), response, body };
}

type Waiter = 'feed long-poll' | 'config long-poll' | 'stream';

interface Result {
  /** Per kind, ms from B's acknowledgement and from the write's sending to each delivery. */
  fromAck: Record<Waiter, number[]>;
  fromSend: Record<Waiter, number[]>;
  memory: { idle: MemoryPoint; polls: MemoryPoint; streams: MemoryPoint };
  load: string;
}

async function measure(kind: Kind): Promise<Result> {
  const db = await createDatabase(kind, 'watch-scale');
  const token = randomBytes(24).toString('hex');
  const servers = running;
  servers.length = 0;
  const closers: Array<() => void> = [];
  try {
    servers.push(await startService('A', { databaseUrl: db.url, adminToken: token, ...(process.env.WATCH_SCALE_LOG === undefined ? {} : { env: { LOG_LEVEL: process.env.WATCH_SCALE_LOG } }) }));
    servers.push(await startService('B', { databaseUrl: db.url, adminToken: token }));
    const a = new Api(servers[0]!.url, token);
    const b = new Api(servers[1]!.url, token);
    const names = Array.from({ length: CONFIGS }, (_, i) => `scale-${i}`);
    const versions = new Map<string, number>();
    for (const name of names) {
      await (await b.expect(201, 'PUT', `/v1/configs/${name}`, { config: { preserved_attributes: ['a0'] } })).arrayBuffer();
      versions.set(name, 1);
      // Each read once on A, as its watchers would have.
      await (await a.expect(200, 'GET', `/v1/configs/${name}`)).arrayBuffer();
    }
    const idle = await memory(servers[0]!, a);
    log(`  ${kind}: ${CONFIGS} configs written; arming ${polls} long-polls (A ${a.url}, B ${b.url})`);

    /** Each delivery: which kind, of which revision (or config version), when it arrived. */
    const arrivals: Array<{ kind: Waiter; revision?: number; version?: string; at: number }> = [];
    const writesDone = new Map<number, { sent: number; acked: number }>();
    let finished = false;
    /** A waiter's promise; once the run is over, its failure (the replicas stopping) is expected. */
    const track = (p: Promise<void>): Promise<void> =>
      p.catch((error: unknown) => {
        if (!finished) throw error;
      });

    // Feed long-polls: each, once answered, records the delivery of the first event it got and polls again from there.
    const feedPolls = polls / 2;
    let feedAfter = await revision(a);
    const armFeed = (after: number): Promise<void> =>
      track(
        held(() => a.request('GET', `/v1/events?after=${after}&wait=60`), [200]).then(({ at, body }) => {
          const page = JSON.parse(body) as { items: Array<{ revision: number }>; lastRevision: number };
          const first = page.items[0];
          if (first !== undefined) arrivals.push({ kind: 'feed long-poll', revision: first.revision, at });
          rearm.push(() => armFeed(page.lastRevision));
        }),
      );
    // Config long-polls: ten per config, each waiting for the version after the one it holds.
    const armConfig = (name: string, version: number): Promise<void> =>
      track(
        held(() => a.request('GET', `/v1/configs/${name}`, undefined, { 'if-none-match': `"${version}"`, prefer: 'wait=60' }), [200, 304]).then(
          ({ at, response }) => {
            // A config no write came to for the whole wait: wait again.
            if (response.status === 304) return armConfig(name, version);
            const etag = Number(JSON.parse(response.headers.get('etag') ?? '"0"'));
            arrivals.push({ kind: 'config long-poll', version: `${name}@${etag}`, at });
            rearm.push(() => armConfig(name, etag));
          },
        ),
      );
    const revisionOf = new Map<string, number>();
    let rearm: Array<() => Promise<void>> = [];

    // A hundred connections at a time: a thousand connects at once overflow the listen backlog.
    for (let i = 0; i < polls; i++) {
      if (i < feedPolls) void armFeed(feedAfter);
      else void armConfig(names[i % CONFIGS]!, 1);
      if ((i + 1) % 100 === 0) await untilHeld(a, i + 1);
    }
    await untilHeld(a, polls);
    const withPolls = await memory(servers[0]!, a);
    log(`  ${kind}: ${polls} long-polls held; opening ${streamCount} streams`);

    const streamed = new Map<number, number>();
    for (let i = 0; i < streamCount; i++) {
      if (i % 20 === 0) await untilHeld(a, i, 'registry_watch_streams');
      closers.push(
        await openStream(a, feedAfter, (event) => {
          streamed.set(event, (streamed.get(event) ?? 0) + 1);
          arrivals.push({ kind: 'stream', revision: event, at: performance.now() });
        }),
      );
    }
    await untilHeld(a, streamCount, 'registry_watch_streams');
    const withStreams = await memory(servers[0]!, a);
    log(`  ${kind}: ${streamCount} streams open; ${writes} writes`);
    const load = loadavg().map((l) => l.toFixed(1)).join(' ');

    for (let n = 1; n <= writes; n++) {
      const name = names[n % CONFIGS]!;
      const version = versions.get(name)! + 1;
      // The revision is known only from B's answer; the waiters' deliveries are looked up by it, so
      // the write's time is recorded under the revision it will have (one writer: the next one).
      const expected = feedAfter + 1;
      const w = await write(b, name, n);
      if (w.revision !== expected) throw new Error(`write ${n} has revision ${w.revision}, expected ${expected}`);
      writesDone.set(w.revision, w);
      revisionOf.set(`${name}@${version}`, w.revision);
      versions.set(name, version);
      feedAfter = w.revision;
      // Every waiter this write answers has answered, and every stream has the event.
      const deadline = Date.now() + 30_000;
      while (rearm.length < feedPolls + (polls - feedPolls) / CONFIGS || (streamed.get(w.revision) ?? 0) < streamCount) {
        if (Date.now() > deadline) {
          throw new Error(`write ${n}: after 30 s, ${rearm.length} long-polls answered and ${streamed.get(w.revision) ?? 0} streams have it`);
        }
        await sleep(2);
      }
      const again = rearm;
      rearm = [];
      const still = polls - again.length;
      for (let i = 0; i < again.length; i++) {
        void again[i]!();
        if ((i + 1) % 100 === 0) await untilHeld(a, still + i + 1);
      }
      await untilHeld(a, polls);
      await sleep(Math.random() * 50);
    }
    finished = true;
    const fromAck: Result['fromAck'] = { 'feed long-poll': [], 'config long-poll': [], stream: [] };
    const fromSend: Result['fromSend'] = { 'feed long-poll': [], 'config long-poll': [], stream: [] };
    for (const arrival of arrivals) {
      const done = writesDone.get(arrival.revision ?? revisionOf.get(arrival.version!)!);
      if (done === undefined) continue; // an event from before the writes began
      fromAck[arrival.kind].push(arrival.at - done.acked);
      fromSend[arrival.kind].push(arrival.at - done.sent);
    }
    return { fromAck, fromSend, memory: { idle, polls: withPolls, streams: withStreams }, load };
  } finally {
    for (const close of closers) close();
    await Promise.all(servers.map((s) => s.stop()));
    await db.drop();
  }
}

console.log(`\n${polls} long-polls and ${streamCount} streams on replica A, ${writes} writes on replica B, one after another`);
for (const kind of backends) {
  const r = await measure(kind);
  console.log(`\n${kind} (load average ${r.load} when the writes began)`);
  console.log('delivery on A, ms (p50 / p90 / p99 / max) from B\'s acknowledgement and from the write\'s sending, deliveries');
  for (const what of Object.keys(r.fromAck) as Waiter[]) {
    console.log(`  ${what.padEnd(17)} from ack ${percentiles(r.fromAck[what]).padEnd(28)} from send ${percentiles(r.fromSend[what]).padEnd(28)} ${r.fromAck[what].length}`);
  }
  const all = (from: Record<Waiter, number[]>) => Object.values(from).flat();
  console.log(`  ${'all'.padEnd(17)} from ack ${percentiles(all(r.fromAck)).padEnd(28)} from send ${percentiles(all(r.fromSend)).padEnd(28)} ${all(r.fromAck).length}`);
  const { idle, polls: p, streams: s } = r.memory;
  const fmt = (m: MemoryPoint) => `RSS ${m.rssMiB.toFixed(1)} MiB, heap ${m.heapMiB.toFixed(1)} MiB`;
  const again = reconnects();
  console.log(
    `  (sent again so far: ${again.connect} requests whose connect was reset, ${again.closed} whose connection closed before the answer, ${again.refused} answered 503)`,
  );
  console.log(`memory: no waiter ${fmt(idle)}; ${polls} long-polls held ${fmt(p)}; and ${streamCount} streams ${fmt(s)}`);
  console.log(
    `  per 1,000 long-polls: RSS +${(((p.rssMiB - idle.rssMiB) * 1000) / polls).toFixed(1)} MiB, heap +${(((p.heapMiB - idle.heapMiB) * 1000) / polls).toFixed(1)} MiB;` +
      ` per 100 streams: RSS +${(((s.rssMiB - p.rssMiB) * 100) / streamCount).toFixed(1)} MiB, heap +${(((s.heapMiB - p.heapMiB) * 100) / streamCount).toFixed(1)} MiB`,
  );
}
