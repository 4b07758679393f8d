import type { FastifyInstance, FastifyRequest, onRequestHookHandler, preParsingHookHandler, RouteOptions } from 'fastify';
import { authorize, ROLE_FOR, type Access, type Principal } from '../../registry/access.js';
import { ForbiddenError, UnauthenticatedError } from '../../registry/errors.js';
import type { TokensService } from '../../registry/tokens.js';
import { problemResponses } from '../routes/responses.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * What the route needs: `public`, or a token whose role grants `read`, `write` or `admin`.
     * Every route of ours must say; start-up fails on one that does not.
     */
    access?: Access;
  }
  interface FastifyRequest {
    /** Who is calling; set by the first onRequest hook. */
    principal: Principal;
  }
  interface FastifyInstance {
    /** Throws 401/403 unless the caller may do something needing `access` (for checks that depend on the request, like purge). */
    requireAccess(request: FastifyRequest, access: Access): Promise<void>;
    /**
     * Whether the credentials `request` came with may still do what needs `access`, looked up
     * anew (the token revoked since, tokens now required): for answers that outlive their
     * request's check, like an event stream.
     */
    stillAllowed(request: FastifyRequest, access: Access): Promise<boolean>;
  }
}

export interface AuthOptions {
  tokens: TokensService;
  /** While tokens are required, anonymous callers may still use `read` routes. */
  anonymousRead: boolean;
}

const ANONYMOUS: Principal = { kind: 'anonymous' };

/** The name of the OpenAPI security scheme. */
export const SECURITY_SCHEME = 'bearerAuth';

/**
 * Bearer-token authentication and role checks, declared per route as `config: { access }`.
 *
 * Two hooks on every route, with rate limiting between them (see rate-limit.ts):
 * 1. `authenticate`, the route's first onRequest hook: finds out who the caller is, so the rate
 *    limiter can count per token rather than per address;
 * 2. `authorizeRequest`, in preParsing: refuses (401/403) before the body is read.
 *
 * An onRoute hook also writes each route's requirement into the OpenAPI document: the
 * `bearerAuth` scheme, the least role (`x-required-role`), and the 401/403 problem responses.
 */
export function registerAuth(app: FastifyInstance, options: AuthOptions): void {
  const { tokens, anonymousRead } = options;

  // Fastify forbids an object as a shared default; `authenticate` sets it on every request.
  app.decorateRequest('principal');

  /** Throws (401/403) at once, or later from the promise when it must ask whether tokens are required. */
  function check(principal: Principal, access: Access): Promise<void> | undefined {
    if (access === 'public') return undefined;
    if (principal.kind !== 'anonymous') {
      authorize(principal, access, { authRequired: true, anonymousRead });
      return undefined;
    }
    // Only anonymous callers need to know whether tokens are required (a cached answer).
    return tokens.authRequired().then((authRequired) => authorize(principal, access, { authRequired, anonymousRead }));
  }
  app.decorate('requireAccess', async (request: FastifyRequest, access: Access) => check(request.principal, access));
  app.decorate('stillAllowed', async (request: FastifyRequest, access: Access) => {
    try {
      await check(await principalOf(request.headers.authorization), access);
      return true;
    } catch (error) {
      // Refused: false. Anything else (the database is away) is for the caller to decide on.
      if (error instanceof UnauthenticatedError || error instanceof ForbiddenError) return false;
      throw error;
    }
  });

  /** Who presents the Authorization header (at once when no lookup is needed). */
  function principalOf(header: string | undefined): Principal | Promise<Principal> {
    if (header === undefined) return ANONYMOUS;
    const bearer = /^Bearer +(\S+) *$/i.exec(header);
    if (bearer === null) return { kind: 'invalid', reason: 'The Authorization header must be "Bearer <token>".' };
    return tokens.authenticate(bearer[1]!);
  }

  // Callback-style hooks: these run on every request, and most of them decide without waiting.
  // Each route gets its own pair, which knows the route's access (reading request.routeOptions
  // builds an object per call). They go first in the route's hooks: the rate limiter, registered
  // later, appends its onRequest hook after `authenticate`.
  app.addHook('onRoute', (route) => {
    const access = declareAccess(route, anonymousRead);
    route.onRequest = [authenticateFor(access), ...hooksOf(route.onRequest)];
    route.preParsing = [authorizeFor(access), ...hooksOf(route.preParsing)];
  });

  function authenticateFor(access: Access): onRequestHookHandler {
    return function authenticate(request, reply, done) {
      request.principal = ANONYMOUS;
      // Public routes (health checks, metrics) never touch the token table.
      if (access === 'public') return done();
      const found = principalOf(request.headers.authorization);
      const use = (principal: Principal) => {
        request.principal = principal;
        if (principal.kind === 'token') {
          // Every later line of this request (including "request completed") names the caller.
          request.log = reply.log = request.log.child({ actor: principal.name });
        }
        done();
      };
      if (found instanceof Promise) found.then(use, done);
      else use(found);
    };
  }

  function authorizeFor(access: Access): preParsingHookHandler {
    return function authorizeRequest(request, _reply, payload, done) {
      let pending: Promise<void> | undefined;
      try {
        pending = check(request.principal, access);
      } catch (error) {
        return done(error as Error);
      }
      if (pending === undefined) return done(null, payload);
      pending.then(() => done(null, payload), done);
    };
  }
}

/** A route option's hooks as an array (Fastify takes one function or several). */
export function hooksOf<T>(hooks: T | T[] | undefined): T[] {
  return hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks];
}

/**
 * Checks that the route declares its access (plugin routes under /docs and CORS preflights are
 * public) and documents it in the route's OpenAPI operation.
 */
function declareAccess(route: RouteOptions, anonymousRead: boolean): Access {
  route.config ??= {};
  const config = route.config as { access?: Access };
  if (config.access === undefined) {
    if (route.method === 'OPTIONS' || route.url.startsWith('/docs')) {
      config.access = 'public';
      return 'public';
    }
    throw new Error(`Route ${String(route.method)} ${route.url} declares no config.access (public, read, write or admin).`);
  }
  const access = config.access;
  if (access === 'public' || route.schema === undefined) return access;
  const role = ROLE_FOR[access];
  const schema = route.schema as Record<string, unknown> & { response?: Record<number, unknown>; description?: string };
  if (schema['x-required-role'] !== undefined) return access; // the HEAD twin of a GET route shares its schema
  const anonymousToo = access === 'read' && anonymousRead;
  route.schema = {
    ...schema,
    // `{}` as an alternative: anonymous reads are allowed on this deployment.
    security: anonymousToo ? [{ [SECURITY_SCHEME]: [] }, {}] : [{ [SECURITY_SCHEME]: [] }],
    'x-required-role': role,
    description: `${schema.description ?? ''} Needs a token with role ${role} or above${anonymousToo ? ' (or none: anonymous reads are on)' : ''}.`.trim(),
    response: { ...schema.response, ...problemResponses(401, 403) },
  } as RouteOptions['schema'];
  return access;
}
