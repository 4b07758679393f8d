import { ForbiddenError, UnauthenticatedError } from './errors.js';

/**
 * Who may do what. Roles are cumulative: a writer may read, an admin may write. Every operation
 * declares the access it needs; `public` ones (health, readiness, metrics, the API description)
 * need nothing at all.
 */
export const ROLES = ['reader', 'writer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export type Access = 'public' | 'read' | 'write' | 'admin';

/** The least role that grants each access. */
export const ROLE_FOR: Record<Exclude<Access, 'public'>, Role> = { read: 'reader', write: 'writer', admin: 'admin' };

const RANK: Record<Role, number> = { reader: 1, writer: 2, admin: 3 };

/** Who is calling, as far as the registry could tell from the request's credentials. */
export type Principal =
  | { kind: 'anonymous' }
  | { kind: 'token'; name: string; role: Role }
  /** A token was presented but is unknown, revoked, or malformed. */
  | { kind: 'invalid'; reason: string };

/** The name recorded as `updatedBy` when nobody is authenticated (the registry runs open). */
export const ANONYMOUS = 'anonymous';

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function roleAllows(role: Role, access: Access): boolean {
  return access === 'public' || RANK[role] >= RANK[ROLE_FOR[access]];
}

export interface AccessPolicy {
  /** Tokens are required (a bootstrap admin token is configured, or some token exists). */
  authRequired: boolean;
  /** Anonymous callers may still read while tokens are required. */
  anonymousRead: boolean;
}

/**
 * Throws unless `principal` may perform an operation needing `access`. A presented token that is
 * not valid is refused even where anonymous access would do: the caller meant to be someone, and
 * silently serving them as anonymous would hide a misconfigured client.
 */
export function authorize(principal: Principal, access: Access, policy: AccessPolicy): void {
  if (access === 'public') return;
  switch (principal.kind) {
    case 'invalid':
      throw new UnauthenticatedError(principal.reason, true);
    case 'token':
      if (!roleAllows(principal.role, access)) {
        throw new ForbiddenError(
          `Token '${principal.name}' has role ${principal.role}; this operation needs ${ROLE_FOR[access]}.`,
        );
      }
      return;
    case 'anonymous':
      if (!policy.authRequired) return;
      if (access === 'read' && policy.anonymousRead) return;
      throw new UnauthenticatedError(
        `This operation needs a bearer token with role ${ROLE_FOR[access]} (Authorization: Bearer <token>).`,
        false,
      );
  }
}
