// `npm start` as a supervisor runs it: a process of its own whose PID is npm's, with the
// service's own PID read from its log lines.
import { spawn } from 'node:child_process';
import { ROOT } from './service-process.js';

export interface NpmStart {
  npmPid: number;
  /** The service's own PID (pino's `pid` on its log lines). */
  servicePid: number;
  port: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * `npm start` in the repository (or `command`, e.g. a systemd unit's ExecStart that runs it), on
 * `databaseUrl`, listening on a free port of 127.0.0.1 unless `env` says otherwise; resolves once
 * the service logged that it listens.
 */
export async function npmStart(databaseUrl: string, env: Record<string, string> = {}, command: string[] = ['npm', 'start']): Promise<NpmStart> {
  const child = spawn(command[0]!, command.slice(1), {
    cwd: ROOT,
    // A process group of its own, so that the Ctrl-C case can signal the group.
    detached: true,
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env, DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  // 'close': npm has exited and so has every process holding its output (the service).
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  const deadline = Date.now() + 30_000;
  for (;;) {
    const listening = /\{[^\n]*"msg":"Server listening at http:\/\/127\.0\.0\.1:(\d+)"[^\n]*\}/.exec(out);
    if (listening !== null) {
      const line = JSON.parse(listening[0]) as { pid: number };
      return { npmPid: child.pid!, servicePid: line.pid, port: Number(listening[1]), exited, output: () => out };
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`npm start did not listen:\n${out}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
