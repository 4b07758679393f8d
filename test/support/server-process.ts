// The real service as its own process (src/main.ts under tsx, so it is the code under test and not
// a stale dist/), for tests that kill it, restart it, or cut it off from its database.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

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

/** Spawns `node --import tsx src/main.ts` with PORT=0 and the given environment. */
export function spawnServer(env: Record<string, string>): ServerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
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
