import { describe, expect, it } from 'vitest';
import { loadSettings, SettingsError } from '../../src/settings.js';

// The defaults of every setting are checked in settings.test.ts beside this file.
describe('auth, limit and header settings', () => {
  it('parses the auth, limit and header settings', () => {
    const settings = loadSettings({
      REGISTRY_ADMIN_TOKEN: 'a'.repeat(64),
      REGISTRY_ANONYMOUS_READ: 'true',
      RATE_LIMIT_MAX: '0',
      CORS_ORIGINS: 'https://ml.example.com, http://localhost:3000',
      TRUST_PROXY: '10.0.0.0/8,127.0.0.1',
      HANDLER_TIMEOUT_MS: '5000',
    });
    expect(settings).toMatchObject({
      REGISTRY_ADMIN_TOKEN: 'a'.repeat(64),
      REGISTRY_ANONYMOUS_READ: true,
      RATE_LIMIT_MAX: 0,
      CORS_ORIGINS: ['https://ml.example.com', 'http://localhost:3000'],
      TRUST_PROXY: '10.0.0.0/8,127.0.0.1',
      HANDLER_TIMEOUT_MS: 5000,
    });
    expect(loadSettings({ CORS_ORIGINS: '*', TRUST_PROXY: 'true' })).toMatchObject({ CORS_ORIGINS: ['*'], TRUST_PROXY: true });
  });

  it.each([
    ['REGISTRY_ADMIN_TOKEN', 'short-secret'],
    ['REGISTRY_ADMIN_TOKEN', 'a secret with spaces in it'],
    ['REGISTRY_ANONYMOUS_READ', 'yes'],
    ['RATE_LIMIT_MAX', '-1'],
    ['RATE_LIMIT_MAX', 'lots'],
    ['CORS_ORIGINS', 'https://ml.example.com/path'],
    ['CORS_ORIGINS', 'registry.internal'],
    ['TRUST_PROXY', 'proxy.example'],
    ['REQUEST_TIMEOUT_MS', '1.5'],
    ['HANDLER_TIMEOUT_MS', '-5'],
  ])('refuses %s=%s with one line naming it, never echoing the value', (name, value) => {
    let error: unknown;
    try {
      loadSettings({ [name]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SettingsError);
    const message = (error as Error).message;
    expect(message).toMatch(new RegExp(`^Invalid setting ${name}: `));
    expect(message).not.toContain('\n');
    expect(message).not.toContain(value);
  });
});
