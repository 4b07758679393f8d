// How the store tells apart the database failures it must name: a taken key, a foreign key that
// refuses, and "the database cannot answer now" (the registry's UnavailableError, a 503).
import { UnavailableError } from '../registry/errors.js';

export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Errors that mean "the database cannot answer now" rather than "this request is wrong", as the
 * Prisma client surfaces them with driver adapters (checked against real failures in
 * test/robustness/outage.test.ts):
 * - known request errors whose code Prisma derived from the adapter's error kind: P1001
 *   DatabaseNotReachable (ECONNREFUSED), P1008 SocketTimeout, P1017 ConnectionClosed (ECONNRESET),
 *   P2028 transaction API (no connection within maxWait, transaction timed out), P2034
 *   TransactionWriteConflict (serialization failure or deadlock: retrying is the cure), P2037
 *   TooManyConnections; the raw adapter error is in `meta.driverAdapterError.cause`;
 * - PostgreSQL SQLSTATEs passed through as kind "postgres": class 08 (connection exception),
 *   57014 (statement timeout), 57P01-57P05 (server shutting down, idle-session timeouts), 53xxx
 *   (insufficient resources), 40001/40P01;
 * - errors pg raises without any code, which the adapter rethrows unchanged and Prisma wraps
 *   with their message: "Connection terminated unexpectedly" (socket closed mid-query),
 *   "Query read timeout" (query_timeout), "timeout exceeded when trying to connect";
 * - SQLite busy (another process holds the write lock longer than busy_timeout).
 */
const UNAVAILABLE_CODES = /^(P1001|P1002|P1008|P1017|P2024|P2028|P2034|P2037|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|08[0-9A-Z]{3}|57014|57P0[1-5]|53[0-9A-Z]{3}|40001|40P01|SQLITE_BUSY)/;
const UNAVAILABLE_KINDS = /^(DatabaseNotReachable|ConnectionClosed|SocketTimeout|TooManyConnections|TransactionAlreadyClosed|TransactionWriteConflict|SocketError)$/;
const UNAVAILABLE_MESSAGES =
  /ECONNREFUSED|ECONNRESET|Connection terminated|connect ETIMEDOUT|Query read timeout|timeout exceeded when trying to connect|Can't reach database|Server has closed the connection|terminating connection|canceling statement due to statement timeout|database is locked|Transaction already closed|Unable to start a transaction/i;

export function isUnavailable(error: unknown): boolean {
  const adapterError = (error as { meta?: { driverAdapterError?: { cause?: unknown } } } | null)?.meta?.driverAdapterError?.cause;
  const candidates = [error, (error as { cause?: unknown } | null)?.cause, adapterError];
  for (const candidate of candidates) {
    if (typeof candidate !== 'object' || candidate === null) continue;
    const { code, originalCode, kind } = candidate as { code?: unknown; originalCode?: unknown; kind?: unknown };
    for (const c of [code, originalCode]) if (typeof c === 'string' && UNAVAILABLE_CODES.test(c)) return true;
    if (typeof kind === 'string' && UNAVAILABLE_KINDS.test(kind)) return true;
  }
  return UNAVAILABLE_MESSAGES.test(error instanceof Error ? error.message : '');
}

/** The kind of a driver adapter error (DriverAdapterError keeps it in `cause`), for DriverSql statements. */
export function adapterErrorKind(error: unknown): string | undefined {
  const kind = (error as { cause?: { kind?: unknown } } | null)?.cause?.kind;
  return typeof kind === 'string' ? kind : undefined;
}

/** A unique key was taken, through the Prisma client (P2002) or on the driver. */
export function isUniqueViolation(error: unknown): boolean {
  return errorCode(error) === 'P2002' || adapterErrorKind(error) === 'UniqueConstraintViolation';
}

/** A foreign key refused the write, through the Prisma client (P2003) or on the driver. */
export function isForeignKeyViolation(error: unknown): boolean {
  return errorCode(error) === 'P2003' || adapterErrorKind(error) === 'ForeignKeyConstraintViolation';
}

/** Runs a store operation, turning connection failures into the registry's UnavailableError. */
export async function guarded<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (isUnavailable(error)) {
      throw new UnavailableError('The database is unavailable; retry shortly.', { cause: error });
    }
    throw error;
  }
}
