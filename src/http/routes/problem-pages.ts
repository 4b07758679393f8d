import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { UI_CONTENT_SECURITY_POLICY } from '../plugins/security-headers.js';
import { problem, sendProblem } from '../problem.js';
import { PROBLEM_TYPE_PREFIX, PROBLEM_TYPES, problemTypeOfSlug, type ProblemType } from '../problem-types.js';
import { problemResponses } from './responses.js';

/** Documentation, like /docs: no token, no rate limit. */
const PAGE_ROUTE = { access: 'public', rateLimit: false } as const;

const HTML = 'text/html; charset=utf-8';

const SlugParams = z.strictObject({
  slug: z.string().describe('The last segment of a problem `type`, e.g. `validation-failed`.'),
});

/**
 * The pages problem `type`s point at (problem-types.ts): `/problems/<slug>` says what the problem
 * means and how to fix it, `/problems` lists them all. Plain HTML, rendered once at start-up,
 * without scripts or styles, under the web UI's strict Content-Security-Policy.
 */
export function problemPageRoutes(app: FastifyInstance): void {
  const pages = new Map(PROBLEM_TYPES.map((t) => [t.slug, typePage(t)]));
  const index = indexPage();
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.route({
    method: 'GET',
    url: '/problems',
    config: PAGE_ROUTE,
    schema: {
      operationId: 'listProblemTypes',
      tags: ['Operations'],
      summary: 'Problem types',
      description: 'An HTML page listing every problem `type` this registry answers with, each linked to its page.',
      response: {
        200: { description: 'The list, as HTML.', content: { 'text/html': { schema: z.string(), example: index.slice(0, 120) } } },
        ...problemResponses(),
      },
    },
    handler: async function listProblemTypes(_request, reply) {
      return reply.type(HTML).header('content-security-policy', UI_CONTENT_SECURITY_POLICY).send(index);
    },
  });

  r.route({
    method: 'GET',
    url: `${PROBLEM_TYPE_PREFIX}:slug`,
    config: PAGE_ROUTE,
    schema: {
      operationId: 'getProblemType',
      tags: ['Operations'],
      summary: 'What a problem type means',
      description:
        'The page a problem `type` (`/problems/<slug>`, relative to the request URI) resolves to: what the problem means ' +
        'and how to fix it, as HTML.',
      params: SlugParams,
      response: {
        200: {
          description: 'The page, as HTML.',
          content: { 'text/html': { schema: z.string(), example: pages.get('validation-failed')!.slice(0, 120) } },
        },
        ...problemResponses(404),
      },
    },
    handler: async function getProblemType(request, reply) {
      const page = pages.get(request.params.slug);
      if (page === undefined) return sendProblem(reply, problem(request, 404, `No problem type '${request.params.slug}'; see /problems.`));
      return reply.type(HTML).header('content-security-policy', UI_CONTENT_SECURITY_POLICY).send(page);
    },
  });
}

function typePage(type: ProblemType): string {
  return page(
    `${type.title} (${type.status})`,
    `<h1>${escape(type.title)}</h1>
<p>HTTP status ${type.status}. Problem type <code>${PROBLEM_TYPE_PREFIX}${type.slug}</code>, sent as
<code>application/problem+json</code> (RFC 9457) with <code>detail</code> saying what went wrong with the request.</p>
<h2>What it means</h2>
<p>${prose(type.means)}</p>
<h2>How to fix it</h2>
<p>${prose(type.fix)}</p>`,
  );
}

function indexPage(): string {
  const items = PROBLEM_TYPES.map(
    (t) => `<li><a href="${PROBLEM_TYPE_PREFIX}${t.slug}"><code>${PROBLEM_TYPE_PREFIX}${t.slug}</code></a>: ${escape(t.title)} (${t.status})</li>`,
  ).join('\n');
  return page(
    'Problem types',
    `<h1>Problem types</h1>
<p>Every error of this registry is an RFC 9457 <code>application/problem+json</code> body whose <code>type</code>
is one of these (a reply with no more to say than its status has <code>about:blank</code>).</p>
<ul>
${items}
</ul>`,
  );
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} · convert-config registry</title>
</head>
<body>
<main>
${body}
<p><a href="/problems">All problem types</a> · <a href="/docs">API reference</a> · <a href="/openapi.json">OpenAPI document</a></p>
</main>
</body>
</html>
`;
}

/** Plain text with `code` spans, as HTML. */
function prose(text: string): string {
  return escape(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
