// deploy/convert-config-registry.service, the supervisor setup the README's quick start points to:
// systemd itself accepts it (`systemd-analyze verify`, where installed), it starts what the README
// and package.json start, and run as systemd would run it (its ExecStart, its environment, its
// KillSignal to the main PID only, as with KillMode=process, the weakest), the service is reachable
// on the address it says and stops cleanly within TimeoutStopSec.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, npmStart, type NpmStart } from '../support/npm-start.js';
import { ROOT, tryConnect } from '../support/service-process.js';

const UNIT = join(ROOT, 'deploy/convert-config-registry.service');
const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';

/** `Key=value` lines of the [Service] section; repeated keys (Environment) keep every value. */
function serviceSection(text: string): Map<string, string[]> {
  const section = /^\[Service\]\n([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(text)?.[1] ?? '';
  const keys = new Map<string, string[]>();
  for (const line of section.split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (match) keys.set(match[1]!, [...(keys.get(match[1]!) ?? []), match[2]!]);
  }
  return keys;
}

describe('the systemd unit in deploy/', () => {
  let unit: string;
  let service: Map<string, string[]>;
  beforeAll(async () => {
    unit = await readFile(UNIT, 'utf8');
    service = serviceSection(unit);
  });

  it.skipIf(!existsSync(SYSTEMD_ANALYZE))('is a unit systemd accepts', async () => {
    const { stdout, stderr } = await promisify(execFile)(SYSTEMD_ANALYZE, ['verify', UNIT], { cwd: tmpdir() });
    expect(`${stdout}${stderr}`.trim()).toBe('');
  });

  it("starts what the README and package.json start, reachable from other machines", async () => {
    expect(service.get('ExecStart')).toEqual(['/usr/bin/env npm start']);
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    // npm start execs node: the service replaces the shell npm starts, so npm's signal reaches it.
    expect(pkg.scripts.start).toMatch(/^exec node .*dist\/main\.js$/);
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    expect(readme.includes('deploy/convert-config-registry.service'), 'README names the unit').toBe(true);
    expect(/^npm start\b/m.test(readme), 'README starts with npm start').toBe(true);
    expect(service.get('Environment')).toContain('HOST=0.0.0.0');
    // Longer than the service's own 10 s limit for a graceful stop (README, "Signals and shutdown").
    expect(service.get('KillSignal')).toEqual(['SIGTERM']);
    expect(Number(service.get('TimeoutStopSec')?.[0])).toBeGreaterThan(10);
  });

  describe('run as systemd runs it', () => {
    let dir: string;
    let started: NpmStart | undefined;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'registry-unit-'));
    });
    afterAll(async () => {
      if (started !== undefined && alive(started.servicePid)) process.kill(started.servicePid, 'SIGKILL');
      await rm(dir, { recursive: true, force: true });
    });

    it('serves on every interface and stops on its KillSignal within TimeoutStopSec, exit 0', async () => {
      const environment = Object.fromEntries((service.get('Environment') ?? []).map((e) => e.split(/=(.*)/s).slice(0, 2)));
      // The unit's environment, but a free port and a database of this test's own.
      started = await npmStart(`file:${join(dir, 'registry.db')}`, { ...environment, PORT: '0' }, service.get('ExecStart')![0]!.split(' '));
      expect((await fetch(`http://127.0.0.1:${started.port}/healthz`)).status).toBe(200);
      // HOST=0.0.0.0: reachable on this machine's other addresses too, as from another machine.
      const external = Object.values(networkInterfaces()).flat().find((a) => a?.family === 'IPv4' && !a.internal);
      if (external !== undefined) expect((await fetch(`http://${external.address}:${started.port}/healthz`)).status).toBe(200);

      const stopBy = Date.now() + Number(service.get('TimeoutStopSec')![0]) * 1000;
      process.kill(started.npmPid, service.get('KillSignal')![0] as NodeJS.Signals);
      expect(await started.exited, started.output()).toEqual({ code: 0, signal: null });
      expect(Date.now()).toBeLessThan(stopBy);
      expect(alive(started.servicePid)).toBe(false);
      expect(await tryConnect(started.port)).toBe('refused');
    }, 60_000);
  });
});
