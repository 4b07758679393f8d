// The web UI as served: where browsers land, deep links, caching and compression, the page
// weight, the Content-Security-Policy it runs under, and every page checked by axe-core at
// 1280 px and 390 px, with no CSP violation, no script error, no request elsewhere. One backend
// (SQLite): nothing here depends on which database answers the API (journeys.test.ts runs both).
import AxeBuilder from '@axe-core/playwright';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasAliases, hasEvents, seedDemo } from '../../scripts/ui-demo-data.js';
import { startService, type TestService } from '../support/app.js';
import { cspViolations, openBrowser, watchedPage, type PageGlobals, type UiBrowser, type WatchedPage } from './browser.js';

declare const document: PageGlobals['document'];

/** Every page of the UI, each at a URL one can paste, and what shows it has rendered. */
const PAGES: Array<[string, string, 'aliases' | 'events' | undefined]> = [
  ['/ui/', 'table.configs', undefined],
  ['/ui/configs?label=team:vision&showDeleted=true', 'table.configs', undefined],
  ['/ui/configs/resnet50-int8', 'table.mappings', undefined],
  ['/ui/configs/resnet50-int8?version=1', '.notice', undefined],
  ['/ui/configs/resnet50-int8/history?from=1&to=3', 'table.diff-table', undefined],
  ['/ui/configs/old-experiment', 'text=was deleted', undefined],
  ['/ui/configs/resnet50-int8/aliases', 'table.aliases', 'aliases'],
  ['/ui/configs/resnet50-int8/aliases/production', 'table.moves', 'aliases'],
  ['/ui/module-classes', 'table.classes', undefined],
  ['/ui/module-classes/my_pkg.quantized.CustomConv', 'ul.references', undefined],
  ['/ui/activity', 'ol.events', 'events'],
  ['/ui/sign-in', 'form.sign-in', undefined],
  ['/ui/no/such/page', 'text=There is no page at this address', undefined],
];

/** GET with only the headers given, answering the status, headers and the raw (still encoded) body. */
function rawGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('web UI: serving, weight, accessibility', () => {
  let ui: UiBrowser;
  let svc: TestService;
  let base: string;
  let available: { aliases: boolean; events: boolean };
  let desktop: WatchedPage;
  let phone: WatchedPage;

  beforeAll(async () => {
    ui = await openBrowser();
    svc = await startService('sqlite', { uiRoot: ui.uiRoot });
    base = await svc.listen();
    await seedDemo({ base });
    available = { aliases: await hasAliases({ base }), events: await hasEvents({ base }) };
    desktop = await watchedPage(ui.browser, base);
    phone = await watchedPage(ui.browser, base, { width: 390, height: 844 });
  }, 60_000);
  afterAll(async () => {
    await ui?.close();
    await svc?.close();
  });

  it('sends browsers from / to /ui/; API clients asking / get the 404 problem they always got', async () => {
    const browserAsks = await rawGet(`${base}/`, { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' });
    expect(browserAsks.status).toBe(302);
    expect(browserAsks.headers.location).toBe('/ui/');
    for (const accept of [undefined, '*/*', 'application/json', 'application/json, text/html;q=0.5']) {
      const res = await rawGet(`${base}/`, accept === undefined ? {} : { accept });
      expect(res.status, `Accept: ${accept}`).toBe(404);
      expect(res.headers['content-type']).toContain('application/problem+json');
    }
    expect((await rawGet(`${base}/ui`)).headers.location).toBe('/ui/');
  });

  it('answers every page URL with the app (deep links survive a reload), under a CSP with nothing inline', async () => {
    for (const path of ['/ui/', '/ui/configs/resnet50-int8/history?from=1&to=3', '/ui/module-classes/torch.ao.nn.quantized.LSTM', '/ui/activity']) {
      const res = await rawGet(base + path);
      expect(res.status, path).toBe(200);
      expect(res.headers['content-type'], path).toContain('text/html');
      expect(res.headers['cache-control'], path).toBe('no-cache');
      const csp = String(res.headers['content-security-policy']);
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self';");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).not.toContain('unsafe-eval');
      const html = res.body.toString('utf8');
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
      expect(html).not.toMatch(/\sstyle=|<style/); // no inline style
      expect(html).not.toMatch(/(src|href)="(https?:)?\/\//); // nothing from elsewhere
    }
    const page = desktop.page;
    await page.goto(`${base}/ui/configs/resnet50-int8/history?from=1&to=3`);
    await page.waitForSelector('table.diff-table');
    await page.reload();
    await page.waitForSelector('table.diff-table');
    expect(await cspViolations(page)).toEqual([]);
  });

  it('serves hashed assets compressed and cacheable for good; a missing asset is a 404, not the app', async () => {
    const script = await rawGet(`${base}/ui/${ui.built.script}`, { 'accept-encoding': 'gzip' });
    expect(script.status).toBe(200);
    expect(script.headers['content-encoding']).toBe('gzip');
    expect(script.headers['cache-control']).toContain('immutable');
    expect(script.headers['content-type']).toContain('javascript');
    const brotli = await rawGet(`${base}/ui/${ui.built.style}`, { 'accept-encoding': 'br, gzip' });
    expect(brotli.headers['content-encoding']).toBe('br');
    for (const path of ['/ui/assets/app-OLDHASH.js', '/ui/favicon.ico', '/ui/../package.json', '/ui/assets/../index.html.gz']) {
      const res = await rawGet(base + path);
      expect([403, 404], path).toContain(res.status);
      expect(String(res.headers['content-type']), path).not.toContain('text/html');
    }
  });

  it('loads under 100 KB of script and style (gzip) on the first page', async () => {
    const page = desktop.page;
    const loaded: string[] = [];
    const onResponse = (response: { url(): string; request(): { resourceType(): string } }) => {
      if (['script', 'stylesheet'].includes(response.request().resourceType())) loaded.push(response.url());
    };
    page.on('response', onResponse);
    await page.goto(`${base}/ui/`);
    await page.waitForSelector('table.configs');
    page.off('response', onResponse);
    expect(loaded.sort()).toEqual([`${base}/ui/${ui.built.script}`, `${base}/ui/${ui.built.style}`].sort());
    let gzipBytes = 0;
    for (const url of loaded) gzipBytes += (await rawGet(url, { 'accept-encoding': 'gzip' })).body.length;
    // BENCHMARKS.md states the figure; this keeps it from growing past the budget unnoticed.
    expect(gzipBytes).toBeGreaterThan(5_000);
    expect(gzipBytes).toBeLessThan(100 * 1024);
  });

  it.each([['1280 px', 'desktop'], ['390 px', 'phone']] as const)('every page at %s: axe finds nothing serious or critical, no CSP violation, nothing off-screen', async (_width, which) => {
    const watched = which === 'desktop' ? desktop : phone;
    const { page } = watched;
    const report: string[] = [];
    for (const [path, ready, needs] of PAGES) {
      if (needs !== undefined && !available[needs]) continue;
      await page.goto(base + path);
      await page.waitForSelector(ready);
      await page.waitForLoadState('networkidle').catch(() => {});
      const axe = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
      for (const v of axe.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')) {
        report.push(`${path}: ${v.id} (${v.impact}) ${v.help}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
      }
      for (const violation of await cspViolations(page)) report.push(`${path}: CSP ${violation}`);
      for (const problem of watched.take()) report.push(`${path}: ${problem}`);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      if (overflow > 0) report.push(`${path}: the page is ${overflow} px wider than the window`);
    }
    expect(report).toEqual([]);
  }, 240_000);

  it('works from the keyboard: skip link, filter form, a config link, focus on the new page heading', async () => {
    const page = desktop.page;
    await page.goto(`${base}/ui/configs`);
    await page.waitForSelector('table.configs');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('f-prefix');
    await page.keyboard.press('Tab');
    await page.keyboard.type('team:nlp');
    await page.keyboard.press('Enter');
    await page.waitForURL(/label=team%3Anlp/);
    await page.waitForFunction(() => document.querySelectorAll('table.configs tbody tr').length === 1);
    let reached = false;
    for (let i = 0; i < 40 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.textContent === 'bert-base-dynamic');
    }
    expect(reached, 'Tab reaches the config link').toBe(true);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/ui/configs/bert-base-dynamic`);
    await page.waitForSelector('table.mappings');
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('H1');
  });
});
