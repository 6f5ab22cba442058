// The worker autoscaling metric (deploy/k8s/base/queue-depth.lua, run by redis_exporter, read by
// KEDA) against a real Redis holding real BullMQ jobs, queued the way the fleet queues them.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Queue, Worker, type ConnectionOptions } from 'bullmq';
import IORedis from 'ioredis';
import { parse } from 'yaml';
import {
  BATCHES_QUEUE,
  BATCH_PRIORITY,
  DEFAULT_QUEUE_PREFIX,
  INTERACTIVE_PRIORITY,
  PROFILES_QUEUE,
  REQUESTS_QUEUE,
} from '@headkv/queue';
import { freshQueueName, startRedis, type RedisServer } from '../helpers/redis';
import { REPO_ROOT } from '../helpers/repo-paths';

const SCRIPT = fs.readFileSync(path.join(REPO_ROOT, 'deploy/k8s/base/queue-depth.lua'), 'utf8');
const PREFIX_LINE = /^local prefix = '([^']*)'$/m;
const QUEUES_LINE = /^local queues = \{ (.*) \}$/m;

let server: RedisServer;
let redis: IORedis;
let connection: ConnectionOptions;

before(async () => {
  server = await startRedis();
  connection = { url: server.url, maxRetriesPerRequest: null };
  redis = new IORedis(server.url);
});

after(async () => {
  redis.disconnect();
  await server.stop();
});

interface FleetQueues {
  requests: Queue;
  profiles: Queue;
  batches: Queue;
  prefix: string;
  readMetric: () => Promise<Record<string, number>>;
}

/**
 * The fleet's queues under a prefix of their own, so that tests sharing a Redis (REDIS_URL) never
 * see each other's jobs, and the committed script pointed at that prefix (a test below checks
 * that the committed script reads the fleet's real prefix and queues).
 */
async function withFleetQueues(body: (queues: FleetQueues) => Promise<void>): Promise<void> {
  const prefix = freshQueueName('deploy');
  const script = SCRIPT.replace(PREFIX_LINE, `local prefix = '${prefix}'`);
  const requests = new Queue(REQUESTS_QUEUE, { connection, prefix });
  const profiles = new Queue(PROFILES_QUEUE, { connection, prefix });
  const batches = new Queue(BATCHES_QUEUE, { connection, prefix });
  try {
    await body({ requests, profiles, batches, prefix, readMetric: () => readMetric(script) });
  } finally {
    for (const queue of [requests, profiles, batches]) {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  }
}

/** Runs the script as redis_exporter does (EVAL, no keys) and checks the reply's shape on the way. */
async function readMetric(script: string): Promise<Record<string, number>> {
  const reply: unknown = await redis.eval(script, 0);
  assert.ok(
    Array.isArray(reply) && reply.length % 2 === 0,
    `expected name/value pairs, got ${String(reply)}`,
  );
  const values: Record<string, number> = {};
  for (let i = 0; i < reply.length; i += 2) {
    const name: unknown = reply[i];
    const value: unknown = reply[i + 1];
    // redis_exporter reads the reply as a map of bulk strings and parses each value as a float.
    assert.equal(typeof name, 'string', `name at ${i} is not a string`);
    assert.equal(
      typeof value,
      'string',
      `value of ${String(name)} is not a string (redis_exporter rejects it)`,
    );
    values[name as string] = Number.parseFloat(value as string);
  }
  return values;
}

const batchLine = { priority: BATCH_PRIORITY };
const interactive = { priority: INTERACTIVE_PRIORITY };

test('the committed script reads the worker queues under the default prefix', () => {
  assert.equal(PREFIX_LINE.exec(SCRIPT)?.[1], DEFAULT_QUEUE_PREFIX);
  assert.equal(QUEUES_LINE.exec(SCRIPT)?.[1], `'${REQUESTS_QUEUE}', '${PROFILES_QUEUE}'`);
});

test('an empty fleet reads zero on every value', async () => {
  await withFleetQueues(async ({ readMetric }) => {
    assert.deepEqual(await readMetric(), {
      headkv_worker_jobs_waiting: 0,
      headkv_worker_jobs_active: 0,
      headkv_worker_jobs_delayed: 0,
      headkv_worker_jobs_outstanding: 0,
    });
  });
});

test('prioritized jobs, which is every fleet request, count as waiting; the wait list alone misses them', async () => {
  await withFleetQueues(async ({ requests, prefix, readMetric }) => {
    for (let i = 0; i < 3; i += 1) await requests.add('chat', { line: i }, batchLine);
    for (let i = 0; i < 2; i += 1) await requests.add('chat', { line: i }, interactive);
    await requests.add('chat', { unprioritized: true });

    assert.deepEqual(await requests.getJobCounts('wait', 'prioritized'), { wait: 1, prioritized: 5 });
    // What KEDA's redis list scaler (LLEN of the wait list) would report:
    assert.equal(await redis.llen(`${prefix}:${REQUESTS_QUEUE}:wait`), 1);

    const metric = await readMetric();
    assert.equal(metric.headkv_worker_jobs_waiting, 6);
    assert.equal(metric.headkv_worker_jobs_outstanding, 6);
  });
});

test('profile jobs count, so that POST /v1/profiles starts a worker; the coordinator-run batch queue never counts', async () => {
  await withFleetQueues(async ({ profiles, batches, readMetric }) => {
    await profiles.add('profile', { model: 'm' }, { jobId: 'profile-m-headkv-r2' });
    for (let i = 0; i < 4; i += 1) await batches.add('finalize', { batch: i });
    const metric = await readMetric();
    assert.equal(metric.headkv_worker_jobs_waiting, 1);
    assert.equal(metric.headkv_worker_jobs_outstanding, 1);
  });
});

test('delayed retries count once due, not before', async () => {
  await withFleetQueues(async ({ requests, readMetric }) => {
    await requests.add('chat', { retry: 'later' }, { ...batchLine, delay: 3_600_000 });
    await requests.add('chat', { retry: 'later' }, { ...batchLine, delay: 3_600_000 });
    await requests.add('chat', { retry: 'due' }, { ...batchLine, delay: 1 });
    await requests.add('chat', { fresh: true }, batchLine);
    await new Promise((resolve) => setTimeout(resolve, 50));

    // BullMQ itself still holds all three in the delayed set: no worker has promoted the due one.
    assert.deepEqual(await requests.getJobCounts('delayed', 'prioritized'), { delayed: 3, prioritized: 1 });
    const metric = await readMetric();
    assert.equal(metric.headkv_worker_jobs_waiting, 2);
    assert.equal(metric.headkv_worker_jobs_delayed, 2);
    assert.equal(metric.headkv_worker_jobs_outstanding, 2);
  });
});

test('a paused queue keeps its jobs counted as waiting', async () => {
  await withFleetQueues(async ({ requests, readMetric }) => {
    await requests.add('chat', { line: 1 }, batchLine);
    await requests.add('chat', { line: 2 });
    await requests.pause();
    // BullMQ 5 moves the wait list to <queue>:paused; prioritized jobs stay in their set.
    assert.deepEqual(await requests.getJobCounts('paused', 'prioritized'), { paused: 1, prioritized: 1 });
    assert.equal((await readMetric()).headkv_worker_jobs_waiting, 2);
    await requests.resume();
    assert.equal((await readMetric()).headkv_worker_jobs_waiting, 2);
  });
});

test('jobs a worker holds count as active and keep the outstanding total until they finish', async () => {
  await withFleetQueues(async ({ requests, prefix, readMetric }) => {
    const worker = new Worker(REQUESTS_QUEUE, null, { connection, prefix });
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
        [
          metric.headkv_worker_jobs_waiting,
          metric.headkv_worker_jobs_active,
          metric.headkv_worker_jobs_outstanding,
        ],
        [2, 1, 3],
      );

      await job.moveToCompleted({ done: true }, token, false);
      metric = await readMetric();
      assert.deepEqual(
        [
          metric.headkv_worker_jobs_waiting,
          metric.headkv_worker_jobs_active,
          metric.headkv_worker_jobs_outstanding,
        ],
        [2, 0, 2],
      );
    } finally {
      await worker.close();
    }
  });
});

test('the ScaledObject reads the outstanding total the script publishes', async () => {
  const published = Object.keys(await readMetric(SCRIPT));
  const scaledObject = parse(
    fs.readFileSync(path.join(REPO_ROOT, 'deploy/k8s/base/worker-scaledobject.yaml'), 'utf8'),
  );
  const [trigger] = scaledObject.spec.triggers;
  assert.equal(trigger.type, 'metrics-api');
  assert.equal(trigger.metadata.format, 'prometheus');
  const selected = /^redis_script_values\{key="([^"]+)"\}$/.exec(trigger.metadata.valueLocation);
  assert.ok(
    selected,
    `valueLocation ${trigger.metadata.valueLocation} does not select a redis_script_values series`,
  );
  assert.ok(published.includes(selected[1]), `the script publishes no value named ${selected[1]}`);
  assert.equal(selected[1], 'headkv_worker_jobs_outstanding');
});
