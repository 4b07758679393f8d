// A secured registry in the browser: the UI asks for a token, keeps it in sessionStorage only,
// shows its role, hides what the role may not do (the server still refuses it), and forgets it
// on sign-out; with anonymous reads on, reading needs no token.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, hasAliases, seedDemo } from '../../scripts/ui-demo-data.js';
import { BACKENDS } from '../support/databases.js';
import { startService, type TestService } from '../support/app.js';
import { closeWatched, openBrowser, watchedPage, type PageGlobals, type UiBrowser, type WatchedPage } from './browser.js';

declare const document: PageGlobals['document'];
declare const sessionStorage: PageGlobals['storage'];
declare const localStorage: PageGlobals['storage'];
declare const location: PageGlobals['location'];

const ADMIN = `admin-${randomBytes(16).toString('hex')}`;

let ui: UiBrowser;
beforeAll(async () => {
  ui = await openBrowser();
});
afterAll(async () => ui?.close());

async function createToken(base: string, name: string, role: string): Promise<string> {
  const res = await call({ base, headers: { authorization: `Bearer ${ADMIN}` } }, 'POST', '/v1/tokens', { name, role });
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

describe.each(BACKENDS)('web UI on a secured registry (%s)', (kind) => {
  let svc: TestService;
  let base: string;
  let watched: WatchedPage;
  let tokens: { reader: string; writer: string };
  let aliases: boolean;
  const logLines: string[] = [];

  beforeAll(async () => {
    svc = await startService(kind, {
      uiRoot: ui.uiRoot,
      registry: { adminToken: ADMIN },
      log: { level: 'debug', stream: { write: (line: string) => void logLines.push(line) }, secrets: [ADMIN] },
    });
    base = await svc.listen();
    await seedDemo({ base, headers: { authorization: `Bearer ${ADMIN}` } });
    aliases = await hasAliases({ base, headers: { authorization: `Bearer ${ADMIN}` } });
    tokens = { reader: await createToken(base, 'ada', 'reader'), writer: await createToken(base, 'ci-vision', 'writer') };
    watched = await watchedPage(ui.browser, base);
  }, 60_000);
  afterAll(async () => {
    try {
      await closeWatched(watched);
    } finally {
      await svc?.close();
    }
  });

  it('asks for a token, refuses a wrong one, and shows a reader no write buttons', async () => {
    const { page } = watched;
    await page.goto(`${base}/ui/configs/resnet50-int8/history`);
    await page.getByText('This registry needs a token.').waitFor();
    await page.getByLabel('API token').fill('ccr_not-a-token-anyone-issued');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('The registry does not know this token').waitFor();

    await page.getByLabel('API token').fill(tokens.reader);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('table.versions').waitFor();
    expect(await page.locator('.session').innerText()).toMatch(/Signed in · role reader/);
    expect(await page.getByRole('button', { name: /Roll back/ }).count()).toBe(0);
    await page.goto(`${base}/ui/configs/resnet50-int8`);
    await page.locator('table.mappings').waitFor();
    expect(await page.getByRole('heading', { name: 'Actions' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /Delete/ }).count()).toBe(0);
    if (aliases) {
      await page.goto(`${base}/ui/configs/resnet50-int8/aliases`);
      await page.locator('table.aliases').waitFor();
      expect(await page.getByRole('heading', { name: 'Set or move an alias' }).count()).toBe(0);
    }

    // The token is in this tab's sessionStorage only: not in the URL, a cookie, or localStorage.
    const stored = await page.evaluate(() => ({
      session: Object.values(sessionStorage),
      local: Object.keys(localStorage).length,
      cookie: document.cookie,
      url: location.href,
    }));
    expect(stored.session).toEqual([tokens.reader]);
    expect(stored).toMatchObject({ local: 0, cookie: '' });
    expect(stored.url).not.toContain(tokens.reader);
    expect((await watched.context.cookies()).length).toBe(0);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByText('Not signed in').waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await page.reload();
    await page.getByText('This registry needs a token.').waitFor();
  });

  it('shows a writer the actions, and the server records the writer as the author', async () => {
    const { page } = watched;
    await page.goto(`${base}/ui/sign-in?next=${encodeURIComponent('/ui/configs/resnet50-int8/history')}`);
    await page.getByLabel('API token').fill(tokens.writer);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/ui/configs/resnet50-int8/history`);
    await page.locator('table.versions').waitFor();
    expect(await page.locator('.session').innerText()).toMatch(/role writer/);
    await page.getByRole('button', { name: 'Roll back to 2' }).click();
    await page.getByRole('button', { name: 'Make version 2 the latest' }).click();
    await page.getByText('Rolled back: version 4 now equals version 2.').waitFor();
    const latest = await (await call({ base, headers: { authorization: `Bearer ${tokens.reader}` } }, 'GET', '/v1/configs/resnet50-int8')).json();
    expect(latest).toMatchObject({ version: 4, updatedBy: 'ci-vision' });
    await page.goto(`${base}/ui/configs/resnet50-int8`);
    await page.getByRole('button', { name: 'Delete config' }).waitFor();
    if (aliases) {
      // production is protected: a writer may move staging but not production, and if they try anyway the
      // server's 403 is what the page shows.
      await page.goto(`${base}/ui/configs/resnet50-int8/aliases`);
      await page.getByRole('button', { name: 'Delete staging' }).waitFor();
      expect(await page.getByRole('button', { name: 'Delete production' }).count()).toBe(0);
      expect(await page.getByLabel(/Protected/).count()).toBe(0);
      await page.getByLabel('Alias', { exact: true }).fill('production');
      await page.getByRole('button', { name: 'Move production' }).click();
      expect(await page.getByRole('alert').innerText()).toContain('(403)');
      // The problem's type is a page of the registry that says what it means.
      const explained = page.getByRole('alert').getByRole('link', { name: 'What this means and how to fix it' });
      expect(await explained.getAttribute('href')).toBe('/problems/forbidden');
      expect((await fetch(new URL('/problems/forbidden', base))).status).toBe(200);
      expect(await (await call({ base, headers: { authorization: `Bearer ${tokens.reader}` } }, 'GET', '/v1/configs/resnet50-int8/aliases/production')).json()).toMatchObject({ version: 2 });
    }
    // A new tab of the same browser session keeps nothing: sessionStorage is per tab.
    const fresh = await watched.context.newPage();
    await fresh.goto(`${base}/ui/configs`);
    await fresh.getByText('This registry needs a token.').waitFor();
    await fresh.close();
    await page.getByRole('button', { name: 'Sign out' }).click();
  });

  it('never lets a token reach the logs', () => {
    const text = logLines.join('');
    expect(text).toContain('"actor":"ada"');
    for (const secret of [ADMIN, tokens.reader, tokens.writer]) expect(text).not.toContain(secret);
  });
});

describe.each(BACKENDS)('web UI with anonymous reads (%s)', (kind) => {
  let svc: TestService;
  let base: string;
  let watched: WatchedPage;
  beforeAll(async () => {
    svc = await startService(kind, { uiRoot: ui.uiRoot, registry: { adminToken: ADMIN }, anonymousRead: true });
    base = await svc.listen();
    await seedDemo({ base, headers: { authorization: `Bearer ${ADMIN}` } });
    watched = await watchedPage(ui.browser, base);
  }, 60_000);
  afterAll(async () => {
    try {
      await closeWatched(watched);
    } finally {
      await svc?.close();
    }
  });

  it('reads without a token and offers to sign in for writing', async () => {
    const { page } = watched;
    await page.goto(`${base}/ui/configs/resnet50-int8`);
    await page.locator('table.mappings').waitFor();
    expect(await page.locator('.session').innerText()).toMatch(/Reading anonymously\s*Sign in/);
    expect(await page.getByRole('button', { name: /Delete/ }).count()).toBe(0);
    // The curl command a reader copies needs no token here.
    expect(await page.locator('details', { hasText: 'curl command' }).locator('pre').textContent()).not.toContain('authorization');
  });
});
