import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
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
} from './fleet-harness';

const MODEL = 'tiny-random-llama';
/** The worker's context: far shorter than the long document below. */
const MAX_CONTEXT = 512;
const MAX_TOKENS = 8;

interface ResultLine {
  custom_id: string;
  response: {
    status_code: number;
    body: {
      choices?: Array<{ message: { content: string } }>;
      usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
      error?: { code: string; message: string };
    };
  } | null;
  error: { code: string; message: string } | null;
}

function batchLine(customId: string, messages: Array<{ role: string; content: string }>): string {
  return JSON.stringify({
    custom_id: customId,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: MODEL, messages, max_tokens: MAX_TOKENS },
  });
}

const longDocument = Array.from(
  { length: 150 },
  (_, index) => `Fact ${index}: the value of item ${index} is ${index * 7}.`,
).join(' ');

// A worker whose context (HEADKV_MAX_CONTEXT) is 512 tokens gets a batch with a ~2000-token
// document: it must be answered through map-reduce; a system message that alone overflows the
// context cannot be split and must become an error line.
describe('map-reduce of over-long prompts', () => {
  let redis: Awaited<ReturnType<typeof testRedis>>;
  let coordinator: TestCoordinator;
  let worker: WorkerProcess;

  before(async () => {
    redis = await testRedis();
    const prefix = freshPrefix();
    coordinator = await startTestCoordinator(redis.url, prefix);
    worker = spawnWorker(redis.url, prefix, 'worker-small-context', {
      HEADKV_MAX_CONTEXT: String(MAX_CONTEXT),
      HEADKV_MAP_SUMMARY_TOKENS: '16',
    });
    await waitForWorkers(client(coordinator.baseUrl, 'tenant-one'), ['worker-small-context'], 60000).catch(
      (error) => {
        throw new Error(`${(error as Error).message}\n${worker.output()}`);
      },
    );
  });

  after(async () => {
    await worker?.stop();
    await coordinator?.close();
    await redis?.stop();
  });

  test('a long document completes via map-reduce; an unsplittable prompt is an error line', async () => {
    const api = client(coordinator.baseUrl, 'tenant-one');
    const lines = [
      batchLine('long-document', [
        { role: 'user', content: `${longDocument}\n\nWhat is the value of item 42?` },
      ]),
      batchLine('huge-system', [
        { role: 'system', content: longDocument },
        { role: 'user', content: 'What is the value of item 42?' },
      ]),
      batchLine('short', [{ role: 'user', content: 'Hello?' }]),
    ];
    const file = await api.upload(lines.join('\n'));
    assert.equal(file.status, 200);
    const created = await api.json('POST', '/v1/batches', {
      input_file_id: file.body.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    assert.equal(created.status, 200);
    const done = await waitForBatch(api, created.body.id, 50000);
    assert.equal(done.status, 'completed', worker.output());
    assert.deepEqual(done.request_counts, { total: 3, completed: 2, failed: 1 });

    const output = jsonLines(
      (await api.text(`/v1/files/${done.output_file_id}/content`)).body,
    ) as unknown as ResultLine[];
    const errors = jsonLines(
      (await api.text(`/v1/files/${done.error_file_id}/content`)).body,
    ) as unknown as ResultLine[];
    const long = output.find((line) => line.custom_id === 'long-document');
    assert.equal(long?.response?.status_code, 200, JSON.stringify(errors));
    const usage = long.response.body.usage;
    assert.ok(usage !== undefined);
    // No single generation could read more than MAX_CONTEXT tokens: more prompt tokens in all
    // means several generations (the maps and the reduce) ran, and usage adds them up.
    assert.ok(usage.prompt_tokens > MAX_CONTEXT, `prompt_tokens ${usage.prompt_tokens}`);
    assert.ok(usage.completion_tokens > 0 && usage.completion_tokens <= 16 * 8 + MAX_TOKENS);
    assert.equal(usage.total_tokens, usage.prompt_tokens + usage.completion_tokens);
    assert.match(worker.output(), /map-reduce over \d+ chunk\(s\)/);

    const short = output.find((line) => line.custom_id === 'short');
    assert.equal(short?.response?.status_code, 200);
    assert.ok((short.response.body.usage?.prompt_tokens ?? 0) < MAX_CONTEXT);

    const huge = errors.find((line) => line.custom_id === 'huge-system');
    assert.equal(huge?.response?.status_code, 400);
    assert.equal(huge.response.body.error?.code, 'context_length_exceeded');
    assert.match(huge.response.body.error?.message ?? '', /map-reduce cannot split it/);
  });
});
