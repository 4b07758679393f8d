import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { problem, sendProblem } from './problem.js';

/**
 * Lets `app.close()` finish as soon as the requests in flight have been answered.
 *
 * Node's `server.close()` stops accepting, closes the connections that are idle at that moment,
 * and waits for the others. A kept-alive connection whose request was in flight becomes idle only
 * afterwards, and would then hold the server (and the process) open until its keep-alive timeout,
 * far beyond any shutdown grace period. So once closing:
 * - every answer says `Connection: close`, and Node ends the connection after it;
 * - a request that still arrives on such a connection (pipelined behind one in flight) is not
 *   run: it is answered with a 503 problem and `Retry-After`. Node ends the connection after the
 *   first answer, so in practice that 503 is not delivered; what matters is that the request had
 *   no effect, and the client may send it again elsewhere. (This replaces Fastify's own
 *   `return503OnClosing`, which also refuses it but with a body that is not a problem+json.
 *   Fastify marks late requests `Connection: close` itself, but not the answers of requests that
 *   were already running when closing began.)
 */
export function registerGracefulClose(app: FastifyInstance): void {
  let closing = false;
  // Node's server.close() closes the connections that are idle between requests, but not those
  // that have not sent a first byte yet (clients and proxies open them ahead of use: fetch did in
  // our tests, a load balancer's pool may), and would wait for them until their client gives up.
  // Nothing was asked on them, so nothing is lost: they are cut.
  const unused = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    unused.add(socket);
    const used = () => unused.delete(socket);
    socket.once('data', used);
    socket.once('close', used);
  });
  app.addHook('preClose', async () => {
    closing = true;
    for (const socket of unused) if (socket.bytesRead === 0) socket.destroy();
  });
  // Callback style: these run on every request, and an async hook costs a promise each.
  app.addHook('onRequest', (request, reply, done) => {
    if (!closing) return done();
    reply.header('retry-after', '1');
    // A reply sent here ends the request without calling done.
    sendProblem(reply, problem(request, 503, 'The service is shutting down; retry the request.'));
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
}
