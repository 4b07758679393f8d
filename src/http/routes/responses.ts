import { z } from 'zod';
import { PROBLEM_CONTENT_TYPE, problemBody } from '../problem.js';
import { ConfigSchema, ProblemSchema } from '../schemas.js';

/**
 * Route responses, written once for Fastify (which serializes by status and content type) and for
 * the OpenAPI document. A response names its content types explicitly, so problems are documented
 * as `application/problem+json` (what the error handler sends) whatever the success type is.
 * `headers` and media `example`s are not Fastify's business: openapi.ts carries them into the
 * document, which the zod transform alone would drop.
 */
export interface DocumentedResponse {
  description: string;
  /** Response headers, as OpenAPI header schemas with a description. */
  headers?: Record<string, HeaderDoc>;
  /** Media type -> body schema. Empty for responses without a body (204, 304). */
  content: Record<string, { schema: z.ZodType; example?: unknown }>;
}

export interface HeaderDoc {
  type: 'string' | 'integer';
  description: string;
  /** Sent with every reply of that status (the fuzz suite's contract check holds the service to it). */
  required?: boolean;
}

export const ETAG: HeaderDoc = {
  type: 'string',
  required: true,
  description: 'The config version as a strong entity tag, e.g. `"3"`: send it back in If-Match (writes) or If-None-Match (reads).',
};
export const LOCATION: HeaderDoc = { type: 'string', required: true, description: 'The path of the created resource.' };
export const CONTENT_LOCATION: HeaderDoc = {
  type: 'string',
  description: 'Read by `?alias=`: the URL of the version the alias names (e.g. `/v1/configs/resnet50-int8/versions/3`).',
};
const RETRY_AFTER: HeaderDoc = { type: 'integer', required: true, description: 'Seconds to wait before retrying.' };
const WWW_AUTHENTICATE: HeaderDoc = { type: 'string', required: true, description: 'The Bearer challenge (RFC 6750).' };

export function jsonResponse(
  schema: z.ZodType,
  description: string,
  headers?: Record<string, HeaderDoc>,
): DocumentedResponse {
  return { description, ...(headers ? { headers } : {}), content: { 'application/json': { schema } } };
}

/** A response that carries a config: it always sends the version as ETag (API.md, "Configs"). */
export function configResponse(description: string, options: { created?: boolean; byAlias?: boolean } = {}): DocumentedResponse {
  return jsonResponse(ConfigSchema, description, {
    ETag: ETAG,
    ...(options.created ? { Location: LOCATION } : {}),
    ...(options.byAlias ? { 'Content-Location': CONTENT_LOCATION } : {}),
  });
}

export function noContent(description: string, headers?: Record<string, HeaderDoc>): DocumentedResponse {
  return { description, ...(headers ? { headers } : {}), content: {} };
}

const WHEN: Record<number, string> = {
  400: 'The URL is not valid percent-encoded UTF-8, malformed JSON, or a page token that was tampered with or belongs to another list.',
  401: 'No bearer token where one is required, or an unknown or revoked one (see WWW-Authenticate).',
  403: "The token's role does not allow this operation.",
  404: 'Not found.',
  408: 'The whole request did not arrive within REQUEST_TIMEOUT_MS; the connection is closed.',
  409: 'Conflicts with the current state.',
  412: 'An If-Match / If-None-Match precondition does not hold.',
  413: 'Request body over 1 MiB.',
  414: 'A path segment of the URL is longer than 512 characters.',
  415: 'Unsupported content type.',
  422: 'Valid JSON, path or query that breaks the schema or a registry rule; every problem is listed with its place.',
  429: 'Too many requests from this token or address; retry after Retry-After seconds.',
  431: 'The request headers are larger than the server reads (16 KiB).',
  503: 'The database is unavailable, or the request took too long; retry after the Retry-After seconds.',
};

const EXAMPLE_DETAIL: Record<number, string> = {
  400: 'The request body is not valid JSON: Unexpected end of JSON input',
  401: 'This operation needs a bearer token (Authorization: Bearer <token>).',
  403: "Token 'ci-reader' has role reader; this operation needs writer.",
  429: 'Rate limit exceeded: retry in 12 seconds.',
  404: "Config 'resnet50-int8' does not exist.",
  409: "Config 'resnet50-int8' is deleted; undelete it (POST /v1/configs/resnet50-int8/undelete) or purge it first.",
  412: 'If-Match "2" does not hold: the current version is "3".',
  413: 'The request body exceeds the limit of 1 MiB.',
  414: 'A path segment of the URL is too long.',
  415: "Unsupported content type 'text/plain'. Send application/json.",
  408: 'The request was not received in time.',
  431: 'The request headers are too large.',
  422: 'The request body does not match the schema.',
  500: 'The server failed to handle the request; it has been logged.',
  503: 'The database is unavailable; retry shortly.',
};

function problemExample(status: number): Record<string, unknown> {
  return problemBody(
    status,
    EXAMPLE_DETAIL[status] ?? 'Problem.',
    '/v1/configs/resnet50-int8',
    status === 422
      ? { errors: [{ pointer: '/config/observed_to_quantized_custom_module_class/statik', detail: "Unknown QuantType name 'statik'" }] }
      : {},
  );
}

function problemResponse(description: string, status: number, headers?: Record<string, HeaderDoc>): DocumentedResponse {
  return {
    description,
    ...(headers ? { headers } : {}),
    content: { [PROBLEM_CONTENT_TYPE]: { schema: ProblemSchema, example: problemExample(status) } },
  };
}

/**
 * Problem responses for the given statuses, plus `5XX` (a server failure, or the database being
 * unavailable) which every operation can answer. Each is `application/problem+json`.
 */
export function problemResponses(...statuses: number[]): Record<string, DocumentedResponse> {
  const out: Record<string, DocumentedResponse> = {};
  for (const status of statuses) {
    const retry = status === 503 || status === 429;
    const headers: Record<string, HeaderDoc> | undefined =
      status === 401 ? { 'WWW-Authenticate': WWW_AUTHENTICATE } : retry ? { 'Retry-After': RETRY_AFTER } : undefined;
    out[status] = problemResponse(WHEN[status] ?? 'Problem.', status, headers);
  }
  out['5xx'] ??= problemResponse(
    'The server failed (500), or the database is unavailable (503, with Retry-After): retry later.',
    503,
    { 'Retry-After': { ...RETRY_AFTER, required: false } },
  );
  return out;
}

/**
 * The answers any operation may give whatever its handler does, declared once here for every
 * documented route (openapi.ts adds them in an onRoute hook) instead of route by route: Node's
 * HTTP parser answers a request whose headers are too large (431) or that arrives too slowly
 * (408), and Fastify a URL that does not percent-decode (400) or a path segment over the router's
 * limit (414), all before any route is found, but a client sees them as answers of the operation
 * the URL looks like; every method but GET and HEAD reads a body when one is sent, so it may be
 * malformed (400), too large (413) or of a type nobody takes (415). 401/403 come from auth, 429
 * from the rate limiter (only when it is on), 5XX from every `problemResponses` call.
 */
export function commonProblemStatuses(method: string, url: string): number[] {
  const statuses = [400, 408, 431];
  if (url.includes(':') || url.includes('*')) statuses.push(414);
  if (method !== 'GET' && method !== 'HEAD') statuses.push(413, 415);
  return statuses;
}
