import type { FastifyReply } from 'fastify';
import type { EventsPage, ListEventsParams } from '../registry/events.js';
import { NotFoundError } from '../registry/errors.js';
import { ifNoneMatchHolds } from '../registry/preconditions.js';
import type { EventType, RegistryEvent } from '../registry/store.js';
import type { WatchHub } from '../registry/watch-hub.js';
import { holdRequest } from './handler-deadline.js';

/**
 * The two long-polls: `GET /v1/events?wait=` and `GET /v1/configs/{name}` with `If-None-Match`
 * and `Prefer: wait=`. Both first answer from what is stored now, and wait only when that answer
 * would say "nothing new"; the wait itself is the watch hub's (no database connection, no timer of
 * its own), and a request that waits leaves the handler deadline until it stops waiting.
 */

export interface WaitingOptions {
  /** Holds shorter than asked, for tests that must not wait (the fuzz suite); default: as asked. */
  maxWaitMs?: number;
}

/** Aborted when the client goes away before its answer is complete. */
export function clientGone(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const response = reply.raw;
  response.once('close', () => {
    if (!response.writableFinished) controller.abort();
  });
  return controller.signal;
}

/**
 * `GET /v1/events?wait=`: `page` (just read, with no items) is held until a matching event is
 * committed or `waitSeconds` pass; the answer has the same shape and meaning as one without waiting.
 */
export async function waitForEvents(
  reply: FastifyReply,
  watch: WatchHub,
  params: ListEventsParams,
  page: EventsPage,
  waitSeconds: number,
  options: WaitingOptions,
): Promise<EventsPage> {
  const resume = holdRequest(reply);
  try {
    const result = await watch.wait({
      after: page.lastRevision,
      filter: { names: params.names, types: params.types },
      limit: params.limit,
      waitMs: heldFor(waitSeconds, options),
      signal: clientGone(reply),
    });
    return {
      items: result.items,
      lastRevision: result.lastRevision,
      committedRevision: Math.max(result.lastRevision, result.newestRevision, page.committedRevision),
    };
  } finally {
    resume();
  }
}

/** What a config long-poll reads: the config (or the version an alias names), by its version. */
export interface Watched<T> {
  name: string;
  /** Set when the client reads through an alias: then only that alias's moves count. */
  alias?: string;
  read(): T | Promise<T>;
  versionOf(current: T): number;
}

export type ConfigWaitOutcome<T> =
  /** Sent at once, without waiting: the version differs from If-None-Match already. */
  | { kind: 'current'; value: T }
  /** Changed while waiting (`waited` seconds were applied). */
  | { kind: 'changed'; value: T; waited: number }
  /** Nothing new for the whole wait (or until shutdown): 304. */
  | { kind: 'not-modified'; version: number; waited: number };

const CONFIG_EVENTS: EventType[] = ['config.version_created', 'config.deleted', 'config.undeleted', 'config.purged'];
const ALIAS_EVENTS: EventType[] = ['alias.set', 'alias.deleted', 'config.deleted', 'config.undeleted', 'config.purged'];

/**
 * `GET /v1/configs/{name}` with `If-None-Match` and `Prefer: wait=`: 304 only after the whole wait
 * with nothing new, and the config as soon as it (or, through an alias, the version the alias
 * names) changes. A config deleted meanwhile is the 404 its read throws.
 *
 * The hub's position is taken before the first read, so a change committed between that read and
 * the start of the wait still wakes it; an event that changes nothing the client sees (the version
 * it already has, undeleted) only moves the wait on.
 */
export async function waitForConfigChange<T>(
  reply: FastifyReply,
  watch: WatchHub,
  watched: Watched<T>,
  ifNoneMatch: string,
  waitSeconds: number,
  options: WaitingOptions,
): Promise<ConfigWaitOutcome<T>> {
  let after = await watch.position();
  let current = await watched.read();
  // The condition holds (the client's tag is not the current one): nothing to wait for.
  if (ifNoneMatchHolds(ifNoneMatch, watched.versionOf(current))) return { kind: 'current', value: current };
  const heldMs = heldFor(waitSeconds, options);
  const waited = Math.ceil(heldMs / 1000);
  const deadline = performance.now() + heldMs;
  const { alias } = watched;
  const test = alias === undefined ? undefined : (event: RegistryEvent) => !event.type.startsWith('alias.') || event.alias === alias;
  const signal = clientGone(reply);
  const resume = holdRequest(reply);
  try {
    for (;;) {
      const remaining = deadline - performance.now();
      if (remaining <= 0 || signal.aborted) break;
      const result = await watch.wait({
        after,
        filter: { names: [watched.name], types: alias === undefined ? CONFIG_EVENTS : ALIAS_EVENTS },
        ...(test === undefined ? {} : { test }),
        limit: 1,
        waitMs: remaining,
        signal,
      });
      if (result.items.length === 0) break;
      after = result.lastRevision;
      try {
        current = await watched.read();
      } catch (error) {
        if (error instanceof NotFoundError) reply.header('preference-applied', `wait=${waited}`);
        throw error;
      }
      if (ifNoneMatchHolds(ifNoneMatch, watched.versionOf(current))) return { kind: 'changed', value: current, waited };
    }
  } finally {
    resume();
  }
  return { kind: 'not-modified', version: watched.versionOf(current), waited };
}

function heldFor(waitSeconds: number, options: WaitingOptions): number {
  return Math.min(waitSeconds * 1000, options.maxWaitMs ?? Infinity);
}
