// redis.ts: a Redis server for tests. Uses REDIS_URL when set; otherwise starts redis-server from
// PATH on a free port in a temporary folder, without persistence, and stops it afterwards.
//
//   let redis: RedisServer;
//   before(async () => { redis = await startRedis(); });
//   after(() => redis.stop());
//   ... new Queue(freshQueueName('jobs'), { connection: { url: redis.url } }) ...
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort } from './free-port';

export interface RedisServer {
  url: string;
  // Stops the server this helper started (nothing for REDIS_URL) and removes its folder.
  stop(): Promise<void>;
}

const START_TIMEOUT_MS = 10_000;

function findOnPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not in this PATH entry
    }
  }
  return undefined;
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    socket.setTimeout(500);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => {
      reply += data.toString();
      if (reply.includes('\r\n')) {
        socket.destroy();
        resolve(reply.startsWith('+PONG'));
      }
    });
    socket.on('error', () => resolve(false));
    socket.on('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

// A loopback redis-server on `port` with its files in `dir`, no RDB snapshots, and the given
// append-only-file settings.
function serverArgs(port: number, dir: string, persistence: string[]): string[] {
  return ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', dir];
}

async function launch(binary: string): Promise<RedisServer> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'headkv-redis-'));
  const args = serverArgs(port, dir, ['--appendonly', 'no']);
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (data) => (output += data.toString()));
  child.stderr?.on('data', (data) => (output += data.toString()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited(child);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    if (await ping(port)) return { url: `redis://127.0.0.1:${port}`, stop };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await stop();
  const tail = output.trim().split('\n').slice(-3).join(' | ');
  throw new Error(`redis-server on port ${port} did not start: ${tail || 'no output'}`);
}

export async function startRedis(): Promise<RedisServer> {
  const fromEnvironment = process.env.REDIS_URL;
  if (fromEnvironment) return { url: fromEnvironment, stop: async () => {} };
  const binary = findOnPath('redis-server');
  if (!binary) throw new Error('redis-server not found: apt-get install redis-server');
  // The free port can be taken between probing and binding: try a few ports.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await launch(binary);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

// A queue name no other test (or earlier run against the same REDIS_URL) uses.
export function freshQueueName(prefix = 'test'): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** A redis-server this helper owns, with AOF persistence, that a test can kill and start again. */
export interface RestartableRedisServer {
  url: string;
  port: number;
  /** The data folder (appendonly files); kept across restarts, removed by stop(). */
  dir: string;
  /** SIGKILL, as a crash: only what the AOF holds survives. */
  kill(): Promise<void>;
  /** Starts redis-server again on the same port and folder; resolves when it answers PING. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A redis-server with `appendonly yes` and the given `appendfsync` policy, on a free port in a
 * temporary folder. Never REDIS_URL: the test must own the process to kill and restart it.
 */
export async function startRestartableRedis(
  appendfsync: 'always' | 'everysec' = 'always',
): Promise<RestartableRedisServer> {
  const binary = findOnPath('redis-server');
  if (!binary) throw new Error('redis-server not found: apt-get install redis-server');
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'headkv-redis-aof-'));
  const args = serverArgs(port, dir, ['--appendonly', 'yes', '--appendfsync', appendfsync]);
  let child: ChildProcess | null = null;
  let output = '';
  const start = async () => {
    output = '';
    const started = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    started.stdout?.on('data', (data) => (output = (output + data.toString()).slice(-4000)));
    started.stderr?.on('data', (data) => (output = (output + data.toString()).slice(-4000)));
    child = started;
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline && started.exitCode === null) {
      if (await ping(port)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const tail = output.trim().split('\n').slice(-3).join(' | ');
    throw new Error(`redis-server on port ${port} (AOF in ${dir}) did not start: ${tail || 'no output'}`);
  };
  const halt = async (signal: NodeJS.Signals) => {
    const running = child;
    child = null;
    if (running === null) return;
    if (running.exitCode === null && running.signalCode === null) running.kill(signal);
    await exited(running);
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    kill: () => halt('SIGKILL'),
    restart: start,
    async stop() {
      await halt('SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
