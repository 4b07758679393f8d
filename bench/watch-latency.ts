// npm run bench:watch [-- --backend sqlite|postgresql] [--rounds N] [--no-build]
//
// How fast a commit on one replica reaches a waiter on another: two product processes (npm start's
// command line, production settings, as bench/run.ts starts them) on one database; writes go to
// B, waiters sit on A. For every write it times, from the moment B acknowledged the write (the
// commit came before that, so this slightly underestimates) and from the moment the write was sent
// (an upper bound), until A delivered:
//   - stream: an event on an open GET /v1/events/stream;
//   - long-poll: the answer of a GET /v1/events?wait=30 that A was holding;
//   - config: the 200 of a GET /v1/configs/{name} with If-None-Match and Prefer: wait=30.
// Writes are spaced by a random 20-80 ms, so that they land at every phase of the SQLite poll.
// Prints p50 / p90 / p99 / max per backend and kind. Timings only: nothing here is asserted.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { startService, type Server } from './processes.js';
import { commandLine, openStream, percentiles, revision, untilHeld, write } from './watch-clients.js';
import { Api, createDatabase, type Kind } from './seed.js';

const { value, backends } = commandLine();
const rounds = Number(value('rounds') ?? 200);

interface Sample {
  fromAck: number;
  fromSend: number;
}

function summary(samples: Sample[], pick: (s: Sample) => number): string {
  return percentiles(samples.map(pick));
}

async function measure(kind: Kind): Promise<Record<string, Sample[]>> {
  const db = await createDatabase(kind, 'watch');
  const token = randomBytes(24).toString('hex');
  const servers: Server[] = [];
  try {
    servers.push(await startService('A', { databaseUrl: db.url, adminToken: token }));
    servers.push(await startService('B', { databaseUrl: db.url, adminToken: token }));
    const a = new Api(servers[0]!.url, token);
    const b = new Api(servers[1]!.url, token);
    const samples: Record<string, Sample[]> = { stream: [], 'long-poll': [], config: [] };

    // Stream: one open stream on A, every write to B timed on arrival.
    const arrivals = new Map<number, number>();
    const close = await openStream(a, await revision(a), (at) => arrivals.set(at, performance.now()));
    for (let i = 0; i < rounds; i++) {
      const w = await write(b, `stream-${i % 8}`, i);
      while (!arrivals.has(w.revision)) await sleep(1);
      const at = arrivals.get(w.revision)!;
      samples.stream!.push({ fromAck: at - w.acked, fromSend: at - w.sent });
      await sleep(20 + Math.random() * 60);
    }
    close();

    // Long-poll on the feed: A holds the poll before B writes.
    for (let i = 0; i < rounds; i++) {
      const after = await revision(a);
      const poll = a.request('GET', `/v1/events?after=${after}&name=poll&wait=30`).then(async (res) => {
        await res.arrayBuffer();
        return performance.now();
      });
      await untilHeld(a, 1);
      await sleep(Math.random() * 60);
      const w = await write(b, 'poll', i);
      const at = await poll;
      samples['long-poll']!.push({ fromAck: at - w.acked, fromSend: at - w.sent });
    }

    // Long-poll on one config.
    await write(b, 'watched', 0);
    for (let i = 1; i <= rounds; i++) {
      const poll = a.request('GET', '/v1/configs/watched', undefined, { 'if-none-match': `"${i}"`, prefer: 'wait=30' }).then(async (res) => {
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`config long-poll: ${res.status}`);
        return performance.now();
      });
      await untilHeld(a, 1);
      await sleep(Math.random() * 60);
      const w = await write(b, 'watched', i);
      const at = await poll;
      samples.config!.push({ fromAck: at - w.acked, fromSend: at - w.sent });
    }
    return samples;
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await db.drop();
  }
}

const lines: string[] = [];
for (const kind of backends) {
  const samples = await measure(kind);
  for (const [what, list] of Object.entries(samples)) {
    lines.push(
      `${kind.padEnd(10)} ${what.padEnd(9)} from ack ${summary(list, (s) => s.fromAck).padEnd(28)} from send ${summary(list, (s) => s.fromSend)}`,
    );
  }
}
console.log(`\nCommit on replica B to delivery on replica A, ms (p50 / p90 / p99 / max), ${rounds} writes each:`);
for (const line of lines) console.log(line);
