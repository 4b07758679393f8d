import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { DestinationStream } from 'pino';

export interface LogOptions {
  level: string;
  /** Where JSON lines go (default: stdout). Tests pass a stream to read them back. */
  stream?: DestinationStream;
  /** Secrets that must never be written, e.g. the bootstrap admin token. */
  secrets?: readonly string[];
}

const REDACTED = '[redacted]';

/**
 * Where credentials could sit in a log object. Fastify's default request serializer logs no
 * headers; the debug line below does, and any `{ headers }` or `{ token }` someone logs later is
 * covered too.
 */
const REDACT_PATHS = [
  'headers.authorization',
  'headers.cookie',
  'headers["proxy-authorization"]',
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'token',
  '*.token',
  'secret',
  '*.secret',
];

/** A token secret anywhere in a line (a message, a URL, an error's text): the prefix makes it findable. */
const TOKEN_SECRET = /ccr_[A-Za-z0-9_-]{8,}/g;

/**
 * pino options: JSON lines, credentials redacted by path and, as a last line of defence, any
 * token-shaped string or configured secret scrubbed from the finished line, wherever it hid.
 */
export function loggerOptions(options: LogOptions): FastifyServerOptions['logger'] {
  // As the secrets appear inside JSON strings.
  const secrets = (options.secrets ?? []).filter((s) => s.length > 0).map((s) => JSON.stringify(s).slice(1, -1));
  return {
    level: options.level,
    ...(options.stream === undefined ? {} : { stream: options.stream }),
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    hooks: {
      streamWrite(line: string): string {
        let out = line.replace(TOKEN_SECRET, `ccr_${REDACTED}`);
        for (const secret of secrets) {
          if (out.includes(secret)) out = out.split(secret).join(REDACTED);
        }
        return out;
      },
    },
  };
}

/** A client's X-Request-Id is kept if it is a plausible id; anything else gets a fresh UUID. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Request ids: the client's `X-Request-Id` when it looks like one (so a caller can follow its
 * request through our logs), else a UUID, unique across replicas and restarts, unlike Fastify's
 * per-process counter. Every log line of a request carries it as `reqId`.
 */
export function requestId(request: IncomingMessage): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** Echoes the request id on every reply, and logs request headers (credentials redacted) at debug level. */
export function registerRequestLogging(app: FastifyInstance): void {
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    request.log.debug({ headers: request.headers }, 'request headers');
    done();
  });
}
