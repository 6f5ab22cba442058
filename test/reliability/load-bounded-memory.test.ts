// load-bounded-memory.test.ts: a 300-request batch through a coordinator and two real worker
// processes on the tiny model, then the retention policy is checked in Redis: no finished request
// job, no finished batch job, no batch results (removeOnComplete) and no batch plan (deleted when
// the batch ends) are left behind, so that Redis holds a number of keys that does not grow with
// the requests served; and the output file holds every custom_id exactly once. The 10,000-request version with memory sampling is
// tools/bench/load-10k.ts (docs/benchmarks.md).
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import IORedis from 'ioredis';
import { BATCHES_QUEUE, REQUESTS_QUEUE, metadataKeys } from '@headkv/queue';
import {
  TINY_MODEL_DIR,
  chatLine,
  client,
  freshPrefix,
  jsonLines,
  spawnWorker,
  startTestCoordinator,
  testRedis,
  waitForBatch,
  waitForWorkers,
  type TestCoordinator,
  type WorkerProcess,
  submitBatch,
} from '../fleet/fleet-harness';

const REQUESTS = 300;
/**
 * Keys a fleet keeps whatever it has served: queue bookkeeping (ids, meta, events, markers), the
 * batch and file records with their tenant indexes, the batch's delayed expiry job. Far below
 * the number of requests, and independent of it.
 */
const MAX_KEYS_AFTER = 40;

let redis: Awaited<ReturnType<typeof testRedis>>;
let coordinator: TestCoordinator;
let workers: WorkerProcess[];
const prefix = freshPrefix();

before(async () => {
  redis = await testRedis();
  coordinator = await startTestCoordinator(redis.url, prefix);
  workers = ['load-a', 'load-b'].map((id) => spawnWorker(redis.url, prefix, id));
  await waitForWorkers(client(coordinator.baseUrl, 'k'), ['load-a', 'load-b'], 60000);
});

after(async () => {
  for (const worker of workers ?? []) await worker.stop();
  await coordinator?.close();
  await redis?.stop();
});

/** Keys under this test's prefix that match `pattern` (SCAN, not KEYS). */
async function keys(connection: IORedis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await connection.scan(cursor, 'MATCH', `${prefix}:${pattern}`, 'COUNT', 1000);
    found.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

test(`a ${REQUESTS}-request batch leaves no finished jobs or results in Redis and answers every line once`, async () => {
  const api = client(coordinator.baseUrl, 'k');
  const model = path.basename(TINY_MODEL_DIR);
  const lines = Array.from({ length: REQUESTS }, (_, i) =>
    chatLine(`req-${i}`, model, `request ${i}`, { max_tokens: 1 }),
  );
  const batchId = (await submitBatch(api, lines.join('\n') + '\n')).id;
  const batch = await waitForBatch(api, batchId, 180000);
  assert.equal(batch.status, 'completed', JSON.stringify(batch));

  const output = jsonLines((await api.text(`/v1/files/${batch.output_file_id}/content`)).body);
  const counts = new Map<string, number>();
  for (const line of output)
    counts.set(line.custom_id as string, (counts.get(line.custom_id as string) ?? 0) + 1);
  const missing = lines.map((_, i) => `req-${i}`).filter((id) => !counts.has(id));
  const repeated = [...counts].filter(([, count]) => count !== 1).map(([id]) => id);
  assert.deepEqual(
    { missing, repeated, unknown: counts.size - (REQUESTS - missing.length) },
    {
      missing: [],
      repeated: [],
      unknown: 0,
    },
  );

  const connection = new IORedis(redis.url);
  try {
    // The finalize job is removed as it completes, just after the batch record says completed.
    const finalize = `${BATCHES_QUEUE}:${batchId}-finalize`;
    const deadline = Date.now() + 10000;
    while ((await keys(connection, `${finalize}*`)).length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.deepEqual(
      await keys(connection, `${finalize}*`),
      [],
      'the finalize job or its results hash remain',
    );
    assert.deepEqual(
      await keys(connection, `${REQUESTS_QUEUE}:${batchId}-line-*`),
      [],
      'request jobs remain',
    );
    // The plan (one entry per line) goes with the batch's final transition.
    assert.equal(await connection.exists(metadataKeys.batchPlan(prefix, batchId)), 0, 'the plan remains');
    assert.equal(await connection.zcard(`${prefix}:${REQUESTS_QUEUE}:completed`), 0);
    assert.equal(await connection.zcard(`${prefix}:${BATCHES_QUEUE}:completed`), 0);
    const all = await keys(connection, '*');
    assert.ok(
      all.length <= MAX_KEYS_AFTER,
      `${all.length} keys remain after ${REQUESTS} requests:\n${all.sort().join('\n')}`,
    );
  } finally {
    connection.disconnect();
  }
});
