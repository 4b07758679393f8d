// How a write that lost a compare-and-set to another writer tries again.
import { setTimeout as sleep } from 'node:timers/promises';

/** Writers racing without If-Match are retried this many times before giving up with a 409. */
export const MAX_WRITE_ATTEMPTS = 25;

/** The longest pause between two attempts of a write that lost a race. */
const MAX_RETRY_DELAY_MS = 100;

/**
 * Waits before retrying a write that lost the compare-and-set, a random time up to a cap that
 * doubles per attempt ("full jitter"). Without it, writers that lost together re-read together and
 * collide again: on PostgreSQL 16 writers on one config starved some of them into a 409.
 */
export function backOff(attempt: number): Promise<void> {
  return sleep(Math.random() * Math.min(MAX_RETRY_DELAY_MS, 2 ** attempt));
}
