import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * HANDLER_TIMEOUT_MS: a request that has no answer `ms` after it arrived gets a 503 problem (the
 * error handler maps FST_ERR_HANDLER_TIMEOUT), e.g. one stuck on a database connection that
 * stopped answering.
 *
 * Fastify's own `handlerTimeout` option does the same with an AbortController, a timer and a
 * 'close' listener for every request: ~5 µs of CPU per request here, some 5 % of a cached GET
 * (CPU profile under load). Nothing of ours uses the abort signal, so here one timer looks over
 * the requests in flight every `ms / 8`: a stuck request is answered between `ms` and `1.125 ms`
 * after it arrived, and a request costs a list entry.
 */
export function registerHandlerDeadline(app: FastifyInstance, ms: number): void {
  if (ms <= 0) return;
  // The requests in flight, oldest first (arrival order is deadline order), as a doubly linked
  // list whose entries the replies point to: O(1) to add, O(1) to take out on response, and a
  // sweep stops at the first entry due later. (A Map keyed by reply cost ~2 µs per request here.)
  const inFlight = new InFlight(ms);
  app.decorateReply(ENTRY, null);
  app.addHook('onRequest', (_request, reply, done) => {
    (reply as WithEntry)[ENTRY] = inFlight.add(reply, performance.now() + ms);
    done();
  });
  app.addHook('onResponse', (_request, reply, done) => {
    const entry = (reply as WithEntry)[ENTRY];
    if (entry !== null) inFlight.remove(entry);
    done();
  });

  const sweep = () => {
    const now = performance.now();
    for (let entry = inFlight.oldest(); entry !== undefined && entry.deadline <= now; entry = inFlight.oldest()) {
      inFlight.remove(entry);
      const { reply } = entry;
      // Answered, or the client is gone (no onResponse then): nothing to do.
      if (reply.sent || reply.raw.destroyed) continue;
      if (reply.raw.headersSent) {
        // A reply that began and stalled cannot become a problem any more: end the connection.
        reply.raw.destroy();
        continue;
      }
      reply.send(Object.assign(new Error(`The request was not handled within ${ms} ms.`), { code: 'FST_ERR_HANDLER_TIMEOUT', statusCode: 503 }));
    }
  };
  let timer: NodeJS.Timeout | undefined;
  app.addHook('onReady', (done) => {
    timer = setInterval(sweep, Math.max(5, Math.floor(ms / 8)));
    timer.unref();
    done();
  });
  app.addHook('onClose', (_instance, done) => {
    clearInterval(timer);
    done();
  });
}

/**
 * Takes a request that is about to wait on purpose (a long-poll, an event stream) out of the
 * deadline; the returned function puts it back with a full HANDLER_TIMEOUT_MS from that moment,
 * for the work that follows the wait. Without a handler deadline both do nothing.
 */
export function holdRequest(reply: FastifyReply): () => void {
  const entry = (reply as Partial<WithEntry>)[ENTRY];
  if (entry === undefined || entry === null || entry.removed) return () => {};
  const { list } = entry;
  list.remove(entry);
  return () => {
    // Appended with now + ms, which no entry already in the list exceeds: the list stays in
    // deadline order.
    if (!reply.sent && !reply.raw.destroyed) (reply as WithEntry)[ENTRY] = list.add(reply, performance.now() + list.ms);
  };
}

const ENTRY = 'handlerDeadlineEntry';
type WithEntry = FastifyReply & { [ENTRY]: Entry | null };

interface Entry {
  readonly reply: FastifyReply;
  readonly deadline: number;
  readonly list: InFlight;
  prev: Entry | undefined;
  next: Entry | undefined;
  removed: boolean;
}

class InFlight {
  #head: Entry | undefined;
  #tail: Entry | undefined;

  constructor(readonly ms: number) {}

  add(reply: FastifyReply, deadline: number): Entry {
    const entry: Entry = { reply, deadline, list: this, prev: this.#tail, next: undefined, removed: false };
    if (this.#tail === undefined) this.#head = entry;
    else this.#tail.next = entry;
    this.#tail = entry;
    return entry;
  }

  remove(entry: Entry): void {
    if (entry.removed) return;
    entry.removed = true;
    if (entry.prev === undefined) this.#head = entry.next;
    else entry.prev.next = entry.next;
    if (entry.next === undefined) this.#tail = entry.prev;
    else entry.next.prev = entry.prev;
    entry.prev = entry.next = undefined;
  }

  oldest(): Entry | undefined {
    return this.#head;
  }
}
