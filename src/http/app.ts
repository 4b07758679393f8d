import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler } from 'fastify-type-provider-zod';
import type { Registry } from '../registry/registry.js';
import { registerExpectContinue } from './expect-continue.js';
import { registerGracefulClose } from './graceful-close.js';
import { registerHandlerDeadline } from './handler-deadline.js';
import { LINGER_LIMITS, LingeringClose, type LingerLimits } from './lingering-close.js';
import { loggerOptions, registerRequestLogging, requestId, type LogOptions } from './logging.js';
import { registerOpenApi } from './openapi.js';
import { registerAuth } from './plugins/auth.js';
import { registerCors } from './plugins/cors.js';
import { registerMetrics } from './plugins/metrics.js';
import { registerRateLimit } from './plugins/rate-limit.js';
import { registerSecurityHeaders } from './plugins/security-headers.js';
import { registerUi } from './plugins/ui.js';
import { answerClientError, frameworkProblem, problem, registerProblemHandlers, sendProblem } from './problem.js';
import { registerJsonBodyParser } from './json-body.js';
import { lazyChildLoggerFactory } from './lazy-logger.js';
import { aliasRoutes } from './routes/aliases.js';
import { configRoutes } from './routes/configs.js';
import { eventRoutes } from './routes/events.js';
import { eventStreamRoutes } from './routes/event-stream.js';
import { EventStreams, type EventStreamOptions } from './event-streams.js';
import type { WaitingOptions } from './long-poll.js';
import { moduleClassRoutes } from './routes/module-classes.js';
import { operationRoutes } from './routes/operations.js';
import { problemPageRoutes } from './routes/problem-pages.js';
import { tokenRoutes } from './routes/tokens.js';
import { validateRoutes } from './routes/validate.js';
import { validatorCompiler } from './validation.js';

export const BODY_LIMIT = 1024 * 1024;

/** Socket and request time limits, in milliseconds (0: none). See the README's settings. */
export interface Timeouts {
  /** Receiving a whole request (Node's requestTimeout): slow senders are cut off. */
  requestMs: number;
  /** Handling a request, arrival to reply: 503 problem after it (see handler-deadline.ts). */
  handlerMs: number;
  /** A socket with no activity at all (Node's server.timeout). */
  connectionMs: number;
  /** An idle keep-alive connection between requests. */
  keepAliveMs: number;
}

export interface AppOptions {
  registry: Registry;
  /** A logger made elsewhere (main.ts makes the process's one logger, with loggerOptions); wins over `log`. */
  loggerInstance?: FastifyBaseLogger;
  version?: string;
  /** Log level and destination; absent: no logs. */
  log?: LogOptions;
  /** While tokens are required, anonymous callers may still read (REGISTRY_ANONYMOUS_READ). */
  anonymousRead?: boolean;
  /** Requests per minute per token or client address; absent or 0: no limit (RATE_LIMIT_MAX). */
  rateLimitMax?: number;
  /** Browser origins allowed by CORS; absent or empty: CORS off (CORS_ORIGINS). */
  corsOrigins?: readonly string[];
  /** Fastify's trustProxy: whose X-Forwarded-For to believe for the client address (TRUST_PROXY). */
  trustProxy?: boolean | string;
  timeouts?: Partial<Timeouts>;
  /** Long-polls and event streams (tests shorten them; production leaves them out). */
  watching?: WaitingOptions & EventStreamOptions;
  /** The built web UI to serve at /ui/ (default: dist/ui, see plugins/ui.ts). */
  uiRoot?: string;
  /** How long and how much of a body is read after an early answer (tests shorten it; see lingering-close.ts). */
  lingering?: Partial<LingerLimits>;
}

const JSON_TYPES = new Set(['application/json', 'application/merge-patch+json']);

/** The whole HTTP API as a Fastify instance that is not listening yet (tests inject into it). */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { registry } = options;
  const timeouts = options.timeouts ?? {};
  const lingering = new LingeringClose({ ...LINGER_LIMITS, ...options.lingering });
  const app = Fastify({
    ...(options.loggerInstance === undefined
      ? { logger: options.log === undefined ? false : loggerOptions(options.log) }
      : { loggerInstance: options.loggerInstance }),
    bodyLimit: BODY_LIMIT,
    genReqId: requestId,
    childLoggerFactory: lazyChildLoggerFactory(),
    // Class ids are up to 255 characters; the default (100) would answer long ones with 404.
    routerOptions: { maxParamLength: 512 },
    // src/http/graceful-close.ts answers requests that arrive while closing.
    return503OnClosing: false,
    trustProxy: options.trustProxy ?? false,
    requestTimeout: timeouts.requestMs ?? 0,
    connectionTimeout: timeouts.connectionMs ?? 0,
    keepAliveTimeout: timeouts.keepAliveMs ?? 72_000,
    // A URL that does not decode, or a path segment over maxParamLength, is answered before any
    // route is found; without this Fastify sends its own non-problem JSON.
    frameworkErrors: (error, request, reply) => sendProblem(reply, frameworkProblem(error, request)),
    // Requests Node's HTTP parser rejects (bad request line, oversized headers) never reach
    // Fastify: answer them as problems too.
    clientErrorHandler: (error, socket) => answerClientError(error, socket, lingering),
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  registerProblemHandlers(app);
  registerGracefulClose(app);
  lingering.register(app);
  registerHandlerDeadline(app, timeouts.handlerMs ?? 0);

  // Order matters. Authentication is each route's first onRequest hook (the rate limiter counts
  // per token); the rate limiter attaches its hook to routes added after it, behind
  // authentication's; authorization runs in preParsing.
  registerAuth(app, { tokens: registry.tokens, anonymousRead: options.anonymousRead ?? false });
  registerExpectContinue(app, BODY_LIMIT);
  registerRequestLogging(app);
  registerSecurityHeaders(app);
  await registerCors(app, { origins: options.corsOrigins ?? [] });
  await registerRateLimit(app, { max: options.rateLimitMax ?? 0 });
  const metrics = registerMetrics(app, registry.store, registry.watch);

  // RFC 7396 bodies are JSON too; both go through the strict parser (see json-body.ts).
  registerJsonBodyParser(app, [...JSON_TYPES]);

  // PATCH routes take merge-patch or plain JSON; everything else takes JSON only.
  // Callback style (a reply sent here ends the request without calling done).
  app.addHook('preValidation', (request, reply, done) => {
    if (request.body === undefined) return done();
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type === 'application/merge-patch+json' && request.method !== 'PATCH') {
      sendProblem(
        reply,
        problem(request, 415, `${request.method} takes application/json; application/merge-patch+json is for PATCH.`),
      );
      return;
    }
    if (!JSON_TYPES.has(type)) {
      sendProblem(reply, problem(request, 415, `Unsupported content type '${type}'. Send application/json.`));
      return;
    }
    done();
  });

  // Waiters are answered and streams ended first thing on close, so that they do not hold it up.
  const streams = new EventStreams(options.watching ?? {});
  app.addHook('preClose', async () => {
    await registry.watch.close();
  });
  app.addHook('onClose', async () => streams.close());

  await registerOpenApi(app, options.version ?? '0.0.0');
  operationRoutes(app, registry, metrics);
  problemPageRoutes(app);
  moduleClassRoutes(app, registry);
  configRoutes(app, registry, options.watching ?? {});
  aliasRoutes(app, registry);
  validateRoutes(app, registry);
  eventRoutes(app, registry, options.watching ?? {});
  eventStreamRoutes(app, registry, streams);
  tokenRoutes(app, registry);
  await registerUi(app, options.uiRoot);

  app.addHook('onReady', async () => {
    if (!(await registry.tokens.authRequired())) {
      app.log.warn(
        'Authentication is OFF: no REGISTRY_ADMIN_TOKEN and no API tokens, so anyone who can reach this port may read, ' +
          'write and purge. Set REGISTRY_ADMIN_TOKEN (or create an admin token) to require tokens.',
      );
    }
  });
  return app;
}
