// Problem `type`s resolve to pages this service serves (src/http/problem-types.ts): each is
// `/problems/<slug>`, relative to the request URI, and its page says what the problem means and how
// to fix it, as HTML without scripts or styles under the UI's strict Content-Security-Policy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemBody } from '../../src/http/problem.js';
import { PROBLEM_TYPES } from '../../src/http/problem-types.js';
import { startService, type TestService } from '../support/app.js';

describe('problem type pages', () => {
  let svc: TestService;
  let baseUrl: string;
  beforeAll(async () => {
    svc = await startService('sqlite');
    baseUrl = await svc.listen();
  });
  afterAll(async () => svc?.close());

  it('serve a page for every problem type: what it means and how to fix it, as plain HTML', async () => {
    expect(PROBLEM_TYPES.length).toBeGreaterThanOrEqual(15);
    for (const type of PROBLEM_TYPES) {
      const response = await fetch(`${baseUrl}/problems/${type.slug}`);
      const html = await response.text();
      expect(response.status, type.slug).toBe(200);
      expect(response.headers.get('content-type'), type.slug).toMatch(/^text\/html; charset=utf-8/);
      expect(html, type.slug).toContain(`<h1>${type.title}</h1>`);
      expect(html, type.slug).toContain(`HTTP status ${type.status}`);
      expect(html, type.slug).toMatch(/<h2>What it means<\/h2>\n<p>.{40,}<\/p>/);
      expect(html, type.slug).toMatch(/<h2>How to fix it<\/h2>\n<p>.{40,}<\/p>/);
      // Nothing the CSP would block: no inline script or style at all, nor from elsewhere.
      expect(html, type.slug).not.toMatch(/<script|<style|\sstyle=|\son[a-z]+=|<link/i);
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("style-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      // Every type the registry sends for that status names this page.
      expect(problemBody(type.status, 'x', '/').type).toBe(`/problems/${type.slug}`);
    }
  });

  it('list every type at /problems, each linked', async () => {
    const response = await fetch(`${baseUrl}/problems`);
    const html = await response.text();
    expect(response.status).toBe(200);
    for (const type of PROBLEM_TYPES) expect(html).toContain(`<a href="/problems/${type.slug}">`);
  });

  it('answer an unknown slug with a 404 problem', async () => {
    const response = await fetch(`${baseUrl}/problems/no-such-problem`);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await response.json()).toMatchObject({ type: '/problems/not-found', status: 404, detail: expect.stringContaining('no-such-problem') });
  });

  it('are where the type of a real problem resolves to, against the request URI (RFC 9457 §3.1.1)', async () => {
    for (const [url, init, title] of [
      ['/v1/configs/missing', {}, 'Not found'],
      ['/v1/configs/x', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"config": 1}' }, 'Validation failed'],
      ['/v1/configs/x', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{' }, 'Bad request'],
      ['/v1/configs/%ZZ', {}, 'Bad request'],
    ] as const) {
      const requestUrl = `${baseUrl}${url}`;
      const answer = (await (await fetch(requestUrl, init)).json()) as { type: string; title: string };
      expect(answer.type).toMatch(/^\/problems\/[a-z-]+$/);
      expect(answer.title).toBe(title);
      const page = await fetch(new URL(answer.type, requestUrl));
      expect(page.status).toBe(200);
      expect(await page.text()).toContain(`<h1>${title}</h1>`);
    }
  });

  it('leave a status without a type as about:blank, titled by its status phrase (RFC 9457 §4.2.1)', () => {
    expect(problemBody(418, 'x', '/')).toMatchObject({ type: 'about:blank', title: "I'm a Teapot", status: 418 });
  });
});
