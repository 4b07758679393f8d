import type { FastifyInstance } from 'fastify';

/**
 * Makes `app.close()` finish as soon as the requests in flight have been answered.
 *
 * Node's `server.close()` closes the connections that are idle at that moment and waits for the
 * others. A kept-alive connection whose request was in flight becomes idle only afterwards, and
 * would then hold the server (and the process) open until its keep-alive timeout, far beyond any
 * shutdown grace period. So once closing, every answer says `Connection: close` and Node ends
 * the connection after it. (Requests that arrive on such a connection meanwhile get Fastify's
 * 503: `return503OnClosing`.)
 */
export function registerGracefulClose(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close');
    return payload;
  });
}
