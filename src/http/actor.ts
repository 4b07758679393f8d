import type { FastifyRequest } from 'fastify';
import { ANONYMOUS } from '../registry/access.js';

/** Who is making the request, as recorded in `updatedBy`: the token's name, or "anonymous" on an open registry. */
export function actorOf(request: FastifyRequest): string {
  return request.principal.kind === 'token' ? request.principal.name : ANONYMOUS;
}
