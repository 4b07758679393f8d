// A TCP proxy between the service and PostgreSQL, to cut the database off without touching the
// shared server: `cut()` destroys every connection and refuses new ones, `blackhole()` keeps
// them open but silent (a network partition), `restore()` brings the database back.
import net from 'node:net';

export type CutMode =
  /** Nothing listens: new connections are refused (ECONNREFUSED). */
  | 'refuse'
  /** New connections are accepted and reset at once (ECONNRESET). */
  | 'reset';

export interface TcpProxy {
  readonly port: number;
  /** The number of client connections currently open through the proxy. */
  readonly connections: number;
  /** `databaseUrl` with its host and port replaced by the proxy's. */
  url(databaseUrl: string): string;
  /** Destroys every open connection (both sides) and refuses new ones. */
  cut(mode?: CutMode): Promise<void>;
  /** Stops forwarding: open connections and new ones stay open, and nothing gets through. */
  blackhole(): void;
  /** Forwards again (connections caught by a blackhole are closed, as after a real partition). */
  restore(): Promise<void>;
  close(): Promise<void>;
}

interface Pair {
  client: net.Socket;
  upstream?: net.Socket;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  let state: 'open' | 'reset' | 'blackhole' = 'open';

  const destroy = (pair: Pair) => {
    pair.client.destroy();
    pair.upstream?.destroy();
    pairs.delete(pair);
  };

  const onConnection = (client: net.Socket) => {
    client.on('error', () => {});
    if (state === 'reset') {
      client.resetAndDestroy();
      return;
    }
    const pair: Pair = { client };
    pairs.add(pair);
    client.on('close', () => destroy(pair));
    if (state === 'blackhole') {
      client.pause();
      return;
    }
    const upstream = net.connect(target.port, target.host);
    pair.upstream = upstream;
    upstream.on('error', () => destroy(pair));
    upstream.on('close', () => destroy(pair));
    client.pipe(upstream);
    upstream.pipe(client);
  };

  let server = net.createServer(onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  let listening = true;

  const listen = async () => {
    if (listening) return;
    // The same port again (the service's URL names it); retried in case the OS is slow to free it.
    for (let attempt = 0; ; attempt++) {
      server = net.createServer(onConnection);
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, '127.0.0.1', () => resolve());
        });
        listening = true;
        return;
      } catch (error) {
        if (attempt >= 50) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };

  const stopListening = () =>
    new Promise<void>((resolve) => {
      if (!listening) return resolve();
      listening = false;
      server.close(() => resolve());
    });

  return {
    port,
    get connections() {
      return pairs.size;
    },
    url(databaseUrl: string) {
      const url = new URL(databaseUrl);
      url.hostname = '127.0.0.1';
      url.port = String(port);
      return url.toString();
    },
    async cut(mode: CutMode = 'refuse') {
      if (mode === 'refuse') {
        const closed = stopListening();
        for (const pair of [...pairs]) destroy(pair);
        await closed;
      } else {
        state = 'reset';
        await listen();
        for (const pair of [...pairs]) destroy(pair);
      }
    },
    blackhole() {
      state = 'blackhole';
      for (const pair of pairs) {
        pair.client.unpipe();
        pair.upstream?.unpipe();
        pair.client.pause();
        pair.upstream?.pause();
      }
    },
    async restore() {
      if (state === 'blackhole') for (const pair of [...pairs]) destroy(pair);
      state = 'open';
      await listen();
    },
    async close() {
      for (const pair of [...pairs]) destroy(pair);
      await stopListening();
    },
  };
}
