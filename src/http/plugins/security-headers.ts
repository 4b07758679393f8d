import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

/**
 * @fastify/helmet's security headers on every reply (nosniff, frame-ancestors, CSP, HSTS, ...).
 * Its default Content-Security-Policy already suits Swagger UI at /docs, whose page loads only
 * same-origin scripts and styles (test/api/security-headers.test.ts checks that), except for
 * `upgrade-insecure-requests`: on a registry served over plain HTTP inside a network (not
 * localhost), it would make browsers fetch /docs' scripts over HTTPS, which is not there.
 */
export async function registerSecurityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: { useDefaults: true, directives: { upgradeInsecureRequests: null } },
  });
}
