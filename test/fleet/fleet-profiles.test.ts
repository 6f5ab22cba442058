import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { PROFILES_QUEUE, redisOptionsFromUrl } from '@headkv/queue';
import {
  client,
  freshPrefix,
  spawnWorker,
  startTestCoordinator,
  testRedis,
  waitForWorkers,
  type TestCoordinator,
  type WorkerProcess,
} from './fleet-harness';

const MODEL = 'tiny-random-llama';
// Small probe settings: the tiny model answers nothing, so every trial is counted.
const PROFILE_ENV = {
  HEADKV_PROFILE_MISSING: 'wait',
  HEADKV_PROFILE_MAX_LENGTH: '512',
  HEADKV_PROFILE_LENGTHS: '2',
  HEADKV_PROFILE_DEPTHS: '2',
  HEADKV_PROFILE_COUNT_ALL: '1',
};

// Head profiles shared through Redis: HeadKV requests on two workers that both miss the profile
// make exactly one profiling job for the fleet, and every request then runs with the profile.
describe('fleet head profiles', () => {
  let redis: Awaited<ReturnType<typeof testRedis>>;
  let coordinator: TestCoordinator;
  let prefix: string;
  const workers: WorkerProcess[] = [];

  before(async () => {
    redis = await testRedis();
    prefix = freshPrefix();
    coordinator = await startTestCoordinator(redis.url, prefix);
    workers.push(
      spawnWorker(redis.url, prefix, 'profiler-a', PROFILE_ENV),
      spawnWorker(redis.url, prefix, 'profiler-b', PROFILE_ENV),
    );
    await waitForWorkers(client(coordinator.baseUrl, 'k'), ['profiler-a', 'profiler-b'], 60000);
  });

  after(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    await coordinator?.close();
    await redis?.stop();
  });

  test('two workers missing the profile make one profiling job; all requests use the profile', async () => {
    const api = client(coordinator.baseUrl, 'k');
    const responses = await Promise.all(
      Array.from({ length: 8 }, (_, index) =>
        api.json('POST', '/v1/chat/completions', {
          model: MODEL,
          messages: [{ role: 'user', content: `Profile me ${index}` }],
          max_tokens: 4,
          kv_compression: { method: 'headkv-r2', kv_size: 16 },
        }),
      ),
    );
    for (const response of responses) {
      assert.equal(response.status, 200, JSON.stringify(response.body));
      assert.equal(response.body.usage.kv_compression.method, 'headkv-r2');
      assert.equal(response.body.usage.kv_compression.fallback_from, undefined);
    }
    const queue = new Queue(PROFILES_QUEUE, { connection: redisOptionsFromUrl(redis.url), prefix });
    try {
      const counts = await queue.getJobCounts('completed', 'failed', 'active', 'waiting', 'delayed');
      assert.deepEqual(counts, { completed: 1, failed: 0, active: 0, waiting: 0, delayed: 0, paused: 0 });
    } finally {
      await queue.close();
    }
    // Eight requests over two workers of four slots each: both workers missed the profile.
    for (const worker of workers) assert.match(worker.output(), /waiting for profile headkv-r2\/kv-head/);
  });

  test('/v1/profiles lists, returns, removes and imports profiles', async () => {
    const api = client(coordinator.baseUrl, 'k');
    const list = await api.json('GET', '/v1/profiles');
    assert.equal(list.body.data.length, 1);
    const summary = list.body.data[0];
    assert.equal(summary.method, 'headkv-r2');
    assert.equal(summary.granularity, 'kv-head');
    assert.equal(summary.model.n_layers, 4);
    const route = `/v1/profiles/${summary.id}`;
    const profile = await api.json('GET', route);
    assert.equal(profile.body.scores.length, 4);
    assert.equal(profile.body.scores[0].length, 8);

    const again = await api.json('POST', '/v1/profiles', { model: MODEL, method: 'headkv-r2' });
    assert.equal(again.status, 202);
    assert.equal(again.body.status, 'exists');

    assert.equal((await api.json('DELETE', route)).body.deleted, true);
    assert.equal((await api.json('GET', route)).status, 404);
    const reimported = await api.json('PUT', route, profile.body);
    assert.equal(reimported.status, 200);
    assert.deepEqual((await api.json('GET', route)).body, profile.body);

    // Reference format ("layer-head": [trial scores]) takes the model shape from a live worker.
    const reference: Record<string, number[]> = {};
    for (let layer = 0; layer < 4; layer++)
      for (let head = 0; head < 8; head++) reference[`${layer}-${head}`] = [layer + head / 10];
    const fingerprint = summary.model.fingerprint as string;
    const imported = await api.json('PUT', `/v1/profiles/${fingerprint}/headkv-r/query-head`, reference);
    assert.equal(imported.status, 200, JSON.stringify(imported.body));
    assert.match(imported.body.imported_from, /^reference:/);
    const wrongShape = await api.json('PUT', `/v1/profiles/${fingerprint}/headkv-r/kv-head`, { '0-0': [1] });
    assert.equal(wrongShape.status, 422);
    assert.equal(wrongShape.body.error.code, 'invalid_profile');
    const badMethod = await api.json('GET', `/v1/profiles/${fingerprint}/snapkv/kv-head`);
    assert.equal(badMethod.status, 400);
    assert.equal((await api.json('GET', '/v1/profiles')).body.data.length, 2);
  });
});
