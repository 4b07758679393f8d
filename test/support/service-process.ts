// The real service as a child process (src/main.ts under tsx, as `npm start` runs dist/main.js),
// for the tests of what only a process has: settings at start-up, exit codes, signals, several
// replicas starting together.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

/** One pino JSON line from the service's stdout. */
export type LogLine = Record<string, unknown> & { msg?: string };

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly logs: LogLine[];
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Everything written to stdout so far (including lines that are not JSON). */
  stdout(): string;
  /** Resolves with the first log line (already seen or still to come) that matches. */
  waitForLog(match: (line: LogLine) => boolean, what: string): Promise<LogLine>;
  readonly exited: Promise<Exit>;
}

/** How long the helpers wait for something that should happen; a guard, not an assertion. */
const WAIT_LIMIT_MS = 20_000;

/**
 * Starts `node --import tsx src/main.ts` with the given settings on top of a clean environment
 * (no DATABASE_URL or PORT inherited from the shell running the tests).
 */
export function spawnService(env: Record<string, string>): ServiceProcess {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(DATABASE_|PORT$|HOST$|LOG_LEVEL$|REGISTRY_|RATE_LIMIT_)/.test(key)),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    cwd: ROOT,
    env: { ...inherited, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const waiters: Array<{ match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }> = [];
  let out = '';
  let err = '';
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    partial += chunk;
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const text of lines) {
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        continue;
      }
      logs.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.match(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  // Never leave a service running when a test fails half-way.
  const stop = () => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL');
  process.once('exit', stop);
  void exited.then(() => process.removeListener('exit', stop));

  return {
    child,
    logs,
    stderr: () => err,
    stdout: () => out,
    exited,
    waitForLog(match, what) {
      const seen = logs.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise<LogLine>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`no log line "${what}" within ${WAIT_LIMIT_MS} ms; stdout:\n${out}\nstderr:\n${err}`));
        }, WAIT_LIMIT_MS);
        const waiter = {
          match,
          resolve: (line: LogLine) => {
            clearTimeout(timer);
            resolve(line);
          },
        };
        waiters.push(waiter);
        void exited.then((exit) => {
          if (!waiters.includes(waiter)) return;
          clearTimeout(timer);
          reject(new Error(`the service exited (${JSON.stringify(exit)}) before logging "${what}"; stderr:\n${err}`));
        });
      });
    },
  };
}

export interface RunningService extends ServiceProcess {
  readonly baseUrl: string;
  readonly port: number;
}

/** spawnService, then waits until it listens. */
export async function startServiceProcess(env: Record<string, string>): Promise<RunningService> {
  const service = spawnService(env);
  const listening = await service.waitForLog((line) => /^Server listening at http:\/\/127\.0\.0\.1:\d+$/.test(line.msg ?? ''), 'Server listening');
  const baseUrl = listening.msg!.replace('Server listening at ', '');
  return Object.assign(service, { baseUrl, port: Number(new URL(baseUrl).port) });
}

/** Runs the service to its exit (for start-ups that must fail). */
export async function runServiceToExit(env: Record<string, string>): Promise<Exit & { stdout: string; stderr: string }> {
  const service = spawnService(env);
  const timer = setTimeout(() => service.child.kill('SIGKILL'), WAIT_LIMIT_MS);
  const exit = await service.exited;
  clearTimeout(timer);
  return { ...exit, stdout: service.stdout(), stderr: service.stderr() };
}

/** Resolves 'refused' if a TCP connection to the port is refused, 'accepted' if one is made. */
export function tryConnect(port: number): Promise<'refused' | 'accepted'> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('accepted');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED') resolve('refused');
      // Accepted and then dropped by a server that is closing its listener.
      else if (error.code === 'ECONNRESET') resolve('accepted');
      else reject(error);
    });
  });
}

/** Tries to connect until the port refuses (the server stopped listening), within the wait limit. */
export async function waitUntilRefused(port: number): Promise<void> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  while ((await tryConnect(port)) === 'accepted') {
    if (Date.now() > deadline) throw new Error(`port ${port} still accepts connections after ${WAIT_LIMIT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
