// faults-poison-request.test.ts: a request that kills its worker every time it runs is
// quarantined. One worker runs at a time, with one engine slot (HEADKV_MAX_SEQUENCES=1), so the
// request the test watches is the only one running; whenever that request is running, the test
// kills the worker with SIGKILL (a crash) and starts a fresh one. With
// HEADKV_QUARANTINE_AFTER_CRASHES=2, after the second crash the next worker must not run it again
// but fail it as `quarantined`; the rest of the batch completes and every custom_id appears
// exactly once across the output and error files.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { REQUESTS_QUEUE, batchLineJobId } from '@headkv/queue';
import { startRedis, type RedisServer } from '../helpers/redis';
import {
  client,
  freshPrefix,
  spawnWorker,
  startTestCoordinator,
  waitForWorkers,
  type TestCoordinator,
  type WorkerProcess,
} from '../fleet/fleet-harness';
import {
  assertEachCustomIdOnce,
  batchFile,
  customIdOf,
  errorCodeOf,
  readResults,
  requestLine,
  submitBatch,
  waitForBatchEnd,
  type Api,
} from './fault-batch';

const LINES = 10;
const QUARANTINE_AFTER = 2;
// Line 1 of the file (custom_id req-0): 3,000 sampled tokens (seeded, it runs to the length
// limit), several seconds of generation, so the test sees it running before it ends.
const POISON_LINE = 1;
const POISON_BODY = { max_tokens: 3000, temperature: 1, seed: 7 };

let redis: RedisServer;
let prefix: string;
let coordinator: TestCoordinator;
let api: Api;
let requests: Queue;
let worker: WorkerProcess;
let started = 0;

function startWorker(): WorkerProcess {
  return spawnWorker(redis.url, prefix, `poison-${started++}`, {
    HEADKV_MAX_SEQUENCES: '1',
    HEADKV_QUARANTINE_AFTER_CRASHES: String(QUARANTINE_AFTER),
  });
}

before(async () => {
  redis = await startRedis();
  prefix = freshPrefix();
  coordinator = await startTestCoordinator(redis.url, prefix);
  api = client(coordinator.baseUrl, 'fault');
  requests = new Queue(REQUESTS_QUEUE, { connection: { url: redis.url }, prefix });
  worker = startWorker();
  await waitForWorkers(api, ['poison-0'], 60000);
});

after(async () => {
  try {
    await worker?.stop();
    await requests?.close();
    await coordinator?.close();
  } finally {
    await redis?.stop();
  }
});

/** Polls the job's state until `wanted` says yes; returns the state seen. */
async function waitForState(
  jobId: string,
  wanted: (state: string) => boolean,
  what: string,
): Promise<string> {
  const deadline = Date.now() + 30000;
  for (;;) {
    const state = await requests.getJobState(jobId);
    if (wanted(state)) return state;
    if (Date.now() > deadline) throw new Error(`job ${jobId} never ${what} (state ${state})`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Polls until the job has been found stalled `count` times, or is gone (completed). */
async function waitForStalls(jobId: string, count: number): Promise<void> {
  const deadline = Date.now() + 30000;
  for (;;) {
    const job = await requests.getJob(jobId);
    if (!job || (job.stalledCounter ?? 0) >= count) return;
    if (Date.now() > deadline) throw new Error(`job ${jobId} was not found stalled ${count} time(s)`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test(`a request whose worker dies every time it runs is quarantined after ${QUARANTINE_AFTER} crashes; the batch completes`, async () => {
  const ids = Array.from({ length: LINES }, (_, i) => customIdOf(i));
  const lines = ids.map((_, i) => requestLine(i, i === POISON_LINE - 1 ? POISON_BODY : {}));
  const created = await submitBatch(api, batchFile(lines));
  const poisonJob = batchLineJobId(created.id, POISON_LINE);
  let crashes = 0;
  let final: string;
  await waitForState(poisonJob, (s) => s !== 'unknown', 'was queued');
  for (;;) {
    // 'unknown' once queued: completed and removed (removeOnComplete).
    const state = await waitForState(
      poisonJob,
      (s) => ['active', 'failed', 'unknown'].includes(s),
      'was taken',
    );
    const job = await requests.getJob(poisonJob);
    // Taken after the last allowed crash: that worker must fail it instead of running it.
    if (state !== 'active' || (job?.stalledCounter ?? 0) >= QUARANTINE_AFTER) {
      final = await waitForState(poisonJob, (s) => s !== 'active', 'ended');
      break;
    }
    worker.child.kill('SIGKILL');
    crashes++;
    worker = startWorker();
    // Back in the queue once its lock lapses and the new worker's stalled check finds it. Wait on
    // the job's stall count, not its state: the new worker can take it again between two polls,
    // so a poll may never see it waiting.
    await waitForStalls(poisonJob, crashes);
  }
  assert.equal(crashes, QUARANTINE_AFTER);
  assert.equal(final, 'failed', 'the request ran again instead of being quarantined');

  const batch = await waitForBatchEnd(api, created.id, 60000);
  process.stdout.write(
    `# poison-request: ${crashes} crashes, then quarantined; ${started} workers started in all\n`,
  );
  assert.equal(batch.status, 'completed', JSON.stringify(batch));
  const results = await readResults(api, batch);
  assertEachCustomIdOnce(results, ids);
  assert.equal(results.errors.length, 1, JSON.stringify(results.errors));
  const [quarantined] = results.errors;
  assert.equal(quarantined.custom_id, customIdOf(POISON_LINE - 1));
  assert.equal(errorCodeOf(quarantined), 'quarantined');
  assert.match(
    (quarantined.error as { message: string }).message,
    /^The request was quarantined: 2 workers died \(crashed or were killed\) while running it, the limit is 2 \(HEADKV_QUARANTINE_AFTER_CRASHES\)$/,
  );
  assert.equal(results.outputs.length, LINES - 1);
});
