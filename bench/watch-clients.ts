// The watching clients of bench/watch-latency.ts and bench/watch-scale.ts: an event stream, the
// waiter gauges, a timed write, and percentiles.
import { execFileSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT } from './processes.js';
import type { Api, Kind } from './seed.js';

/**
 * The options both watch benches take: `--backend sqlite|postgresql` (default both), `--no-build`
 * (else `npm run build` first), and `value(name)` for the rest (`--name value`).
 */
export function commandLine(): { value: (name: string) => string | undefined; backends: Kind[] } {
  const argv = process.argv.slice(2);
  const value = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  if (!argv.includes('--no-build')) execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  return { value, backends: value('backend') === undefined ? ['sqlite', 'postgresql'] : [value('backend') as Kind] };
}

const retried = { connect: 0, closed: 0, refused: 0 };

/**
 * Requests `connecting` sent again: their connect was reset, their connection closed before an
 * answer, or they were answered 503 (which says: retry).
 */
export function reconnects(): { connect: number; closed: number; refused: number } {
  return { ...retried };
}

/**
 * `request`, sent again when its connection could not be made (`connect ECONNRESET`: on this
 * machine, with over a thousand connections open to one port, a connect is now and then reset),
 * was closed or reset before its answer came, or was answered 503. Seen under the watch-scale
 * load (the last two on PostgreSQL runs only, with nothing in the service's log; cause not
 * established). Each kind is counted and reported by the bench, so that a run shows how often.
 */
export async function connecting(request: () => Promise<Response>): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await request();
      if (response.status !== 503 || attempt >= 5) return response;
      await response.arrayBuffer();
      retried.refused++;
      await sleep(50 * attempt);
      continue;
    } catch (error) {
      const cause = (error as { cause?: { syscall?: string; code?: string } }).cause;
      const kind =
        cause?.syscall === 'connect' ? 'connect' : cause?.code === 'UND_ERR_SOCKET' || cause?.code === 'ECONNRESET' ? 'closed' : undefined;
      if (attempt >= 5 || kind === undefined) throw error;
      retried[kind]++;
      await sleep(50 * attempt);
    }
  }
}

/** Opens an event stream on `api` and calls `onEvent(revision)` at each event's arrival. */
export async function openStream(api: Api, after: number, onEvent: (revision: number) => void): Promise<() => void> {
  const abort = new AbortController();
  const response = await connecting(() => fetch(`${api.url}/v1/events/stream?after=${after}`, { headers: api.headers(), signal: abort.signal }));
  if (response.status !== 200) throw new Error(`event stream: ${response.status} ${await response.text()}`);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  void (async () => {
    let buffer = '';
    try {
      for (;;) {
        const { value: chunk, done } = await reader.read();
        if (done) return;
        buffer += chunk;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const id = /^id: (\d+)$/m.exec(buffer.slice(0, cut))?.[1];
          buffer = buffer.slice(cut + 2);
          if (id !== undefined) onEvent(Number(id));
        }
      }
    } catch {
      // closed
    }
  })();
  return () => abort.abort();
}

/** A metric of the service's /metrics without labels (0 when absent). */
export async function metric(api: Api, name: string): Promise<number> {
  const text = await (await connecting(() => api.request('GET', '/metrics'))).text();
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
}

/** Waits until the service holds at least `count` long-polls. */
export async function untilHeld(api: Api, count: number, gauge = 'registry_watch_waiters'): Promise<void> {
  while ((await metric(api, gauge)) < count) await sleep(2);
}

/** The newest revision the service has committed (X-Registry-Revision). */
export async function revision(api: Api): Promise<number> {
  const res = await connecting(() => api.request('GET', '/v1/events?limit=1'));
  await res.arrayBuffer();
  return Number(res.headers.get('x-registry-revision') ?? 0);
}

/** A new version of `name` through `api`: when it was sent, when its answer arrived, its revision. */
export async function write(api: Api, name: string, n: number): Promise<{ sent: number; acked: number; revision: number }> {
  const sent = performance.now();
  const res = await api.expect([200, 201], 'PUT', `/v1/configs/${name}`, { config: { preserved_attributes: [`a${n}`] } });
  const acked = performance.now();
  await res.arrayBuffer();
  return { sent, acked, revision: await revision(api) };
}

/** p50 / p90 / p99 / max of `values`, in their unit, one decimal. */
export function percentiles(values: number[]): string {
  const sorted = [...values].sort((x, y) => x - y);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return [0.5, 0.9, 0.99].map((q) => at(q).toFixed(1)).join(' / ') + ` / ${sorted[sorted.length - 1]!.toFixed(1)}`;
}
