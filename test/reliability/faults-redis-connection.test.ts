// faults-redis-connection.test.ts: the only worker of a batch reaches Redis through a TCP proxy
// the test controls; mid-batch every one of its connections is reset and new ones are refused for
// longer than the job lock (so its running jobs stall), then connections are let through again.
// The worker must reconnect on its own (queue, blocking, pub/sub and fleet transport
// connections) and finish the batch: every custom_id exactly once, and no request lost to the cut.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
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
  readResults,
  requestLine,
  submitBatch,
  waitForBatchEnd,
  waitForBatchState,
  type Api,
} from './fault-batch';
import { startTcpProxy, type TcpProxy } from './tcp-proxy';

const LINES = 24;
// Longer than the lock (HEADKV_LOCK_MS 3 s in tests): the worker's running jobs lose their locks.
const CUT_MS = 4000;

let redis: RedisServer;
let proxy: TcpProxy;
let coordinator: TestCoordinator;
let api: Api;
let worker: WorkerProcess;

before(async () => {
  redis = await startRedis();
  const target = new URL(redis.url);
  proxy = await startTcpProxy(target.hostname, Number(target.port || 6379));
  const prefix = freshPrefix();
  coordinator = await startTestCoordinator(redis.url, prefix);
  api = client(coordinator.baseUrl, 'fault');
  worker = spawnWorker(proxy.url, prefix, 'cut-0');
  await waitForWorkers(api, ['cut-0'], 60000);
});

after(async () => {
  try {
    await worker?.stop();
    await coordinator?.close();
    await proxy?.close();
  } finally {
    await redis?.stop();
  }
});

test(`a worker's Redis connections cut for ${CUT_MS / 1000} s mid-batch: it reconnects and the batch completes exactly once`, async () => {
  const ids = Array.from({ length: LINES }, (_, i) => customIdOf(i));
  const created = await submitBatch(api, batchFile(ids.map((_, i) => requestLine(i))));
  const running = await waitForBatchState(
    api,
    created.id,
    (batch) => (batch.request_counts as { completed: number }).completed >= 3,
    60000,
    'got past 3 requests',
  );
  const before = proxy.connectionsForwarded();
  proxy.drop();
  await new Promise((resolve) => setTimeout(resolve, CUT_MS));
  const stalled = (await api.json('GET', `/v1/batches/${created.id}`)).body as { status: string };
  assert.equal(stalled.status, 'in_progress', 'the batch ended while its only worker was cut off');
  proxy.restore();
  const restored = Date.now();
  const batch = await waitForBatchEnd(api, created.id, 90000);
  process.stdout.write(
    `# redis-connection: cut with ${(running.request_counts as { completed: number }).completed}/${LINES} done, ` +
      `completed ${((Date.now() - restored) / 1000).toFixed(1)} s after the restore, ` +
      `${proxy.connectionsForwarded() - before} connections reopened\n`,
  );
  assert.equal(batch.status, 'completed', JSON.stringify(batch));
  const results = await readResults(api, batch);
  assertEachCustomIdOnce(results, ids);
  assert.deepEqual(results.errors, [], 'no request failed because of the cut');
  assert.ok(proxy.connectionsForwarded() > before, 'the worker never opened a new connection');
  assert.equal(worker.child.exitCode, null, 'the worker process exited');
  await waitForWorkers(api, ['cut-0'], 10000);
});
