import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RegistryError, UnauthenticatedError, UnavailableError, type FieldProblem } from '../registry/errors.js';
import { MalformedBodyError } from './json-body.js';
import type { LingeringClose } from './lingering-close.js';
import { PROBLEM_TYPE_PREFIX, problemTypeOfStatus } from './problem-types.js';
import { problemsFromIssues, RequestValidationError } from './validation.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  errors?: FieldProblem[];
  [extension: string]: unknown;
}

export function problem(
  request: Pick<FastifyRequest, 'url'>,
  status: number,
  detail: string,
  extensions: { errors?: FieldProblem[]; [k: string]: unknown } = {},
): Problem {
  return problemBody(status, detail, request.url.split('?')[0] ?? request.url, extensions);
}

/** The problem for a status, without a request (also the OpenAPI examples are built with it). */
export function problemBody(
  status: number,
  detail: string,
  instance: string,
  extensions: { errors?: FieldProblem[]; [k: string]: unknown } = {},
): Problem {
  // Stable problem types (RFC 9457 §3.1.1), each a page this service serves (problem-types.ts);
  // a status without one is `about:blank`, whose title is the status phrase (§4.2.1).
  const known = problemTypeOfStatus(status);
  const type = known === undefined ? 'about:blank' : PROBLEM_TYPE_PREFIX + known.slug;
  return { type, title: known?.title ?? STATUS_CODES[status] ?? 'Error', status, detail, instance, ...extensions };
}

export function sendProblem(reply: FastifyReply, body: Problem): FastifyReply {
  return reply.code(body.status).type(PROBLEM_CONTENT_TYPE).send(body);
}

const REGISTRY_STATUS: Record<RegistryError['kind'], number> = {
  'not-found': 404,
  conflict: 409,
  'precondition-failed': 412,
  invalid: 422,
  'bad-request': 400,
  unauthenticated: 401,
  forbidden: 403,
  unavailable: 503,
};

/** Turns whatever a request threw into one RFC 9457 problem. 5xx bodies never carry internals. */
function toProblem(error: FastifyError | Error, request: FastifyRequest): Problem {
  if (error instanceof RegistryError) {
    const status = REGISTRY_STATUS[error.kind];
    const ext: Record<string, unknown> = {};
    if ('errors' in error && Array.isArray(error.errors) && error.errors.length > 0) ext.errors = error.errors;
    if ('extensions' in error && typeof error.extensions === 'object') Object.assign(ext, error.extensions);
    return problem(request, status, error.message, ext);
  }
  if (error instanceof MalformedBodyError) {
    return problem(request, 400, error.message, error.errors.length > 0 ? { errors: error.errors } : {});
  }
  if (error instanceof RequestValidationError) {
    const where = (error as unknown as { validationContext?: string }).validationContext;
    const context = where === 'params' || where === 'querystring' || where === 'headers' ? where : 'body';
    const detail =
      context === 'body'
        ? 'The request body does not match the schema.'
        : `The request ${context === 'params' ? 'path' : 'query'} parameters are not valid.`;
    return problem(request, 422, detail, { errors: problemsFromIssues(error.issues, context) });
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.code === 'FST_ERR_HANDLER_TIMEOUT') {
    return problem(request, 503, 'The request took too long to handle; retry shortly.');
  }
  const status = fastifyError.statusCode;
  if (status !== undefined && status >= 400 && status < 500) {
    return problem(request, status, clientErrorDetail(fastifyError));
  }
  return problem(request, 500, 'The server failed to handle the request; it has been logged.');
}

function clientErrorDetail(error: FastifyError): string {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return `The request body is not valid JSON: ${error.message}`;
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'The request body exceeds the limit of 1 MiB.';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return `${error.message}. Send application/json.`;
    default:
      // Fastify's own 4xx messages (e.g. prototype poisoning) are safe to show.
      return error.message;
  }
}

/** RFC 6750 §3: the scheme and realm, and `error="invalid_token"` when a token was presented but refused. */
function wwwAuthenticate(error: unknown): string {
  const challenge = 'Bearer realm="convert-config-registry"';
  return error instanceof UnauthenticatedError && error.invalidToken ? `${challenge}, error="invalid_token"` : challenge;
}

/** Problem+json for every error and every unknown route. */
export function registerProblemHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    const body = toProblem(error, request);
    if (body.status >= 500) {
      request.log.error({ err: error }, 'request failed');
    } else {
      request.log.info({ status: body.status, code: (error as FastifyError).code }, body.detail);
    }
    if (body.status === 503) reply.header('retry-after', String(error instanceof UnavailableError ? error.retryAfterSeconds : 1));
    if (body.status === 401) reply.header('www-authenticate', wwwAuthenticate(error));
    return sendProblem(reply, body);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, problem(request, 404, `No route ${request.method} ${request.url.split('?')[0]}.`)),
  );
}

/**
 * Errors Fastify raises before routing (its `frameworkErrors` option): a path that does not
 * percent-decode (lone surrogates, `%zz`) and a path segment longer than the router takes.
 */
export function frameworkProblem(error: FastifyError, request: FastifyRequest): Problem {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return problem(request, 414, 'A path segment of the URL is too long.');
  }
  if (error.code === 'FST_ERR_BAD_URL') {
    return problem(request, 400, 'The URL path is not valid percent-encoded UTF-8.');
  }
  return problem(request, 400, 'The request could not be routed.');
}

/**
 * Node's HTTP parser rejected the request (malformed request line or headers, headers too large,
 * a body that does not match its framing, a timeout): there is no Fastify request, so the problem
 * is written to the socket directly. Its `instance` is the request target when the raw bytes
 * show one.
 */
export function answerClientError(
  error: Error & { code?: string; rawPacket?: unknown },
  socket: Socket,
  lingering?: Pick<LingeringClose, 'refused' | 'afterRefusal'>,
): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  // More of a request already answered (the parser reports every chunk after its first error).
  if (lingering?.refused(socket)) return;
  const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const detail =
    status === 408
      ? 'The request was not received in time.'
      : status === 431
        ? 'The request headers are too large.'
        : 'The request is not valid HTTP/1.1.';
  const target = /^[A-Z]+ (\/[\x21-\x7e]*) HTTP\/1\.[01]\r?\n/.exec(Buffer.isBuffer(error.rawPacket) ? error.rawPacket.toString('latin1') : '')?.[1];
  const body = JSON.stringify(problem({ url: target ?? '/' }, status, detail));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\nConnection: close\r\n\r\n${body}`,
    );
    // A client still sending (headers too large on an upload) reads the answer instead of a
    // reset; a client too slow for the request timeout is not waited for any longer.
    if (lingering !== undefined && status !== 408) {
      lingering.afterRefusal(socket);
      return;
    }
  }
  socket.destroy(error);
}
