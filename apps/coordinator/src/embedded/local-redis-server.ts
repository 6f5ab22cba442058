import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as net from 'node:net';

/** A redis-server child process on a loopback port, without persistence (the embedded default's Redis). */
export interface LocalRedisServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Install advice shown when redis-server is not on PATH. */
export const REDIS_INSTALL_HINT =
  'redis-server was not found on PATH. Install Redis (Debian/Ubuntu: apt-get install -y redis-server; ' +
  'macOS: brew install redis) or point REDIS_URL at a running Redis server.';

/** Whether something answers PING at host:port within `timeoutMs`. */
export function redisAnswers(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = net.connect(port, host);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(false);
    }, timeoutMs);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      clearTimeout(timer);
      socket.destroy();
      // A password-protected server answers -NOAUTH: it is still a Redis server that is up.
      resolve(data.toString().startsWith('+PONG') || data.toString().startsWith('-NOAUTH'));
    });
    socket.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

export async function freeLoopbackPort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('could not obtain a free port');
  server.close();
  await once(server, 'close');
  return address.port;
}

async function waitUntilUp(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`redis-server exited with code ${child.exitCode}: ${output()}`);
    if (await redisAnswers('127.0.0.1', port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`redis-server on port ${port} did not answer PING within 10 s: ${output()}`);
}

/** Starts redis-server from PATH on `port` (a free one when omitted). */
export async function startLocalRedisServer(port?: number): Promise<LocalRedisServer> {
  const chosen = port ?? (await freeLoopbackPort());
  const child = spawn(
    'redis-server',
    ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  const spawnFailure = new Promise<never>((_, reject) =>
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          error.code === 'ENOENT' ? REDIS_INSTALL_HINT : `cannot start redis-server: ${error.message}`,
        ),
      ),
    ),
  );
  await Promise.race([waitUntilUp(chosen, child, () => output), spawnFailure]);
  return {
    url: `redis://127.0.0.1:${chosen}`,
    port: chosen,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
