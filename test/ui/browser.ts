// One Chromium per test file (Debian's, driven by playwright-core), the UI built fresh from ui/
// into a temporary folder (so what is tested is the source, not a stale dist/), and pages that
// record what a person would never see but must not happen: CSP violations, script errors, and
// requests to anywhere but the registry.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { buildUi } from '../../scripts/build-ui.mjs';
import { BROWSER_ARGS, CHROMIUM } from '../../scripts/ui-demo-data.js';

/**
 * The browser globals that page.evaluate's callbacks use: this project is typed for Node, and
 * the DOM's lib would leak `document` and friends into the server's code. Each test file
 * declares the ones it needs, module-scoped (`declare const document: PageGlobals['document']`).
 */
export interface PageGlobals {
  document: {
    activeElement: { id: string; tagName: string; textContent: string | null } | null;
    documentElement: { scrollWidth: number; clientWidth: number };
    querySelectorAll(selector: string): { length: number };
    cookie: string;
    addEventListener(
      type: 'securitypolicyviolation',
      listener: (e: { violatedDirective: string; blockedURI: string; sourceFile: string; lineNumber: number }) => void,
    ): void;
  };
  window: { __csp?: string[] };
  storage: { readonly length: number; [key: string]: unknown };
  location: { href: string };
}

declare const document: PageGlobals['document'];
declare const window: PageGlobals['window'];

export interface UiBrowser {
  browser: Browser;
  uiRoot: string;
  /** The first page's script and stylesheet, as built. */
  built: { script: string; style: string };
  close(): Promise<void>;
}

export async function openBrowser(): Promise<UiBrowser> {
  const dir = await mkdtemp(join(tmpdir(), 'ui-test-'));
  const built = await buildUi(join(dir, 'ui'));
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: BROWSER_ARGS });
  return {
    browser,
    uiRoot: built.outDir,
    built,
    async close() {
      await browser.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** CSP violations, uncaught errors and foreign requests seen since the last take(). */
  take(): string[];
}

/** A page in a fresh context (own sessionStorage) whose every mishap is recorded. */
export async function watchedPage(browser: Browser, base: string, viewport = { width: 1280, height: 900 }): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport });
  // The CSP's violation events, recorded before any of the page's own scripts run.
  await context.addInitScript(() => {
    const seen: string[] = [];
    window.__csp = seen;
    document.addEventListener('securitypolicyviolation', (e) => seen.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`));
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`script error: ${error.message}`));
  page.on('console', (message) => {
    if (/Content[- ]Security[- ]Policy/i.test(message.text())) problems.push(`console: ${message.text()}`);
  });
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(`${base}/`) && !url.startsWith('data:')) problems.push(`request to another origin: ${url}`);
  });
  return {
    page,
    context,
    take() {
      const out = problems.splice(0);
      return out;
    },
  };
}

/** Closes the page's context after checking that it saw no CSP violation, script error or foreign request. */
export async function closeWatched(watched: WatchedPage | undefined): Promise<void> {
  if (watched === undefined) return;
  const violations = await cspViolations(watched.page);
  const problems = watched.take();
  await watched.context.close();
  expect(violations).toEqual([]);
  expect(problems).toEqual([]);
}

/** CSP violations the page's document recorded (see watchedPage). */
export async function cspViolations(page: Page): Promise<string[]> {
  return page.evaluate(() => window.__csp ?? []);
}
