import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';

export interface CorsOptions {
  /** Origins allowed to call from a browser (`https://ml.example.com`), or `*` for any. Empty: CORS off. */
  origins: readonly string[];
}

/**
 * @fastify/cors, off unless origins are configured: a registry is usually called by tools, not by
 * other sites' pages. Credentials are bearer tokens, never cookies, so no credentialed CORS.
 */
export async function registerCors(app: FastifyInstance, options: CorsOptions): Promise<void> {
  if (options.origins.length === 0) return;
  await app.register(cors, {
    origin: options.origins.includes('*') ? '*' : [...options.origins],
    methods: ['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'If-Match', 'If-None-Match', 'X-Request-Id', 'Prefer', 'Last-Event-ID'],
    exposedHeaders: [
      'ETag',
      'Location',
      'Content-Location',
      'X-Dry-Run',
      'X-Registry-Revision',
      'Preference-Applied',
      'Retry-After',
      'WWW-Authenticate',
      'X-Request-Id',
      'X-RateLimit-Limit',
      'X-RateLimit-Remaining',
      'X-RateLimit-Reset',
    ],
    credentials: false,
    maxAge: 600,
  });
}
