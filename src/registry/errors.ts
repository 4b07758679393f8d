/**
 * The use-case errors of the registry. The HTTP ring maps each to an RFC 9457 problem; nothing
 * here knows about status codes beyond the name of the situation.
 */

/** One problem inside a request: `pointer` into the body (as merged, for PATCH) or a `parameter`. */
export interface FieldProblem {
  pointer?: string;
  parameter?: string;
  detail: string;
}

export abstract class RegistryError extends Error {
  abstract readonly kind:
    | 'not-found'
    | 'conflict'
    | 'precondition-failed'
    | 'invalid'
    | 'bad-request'
    | 'unauthenticated'
    | 'forbidden'
    | 'unavailable';
}

export class NotFoundError extends RegistryError {
  readonly kind = 'not-found';
}

export class ConflictError extends RegistryError {
  readonly kind = 'conflict';
  constructor(
    message: string,
    /** Extra members for the problem body, e.g. the configs that block a class deletion. */
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export class PreconditionFailedError extends RegistryError {
  readonly kind = 'precondition-failed';
}

/** Valid JSON that breaks the schema or a registry rule: every problem is listed. */
export class InvalidError extends RegistryError {
  readonly kind = 'invalid';
  constructor(
    message: string,
    readonly errors: FieldProblem[],
  ) {
    super(message);
  }
}

/** A request the registry cannot even interpret, e.g. a tampered page token. */
export class BadRequestError extends RegistryError {
  readonly kind = 'bad-request';
  constructor(
    message: string,
    readonly errors: FieldProblem[] = [],
  ) {
    super(message);
  }
}

/** The database is unreachable or overloaded: the client may retry. */
export class UnavailableError extends RegistryError {
  readonly kind = 'unavailable';
  /** How long the client should wait before trying again (the Retry-After header). */
  readonly retryAfterSeconds: number = 1;
}

/** No credentials where the registry requires them, or credentials it does not recognise. */
export class UnauthenticatedError extends RegistryError {
  readonly kind = 'unauthenticated';
  constructor(
    message: string,
    /** true when a token was presented but is unknown or revoked (RFC 6750 `invalid_token`). */
    readonly invalidToken: boolean,
  ) {
    super(message);
  }
}

/** Known credentials whose role does not allow the operation. */
export class ForbiddenError extends RegistryError {
  readonly kind = 'forbidden';
}
