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
 * after it arrived, and a request costs one Map insertion and one deletion.
 */
export function registerHandlerDeadline(app: FastifyInstance, ms: number): void {
  if (ms <= 0) return;
  // Insertion order is arrival order, hence deadline order: a sweep stops at the first one due later.
  const inFlight = new Map<FastifyReply, number>();
  app.addHook('onRequest', (_request, reply, done) => {
    inFlight.set(reply, performance.now() + ms);
    done();
  });
  app.addHook('onResponse', (_request, reply, done) => {
    inFlight.delete(reply);
    done();
  });

  const sweep = () => {
    const now = performance.now();
    for (const [reply, deadline] of inFlight) {
      if (deadline > now) break;
      inFlight.delete(reply);
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
