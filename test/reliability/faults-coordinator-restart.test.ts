// faults-coordinator-restart.test.ts: the coordinator process is killed with SIGKILL while a batch
// is validating, while it runs, and while it is being finalized (output and error files being
// assembled), then started again on the same Redis and file folder. Each time the batch must end
// `completed` with every custom_id exactly once across its output and error files. Real Redis,
// real coordinator process (apps/coordinator), two real worker processes on the tiny model.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import Redis from 'ioredis';
import { Queue } from 'bullmq';
import { BATCHES_QUEUE, batchValidationJobId, metadataKeys } from '@headkv/queue';
import {
  client,
  freshPrefix,
  spawnWorker,
  testRedis,
  waitForWorkers,
  type WorkerProcess,
} from '../fleet/fleet-harness';
import {
  assertEachCustomIdOnce,
  batchFile,
  customIdOf,
  errorCodeOf,
  readResults,
  requestLine,
  startCoordinatorProcess,
  submitBatch,
  waitForBatchEnd,
  waitForBatchState,
  type Api,
  type CoordinatorProcess,
} from './fault-batch';

// Lines that fail validation after a full parse (max_tokens 0): they make validation and
// finalization take long enough to be killed in the middle, without work for the workers.
const INVALID_LINES = 20000;
const VALID_LINES = 8;

let redis: Awaited<ReturnType<typeof testRedis>>;
let metadata: Redis;
let batchesQueue: Queue;
let storageDir: string;
let prefix: string;
let coordinator: CoordinatorProcess;
let api: Api;
const workers: WorkerProcess[] = [];

/** VALID_LINES requests followed by INVALID_LINES invalid ones; custom ids req-0 .. req-(n-1). */
function largeBatch(validLines: number, invalidLines: number): { content: string; ids: string[] } {
  const lines: string[] = [];
  for (let i = 0; i < validLines; i++) lines.push(requestLine(i));
  for (let i = validLines; i < validLines + invalidLines; i++) lines.push(requestLine(i, { max_tokens: 0 }));
  return { content: batchFile(lines), ids: lines.map((_, i) => customIdOf(i)) };
}

/** The batch's status as stored in Redis (the API is down while the coordinator is dead). */
async function storedStatus(batchId: string): Promise<string> {
  const raw = await metadata.get(metadataKeys.batch(prefix, batchId));
  assert.ok(raw !== null, `batch ${batchId} has no record`);
  return (JSON.parse(raw) as { batch: { status: string } }).batch.status;
}

async function assertCompletedExactlyOnce(
  batchId: string,
  ids: string[],
  invalidLines: number,
): Promise<void> {
  const batch = await waitForBatchEnd(api, batchId, 60000);
  assert.equal(batch.status, 'completed', JSON.stringify(batch));
  const results = await readResults(api, batch);
  assertEachCustomIdOnce(results, ids);
  assert.equal(results.outputs.length, ids.length - invalidLines);
  assert.ok(results.errors.every((entry) => errorCodeOf(entry) === 'invalid_value'));
  assert.deepEqual(batch.request_counts, {
    total: ids.length,
    completed: ids.length - invalidLines,
    failed: invalidLines,
  });
}

before(async () => {
  redis = await testRedis();
  prefix = freshPrefix();
  metadata = new Redis(redis.url);
  batchesQueue = new Queue(BATCHES_QUEUE, { connection: { url: redis.url }, prefix });
  storageDir = await mkdtemp(path.join(tmpdir(), 'headkv-fault-files-'));
  coordinator = await startCoordinatorProcess(redis.url, prefix, storageDir);
  api = client(coordinator.baseUrl, 'fault');
  workers.push(spawnWorker(redis.url, prefix, 'crd-0'), spawnWorker(redis.url, prefix, 'crd-1'));
  await waitForWorkers(api, ['crd-0', 'crd-1'], 60000);
});

after(async () => {
  await Promise.all(workers.map((worker) => worker.stop()));
  await coordinator?.stop();
  await batchesQueue?.close();
  metadata?.disconnect();
  await redis?.stop();
  if (storageDir) await rm(storageDir, { recursive: true, force: true });
});

test('coordinator SIGKILLed while a batch is validating: the restarted one validates it again and the batch completes', async () => {
  const { content, ids } = largeBatch(VALID_LINES, INVALID_LINES);
  const created = await submitBatch(api, content);
  assert.equal(created.status, 'validating');
  // Kill once the validate job is running (a stalled job, not one still waiting).
  const job = await batchesQueue.getJob(batchValidationJobId(created.id));
  const deadline = Date.now() + 10000;
  while ((await job?.getState()) !== 'active' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await coordinator.kill();
  assert.equal(await storedStatus(created.id), 'validating', 'the kill landed after validation ended');
  assert.equal(await job?.getState(), 'active');
  await coordinator.restart();
  await assertCompletedExactlyOnce(created.id, ids, INVALID_LINES);
});

test('coordinator SIGKILLed while a batch runs: the workers go on, the restarted one finalizes it', async () => {
  const ids = Array.from({ length: 24 }, (_, i) => customIdOf(i));
  const created = await submitBatch(api, batchFile(ids.map((_, i) => requestLine(i))));
  await waitForBatchState(
    api,
    created.id,
    (batch) =>
      batch.status === 'in_progress' && (batch.request_counts as { completed: number }).completed > 0,
    30000,
    'started',
  );
  await coordinator.kill();
  assert.equal(
    await storedStatus(created.id),
    'in_progress',
    'the kill landed after the batch left in_progress',
  );
  // Long enough for the workers to finish requests while no coordinator is up.
  await new Promise((resolve) => setTimeout(resolve, 3000));
  await coordinator.restart();
  await assertCompletedExactlyOnce(created.id, ids, 0);
});

test('coordinator SIGKILLed while it assembles the output and error files: the restarted one finishes them', async () => {
  // The finalizer may end before the kill lands; a few batches give it several chances.
  let caught = 0;
  for (let round = 0; round < 3 && caught === 0; round++) {
    const { content, ids } = largeBatch(VALID_LINES, INVALID_LINES);
    const created = await submitBatch(api, content);
    const key = metadataKeys.batch(prefix, created.id);
    let status = 'validating';
    const deadline = Date.now() + 60000;
    while (!['finalizing', 'completed'].includes(status) && Date.now() < deadline) {
      const raw = await metadata.get(key);
      status = raw === null ? 'missing' : (JSON.parse(raw) as { batch: { status: string } }).batch.status;
    }
    if (status === 'finalizing') {
      await coordinator.kill();
      if ((await storedStatus(created.id)) === 'finalizing') caught++;
      await coordinator.restart();
    }
    process.stdout.write(`# finalization round ${round}: ${status}, caught ${caught}\n`);
    await assertCompletedExactlyOnce(created.id, ids, INVALID_LINES);
  }
  assert.equal(caught, 1, 'no kill landed while the batch was finalizing');
});

test('a batch left validating without its job (the coordinator died between recording it and queueing the job): the restarted coordinator queues it again', async () => {
  const { content, ids } = largeBatch(VALID_LINES, INVALID_LINES);
  const created = await submitBatch(api, content);
  const job = await batchesQueue.getJob(batchValidationJobId(created.id));
  assert.ok(job !== undefined);
  await coordinator.kill();
  // The state that crash window leaves: the record says validating and no job exists. Removing a
  // job that was running needs its lock to have lapsed first.
  const lock = `${prefix}:${BATCHES_QUEUE}:${job.id}:lock`;
  while ((await metadata.exists(lock)) === 1) await new Promise((resolve) => setTimeout(resolve, 100));
  await job.remove();
  assert.equal(await storedStatus(created.id), 'validating');
  await coordinator.restart();
  await assertCompletedExactlyOnce(created.id, ids, INVALID_LINES);
  assert.match(coordinator.output(), /1 batch\(es\) left validating without their job: validating again/);
});
