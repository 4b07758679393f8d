// What the people on an ML team do with the UI, in a real browser against the real service on
// each database: find a config, compare versions, move an alias, lose a race politely, delete and
// undelete, watch the activity feed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, hasAliases, hasEvents, hasEventStream, seedDemo } from '../../scripts/ui-demo-data.js';
import { BACKENDS } from '../support/databases.js';
import { startService, type TestService } from '../support/app.js';
import { closeWatched, openBrowser, watchedPage, type UiBrowser, type WatchedPage } from './browser.js';

let ui: UiBrowser;
beforeAll(async () => {
  ui = await openBrowser();
});
afterAll(async () => ui?.close());

describe.each(BACKENDS)('web UI journeys (%s)', (kind) => {
  let svc: TestService;
  let base: string;
  let watched: WatchedPage;
  let available: { aliases: boolean; events: boolean; stream: boolean };
  const client = () => ({ base });

  beforeAll(async () => {
    svc = await startService(kind, { uiRoot: ui.uiRoot });
    base = await svc.listen();
    await seedDemo(client());
    available = { aliases: await hasAliases(client()), events: await hasEvents(client()), stream: await hasEventStream(client()) };
    watched = await watchedPage(ui.browser, base);
  }, 60_000);
  afterAll(async () => {
    try {
      await closeWatched(watched);
    } finally {
      await svc?.close();
    }
  });

  it('finds a config by label and opens it: mappings per quant type, classes linked', async () => {
    const { page } = watched;
    await page.goto(`${base}/ui/`);
    await page.getByLabel('Label', { exact: true }).fill('team:nlp');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/\/ui\/configs\?label=team%3Anlp/);
    const rows = page.locator('table.configs tbody tr');
    await expect.poll(() => rows.count()).toBe(1);
    await page.getByRole('link', { name: 'bert-base-dynamic' }).click();
    await page.waitForURL(`${base}/ui/configs/bert-base-dynamic`);
    const table = page.getByRole('table', { name: /dynamic/ });
    await expect.poll(() => table.locator('tbody tr').count()).toBe(2);
    expect(await table.locator('tbody tr').first().innerText()).toMatch(/torch\.ao\.nn\.quantizable\.MultiheadAttention\s+→\s+torch\.ao\.nn\.quantized\.MultiheadAttention/);
    expect(await page.locator('dl.facts').innerText()).toContain('BERT base, dynamic quantization');
    // A class links to its page, which lists the configs that use it.
    await table.getByRole('link', { name: 'my_pkg.quantized.CustomLinear' }).click();
    await page.waitForURL(`${base}/ui/module-classes/my_pkg.quantized.CustomLinear`);
    expect(await page.locator('ul.references').innerText()).toContain('bert-base-dynamic');
  });

  it('compares version 1 and 3 and shows exactly the mapping that changed', async () => {
    const { page } = watched;
    await page.goto(`${base}/ui/configs/resnet50-int8/history`);
    await page.getByLabel('From').selectOption('1');
    await page.getByLabel('To').selectOption('3');
    await page.getByRole('button', { name: 'Compare' }).click();
    await page.waitForURL(`${base}/ui/configs/resnet50-int8/history?from=1&to=3`);
    await page.getByRole('heading', { name: 'Version 1 → version 3' }).waitFor();
    const mappings = page.getByRole('table', { name: /static mappings/ });
    const rows = await mappings.locator('tbody tr').allInnerTexts();
    expect(rows.map((r) => r.split(/\s+/).join(' '))).toEqual(['changed my_pkg.observed.CustomConv my_pkg.quantized.CustomConv my_pkg.quantized.FastConv']);
    expect(await page.getByRole('table', { name: /Labels/ }).locator('tbody tr').allInnerTexts()).toEqual([expect.stringMatching(/changed\s+stage\s+dev\s+review/)]);
    // The same URL, pasted into a new tab, shows the same diff.
    const other = await watched.context.newPage();
    await other.goto(`${base}/ui/configs/resnet50-int8/history?from=1&to=3`);
    await other.getByRole('table', { name: /static mappings/ }).waitFor();
    expect(await other.getByRole('table', { name: /static mappings/ }).locator('tbody tr').count()).toBe(1);
    await other.close();
  });

  it('rolls back from the page, and when another client wrote first says so and overwrites nothing', async () => {
    const { page } = watched;
    const name = 'race-me';
    const put = (labels: Record<string, string>, ifMatch?: string) =>
      call(client(), 'PUT', `/v1/configs/${name}`, { config: { preserved_attributes: Object.keys(labels) }, labels }, ifMatch ? { 'if-match': ifMatch } : {});
    expect((await put({ a: '1' })).status).toBe(201);
    expect((await put({ b: '2' })).status).toBe(200);
    await page.goto(`${base}/ui/configs/${name}/history`);
    await page.locator('table.versions tbody tr').nth(1).waitFor();
    // Someone else writes version 3 while the page still shows version 2 as the latest.
    expect((await put({ c: '3' }, '"2"')).status).toBe(200);
    await page.getByRole('button', { name: 'Roll back to 1' }).click();
    await page.getByRole('button', { name: 'Make version 1 the latest' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor({ timeout: 5000 });
    expect(await alert.innerText()).toContain(`Someone else changed ${name} since you loaded this page`);
    expect(await alert.innerText()).toContain('Nothing was overwritten');
    const latest = await (await call(client(), 'GET', `/v1/configs/${name}`)).json();
    expect(latest).toMatchObject({ version: 3, labels: { c: '3' } });
    // Reload shows the other client's version; the rollback then goes through over it.
    await page.getByRole('button', { name: 'Reload to see the current version' }).click();
    await expect.poll(() => page.locator('table.versions tbody tr').count()).toBe(3);
    await page.getByRole('button', { name: 'Roll back to 1' }).click();
    await page.getByRole('button', { name: 'Make version 1 the latest' }).click();
    await page.getByText('Rolled back: version 4 now equals version 1.').waitFor();
    expect(await (await call(client(), 'GET', `/v1/configs/${name}`)).json()).toMatchObject({ version: 4, labels: { a: '1' } });
  });

  it('deletes a config and undeletes it from the page', async () => {
    const { page } = watched;
    await call(client(), 'PUT', '/v1/configs/short-lived', { config: {}, description: 'soon gone' });
    await page.goto(`${base}/ui/configs/short-lived`);
    await page.getByRole('button', { name: 'Delete config' }).click();
    await page.getByRole('button', { name: 'Delete short-lived' }).click();
    await page.getByText('short-lived was deleted').waitFor();
    expect((await call(client(), 'GET', '/v1/configs/short-lived')).status).toBe(404);
    await page.getByRole('button', { name: 'Undelete short-lived' }).click();
    await page.locator('dl.facts').getByText('soon gone').waitFor();
    expect((await call(client(), 'GET', '/v1/configs/short-lived')).status).toBe(200);
  });

  it('moves production and shows the move in the alias history', async (context) => {
    if (!available.aliases) return context.skip('the registry has no aliases endpoints (the aliases issue) yet');
    const { page } = watched;
    await page.goto(`${base}/ui/configs/resnet50-int8/aliases`);
    await page.getByLabel('Alias', { exact: true }).fill('production');
    await page.getByLabel('Version', { exact: true }).selectOption('3');
    await page.getByRole('button', { name: 'Move production' }).click();
    await page.getByText('Moved production to version 3.').waitFor();
    const alias = await (await call(client(), 'GET', '/v1/configs/resnet50-int8/aliases/production')).json();
    expect(alias).toMatchObject({ version: 3 });
    await page.getByRole('link', { name: 'production' }).first().click();
    await page.waitForURL(`${base}/ui/configs/resnet50-int8/aliases/production`);
    const moves = await page.locator('table.moves tbody tr').allInnerTexts();
    expect(moves[0]).toMatch(/anonymous\s+version 2\s+version 3/);
    expect(moves.length).toBe(3);
  });

  it('shows a write made elsewhere on the activity page within two seconds, without a reload', async (context) => {
    if (!available.events) return context.skip('the registry has no change feed (GET /v1/events) yet');
    const { page } = watched;
    await page.goto(`${base}/ui/activity`);
    // Server-Sent Events where the registry streams; the long poll only stands in for an older one.
    await page.getByText(available.stream ? 'Live: new changes appear here as they happen.' : /^Live/).waitFor();
    const before = await page.evaluate(() => performance.timeOrigin);
    const res = await call(client(), 'PUT', '/v1/configs/watch-me', { config: {}, description: 'written by a script' });
    expect(res.status).toBe(201);
    const written = Date.now();
    await page.locator('ol.events li', { hasText: 'watch-me' }).first().waitFor({ timeout: 2000 });
    expect(Date.now() - written).toBeLessThan(2000);
    expect(await page.evaluate(() => performance.timeOrigin)).toBe(before);
  });
});
