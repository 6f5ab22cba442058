// faults-redis-restart.test.ts: Redis itself crashes (SIGKILL) in the middle of a batch and comes
// back on the same port from its append-only file. The Redis runs with `appendonly yes` and
// `appendfsync always`: every write BullMQ and the coordinator were told succeeded is on disk
// before the reply, so a crash loses none of them (with `everysec` up to a second of job moves and
// results could vanish; see docs/reliability.md). The coordinator and two worker processes keep
// their connections configured as in production (ioredis reconnects, commands wait), and the
// batch must complete with every custom_id exactly once across its output and error files.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { startRestartableRedis, type RestartableRedisServer } from '../helpers/redis';
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
  readResults,
  requestLine,
  submitBatch,
  waitForBatchEnd,
  waitForBatchState,
  type Api,
} from './fault-batch';

const LINES = 30;
// HEADKV_FAULT_APPENDFSYNC=everysec runs the same test against the weaker policy (by hand).
const APPENDFSYNC = process.env.HEADKV_FAULT_APPENDFSYNC === 'everysec' ? 'everysec' : 'always';
// How long Redis stays down: longer than the lock (HEADKV_LOCK_MS 3 s in tests), so running jobs
// lose their locks and are taken again after the restart.
const DOWN_MS = 4000;

let redis: RestartableRedisServer;
let coordinator: TestCoordinator;
let api: Api;
const workers: WorkerProcess[] = [];

before(async () => {
  redis = await startRestartableRedis(APPENDFSYNC);
  const prefix = freshPrefix();
  coordinator = await startTestCoordinator(redis.url, prefix);
  api = client(coordinator.baseUrl, 'fault');
  workers.push(spawnWorker(redis.url, prefix, 'aof-0'), spawnWorker(redis.url, prefix, 'aof-1'));
  await waitForWorkers(api, ['aof-0', 'aof-1'], 60000);
});

after(async () => {
  try {
    await Promise.all(workers.map((worker) => worker.stop()));
    await coordinator?.close();
  } finally {
    await redis?.stop();
  }
});

test(`Redis (AOF, appendfsync ${APPENDFSYNC}) SIGKILLed mid-batch and restarted: the ${LINES}-line batch completes exactly once`, async () => {
  const ids = Array.from({ length: LINES }, (_, i) => customIdOf(i));
  const created = await submitBatch(api, batchFile(ids.map((_, i) => requestLine(i))));
  const running = await waitForBatchState(
    api,
    created.id,
    (batch) => (batch.request_counts as { completed: number }).completed >= 3,
    60000,
    'got past 3 requests',
  );
  assert.equal(running.status, 'in_progress');
  await redis.kill();
  await new Promise((resolve) => setTimeout(resolve, DOWN_MS));
  await redis.restart();
  const restarted = Date.now();
  const batch = await waitForBatchEnd(api, created.id, 90000);
  process.stdout.write(
    `# redis-restart (${APPENDFSYNC}): killed with ${(running.request_counts as { completed: number }).completed}/${LINES} done, ` +
      `completed ${((Date.now() - restarted) / 1000).toFixed(1)} s after the restart\n`,
  );
  assert.equal(batch.status, 'completed', JSON.stringify(batch));
  const results = await readResults(api, batch);
  assertEachCustomIdOnce(results, ids);
  assert.deepEqual(results.errors, [], 'no request failed because of the restart');
  // Both workers are still serving after it (their heartbeats came back).
  await waitForWorkers(api, ['aof-0', 'aof-1'], 10000);
  assert.ok(workers.every((worker) => worker.child.exitCode === null));
});
