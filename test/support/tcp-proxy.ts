// A TCP proxy between the app and a real server (PostgreSQL), which a test can cut and restore,
// to see how the service behaves while its database is unreachable without touching the shared
// server.
import { createConnection, createServer, type Socket } from 'node:net';

export type CutMode =
  /** Nothing listens: connections are refused (a server that is down or restarting). */
  | 'refuse'
  /** Open connections are dropped and new ones closed at once (a crashed server). */
  | 'reset'
  /**
   * Nothing gets through and nothing is closed: open connections stall mid-query and new ones are
   * accepted but never answered (a network partition, a firewall that drops packets).
   */
  | 'blackhole';

export interface TcpProxy {
  readonly port: number;
  cut(mode: CutMode): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export interface ProxyOptions {
  /**
   * Milliseconds every chunk is held in each direction (order kept): a network with latency
   * between the service and its database, as between two hosts. 0 by default.
   */
  latencyMs?: number;
}

export async function startTcpProxy(target: { host: string; port: number }, options: ProxyOptions = {}): Promise<TcpProxy> {
  const latency = options.latencyMs ?? 0;
  let mode: CutMode | 'open' = 'open';
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  };
  // Forwards only while open; what is dropped in a blackhole is lost, as on a real network.
  const forward = (from: Socket, to: Socket) => {
    // Timers of one duration fire in the order they were set, so delayed chunks stay in order.
    const write = (chunk: Buffer) => {
      if (mode === 'open' && !to.destroyed) to.write(chunk);
    };
    from.on('data', (chunk: Buffer) => {
      if (mode !== 'open') return;
      if (latency > 0) setTimeout(write, latency, chunk);
      else write(chunk);
    });
    from.on('close', () => to.destroy());
  };
  const server = createServer((client) => {
    track(client);
    if (mode === 'reset') return void client.destroy();
    if (mode === 'blackhole') return;
    const upstream = createConnection(target);
    track(upstream);
    forward(client, upstream);
    forward(upstream, client);
  });
  const listen = (port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const stopListening = () => new Promise<void>((resolve) => server.close(() => resolve()));
  const dropAll = () => {
    for (const socket of sockets) socket.destroy();
  };
  await listen(0);
  const port = (server.address() as { port: number }).port;
  return {
    port,
    async cut(next) {
      mode = next;
      if (next !== 'blackhole') dropAll();
      if (next === 'refuse') await stopListening();
    },
    async restore() {
      // Stalled connections lost data in the middle of the protocol: they cannot be resumed.
      dropAll();
      if (!server.listening) await listen(port);
      mode = 'open';
    },
    async close() {
      dropAll();
      if (server.listening) await stopListening();
    },
  };
}
