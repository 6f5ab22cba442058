// tcp-proxy.ts: a TCP proxy in front of Redis whose connections a test can cut and restore, to
// drop one process's Redis connections (a network fault) while every other process keeps its own.
import * as net from 'node:net';

export interface TcpProxy {
  /** redis:// URL of the proxy. */
  url: string;
  /** Connections accepted and forwarded so far (reconnections show up here). */
  connectionsForwarded(): number;
  /** Cuts every open connection and resets new ones until restore(). */
  drop(): void;
  restore(): void;
  close(): Promise<void>;
}

export function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const open = new Set<net.Socket>();
  let dropped = false;
  let forwarded = 0;
  const server = net.createServer((client) => {
    if (dropped) {
      client.resetAndDestroy();
      return;
    }
    forwarded++;
    const upstream = net.connect(targetPort, targetHost);
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      // Either side failing ends both; the other side's error is the one the client sees.
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({
        url: `redis://127.0.0.1:${port}`,
        connectionsForwarded: () => forwarded,
        drop() {
          dropped = true;
          for (const socket of open) socket.resetAndDestroy();
        },
        restore() {
          dropped = false;
        },
        close() {
          for (const socket of open) socket.destroy();
          return new Promise((done) => server.close(() => done()));
        },
      });
    });
  });
}
