// free-port.ts: a TCP port on 127.0.0.1 that nothing listens on right now (the kernel picks it);
// a server started on it can still lose the race to another process, so callers retry.
import * as net from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
