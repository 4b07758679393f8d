import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/databases.js';
import { startService, type TestService } from '../support/app.js';

/** Truly concurrent HTTP requests against a listening server: no update is ever lost. */
describe.each(BACKENDS)('racing writers on %s', (kind) => {
  let svc: TestService;
  let base: string;

  const put = (name: string, attrs: string[], headers: Record<string, string> = {}) =>
    fetch(`${base}/v1/configs/${name}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ config: { preserved_attributes: attrs } }),
    });

  beforeAll(async () => {
    svc = await startService(kind);
    base = await svc.listen();
  });
  afterAll(async () => svc?.close());

  it('lets exactly one of two writers with the same If-Match win, every round', async () => {
    expect((await put('race', ['v0'])).status).toBe(201);
    for (let round = 1; round <= 10; round++) {
      const [a, b] = await Promise.all([
        put('race', [`a${round}`], { 'if-match': `"${round}"` }),
        put('race', [`b${round}`], { 'if-match': `"${round}"` }),
      ]);
      const statuses = [a.status, b.status].sort();
      expect(statuses, `round ${round}`).toEqual([200, 412]);
      const loser = a.status === 412 ? a : b;
      expect(loser.headers.get('content-type')).toContain('application/problem+json');
    }
    const versions = (await (await fetch(`${base}/v1/configs/race/versions`)).json()) as { items: Array<{ version: number; config: { preserved_attributes: string[] } }> };
    expect(versions.items.map((v: { version: number }) => v.version)).toEqual([11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
  });

  it('records every unconditional write as exactly one version', async () => {
    await put('pile', ['start']);
    const writers = 12;
    const results = await Promise.all(Array.from({ length: writers }, (_, i) => put('pile', [`w${i}`])));
    expect(results.map((r) => r.status)).toEqual(Array(writers).fill(200));
    const versions = (await (await fetch(`${base}/v1/configs/pile/versions`)).json()) as { items: Array<{ version: number; config: { preserved_attributes: string[] } }> };
    expect(versions.items).toHaveLength(writers + 1);
    const written = versions.items
      .slice(0, writers)
      .map((v: { config: { preserved_attributes: string[] } }) => v.config.preserved_attributes[0])
      .sort();
    expect(written).toEqual(Array.from({ length: writers }, (_, i) => `w${i}`).sort());
  });

  it('creates a name exactly once when creators race with If-None-Match: *', async () => {
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => put('born', [`c${i}`], { 'if-none-match': '*' })));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 412, 412, 412, 412, 412]);
    const versions = (await (await fetch(`${base}/v1/configs/born/versions`)).json()) as { items: Array<{ version: number; config: { preserved_attributes: string[] } }> };
    expect(versions.items).toHaveLength(1);
  });
});
