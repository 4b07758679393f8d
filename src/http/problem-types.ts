/**
 * The registry's problem types (RFC 9457 §3.1.1, §4): one per status it answers with a problem,
 * each with a page this service serves at its `type` (routes/problem-pages.ts), saying what the
 * problem means and how to fix it.
 *
 * `type` is the relative reference `/problems/<slug>`, not an absolute URI: RFC 9457 §3.1.1 lets
 * it be one, resolved against the request's URI, so it names a page of the very registry that
 * answered (behind any host name or proxy) and stays the same string on every deployment, which
 * is what clients compare. A public URL setting would make every deployment's types differ.
 */
export interface ProblemType {
  slug: string;
  status: number;
  title: string;
  /** What the problem means, for a person reading the page (plain text). */
  means: string;
  /** How to get past it (plain text). */
  fix: string;
}

export const PROBLEM_TYPE_PREFIX = '/problems/';

export const PROBLEM_TYPES: readonly ProblemType[] = [
  {
    slug: 'bad-request',
    status: 400,
    title: 'Bad request',
    means:
      'The request could not be read: its URL is not valid percent-encoded UTF-8, its JSON body does not parse ' +
      '(or is not UTF-8, names a member twice, or nests deeper than 32 levels), a page token was tampered with or ' +
      'belongs to another list, or the request is not valid HTTP.',
    fix:
      'Read `detail` (and `errors[].pointer`, which points at the place in the body). Percent-encode path segments ' +
      'as UTF-8, send well-formed JSON, and pass page tokens back exactly as the previous page gave them, to the same list.',
  },
  {
    slug: 'unauthorized',
    status: 401,
    title: 'Unauthorized',
    means:
      'This registry requires a bearer token and the request carried none, or one that is unknown or revoked. The ' +
      'WWW-Authenticate header says which (error="invalid_token" for a refused token).',
    fix:
      'Send `Authorization: Bearer <token>` with a token an admin created for you (POST /v1/tokens) or the ' +
      'REGISTRY_ADMIN_TOKEN. A revoked token never comes back: ask for a new one.',
  },
  {
    slug: 'forbidden',
    status: 403,
    title: 'Forbidden',
    means:
      "The token is valid but its role does not allow this operation: readers may only read, writers may not purge, " +
      'manage tokens or touch protected aliases.',
    fix: 'Use a token with the role the operation needs (each operation names it as `x-required-role` in /openapi.json), or ask an admin.',
  },
  {
    slug: 'not-found',
    status: 404,
    title: 'Not found',
    means:
      'What the URL names does not exist: no such config (or it is soft-deleted), version, alias, mapping, module ' +
      'class or token, or no such route. `detail` names what is missing.',
    fix:
      'Check the name in the URL (config names are lower case). A soft-deleted config can be restored with POST ' +
      '/v1/configs/{name}/undelete; list what exists with GET /v1/configs?showDeleted=true.',
  },
  {
    slug: 'method-not-allowed',
    status: 405,
    title: 'Method not allowed',
    means: 'The resource exists but does not take this HTTP method.',
    fix: 'See /openapi.json (or /docs) for the methods each path takes.',
  },
  {
    slug: 'not-acceptable',
    status: 406,
    title: 'Not acceptable',
    means: 'The registry cannot answer in any of the media types the Accept header allows.',
    fix: 'Accept application/json (and application/problem+json for errors), or leave Accept out.',
  },
  {
    slug: 'request-timeout',
    status: 408,
    title: 'Request timeout',
    means: 'The whole request did not arrive within REQUEST_TIMEOUT_MS (30 s by default), so the connection was closed.',
    fix: 'Send the request again, in one go; check for a slow or stalled network or proxy between you and the registry.',
  },
  {
    slug: 'conflict',
    status: 409,
    title: 'Conflict',
    means:
      'The request is valid but conflicts with the current state: the id or name exists already, the config is ' +
      'soft-deleted, a module class is still used by live configs (listed in `configs`), a config has its 32 aliases, ' +
      'or the last admin token would be revoked.',
    fix:
      'Read `detail`: undelete or purge a deleted config first, move the configs off a class before deleting it or ' +
      'turning fromObserved off, delete an alias before adding another.',
  },
  {
    slug: 'length-required',
    status: 411,
    title: 'Length required',
    means: 'The request has a body but says neither how long it is nor that it is chunked.',
    fix: 'Send Content-Length (or Transfer-Encoding: chunked); HTTP clients do this by themselves.',
  },
  {
    slug: 'precondition-failed',
    status: 412,
    title: 'Precondition failed',
    means:
      'The If-Match or If-None-Match header does not hold: someone else wrote since you read (the ETag moved on), ' +
      'or If-None-Match: * met something that exists. Nothing was changed.',
    fix:
      'Read the resource again (GET gives the current ETag), reapply your change to what is there now, and send it ' +
      'with the new ETag in If-Match.',
  },
  {
    slug: 'payload-too-large',
    status: 413,
    title: 'Request body too large',
    means: 'The request body is over the limit of 1 MiB. Nothing was read into the registry.',
    fix: 'Send a smaller body: a config document is far smaller than this; a body this large is usually the wrong file.',
  },
  {
    slug: 'uri-too-long',
    status: 414,
    title: 'URI too long',
    means: 'A path segment of the URL is longer than the router takes (512 characters); no name or identifier is that long.',
    fix: 'Check the URL: config names have at most 128 characters, module class identifiers at most 255.',
  },
  {
    slug: 'unsupported-media-type',
    status: 415,
    title: 'Unsupported media type',
    means:
      'The body is of a media type this operation does not take: bodies are application/json, and PATCH also takes ' +
      'application/merge-patch+json (RFC 7396).',
    fix: 'Send `Content-Type: application/json` (or application/merge-patch+json for PATCH) with a JSON body.',
  },
  {
    slug: 'validation-failed',
    status: 422,
    title: 'Validation failed',
    means:
      'The request is well-formed JSON but breaks the schema or a registry rule: an unknown quant type, an ' +
      'unregistered or malformed class identifier, a quantized class not registered with fromObserved, a bad ' +
      'label, a version that does not exist, or a path or query parameter out of range. Nothing was stored.',
    fix:
      'Each entry of `errors` names the place (`pointer` into the body, or `parameter`) and what is wrong there. ' +
      'POST /v1/validate checks a config the same way without storing it.',
  },
  {
    slug: 'too-many-requests',
    status: 429,
    title: 'Too many requests',
    means: 'This token (or, without one, this client address) sent more than RATE_LIMIT_MAX requests in a minute to this replica.',
    fix: 'Wait the Retry-After seconds and retry; spread a batch job out, or ask the operators for a higher limit.',
  },
  {
    slug: 'request-header-fields-too-large',
    status: 431,
    title: 'Request header fields too large',
    means: 'The request headers together are larger than the server reads (16 KiB).',
    fix: 'Send fewer or shorter headers (a cookie jar or a very long Authorization header is the usual cause).',
  },
  {
    slug: 'internal',
    status: 500,
    title: 'Internal server error',
    means: 'The registry failed to handle the request. That is a bug: it has been logged, with the request id.',
    fix: 'Retry later; if it persists, report it with the X-Request-Id of the reply.',
  },
  {
    slug: 'unavailable',
    status: 503,
    title: 'Service unavailable',
    means:
      'The database is unreachable, the request took longer than HANDLER_TIMEOUT_MS, the replica is shutting down, ' +
      'or it holds as many long-polls or event streams as it may. A write that got this may or may not have been applied.',
    fix:
      'Retry after the Retry-After seconds (another replica may answer at once). Repeat a write only with a ' +
      'precondition (If-Match), so that a write that did land is not applied twice.',
  },
];

const BY_STATUS = new Map(PROBLEM_TYPES.map((t) => [t.status, t]));
const BY_SLUG = new Map(PROBLEM_TYPES.map((t) => [t.slug, t]));

/** The problem type of a status; undefined for a status the registry has no type for. */
export function problemTypeOfStatus(status: number): ProblemType | undefined {
  return BY_STATUS.get(status);
}

export function problemTypeOfSlug(slug: string): ProblemType | undefined {
  return BY_SLUG.get(slug);
}
