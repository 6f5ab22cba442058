import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as net from 'node:net';

/** A throwaway redis-server on a free loopback port, without persistence, for one test file. */
export interface LocalRedisServer {
  url: string;
  host: string;
  port: number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('could not read a free port');
  server.close();
  await once(server, 'close');
  return address.port;
}

async function waitForPing(port: number, process: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (process.exitCode !== null) {
      throw new Error(`redis-server exited with code ${process.exitCode}: ${output()}`);
    }
    const answered = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString().startsWith('+PONG'));
      });
      socket.once('error', () => resolve(false));
    });
    if (answered) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`redis-server on port ${port} did not answer PING within 10 s: ${output()}`);
}

/** Starts redis-server from PATH; fails with install advice when it is missing. */
export async function startLocalRedisServer(): Promise<LocalRedisServer> {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (error) =>
      reject(new Error(`cannot start redis-server (apt-get install -y redis-server): ${error.message}`)),
    ),
  );
  await Promise.race([waitForPing(port, child, () => output), spawnError]);
  return {
    url: `redis://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
