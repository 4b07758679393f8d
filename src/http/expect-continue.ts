import type { FastifyInstance, preParsingHookHandler } from 'fastify';
import { hooksOf } from './plugins/auth.js';

/**
 * `Expect: 100-continue` (RFC 9110 §10.1.1): a client that sends it (curl does for bodies over
 * 1 MiB) waits for `100 Continue` before sending its body, so that a request refused on its
 * headers costs no upload. Node sends the 100 itself the moment the headers arrive, unless the
 * server listens for 'checkContinue', so before authentication, the rate limit and the body
 * limit have looked at the request: curl then uploaded 50 MB to be told 401.
 *
 * Here Node's request goes to Fastify as any other, and the 100 is sent by the last preParsing
 * hook of every route (after authorization; the rate limit runs before, in onRequest), just
 * before the body is read. A request answered before that, or declaring a Content-Length over
 * `bodyLimit` (Fastify answers that 413 from the header alone), never gets it; the client then
 * sends nothing, or, if it did not wait, what it sends is read and dropped (lingering-close.ts).
 *
 * Register after authentication (plugins/auth.ts): hooks are appended to routes added later.
 */
export function registerExpectContinue(app: FastifyInstance, bodyLimit: number): void {
  app.server.on('checkContinue', (request, response) => app.server.emit('request', request, response));
  const sendContinue: preParsingHookHandler = (request, reply, payload, done) => {
    const { headers } = request.raw;
    if (
      headers.expect?.toLowerCase() === '100-continue' &&
      !(Number(headers['content-length']) > bodyLimit) &&
      !reply.raw.headersSent &&
      request.raw.complete === false
    ) {
      reply.raw.writeContinue();
    }
    done(null, payload);
  };
  app.addHook('onRoute', (route) => {
    route.preParsing = [...hooksOf(route.preParsing), sendContinue];
  });
}
