// The README's own start command, as a supervisor runs it: `npm start` is the PID it started, and
// the signal goes to that PID only (systemd's KillMode=process, supervisord, `kill $!`). npm passes
// SIGTERM and SIGINT on to its child; the script `exec`s node, so that child is the service
// itself (a plain `sh -c "node ..."` would keep the signal, and node would go on serving with
// PPID 1). A Ctrl-C in a terminal signals the whole process group instead.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { alive, npmStart, type NpmStart } from '../support/npm-start.js';
import { tryConnect } from '../support/service-process.js';

describe('npm start under a supervisor', () => {
  let dir: string;
  let started: NpmStart | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'registry-npm-start-'));
  });
  afterEach(async () => {
    // Never leave a service behind when an assertion failed half-way.
    if (started !== undefined && alive(started.servicePid)) process.kill(started.servicePid, 'SIGKILL');
    started = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('%s to the PID npm start runs as stops the service and exits 0', async (signal) => {
    started = await npmStart(`file:${join(dir, 'registry.db')}`);
    expect(started.servicePid).not.toBe(started.npmPid);
    expect((await fetch(`http://127.0.0.1:${started.port}/healthz`)).status).toBe(200);

    process.kill(started.npmPid, signal);
    const exit = await started.exited;
    // npm waited for the service and answers with its status: a supervisor sees a clean stop.
    expect(exit, started.output()).toEqual({ code: 0, signal: null });
    expect(alive(started.servicePid), 'the service outlived npm').toBe(false);
    expect(await tryConnect(started.port)).toBe('refused');
    expect(started.output()).toContain('"msg":"stopped"');
  });

  it('Ctrl-C in a terminal (SIGINT to the process group) stops it once, cleanly', async () => {
    started = await npmStart(`file:${join(dir, 'registry.db')}`);
    process.kill(-started.npmPid, 'SIGINT');
    // npm waits for the service; it then exits 0 or, when its own SIGINT handler wins the race,
    // ends by SIGINT as interrupted programs do. Either way the service stopped cleanly, once.
    expect([JSON.stringify({ code: 0, signal: null }), JSON.stringify({ code: null, signal: 'SIGINT' })]).toContain(
      JSON.stringify(await started.exited),
    );
    expect(alive(started.servicePid)).toBe(false);
    expect(started.output()).toContain('"msg":"stopped"');
    // Not taken for a second signal (which would force exit 1).
    expect(started.output().match(/"msg":"shutting down"/g)).toHaveLength(1);
  });
});
