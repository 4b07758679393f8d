// Settings are read once at start-up; a bad one stops the process with one line naming it.
import { describe, expect, it } from 'vitest';
import { loadCliSettings, loadSettings, SettingsError } from '../../src/settings.js';
import { runServiceToExit } from '../support/service-process.js';

const PASSWORD = 'Sup3r-s3cret_pw';

function settingsError(env: NodeJS.ProcessEnv): string {
  try {
    loadSettings(env);
  } catch (error) {
    expect(error).toBeInstanceOf(SettingsError);
    return (error as Error).message;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

describe('loadSettings', () => {
  it('has defaults for everything', () => {
    expect(loadSettings({})).toEqual({
      PORT: 8080,
      HOST: '127.0.0.1',
      DATABASE_URL: 'file:./data/registry.db',
      LOG_LEVEL: 'info',
      DATABASE_POOL_SIZE: 10,
      REGISTRY_ANONYMOUS_READ: false,
      RATE_LIMIT_MAX: 600,
      CORS_ORIGINS: [],
      TRUST_PROXY: false,
      REQUEST_TIMEOUT_MS: 30_000,
      HANDLER_TIMEOUT_MS: 30_000,
      CONNECTION_TIMEOUT_MS: 0,
      KEEP_ALIVE_TIMEOUT_MS: 72_000,
      // The performance issue's floor: 1,000 long-polls and 100 streams on one replica.
      WATCH_MAX_WAITERS: 2000,
      WATCH_MAX_STREAMS: 200,
    });
  });

  it('reads the watching limits, and names a bad one', () => {
    expect(loadSettings({ WATCH_MAX_WAITERS: '5000', WATCH_MAX_STREAMS: '0' })).toMatchObject({ WATCH_MAX_WAITERS: 5000, WATCH_MAX_STREAMS: 0 });
    expect(() => loadSettings({ WATCH_MAX_STREAMS: 'many' })).toThrow('Invalid setting WATCH_MAX_STREAMS: must be a whole number from 0 to 1000000');
  });

  it('treats empty variables as unset and coerces numbers', () => {
    expect(loadSettings({ PORT: '', LOG_LEVEL: '', DATABASE_POOL_SIZE: '3' })).toMatchObject({
      PORT: 8080,
      LOG_LEVEL: 'info',
      DATABASE_POOL_SIZE: 3,
    });
    expect(loadSettings({ PORT: '0' }).PORT).toBe(0);
  });

  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ PORT: '-1' }, 'PORT'],
    [{ PORT: '80.5' }, 'PORT'],
    [{ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL'],
    [{ DATABASE_POOL_SIZE: '0' }, 'DATABASE_POOL_SIZE'],
    [{ DATABASE_URL: 'registry.db' }, 'DATABASE_URL'],
    [{ DATABASE_URL: 'file:' }, 'DATABASE_URL'],
    [{ DATABASE_URL: `mysql://root:${PASSWORD}@db/registry` }, 'DATABASE_URL'],
    [{ DATABASE_URL: `postgresql://root:${PASSWORD}@[::1/registry` }, 'DATABASE_URL'],
  ])('refuses %j naming %s, without echoing the value', (env, name) => {
    const message = settingsError(env);
    expect(message).toMatch(new RegExp(`^Invalid setting ${name}: must `));
    expect(message).not.toContain('\n');
    // (Short values like "0" or "file:" occur in the explanation itself.)
    for (const value of Object.values(env)) if (value.length > 5) expect(message).not.toContain(value);
    expect(message).not.toContain(PASSWORD);
  });

  it('names every bad setting in the one line', () => {
    const message = settingsError({ PORT: 'x', LOG_LEVEL: 'loud' });
    expect(message).toMatch(/^Invalid settings PORT: must .*; LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent$/);
  });

  it('accepts SQLite and PostgreSQL URLs', () => {
    for (const url of ['file:./data/registry.db', 'file:/var/lib/registry/registry.db', 'postgres://u:p@db:5432/r', 'postgresql://db/r?sslmode=require']) {
      expect(loadSettings({ DATABASE_URL: url }).DATABASE_URL).toBe(url);
    }
  });

  it('the CLI reads only what it needs: a server-only setting cannot stop it', () => {
    expect(loadCliSettings({ PORT: 'not a port', DATABASE_URL: 'file:x.db' })).toEqual({ DATABASE_URL: 'file:x.db' });
  });
});

describe('start-up of the real process', () => {
  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ LOG_LEVEL: 'chatty' }, 'LOG_LEVEL'],
    [{ DATABASE_URL: `mysql://registry:${PASSWORD}@db:3306/registry` }, 'DATABASE_URL'],
  ])('%j: one line on stderr naming %s, nothing on stdout, exit 2', async (env, name) => {
    const result = await runServiceToExit(env);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(new RegExp(`^Invalid setting ${name}: [^\\n]+\\n$`));
    expect(result.stderr).not.toContain(PASSWORD);
  });

  it('an unreachable database: one line without the password, exit 1', async () => {
    // Port 1 on the loopback refuses at once; the password must not reach the message.
    const result = await runServiceToExit({ DATABASE_URL: `postgresql://registry:${PASSWORD}@127.0.0.1:1/registry` });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^Start-up failed: [^\n]*ECONNREFUSED[^\n]*\n$/);
    expect(result.stderr + result.stdout).not.toContain(PASSWORD);
  });
});
