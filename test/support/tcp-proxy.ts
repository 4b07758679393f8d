// A TCP proxy between the app and a real server (PostgreSQL), which a test can cut and restore,
// to see how the service behaves while its database is unreachable without touching the shared
// server.
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export type CutMode =
  /** Drop every connection and refuse new ones at once (a restarted or crashed server). */
  | 'reset'
  /** Accept connections but never answer (a partition, a firewall that drops packets). */
  | 'blackhole';

export interface TcpProxy {
  readonly port: number;
  cut(mode: CutMode): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let mode: CutMode | 'open' = 'open';
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  };
  const server: Server = createServer((client) => {
    track(client);
    if (mode === 'reset') return void client.destroy();
    if (mode === 'blackhole') return;
    const upstream = createConnection(target);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const dropAll = () => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    port,
    cut(next) {
      mode = next;
      dropAll();
    },
    restore() {
      dropAll(); // blackholed clients would otherwise wait forever
      mode = 'open';
    },
    async close() {
      dropAll();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
