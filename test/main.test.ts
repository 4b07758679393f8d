// The real entry point, as `npm start` runs it: settings from the environment reach the app.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

interface Running {
  baseUrl: string;
  output: () => string;
  stop: () => Promise<number | null>;
}

async function startMain(env: Record<string, string>): Promise<Running> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(PORT|HOST|DATABASE_URL|REGISTRY_|RATE_LIMIT|CORS_|LOG_LEVEL|TRUST_PROXY)/.test(k)),
  );
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: { ...inherited, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const check = setInterval(() => {
      const match = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearInterval(check);
        resolve(match[1]!);
      }
    }, 50);
    void exited.then((code) => {
      clearInterval(check);
      reject(new Error(`exited with ${code}: ${output}`));
    });
  });
  return {
    baseUrl,
    output: () => output,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

const lines = (text: string) =>
  text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { level: number; msg: string });

describe('npm start', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'registry-main-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs open with exactly one warning line when no token is configured', async () => {
    const app = await startMain({ DATABASE_URL: `file:${join(dir, 'r.db')}` });
    try {
      expect((await fetch(`${app.baseUrl}/v1/configs`)).status).toBe(200);
    } finally {
      expect(await app.stop()).toBe(0);
    }
    const warnings = lines(app.output()).filter((l) => l.level >= 40);
    expect(warnings.map((l) => l.msg)).toEqual([expect.stringMatching(/^Authentication is OFF/)]);
  });

  it('applies the auth, rate-limit and CORS settings, and never logs the admin token', async () => {
    const secret = 'main-test-admin-secret-0123456789abcdef';
    const app = await startMain({
      DATABASE_URL: `file:${join(dir, 'r.db')}`,
      REGISTRY_ADMIN_TOKEN: secret,
      RATE_LIMIT_MAX: '3',
      CORS_ORIGINS: 'https://ml.example.com',
      LOG_LEVEL: 'debug',
    });
    try {
      const anonymous = await fetch(`${app.baseUrl}/v1/configs`, { headers: { origin: 'https://ml.example.com' } });
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer /);
      expect(anonymous.headers.get('access-control-allow-origin')).toBe('https://ml.example.com');
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        statuses.push((await fetch(`${app.baseUrl}/v1/configs`, { headers: { authorization: `Bearer ${secret}` } })).status);
      }
      expect(statuses).toEqual([200, 200, 200, 429]);
    } finally {
      expect(await app.stop()).toBe(0);
    }
    expect(app.output()).not.toContain(secret);
    expect(app.output()).toContain('"authorization":"[redacted]"');
    expect(lines(app.output()).filter((l) => l.level >= 40)).toEqual([]);
  });
});
