import { UnavailableError } from '../registry/errors.js';

/**
 * `work`, or an UnavailableError (503) after `ms`. For checks that must answer promptly even when
 * the database hangs instead of failing (a network that drops packets): readiness probes and
 * metrics scrapes. The work itself is not cancelled; its late result is dropped.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UnavailableError(`The database did not answer ${what} within ${ms} ms.`)), ms);
  });
  work.catch(() => {}); // a rejection after the deadline is not unhandled
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
