// The change feed, live: GET /v1/events/stream (Server-Sent Events) read through fetch rather
// than EventSource, because EventSource cannot send the Authorization header and the token must
// not go into a URL. eventsource-parser does the SSE parsing; reconnecting (from the last
// revision seen, as EventSource's Last-Event-ID would) is here. If the stream is refused (an
// older registry, or a proxy that buffers), the documented long poll GET /v1/events?wait= stands in.
import { EventSourceParserStream } from 'eventsource-parser/stream';
import { api, ApiError } from './api.js';
import { session } from './session.js';
import type { RegistryEvent } from './types.js';

export interface FeedFilter {
  name?: string;
  types: string[];
}

export interface FeedHandlers {
  onEvents(events: RegistryEvent[]): void;
  onState(state: 'connecting' | 'live' | 'polling' | 'retrying', detail?: string): void;
}

function query(filter: FeedFilter, after: number, extra: Record<string, string> = {}): string {
  const search = new URLSearchParams({ after: String(after), ...extra });
  if (filter.name) search.set('name', filter.name);
  for (const type of filter.types) search.append('type', type);
  return search.toString();
}

/**
 * The newest `count` matching events (oldest first) and the revision to continue after.
 * Revisions are dense (one per change, registry-wide), so the last `count` changes are the
 * revisions above newest - count; a filter matches fewer, so wider windows are tried.
 */
export async function recentEvents(filter: FeedFilter, count: number, signal: AbortSignal): Promise<{ items: RegistryEvent[]; lastRevision: number }> {
  type EventPage = { items: RegistryEvent[]; lastRevision: number };
  const head = await api<EventPage>(`/v1/events?${query(filter, 0, { limit: '1' })}`, { signal });
  const newest = Number(head.headers.get('x-registry-revision') ?? head.data.lastRevision);
  let items: RegistryEvent[] = [];
  let last = newest;
  for (const window of [count, count * 20, count * 400, Infinity]) {
    items = [];
    let after = Math.max(0, newest - window);
    for (let pages = 0; pages < 10; pages++) {
      const page = await api<EventPage>(`/v1/events?${query(filter, after, { limit: '1000' })}`, { signal });
      items.push(...page.data.items);
      last = Math.max(last, page.data.lastRevision);
      if (page.data.items.length < 1000) break;
      after = page.data.lastRevision;
    }
    if (items.length >= count || newest - window <= 0) break;
  }
  return { items: items.slice(-count), lastRevision: last };
}

/** Follows the feed after `after` until `signal` aborts. */
export async function follow(filter: FeedFilter, after: number, handlers: FeedHandlers, signal: AbortSignal): Promise<void> {
  let last = after;
  let streamWorks = true;
  let canWait = true;
  while (!signal.aborted) {
    try {
      if (streamWorks) {
        handlers.onState('connecting');
        const outcome = await stream(filter, last, signal, handlers, (revision) => (last = revision));
        if (outcome === 'unsupported') {
          streamWorks = false;
          continue;
        }
      } else {
        handlers.onState('polling');
        const started = Date.now();
        let page;
        try {
          page = await api<{ items: RegistryEvent[]; lastRevision: number }>(
            `/v1/events?${query(filter, last, canWait ? { wait: '25', limit: '100' } : { limit: '100' })}`,
            { signal },
          );
        } catch (error) {
          // A registry without waiting refuses the parameter: ask without it, once a second.
          if (canWait && error instanceof ApiError && error.status === 422) {
            canWait = false;
            continue;
          }
          throw error;
        }
        if (page.data.items.length > 0) handlers.onEvents(page.data.items);
        last = Math.max(last, page.data.lastRevision);
        // A registry that answers at once (no waiting on its side) is asked once a second, not in a tight loop.
        if (page.data.items.length === 0 && Date.now() - started < 900) await sleep(1000, signal);
        continue;
      }
    } catch (error) {
      if (signal.aborted) return;
      handlers.onState('retrying', error instanceof ApiError ? error.problem.detail : 'The connection dropped.');
    }
    await sleep(1000, signal);
  }
}

async function stream(
  filter: FeedFilter,
  after: number,
  signal: AbortSignal,
  handlers: FeedHandlers,
  seen: (revision: number) => void,
): Promise<'ended' | 'unsupported'> {
  const token = session.token();
  const response = await fetch(`/v1/events/stream?${query(filter, after)}`, {
    headers: { accept: 'text/event-stream', ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
    credentials: 'omit',
    cache: 'no-store',
    signal,
  });
  if (response.status === 404 || response.status === 405) return 'unsupported';
  if (!response.ok || response.body === null) {
    const problem = await response.json().catch(() => ({}));
    throw new ApiError({ title: 'Stream refused', status: response.status, detail: `The event stream answered ${response.status}.`, ...problem });
  }
  handlers.onState('live');
  const events = response.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream());
  const reader = events.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return 'ended';
    if (value.data === '') continue;
    const event = JSON.parse(value.data) as RegistryEvent;
    seen(event.revision);
    handlers.onEvents([event]);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
