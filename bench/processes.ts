// The processes under load: the product (production mode, with the node flags and entry point of
// package.json's "start", as `npm start` and the image run it) and the bench-only baseline server. Each is its own process, apart from the harness
// that drives them.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface Server {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  /** Resident set size now and at its peak, and what it is made of, in MiB (from /proc). */
  memory(): Memory;
  /** The last 20,000 characters it wrote to stdout and stderr. */
  output(): string;
  stop(): Promise<void>;
}

/** A free loopback port (the product listens on PORT, so it is chosen before the start). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface Memory {
  rssMiB: number;
  peakRssMiB: number;
  /** Private memory (heaps), file-backed pages (code, mapped files), shared memory (SQLite's -shm). */
  anonMiB: number;
  fileMiB: number;
  shmemMiB: number;
}

function memoryOf(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) / 1024;
  return { rssMiB: mib('VmRSS'), peakRssMiB: mib('VmHWM'), anonMiB: mib('RssAnon'), fileMiB: mib('RssFile'), shmemMiB: mib('RssShmem') };
}

export function wrap(name: string, url: string, child: ChildProcess, output: () => string): Server {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    name,
    url,
    pid: child.pid!,
    memory: () => memoryOf(child.pid!),
    output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
      if (child.exitCode !== 0 && child.signalCode !== 'SIGTERM') {
        process.stderr.write(`${name} exited with ${child.exitCode ?? child.signalCode}:\n${output()}\n`);
      }
    },
  };
}

export function collect(child: ChildProcess): () => string {
  let text = '';
  const add = (chunk: Buffer) => {
    text = (text + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => text;
}

export async function waitUntil(url: string, child: ChildProcess, output: () => string, name: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited during start-up:\n${output()}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} did not become ready within 60 s:\n${output()}`);
}

export interface ServiceOptions {
  databaseUrl: string;
  adminToken: string;
  /** Extra node flags, e.g. --cpu-prof. */
  nodeFlags?: string[];
  /** Settings beside the production ones (they win). */
  env?: Record<string, string>;
}

/** `npm start`'s command line after `node`: its V8 flags and the entry point. */
function startArguments(): string[] {
  const { scripts } = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as { scripts: { start: string } };
  const [node, ...args] = scripts.start.trim().replace(/^exec\s+/, '').split(/\s+/);
  if (node !== 'node') throw new Error(`package.json "start" should run node, not: ${scripts.start}`);
  return args;
}

/** The product, started the way `npm start` does, with production settings. */
export async function startService(name: string, options: ServiceOptions): Promise<Server> {
  const port = await freePort();
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), ...startArguments()], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATABASE_URL: options.databaseUrl,
      LOG_LEVEL: 'warn',
      // Auth on, as in a team deployment (every request carries the admin bearer token);
      // rate limiting off, or the load generator would measure the limiter.
      REGISTRY_ADMIN_TOKEN: options.adminToken,
      RATE_LIMIT_MAX: '0',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collect(child);
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(`${url}/readyz`, child, output, name);
  return wrap(name, url, child, output);
}

export interface BaselineOptions {
  kind: 'sqlite' | 'postgresql';
  databaseUrl: string;
  /** JSON file: { [path]: { body, etag } } served from memory by the bare routes. */
  bodiesFile: string;
  nodeFlags?: string[];
}

/** bench/baseline-server.ts in its own process; it prints its port once listening. */
export async function startBaseline(options: BaselineOptions): Promise<Server> {
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), '--import', 'tsx', 'bench/baseline-server.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      BASELINE_KIND: options.kind,
      BASELINE_DATABASE_URL: options.databaseUrl,
      BASELINE_BODIES: options.bodiesFile,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collect(child);
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      const match = /"port":(\d+)/.exec(chunk.toString('utf8'));
      if (match) {
        child.stdout?.off('data', onData);
        resolve(Number(match[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', () => reject(new Error(`baseline server exited during start-up:\n${output()}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(`${url}/healthz`, child, output, 'baseline');
  return wrap('baseline', url, child, output);
}
