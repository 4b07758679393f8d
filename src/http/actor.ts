import type { FastifyRequest } from 'fastify';
import { ANONYMOUS } from '../registry/access.js';
import { ForbiddenError, UnauthenticatedError } from '../registry/errors.js';

/** Who is making the request, as recorded in `updatedBy`: the token's name, or "anonymous" on an open registry. */
export function actorOf(request: FastifyRequest): string {
  return request.principal.kind === 'token' ? request.principal.name : ANONYMOUS;
}

/**
 * Whether the caller may do what needs the admin role, for rules that depend on the resource (a
 * protected alias) rather than on the route. The same check as the routes' (an open registry lets
 * anyone).
 */
export async function mayAdminister(request: FastifyRequest): Promise<boolean> {
  try {
    await request.server.requireAccess(request, 'admin');
    return true;
  } catch (error) {
    if (error instanceof ForbiddenError || error instanceof UnauthenticatedError) return false;
    throw error;
  }
}
