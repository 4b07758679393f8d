import type { FastifyRequest } from 'fastify';
import type { Preconditions } from '../registry/preconditions.js';

/** The request's If-Match and If-None-Match, raw, for the registry's conditional writes. */
export function preconditions(request: FastifyRequest): Preconditions {
  const pre: Preconditions = {};
  const ifMatch = request.headers['if-match'];
  const ifNoneMatch = request.headers['if-none-match'];
  if (typeof ifMatch === 'string') pre.ifMatch = ifMatch;
  if (typeof ifNoneMatch === 'string') pre.ifNoneMatch = ifNoneMatch;
  return pre;
}
