import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { problemResponses } from '../routes/responses.js';

export interface RateLimitOptions {
  /** Requests per minute per token (or per client address for anonymous callers); 0: off. */
  max: number;
}

const WINDOW_MS = 60_000;

/** Counts per token name when the caller presented a valid token, else per client address. */
function rateLimitKey(request: FastifyRequest): string {
  return request.principal?.kind === 'token' ? `token:${request.principal.name}` : `ip:${request.ip}`;
}

/**
 * @fastify/rate-limit, in memory per replica (N replicas allow up to N times the limit per
 * client: a shared store would cost a network round trip per request). Its hook runs after
 * authentication (so it can count per token) and before authorization, so floods of bad tokens
 * are limited too. Routes opt out with `config: { rateLimit: false }` (health, readiness,
 * metrics: an orchestrator must always get an answer). A refusal is a 429 problem with
 * Retry-After, thrown to the one error handler.
 *
 * Register before the routes: the plugin attaches its hook to routes as they are added.
 */
export async function registerRateLimit(app: FastifyInstance, options: RateLimitOptions): Promise<void> {
  if (options.max === 0) return;
  await app.register(rateLimit, {
    global: true,
    max: options.max,
    timeWindow: WINDOW_MS,
    hook: 'onRequest',
    keyGenerator: rateLimitKey,
    errorResponseBuilder: (_request, context) =>
      Object.assign(new Error(`Rate limit of ${context.max} requests per minute exceeded; retry in ${context.after}.`), {
        statusCode: 429,
      }),
  });
  app.addHook('onRoute', (route) => {
    const config = route.config as { rateLimit?: unknown } | undefined;
    if (config?.rateLimit === false || route.schema === undefined || route.url.startsWith('/docs')) return;
    const schema = route.schema as { response?: Record<number, unknown> };
    route.schema = { ...schema, response: { ...schema.response, ...problemResponses(429) } };
  });
}
