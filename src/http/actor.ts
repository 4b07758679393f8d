import type { FastifyRequest } from 'fastify';

/**
 * Who is making the request, as recorded in `updatedBy`. Authentication is not built yet, so
 * every writer is "anonymous"; the auth plugin will decorate the request with the token's name.
 */
export function actorOf(request: FastifyRequest): string {
  return (request as FastifyRequest & { tokenName?: string }).tokenName ?? 'anonymous';
}
