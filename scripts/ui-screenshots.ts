// npm run ui:screenshots: regenerates docs/ui-*.png, the screenshots the README shows. Builds the
// UI, starts the service on a fresh SQLite file with the demo registry (scripts/ui-demo-data.ts),
// and photographs every page at 1280 px (and the main ones at 390 px) in Debian's Chromium.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { buildApp } from '../src/http/app.js';
import { createRegistry } from '../src/registry/registry.js';
import { openDatabase } from '../src/store/database.js';
import { registryStore } from '../src/store/prisma-registry-store.js';
import { buildUi } from './build-ui.mjs';
import { BROWSER_ARGS, CHROMIUM, hasAliases, hasEvents, seedDemo } from './ui-demo-data.js';

const DOCS = fileURLToPath(new URL('../docs/', import.meta.url));

const PAGES: Array<[file: string, path: string, waitFor: string, needs?: 'aliases' | 'events']> = [
  ['ui-configs', '/ui/configs', 'table.configs'],
  ['ui-config', '/ui/configs/resnet50-int8', 'table.mappings'],
  ['ui-history', '/ui/configs/resnet50-int8/history?from=1&to=3', 'table.diff-table'],
  ['ui-aliases', '/ui/configs/resnet50-int8/aliases', 'table.aliases', 'aliases'],
  ['ui-alias-history', '/ui/configs/resnet50-int8/aliases/production', 'table.moves', 'aliases'],
  ['ui-module-classes', '/ui/module-classes', 'table.classes'],
  ['ui-module-class', '/ui/module-classes/my_pkg.quantized.CustomConv', 'ul.references'],
  ['ui-activity', '/ui/activity', 'ol.events', 'events'],
];
const PHONE_PAGES = ['ui-configs', 'ui-config', 'ui-history'];

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'ui-screenshots-'));
  const ui = await buildUi(join(dir, 'ui'));
  const database = await openDatabase(`file:${join(dir, 'registry.db')}`);
  const registry = await createRegistry(registryStore(database));
  const app = await buildApp({ registry, uiRoot: ui.outDir });
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
  try {
    const client = { base };
    await seedDemo(client);
    const available = { aliases: await hasAliases(client), events: await hasEvents(client) };
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    for (const [file, path, selector, needs] of PAGES) {
      if (needs !== undefined && !available[needs]) {
        console.log(`skipped ${file}: this registry has no ${needs} endpoints yet`);
        continue;
      }
      await shoot(page, base + path, selector, join(DOCS, `${file}.png`));
    }
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true });
    const phonePage = await phone.newPage();
    for (const [file, path, selector] of PAGES.filter(([f]) => PHONE_PAGES.includes(f))) {
      await shoot(phonePage, base + path, selector, join(DOCS, `${file}-390.png`));
    }
  } finally {
    await browser.close();
    await app.close();
    await database.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function shoot(page: Page, url: string, selector: string, path: string) {
  await page.goto(url);
  await page.waitForSelector(selector);
  // Relative times ("2 seconds ago") settle; the live feed's status line too.
  await page.waitForTimeout(300);
  await page.screenshot({ path, fullPage: true });
  console.log(`wrote ${path}`);
}

await main();
