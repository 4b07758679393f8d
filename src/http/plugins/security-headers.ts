import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * helmet's security headers on every reply (nosniff, frame-ancestors, CSP, HSTS, ...). Its default
 * Content-Security-Policy already suits Swagger UI at /docs, whose page loads only same-origin
 * scripts and styles (test/api/limits.test.ts checks that), except for `upgrade-insecure-requests`:
 * on a registry served over plain HTTP inside a network (not localhost), it would make browsers
 * fetch /docs' scripts over HTTPS, which is not there.
 */
const OPTIONS: HelmetOptions = {
  contentSecurityPolicy: { useDefaults: true, directives: { upgradeInsecureRequests: null } },
};

/**
 * The web UI's pages (plugins/ui.ts) run under a stricter policy than the API's: no inline styles
 * either (helmet's default allows them, for Swagger UI), and fonts only from here. Set on
 * index.html only: the policy of a page is the one its document came with.
 */
export const UI_CONTENT_SECURITY_POLICY = helmetHeaders({
  contentSecurityPolicy: {
    useDefaults: true,
    directives: { upgradeInsecureRequests: null, styleSrc: ["'self'"], fontSrc: ["'self'"], connectSrc: ["'self'"] },
  },
})['content-security-policy']!;

/**
 * helmet itself, not @fastify/helmet: the plugin builds helmet's middleware anew for every request
 * (parsing the CSP directives each time), ~20 µs of CPU per request here. Without nonces the
 * headers depend on the options only, so helmet computes them once and every reply gets the same
 * set.
 */
export function registerSecurityHeaders(app: FastifyInstance): void {
  const headers = helmetHeaders(OPTIONS);
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers);
    done();
  });
}

/** The headers helmet's middleware sets for `options`, read off a response that records them. */
function helmetHeaders(options: HelmetOptions): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string) {
      headers[name.toLowerCase()] = value;
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let failure: unknown;
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (error?: unknown) => {
    failure = error;
  });
  if (failure !== undefined) throw failure;
  return headers;
}
