import { PassThrough } from 'node:stream';
import type { FastifyReply } from 'fastify';
import type { EventFilter, StreamSink, WatchHub } from '../registry/watch-hub.js';
import type { RegistryEvent } from '../registry/store.js';
import { eventView } from './event-schemas.js';
import { holdRequest } from './handler-deadline.js';
import { clientGone } from './long-poll.js';

/**
 * Server-Sent Events (the WHATWG HTML "server-sent events" format) for `GET /v1/events/stream`:
 * each event as `id: <revision>`, `event: <type>`, `data: <event JSON>` and a blank line, so a
 * browser's EventSource sends the last revision back as `Last-Event-ID` when it reconnects, and
 * the stream resumes right after it. A comment line every HEARTBEAT_MS keeps proxies and load
 * balancers from closing a quiet stream (API.md asks for one at least every 15 s). At each
 * heartbeat the stream's credentials are checked again: a stream whose token was revoked (or that
 * was opened anonymously on a registry that has since begun to require tokens) ends, and the
 * client's reconnection gets the 401.
 *
 * Written by hand on a PassThrough that Fastify pipes to the socket (so hooks, logs and metrics
 * see a normal reply): the format is four kinds of line, and the SSE plugins for Fastify either
 * buffer the events they are given or own the reconnection bookkeeping that the watch hub does
 * here against the events table.
 */

export const HEARTBEAT_MS = 10_000;

/**
 * What a client may leave unread before its stream is dropped. A stream that is catching up
 * waits for the client instead; only live events, which are never held for one client, can
 * pile up. The client reconnects with Last-Event-ID and loses nothing.
 */
const MAX_UNREAD_BYTES = 1024 * 1024;

export interface EventStreamOptions {
  heartbeatMs?: number;
}

/** One app's open streams and their shared heartbeat timer (one timer, whatever the number of streams). */
/** Whether the stream's caller may still read (looked up again at each heartbeat). */
export type StillAllowed = () => Promise<boolean>;

export class EventStreams {
  /** Each open stream, and how to check its credentials again. */
  readonly #open = new Map<PassThrough, { stillAllowed: StillAllowed; checking: boolean; end: () => void }>();
  readonly #heartbeatMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: EventStreamOptions = {}) {
    this.#heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
  }

  /**
   * Sends the events after `after` that pass `filter`, first those in the table, then each as it
   * is committed, until the client goes away or the service stops. Throws WatchLimitError (a 503)
   * before anything is sent when this replica has its maximum of streams.
   */
  open(reply: FastifyReply, watch: WatchHub, after: number, filter: EventFilter, stillAllowed: StillAllowed): FastifyReply {
    // HEAD (which Fastify answers for every GET route): the headers, and no stream to hold open.
    if (reply.request.method === 'HEAD') return streamHeaders(reply).send('');
    const body = new PassThrough();
    let unsubscribe: (() => void) | undefined;
    let ended = false;
    /** Cleanly (shutdown), or at once (the client is gone: nothing buffered can reach it, and a catch-up waiting for it to drain stops). */
    const end = (how: 'end' | 'destroy' = 'end') => {
      if (ended) return;
      ended = true;
      unsubscribe?.();
      this.#forget(body);
      if (how === 'end') body.end();
      else body.destroy();
    };
    const sink: StreamSink = {
      events: (items) => {
        if (ended) return;
        if (body.write(frames(items))) return;
        if (body.writableLength > MAX_UNREAD_BYTES) {
          end('destroy');
          reply.raw.destroy();
          return;
        }
        return drained(body);
      },
      end: () => end('end'),
    };
    // Before any header is sent, so that a refusal is still a problem+json 503.
    unsubscribe = watch.subscribe({ after, filter }, sink);
    if (ended) unsubscribe();
    clientGone(reply).addEventListener('abort', () => end('destroy'), { once: true });
    holdRequest(reply);
    this.#remember(body, {
      stillAllowed,
      checking: false,
      end: () => {
        if (ended) return;
        body.write(': access revoked: reconnect with a valid token\n\n');
        reply.log.info({ after }, 'event stream ended: its credentials are no longer valid');
        end('end');
      },
    });
    // A comment first: the headers and the first bytes go out now, so the client knows it is connected.
    body.write(`: events after revision ${after}\n\n`);
    return streamHeaders(reply).send(body);
  }

  /** Stops the heartbeat (the hub ends the streams themselves on shutdown). */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #remember(body: PassThrough, access: { stillAllowed: StillAllowed; checking: boolean; end: () => void }): void {
    this.#open.set(body, access);
    this.#timer ??= setInterval(() => {
      for (const [stream, credentials] of this.#open) {
        stream.write(': keep-alive\n\n');
        // One check at a time per stream (a slow lookup is not started again at the next beat).
        if (credentials.checking) continue;
        credentials.checking = true;
        credentials.stillAllowed().then(
          (allowed) => {
            credentials.checking = false;
            if (!allowed) credentials.end();
          },
          // A lookup that fails (the database is away) decides nothing: the next beat asks again.
          () => {
            credentials.checking = false;
          },
        );
      }
    }, this.#heartbeatMs);
    this.#timer.unref();
  }

  #forget(body: PassThrough): void {
    this.#open.delete(body);
    if (this.#open.size === 0) this.close();
  }
}

function streamHeaders(reply: FastifyReply): FastifyReply {
  return (
    reply
      .header('content-type', 'text/event-stream; charset=utf-8')
      .header('cache-control', 'no-cache')
      // nginx (deploy/nginx.conf) and proxies like it buffer responses unless told not to.
      .header('x-accel-buffering', 'no')
  );
}

function frames(items: RegistryEvent[]): string {
  let text = '';
  // JSON.stringify escapes CR and LF, the only characters a data line may not hold.
  for (const event of items) text += `id: ${event.revision}\nevent: ${event.type}\ndata: ${JSON.stringify(eventView(event))}\n\n`;
  return text;
}

/** Resolves when the client has taken what was written (or is gone). */
function drained(body: PassThrough): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      body.off('drain', done);
      body.off('close', done);
      resolve();
    };
    body.once('drain', done);
    body.once('close', done);
  });
}
