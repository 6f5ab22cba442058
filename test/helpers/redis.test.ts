// The Redis helper starts a real server that answers PING and is gone after stop().
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { test } from 'node:test';

import { freshQueueName, startRedis } from './redis';

function ping(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port || 6379), hostname);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => {
      socket.destroy();
      resolve(data.toString().trim());
    });
    socket.on('error', reject);
  });
}

test('startRedis gives a live server and stop() ends it', async () => {
  const redis = await startRedis();
  assert.equal(await ping(redis.url), '+PONG');
  await redis.stop();
  if (!process.env.REDIS_URL) await assert.rejects(ping(redis.url), /ECONNREFUSED/);
});

test('freshQueueName is unique per call', () => {
  const names = new Set(Array.from({ length: 100 }, () => freshQueueName('jobs')));
  assert.equal(names.size, 100);
  for (const name of names) assert.match(name, /^jobs-[a-z0-9]+-[0-9a-f]{8}$/);
});
