// Batch expiry: when the completion window closes on a batch that is still running, waiting
// lines are removed and the batch ends as `expired`, each unfinished request an error line.
import * as assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RedisServer } from '../helpers/redis';
import {
  chatLine,
  client,
  freshPrefix,
  jsonLines,
  startTestCoordinator,
  testRedis,
  waitForBatch,
  type TestCoordinator,
  submitBatch,
} from './fleet-harness';

let redis: RedisServer;
let coordinator: TestCoordinator;

before(async () => {
  redis = await testRedis();
  // No worker: nothing can run, so the two-second window closes on every line.
  coordinator = await startTestCoordinator(redis.url, freshPrefix(), { HEADKV_BATCH_WINDOW_SECONDS: '2' });
});

after(async () => {
  await coordinator?.close();
  await redis?.stop();
});

test('a batch still waiting when its window closes ends expired, every line in the error file', async () => {
  const api = client(coordinator.baseUrl, 'tenant-expiry');
  const lines = ['a', 'b', 'c'].map((id) => chatLine(id, 'tiny-random-llama', 'hello')).join('\n');
  const created = await submitBatch(api, lines + '\n');
  assert.ok(
    (created.expires_at as number) - (created.created_at as number) <= 3,
    'the configured window sets expires_at',
  );

  const batch = await waitForBatch(api, created.id, 30000);
  assert.equal(batch.status, 'expired');
  assert.equal(typeof batch.expired_at, 'number');
  assert.equal(batch.output_file_id, null);
  assert.deepEqual(batch.request_counts, { total: 3, completed: 0, failed: 3 });
  const errors = jsonLines((await api.text(`/v1/files/${batch.error_file_id}/content`)).body);
  assert.deepEqual(errors.map((line) => line.custom_id).sort(), ['a', 'b', 'c']);
  for (const line of errors) {
    const error = (line.error ?? (line.response as { body: { error: unknown } })?.body?.error) as {
      code: string;
    };
    assert.equal(error.code, 'batch_expired', JSON.stringify(line));
  }
});
