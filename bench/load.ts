// One load run over keep-alive connections on loopback, from this process's side of the machine:
// wrk (C, one thread) when it is installed, else autocannon (Node). On a 2-core machine the load
// generator shares the CPU with the server; wrk needs a few µs per request where autocannon needs
// tens, so with wrk a fast server, not the generator, sets the pace (see BENCHMARKS.md).
// Every response's status is checked, latencies are kept at microsecond precision, and the
// server process's CPU time per request is measured from /proc.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';

export interface LoadSpec {
  /** Base URL of the server under load, e.g. http://127.0.0.1:41234 */
  url: string;
  /** Its process, whose CPU time per request is measured. */
  pid: number;
  method?: 'GET' | 'PUT' | 'POST';
  headers?: Record<string, string>;
  /** Request n goes to requests[n % length] (path and extra headers). */
  requests: Array<{ path: string; headers?: Record<string, string> }>;
  /**
   * Writes: the body of request n is `prefixes[n % length] + <run>-<n> + suffix`, unique per
   * request and per run (a repeated body would be an unchanged write, which makes no version).
   */
  body?: { prefixes: string[]; suffix: string };
  /** Or the same bodies every run: request n sends `bodies[n % length]` (etcd's gateway, whose puts need no unique value). */
  bodies?: string[];
  /** Every response must have this status; anything else fails the run. */
  expectStatus: number;
  /** And, when set, contain this text (an etcd range answers 200 with no `kvs` for a missing key). */
  expectBody?: string;
  connections: number;
  seconds: number;
}

export interface LoadResult {
  /** Completed requests per second over the measured window. */
  rps: number;
  /** Latency percentiles in milliseconds. */
  p50: number;
  p99: number;
  requests: number;
  /**
   * CPU time the server process spent per request (user + system, µs). Steadier than req/s on a
   * shared machine: it does not count the time the server waited for a core.
   */
  cpuUs: number;
}

export type Loader = 'wrk' | 'autocannon';

export function defaultLoader(): Loader {
  try {
    execFileSync('wrk', ['--version'], { stdio: 'ignore' });
    return 'wrk';
  } catch (error) {
    // wrk --version exits 1 after printing its version.
    return (error as { code?: string }).code === 'ENOENT' ? 'autocannon' : 'wrk';
  }
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ, 100 on Linux

/** CPU seconds (user + system) a process has used so far, from /proc. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

function describe(spec: LoadSpec): string {
  return `${spec.method ?? 'GET'} ${spec.requests[0]!.path}`;
}

export async function runLoad(spec: LoadSpec, loader: Loader): Promise<LoadResult> {
  const cpuBefore = cpuSeconds(spec.pid);
  const nonce = `${randomBytes(4).toString('hex')}-`;
  const run = loader === 'wrk' ? await runWrk(spec, nonce) : await runAutocannon(spec, nonce);
  const cpu = cpuSeconds(spec.pid) - cpuBefore;
  if (run.errors > 0) throw new Error(`${describe(spec)}: ${run.errors} socket errors or timeouts`);
  if (run.requests === 0) throw new Error(`${describe(spec)}: no response completed (a reply the client cannot frame?)`);
  if (run.wrongStatus > 0) {
    const what = spec.expectBody === undefined ? `${spec.expectStatus}` : `${spec.expectStatus} with ${JSON.stringify(spec.expectBody)}`;
    throw new Error(`${describe(spec)}: ${run.wrongStatus} responses were not ${what}`);
  }
  return { rps: run.requests / run.seconds, p50: run.p50, p99: run.p99, requests: run.requests, cpuUs: (cpu * 1e6) / run.requests };
}

interface RawRun {
  requests: number;
  seconds: number;
  p50: number;
  p99: number;
  errors: number;
  wrongStatus: number;
}

const lua = (s: string) => JSON.stringify(s); // a JSON string literal is a valid Lua string literal here (ASCII)

function luaTable(entries: string[]): string {
  return `{${entries.join(',')}}`;
}

function headerTable(headers: Record<string, string>): string {
  return luaTable(Object.entries(headers).map(([k, v]) => `[${lua(k)}]=${lua(v)}`));
}

async function runWrk(spec: LoadSpec, nonce: string): Promise<RawRun> {
  const dir = mkdtempSync(join(tmpdir(), 'registry-bench-wrk-'));
  try {
    const script = join(dir, 'load.lua');
    writeFileSync(
      script,
      `
local method = ${lua(spec.method ?? 'GET')}
local base = ${headerTable(spec.headers ?? {})}
local paths = ${luaTable(spec.requests.map((r) => lua(r.path)))}
local extra = ${luaTable(spec.requests.map((r) => headerTable(r.headers ?? {})))}
local prefixes = ${luaTable((spec.body?.prefixes ?? []).map((p) => lua(p + nonce)))}
local suffix = ${lua(spec.body?.suffix ?? '')}
local bodies = ${luaTable((spec.bodies ?? []).map(lua))}
local expected = ${spec.expectStatus}
local expected_body = ${spec.expectBody === undefined ? 'nil' : lua(spec.expectBody)}
local n = 0
wrong = 0
request = function()
  local i = n % #paths + 1
  local headers = {}
  for k, v in pairs(base) do headers[k] = v end
  for k, v in pairs(extra[i]) do headers[k] = v end
  local body = nil
  if #prefixes > 0 then body = prefixes[n % #prefixes + 1] .. n .. suffix
  elseif #bodies > 0 then body = bodies[n % #bodies + 1] end
  n = n + 1
  return wrk.format(method, paths[i], headers, body)
end
response = function(status, headers, body)
  if status ~= expected or (expected_body ~= nil and not string.find(body, expected_body, 1, true)) then wrong = wrong + 1 end
end
local threads = {}
setup = function(thread) table.insert(threads, thread) end
done = function(summary, latency, requests)
  local w = 0
  for _, t in ipairs(threads) do w = w + t:get("wrong") end
  local e = summary.errors
  io.write(string.format('{"requests":%d,"us":%d,"p50":%d,"p99":%d,"errors":%d,"wrong":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, w))
end
`,
    );
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        'wrk',
        ['-t1', `-c${spec.connections}`, `-d${Math.max(1, Math.round(spec.seconds))}s`, '--timeout', '30s', '-s', script, spec.url],
        { maxBuffer: 1 << 20 },
        (error, out, err) => (error ? reject(new Error(`wrk failed: ${err || error.message}`)) : resolve(out)),
      );
    });
    const line = stdout.split('\n').find((l) => l.startsWith('{"requests"'));
    if (line === undefined) throw new Error(`wrk printed no result:\n${stdout}`);
    const r = JSON.parse(line) as { requests: number; us: number; p50: number; p99: number; errors: number; wrong: number };
    return { requests: r.requests, seconds: r.us / 1e6, p50: r.p50 / 1000, p99: r.p99 / 1000, errors: r.errors, wrongStatus: r.wrong };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runAutocannon(spec: LoadSpec, nonce: string): Promise<RawRun> {
  let n = 0;
  const latencies: number[] = [];
  let wrongStatus = 0;
  const base = { ...(spec.headers ?? {}) };
  const request: autocannon.Request = {
    method: spec.method ?? 'GET',
    setupRequest: (req) => {
      const i = n++;
      const target = spec.requests[i % spec.requests.length]!;
      req.path = target.path;
      req.headers = target.headers === undefined ? base : { ...base, ...target.headers };
      if (spec.body !== undefined) req.body = `${spec.body.prefixes[i % spec.body.prefixes.length]}${nonce}${i}${spec.body.suffix}`;
      else if (spec.bodies !== undefined) req.body = spec.bodies[i % spec.bodies.length];
      return req;
    },
    // autocannon reads bodies only for a request with onResponse.
    ...(spec.expectBody === undefined
      ? {}
      : {
          onResponse: (_status: number, body: string) => {
            if (!body.includes(spec.expectBody!)) wrongStatus++;
          },
        }),
  };
  const instance = autocannon({ url: spec.url, connections: spec.connections, duration: spec.seconds, timeout: 30, requests: [request] });
  // autocannon's own histogram rounds to whole milliseconds: keep the exact times.
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    latencies.push(ms);
    if (status !== spec.expectStatus) wrongStatus++;
  });

  const started = performance.now();
  const result = await instance;
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { requests: latencies.length, seconds, p50: at(0.5), p99: at(0.99), errors: result.errors + result.timeouts, wrongStatus };
}
