import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';

/** How much of an unread request body is read and dropped after an early answer, and for how long. */
export interface LingerLimits {
  /** Bytes discarded after the answer before the connection is cut. */
  maxBytes: number;
  /** Milliseconds after the answer before the connection is cut. */
  maxMs: number;
}

/** Above any body a client sends by mistake (the limit is 1 MiB), below a flood worth reading. */
export const LINGER_LIMITS: LingerLimits = { maxBytes: 64 * 1024 * 1024, maxMs: 10_000 };

/**
 * Lingering close (RFC 9112 §9.6; nginx's `lingering_close`): a request answered before its body
 * was all received (413 body too large, 401, 403, 415, 429, ...) gets `Connection: close`, and the
 * rest of its body is read and thrown away before the connection is closed.
 *
 * Why by hand: on an answer that says `Connection: close`, Node's HTTP server calls
 * `socket.destroySoon()` (_http_server.js, resOnFinish) as soon as the answer is written. A
 * client still sending its body then writes into a closed socket; the kernel answers with a
 * reset, which also throws away the answer the client had not read yet. So the client saw EPIPE
 * or ECONNRESET instead of the problem: Node's fetch about half the time on a 5 MB PUT, Python's
 * urllib (which reads the answer only once it has sent everything) always. Neither Node nor
 * Fastify (whose body parser sets `Connection: close` on a 413 and stops reading) has an option
 * for it.
 *
 * So that socket's `destroySoon` is replaced: it ends our side (the client reads the answer to
 * its end, then EOF), keeps reading, and closes when the request's body has all arrived or the
 * client hangs up, or cuts the connection after `maxBytes` discarded or `maxMs` (a client that
 * sends forever is not read forever). Without `Connection: close` Node would keep the connection
 * and read the body without a bound; the close also tells keep-alive clients to send their next
 * request on a new connection.
 */
export class LingeringClose {
  /** Connections reading and dropping what their client still sends. */
  readonly #sockets = new Set<Socket>();
  /** Connections answered after Node's parser refused their request, and where their reading began. */
  readonly #refused = new WeakMap<Socket, number>();
  #closing = false;

  constructor(readonly limits: LingerLimits = LINGER_LIMITS) {}

  /** The onSend hook that lingers after an early answer, and the preClose hook that cuts every lingering connection. */
  register(app: FastifyInstance): void {
    // Callback style: it runs on every reply.
    app.addHook('onSend', (request, reply, payload, done) => {
      const { raw } = request;
      // `complete` is false until the parser has seen the end of the body (undefined under inject).
      // A request without a body is complete an instant after its 'request' event, so a reply sent
      // synchronously could still see it false: the headers decide whether there is a body at all.
      if (raw.complete === false && hasBody(raw) && raw.socket instanceof Socket && !this.#closing) {
        reply.header('connection', 'close');
        this.#lingerAfterAnswer(raw, raw.socket, request.log);
      }
      done(null, payload);
    });
    // Shutdown does not wait for slow senders: server.close() waits for every connection.
    app.addHook('preClose', (done) => {
      this.#closing = true;
      for (const socket of this.#sockets) socket.destroy();
      done();
    });
  }

  /**
   * Whether `socket` was answered after its request was refused by Node's HTTP parser: the parser
   * then reports each further chunk the client sends as another error, which is not answered
   * again but counted against the byte cap.
   */
  refused(socket: Socket): boolean {
    const from = this.#refused.get(socket);
    if (from === undefined) return false;
    if (socket.bytesRead - from > this.limits.maxBytes) socket.destroy();
    return true;
  }

  /**
   * After the answer to a request Node's parser refused (431 headers too large, 400 not valid
   * HTTP), written straight to the socket with `Connection: close`: the same lingering close.
   * Our side is ended (the client reads the answer, then EOF); what the client still sends goes
   * to the parser, which drops it (it is done with this connection) and reports it, see
   * `refused`; the connection closes when the client has finished, or at the caps.
   */
  afterRefusal(socket: Socket): void {
    if (this.#closing) {
      socket.destroySoon();
      return;
    }
    this.#refused.set(socket, socket.bytesRead);
    this.#sockets.add(socket);
    const timer = setTimeout(() => socket.destroy(), this.limits.maxMs);
    socket.once('close', () => {
      clearTimeout(timer);
      this.#sockets.delete(socket);
    });
    // The client's FIN: both sides are done; a socket half-open on our side ends here.
    socket.once('end', () => socket.destroySoon());
    socket.end();
  }

  #lingerAfterAnswer(request: IncomingMessage, socket: Socket, log: FastifyBaseLogger): void {
    const { limits } = this;
    const lingering = this.#sockets;
    socket.destroySoon = () => {
      // The prototype's again: what Node does when the body did arrive meanwhile, and at the end.
      delete (socket as { destroySoon?: unknown }).destroySoon;
      if (request.complete) {
        socket.destroySoon();
        return;
      }
      socket.end();
      lingering.add(socket);
      let discarded = 0;
      const cut = (why: string) => {
        log.info({ discarded, limit: why }, 'cut off a client still sending a body after its answer');
        socket.destroy();
      };
      const timer = setTimeout(() => cut(`${limits.maxMs} ms`), limits.maxMs);
      // Node's http server has already dumped the body (or Fastify's parser left it flowing) when
      // the answer was written; these listeners only count it and see its end.
      request.on('data', (chunk: Buffer) => {
        discarded += chunk.length;
        if (discarded > limits.maxBytes && !socket.destroyed) cut(`${limits.maxBytes} bytes`);
      });
      // All of it read: close once our answer is flushed (no unread bytes left, so no reset).
      request.once('end', () => socket.destroySoon());
      socket.once('close', () => {
        clearTimeout(timer);
        lingering.delete(socket);
      });
      request.resume();
    };
  }
}

function hasBody(request: IncomingMessage): boolean {
  return request.headers['transfer-encoding'] !== undefined || Number(request.headers['content-length']) > 0;
}
