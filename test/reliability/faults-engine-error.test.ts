// faults-engine-error.test.ts: a real engine failure on one request. The worker's engine gets a
// small KV page pool (HEADKV_KV_CACHE_BYTES = 2 MiB, 1024 pages of the tiny model: about 2,000
// tokens); one line of the batch has a prompt of about 2,900 tokens, inside the model's 4,096-token
// context (so the worker's own context check lets it through) but larger than the whole pool, so
// the engine's admission fails with HKV_ERR_OUT_OF_MEMORY on every attempt. That line must become
// an `engine_out_of_memory` error line naming the pages it needed; every other line is answered,
// by the same worker process, which then still serves a new request (and answers the oversize
// prompt sent interactively with a 500 carrying the same code).
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { startRedis, type RedisServer } from '../helpers/redis';
import {
  chatLine,
  client,
  freshPrefix,
  spawnWorker,
  startTestCoordinator,
  waitForWorkers,
  type TestCoordinator,
  type WorkerProcess,
} from '../fleet/fleet-harness';
import {
  MODEL,
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

const LINES = 12;
const OVERSIZE_LINE = 5;
const KV_CACHE_BYTES = 2 * 1024 * 1024;

let redis: RedisServer;
let coordinator: TestCoordinator;
let api: Api;
let worker: WorkerProcess;

before(async () => {
  redis = await startRedis();
  const prefix = freshPrefix();
  coordinator = await startTestCoordinator(redis.url, prefix);
  api = client(coordinator.baseUrl, 'fault');
  worker = spawnWorker(redis.url, prefix, 'oom-0', { HEADKV_KV_CACHE_BYTES: String(KV_CACHE_BYTES) });
  await waitForWorkers(api, ['oom-0'], 60000);
});

after(async () => {
  try {
    await worker?.stop();
    await coordinator?.close();
  } finally {
    await redis?.stop();
  }
});

test('an engine out-of-memory error on one line becomes its error line; the worker serves every other line and goes on', async () => {
  const ids = Array.from({ length: LINES }, (_, i) => customIdOf(i));
  const oversize = JSON.stringify({
    custom_id: customIdOf(OVERSIZE_LINE),
    method: 'POST',
    url: '/v1/chat/completions',
    body: {
      model: MODEL,
      messages: [{ role: 'user', content: 'the quick brown fox jumps over the lazy dog. '.repeat(120) }],
      max_tokens: 8,
    },
  });
  const lines = ids.map((_, i) => (i === OVERSIZE_LINE ? oversize : requestLine(i)));
  const created = await submitBatch(api, batchFile(lines));
  const batch = await waitForBatchEnd(api, created.id, 60000);
  assert.equal(batch.status, 'completed', JSON.stringify(batch));
  const results = await readResults(api, batch);
  assertEachCustomIdOnce(results, ids);
  assert.equal(results.errors.length, 1, JSON.stringify(results.errors));
  const [failed] = results.errors;
  assert.equal(failed.custom_id, customIdOf(OVERSIZE_LINE));
  assert.equal(errorCodeOf(failed), 'engine_out_of_memory');
  assert.match(
    (failed.error as { message: string }).message,
    /^The engine ran out of memory: KV cache: the sequence needs \d+ pages \(\d+ bytes\), only \d+ of 1024 are free$/,
  );
  assert.ok(
    results.outputs.every((entry) => (entry.response as { status_code: number }).status_code === 200),
  );

  // Interactively the same failure is a 500 with the engine's code; the same process still serves.
  const refused = await api.json('POST', '/v1/chat/completions', JSON.parse(oversize).body);
  assert.equal(refused.status, 500, JSON.stringify(refused.body));
  assert.equal(refused.body.error.code, 'engine_out_of_memory');
  assert.equal(worker.child.exitCode, null, 'the worker process exited');
  const chat = await api.json(
    'POST',
    '/v1/chat/completions',
    JSON.parse(chatLine('after', MODEL, 'Hello')).body,
  );
  assert.equal(chat.status, 200, JSON.stringify(chat.body));
  assert.equal(chat.body.object, 'chat.completion');
});
