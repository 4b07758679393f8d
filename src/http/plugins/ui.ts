import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { problem, sendProblem } from '../problem.js';
import { UI_CONTENT_SECURITY_POLICY } from './security-headers.js';

/**
 * Where `npm run build` puts the web UI (scripts/build-ui.mjs): the same folder from src/ (tsx) and
 * from dist/ (the build), since both sit three levels below the repository's root.
 */
export const UI_BUILD = fileURLToPath(new URL('../../../dist/ui/', import.meta.url));

/** Static files: no token (the data they show comes from /v1, which asks), no rate limit. */
const UI_ROUTE = { access: 'public', rateLimit: false } as const;

/**
 * The web UI (ui/, built into dist/ui/): a client of /v1 like any other, so this plugin only
 * serves files. /ui/* answers a built file when the path names one (hashed assets cached for
 * good, each served from its .br or .gz twin when the browser takes it), else index.html, so
 * every page's URL works on reload; a browser asking for / is sent to /ui/, API clients asking
 * for / get the 404 they always got. The UI's pages carry a stricter Content-Security-Policy than
 * the API's (no inline styles either; see security-headers.ts).
 */
export async function registerUi(app: FastifyInstance, root: string = UI_BUILD): Promise<void> {
  const files = builtFiles(root);
  if (!files.has('index.html')) {
    app.log.warn(`The web UI is not built (${join(root, 'index.html')} is missing): /ui/ answers 404. Run npm run build.`);
  }

  app.route({
    method: 'GET',
    url: '/',
    config: UI_ROUTE,
    schema: { hide: true },
    handler: function root(request, reply) {
      if (files.has('index.html') && prefersHtml(request)) return reply.redirect('/ui/', 302);
      return reply.callNotFound();
    },
  });

  await app.register(async function ui(scope) {
    await scope.register(fastifyStatic, { root, serve: false, preCompressed: true });
    scope.route({
      method: 'GET',
      url: '/ui',
      config: UI_ROUTE,
      schema: { hide: true },
      handler: function uiRoot(_request, reply) {
        return reply.redirect('/ui/', 301);
      },
    });
    scope.route({
      method: 'GET',
      url: '/ui/*',
      config: UI_ROUTE,
      schema: { hide: true },
      handler: function uiFile(request, reply) {
        const path = (request.params as { '*': string })['*'];
        if (files.has(path) && path !== 'index.html') {
          // Only names the build wrote are served: no path from the URL reaches the file system.
          return path.startsWith('assets/')
            ? reply.sendFile(path, { maxAge: '365d', immutable: true })
            : reply.sendFile(path);
        }
        // A missing asset is a 404, not the app: a stale page asking for an old bundle must not get
        // HTML. Pages may end in what looks like an extension (/ui/module-classes/pkg.Conv), files
        // of the build's top level (favicon.ico) may not.
        if (path.startsWith('assets/') || /^[^/]*\.[A-Za-z0-9]+$/.test(path) || !files.has('index.html')) {
          return sendProblem(reply, problem(request, 404, files.has('index.html') ? `No file ${request.url.split('?')[0]} in the web UI.` : 'The web UI is not built on this server (npm run build).'));
        }
        // Every page of the app is index.html; it must be fetched again after a deploy.
        return reply
          .header('cache-control', 'no-cache')
          .header('content-security-policy', UI_CONTENT_SECURITY_POLICY)
          .sendFile('index.html', { cacheControl: false });
      },
    });
  });
}

/** The files of the build, as URL paths below /ui/ (compressed twins left out: they are chosen per request). */
function builtFiles(root: string): Set<string> {
  if (!existsSync(root)) return new Set();
  return new Set(
    readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile() && !/\.(br|gz)$/.test(entry.name))
      .map((entry) => relative(root, join(entry.parentPath, entry.name)).split(sep).join('/')),
  );
}

/**
 * Whether the caller asked for HTML more than for JSON: browsers send `text/html,...`; curl and
 * API clients send `*\/*` or `application/json`. By hand because it is one media type against
 * one other, which a full content negotiation library would not make clearer.
 */
function prefersHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept;
  if (accept === undefined) return false;
  let html = 0;
  let json = 0;
  for (const range of accept.toLowerCase().split(',')) {
    const [type, ...params] = range.trim().split(';');
    const q = Number(params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined) ?? '1');
    if (type === 'text/html') html = Math.max(html, q);
    if (type === 'application/json' || type === 'application/problem+json') json = Math.max(json, q);
  }
  return html > 0 && html > json;
}
