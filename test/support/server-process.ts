// The real service as its own process, for tests that kill it, restart it, or cut it off from its
// database: `node dist/main.js` when the build is newer than every source file (as after `npm ci`
// or `npm run build`; it starts in a second), else `node --import tsx src/main.ts`, so a stale
// dist/ is never what gets tested.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'generated') continue;
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function serverArgs(): string[] {
  try {
    if (statSync(join(ROOT, 'dist/main.js')).mtimeMs > newestSource(join(ROOT, 'src'))) return ['dist/main.js'];
  } catch {
    // no build
  }
  return ['--import', 'tsx', 'src/main.ts'];
}

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves with the base URL once the server listens; rejects if it exits first. */
  readonly listening: Promise<string>;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The last lines it wrote (stdout and stderr), for failure messages. */
  output(): string;
  /** Sends `signal` to this process (and only this one) and waits for it to exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Spawns the service with PORT=0 and the given environment. Rate limiting is off unless the test
 * sets RATE_LIMIT_MAX: these processes are driven by load tests, which would otherwise measure
 * the limiter (429s) rather than the registry.
 */
export function spawnServer(env: Record<string, string>): ServerProcess {
  const child = spawn(process.execPath, serverArgs(), {
    cwd: ROOT,
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', RATE_LIMIT_MAX: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const listening = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        lines.push(line);
        if (lines.length > 200) lines.shift();
        const address = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1];
        if (address !== undefined) resolve(address);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(({ code, signal }) =>
      reject(new Error(`server exited (code ${code}, signal ${signal}) before listening:\n${lines.slice(-20).join('\n')}`)),
    );
  });
  listening.catch(() => {});
  return {
    child,
    pid: child.pid!,
    listening,
    exited,
    output: () => lines.join('\n'),
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** Spawns the server and waits until it listens (at most `timeoutMs`). */
export async function startServer(env: Record<string, string>, timeoutMs = 60_000): Promise<ServerProcess & { baseUrl: string }> {
  const server = spawnServer(env);
  let timer: NodeJS.Timeout | undefined;
  try {
    const baseUrl = await Promise.race([
      server.listening,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`server did not listen within ${timeoutMs} ms:\n${server.output()}`)), timeoutMs);
      }),
    ]);
    return Object.assign(server, { baseUrl });
  } catch (error) {
    await server.stop('SIGKILL');
    throw error;
  } finally {
    clearTimeout(timer);
  }
}
