// The worker autoscaling metric (deploy/k8s/base/queue-depth.lua, run by redis_exporter, read by
// KEDA) against a real Redis holding real BullMQ jobs, queued the way the fleet queues them.
import { after, before, beforeEach, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { Queue, Worker } from 'bullmq';
import IORedis from 'ioredis';
import { parse } from 'yaml';
import {
  BATCHES_QUEUE,
  BATCH_PRIORITY,
  DEFAULT_QUEUE_PREFIX,
  INTERACTIVE_PRIORITY,
  REQUESTS_QUEUE,
} from '@headkv/queue';
import { startLocalRedisServer, type LocalRedisServer } from './local-redis-server';
import { repoPath } from './repo-paths';

const SCRIPT = fs.readFileSync(repoPath('deploy/k8s/base/queue-depth.lua'), 'utf8');

let server: LocalRedisServer;
let redis: IORedis;
let requests: Queue;
let batches: Queue;

before(async () => {
  server = await startLocalRedisServer();
  const connection = { host: server.host, port: server.port, maxRetriesPerRequest: null };
  redis = new IORedis(connection);
  requests = new Queue(REQUESTS_QUEUE, { connection, prefix: DEFAULT_QUEUE_PREFIX });
  batches = new Queue(BATCHES_QUEUE, { connection, prefix: DEFAULT_QUEUE_PREFIX });
});

beforeEach(async () => {
  await redis.flushdb();
});

after(async () => {
  await requests.close();
  await batches.close();
  redis.disconnect();
  await server.stop();
});

/** Runs the script as redis_exporter does (EVAL, no keys) and checks the reply's shape on the way. */
async function readMetric(): Promise<Record<string, number>> {
  const reply: unknown = await redis.eval(SCRIPT, 0);
  assert.ok(Array.isArray(reply) && reply.length % 2 === 0, `expected name/value pairs, got ${String(reply)}`);
  const values: Record<string, number> = {};
  for (let i = 0; i < reply.length; i += 2) {
    const name: unknown = reply[i];
    const value: unknown = reply[i + 1];
    // redis_exporter reads the reply as a map of bulk strings and parses each value as a float.
    assert.equal(typeof name, 'string', `name at ${i} is not a string`);
    assert.equal(typeof value, 'string', `value of ${String(name)} is not a string (redis_exporter rejects it)`);
    values[name as string] = Number.parseFloat(value as string);
  }
  return values;
}

const batchLine = { priority: BATCH_PRIORITY };
const interactive = { priority: INTERACTIVE_PRIORITY };

test('an empty queue reads zero on every value', async () => {
  assert.deepEqual(await readMetric(), {
    headkv_requests_waiting: 0,
    headkv_requests_active: 0,
    headkv_requests_delayed: 0,
    headkv_requests_outstanding: 0,
  });
});

test('prioritized jobs, which is every fleet request, count as waiting; the wait list alone misses them', async () => {
  for (let i = 0; i < 3; i += 1) await requests.add('chat', { line: i }, batchLine);
  for (let i = 0; i < 2; i += 1) await requests.add('chat', { line: i }, interactive);
  await requests.add('chat', { unprioritized: true });

  const counts = await requests.getJobCounts('wait', 'prioritized');
  assert.deepEqual(counts, { wait: 1, prioritized: 5 });
  // What KEDA's redis list scaler (LLEN of the wait list) would report:
  assert.equal(await redis.llen(`${DEFAULT_QUEUE_PREFIX}:${REQUESTS_QUEUE}:wait`), 1);

  const metric = await readMetric();
  assert.equal(metric.headkv_requests_waiting, 6);
  assert.equal(metric.headkv_requests_outstanding, 6);
});

test('delayed retries count once due, not before; other queues never count', async () => {
  await requests.add('chat', { retry: 'later' }, { ...batchLine, delay: 3_600_000 });
  await requests.add('chat', { retry: 'later' }, { ...batchLine, delay: 3_600_000 });
  await requests.add('chat', { retry: 'due' }, { ...batchLine, delay: 1 });
  await requests.add('chat', { fresh: true }, batchLine);
  for (let i = 0; i < 4; i += 1) await batches.add('finalize', { batch: i });
  await new Promise((resolve) => setTimeout(resolve, 50));

  // BullMQ itself still holds all three in the delayed set: no worker has promoted the due one.
  assert.deepEqual(await requests.getJobCounts('delayed', 'prioritized'), { delayed: 3, prioritized: 1 });
  const metric = await readMetric();
  assert.equal(metric.headkv_requests_waiting, 2);
  assert.equal(metric.headkv_requests_delayed, 2);
  assert.equal(metric.headkv_requests_outstanding, 2);
});

test('a paused queue keeps its jobs counted as waiting', async () => {
  await requests.add('chat', { line: 1 }, batchLine);
  await requests.add('chat', { line: 2 });
  await requests.pause();
  // BullMQ 5 moves the wait list to <queue>:paused; prioritized jobs stay in their set.
  assert.deepEqual(await requests.getJobCounts('paused', 'prioritized'), { paused: 1, prioritized: 1 });
  assert.equal((await readMetric()).headkv_requests_waiting, 2);
  await requests.resume();
  assert.equal((await readMetric()).headkv_requests_waiting, 2);
});

test('jobs a worker holds count as active and keep the outstanding total until they finish', async () => {
  const connection = { host: server.host, port: server.port, maxRetriesPerRequest: null };
  const worker = new Worker(REQUESTS_QUEUE, null, { connection, prefix: DEFAULT_QUEUE_PREFIX });
  try {
    await requests.add('chat', { line: 1 }, batchLine);
    await requests.add('chat', { line: 2 }, interactive);
    await requests.add('chat', { line: 3 }, batchLine);

    const token = 'deploy-test-worker';
    const job = await worker.getNextJob(token);
    assert.ok(job, 'the worker got no job');
    assert.equal(job.opts.priority, INTERACTIVE_PRIORITY, 'interactive requests are taken first');
    let metric = await readMetric();
    assert.deepEqual(
      [metric.headkv_requests_waiting, metric.headkv_requests_active, metric.headkv_requests_outstanding],
      [2, 1, 3],
    );

    await job.moveToCompleted({ done: true }, token, false);
    metric = await readMetric();
    assert.deepEqual(
      [metric.headkv_requests_waiting, metric.headkv_requests_active, metric.headkv_requests_outstanding],
      [2, 0, 2],
    );
  } finally {
    await worker.close();
  }
});

test('the ScaledObject reads a value the script publishes, from the exporter in the fleet namespace', async () => {
  const published = Object.keys(await readMetric());
  const scaledObject = parse(fs.readFileSync(repoPath('deploy/k8s/base/worker-scaledobject.yaml'), 'utf8'));
  const [trigger] = scaledObject.spec.triggers;
  assert.equal(trigger.type, 'metrics-api');
  assert.equal(trigger.metadata.format, 'prometheus');
  const selected = /^redis_script_values\{key="([^"]+)"\}$/.exec(trigger.metadata.valueLocation);
  assert.ok(selected, `valueLocation ${trigger.metadata.valueLocation} does not select a redis_script_values series`);
  assert.ok(published.includes(selected[1]), `the script publishes no value named ${selected[1]}`);
  assert.equal(selected[1], 'headkv_requests_outstanding');
});
