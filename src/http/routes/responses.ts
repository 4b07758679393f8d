import { ProblemSchema } from '../schemas.js';

const WHEN: Record<number, string> = {
  400: 'Malformed JSON or a tampered page token.',
  401: 'No bearer token where one is required, or an unknown or revoked one (see WWW-Authenticate).',
  403: "The token's role does not allow this operation.",
  404: 'Not found.',
  409: 'Conflicts with the current state.',
  412: 'An If-Match / If-None-Match precondition does not hold.',
  413: 'Request body over 1 MiB.',
  415: 'Unsupported content type.',
  422: 'Valid JSON that breaks the schema or a registry rule; every problem is listed.',
  429: 'Too many requests from this token or address; retry after Retry-After seconds.',
  503: 'The database is unavailable, or the request took too long; retry.',
};

/** Problem responses for the given statuses, for a route's `response` schema. */
export function problemResponses(...statuses: number[]): Record<number, typeof ProblemSchema> {
  const out: Record<number, typeof ProblemSchema> = {};
  for (const status of statuses) out[status] = ProblemSchema.describe(WHEN[status] ?? 'Problem.');
  return out;
}
