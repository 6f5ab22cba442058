import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import OpenAI, { toFile } from 'openai';
import {
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
} from './fleet-harness';

const MODEL = 'tiny-random-llama';

interface OutputLine {
  custom_id: string | null;
  response: {
    status_code: number;
    body: { choices: Array<{ message: { content: string } }>; error?: { code: string } };
  } | null;
  error: { code: string; message: string } | null;
}

// End to end through HTTP: one coordinator, two worker processes on the bundled tiny model,
// real Redis and BullMQ. The official openai SDK is the client where it can be.
describe('fleet end to end', () => {
  let redis: Awaited<ReturnType<typeof testRedis>>;
  let coordinator: TestCoordinator;
  let prefix: string;
  const workers: WorkerProcess[] = [];
  let sdk: OpenAI;

  before(async () => {
    redis = await testRedis();
    prefix = freshPrefix();
    coordinator = await startTestCoordinator(redis.url, prefix);
    // A short drain deadline, so that the SIGTERM test sees running jobs handed back.
    // Small probe settings: the fallback test starts a profiling job that runs in the background.
    const env = {
      HEADKV_DRAIN_MS: '300',
      HEADKV_PROFILE_MAX_LENGTH: '512',
      HEADKV_PROFILE_LENGTHS: '2',
      HEADKV_PROFILE_DEPTHS: '2',
      HEADKV_PROFILE_COUNT_ALL: '1',
    };
    workers.push(
      spawnWorker(redis.url, prefix, 'worker-a', env),
      spawnWorker(redis.url, prefix, 'worker-b', env),
    );
    await waitForWorkers(client(coordinator.baseUrl, 'tenant-one'), ['worker-a', 'worker-b'], 60000).catch(
      (error) => {
        throw new Error(
          `${(error as Error).message}\n${workers.map((worker) => worker.output()).join('\n')}`,
        );
      },
    );
    sdk = new OpenAI({ apiKey: 'tenant-one', baseURL: `${coordinator.baseUrl}/v1`, maxRetries: 0 });
  });

  after(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    await coordinator?.close();
    await redis?.stop();
  });

  test('the fleet view lists both workers and the model', async () => {
    const { body } = await client(coordinator.baseUrl, 'tenant-one').json('GET', '/v1/workers');
    for (const worker of body.data) {
      assert.equal(worker.model.id, MODEL);
      assert.equal(worker.slots.total, 4);
      assert.equal(typeof worker.device.name, 'string');
      assert.equal(typeof worker.kvBytesHeld, 'number');
      assert.equal(typeof worker.kvBytesFull, 'number');
      assert.equal(typeof worker.tokensGenerated, 'number');
    }
    const models = await sdk.models.list();
    assert.deepEqual(
      models.data.map((model) => model.id),
      [MODEL],
    );
  });

  test('chat completion through the openai SDK, plain and streamed, with KV accounting', async () => {
    const messages = [{ role: 'user' as const, content: 'Tell me about the fleet.' }];
    const completion = await sdk.chat.completions.create({
      model: MODEL,
      messages,
      max_tokens: 12,
      // Extension field, passed through by the SDK.
      ...({ kv_compression: { method: 'snapkv', kv_size: 16 } } as object),
    });
    assert.equal(completion.object, 'chat.completion');
    assert.equal(completion.choices[0].message.role, 'assistant');
    const usage = completion.usage as OpenAI.CompletionUsage & {
      kv_compression: { method: string; kv_size: number; kv_bytes_full: number; kv_bytes_kept: number };
    };
    assert.ok(usage.prompt_tokens > 0);
    assert.equal(usage.completion_tokens, 12);
    assert.equal(usage.kv_compression.method, 'snapkv');
    assert.equal(usage.kv_compression.kv_size, 16);
    assert.ok(usage.kv_compression.kv_bytes_kept < usage.kv_compression.kv_bytes_full);

    const stream = await sdk.chat.completions.create({
      model: MODEL,
      messages,
      max_tokens: 12,
      stream: true,
      stream_options: { include_usage: true },
      ...({ kv_compression: { method: 'snapkv', kv_size: 16 } } as object),
    });
    let streamed = '';
    let finishReason: string | null = null;
    let streamUsage: OpenAI.CompletionUsage | null | undefined = null;
    for await (const chunk of stream) {
      streamed += chunk.choices[0]?.delta?.content ?? '';
      finishReason = chunk.choices[0]?.finish_reason ?? finishReason;
      if (chunk.usage) streamUsage = chunk.usage;
    }
    // Greedy decoding: the stream carries exactly the text of the plain request.
    assert.equal(streamed, completion.choices[0].message.content);
    assert.equal(finishReason, completion.choices[0].finish_reason);
    assert.equal(streamUsage?.completion_tokens, 12);
  });

  test('a HeadKV request without a profile runs as snapkv and says so (fallback mode)', async () => {
    const completion = await sdk.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'No profile yet' }],
      max_tokens: 3,
      ...({ kv_compression: { method: 'headkv-r2', kv_size: 16 } } as object),
    });
    const kv = (completion.usage as unknown as { kv_compression: { method: string; fallback_from?: string } })
      .kv_compression;
    assert.equal(kv.method, 'snapkv');
    assert.equal(kv.fallback_from, 'headkv-r2');
  });

  test('chat errors: unknown model is 404, bad body is 400', async () => {
    await assert.rejects(
      sdk.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'x' }] }),
      (error: unknown) => error instanceof OpenAI.NotFoundError,
    );
    await assert.rejects(
      sdk.chat.completions.create({ model: MODEL, messages: [] }),
      (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === 'messages',
    );
  });

  test('a 50-line batch with bad lines: every custom_id exactly once across output and error files', async () => {
    const lines: string[] = [];
    for (let index = 0; index < 46; index++)
      lines.push(chatLine(`ok-${index}`, MODEL, `Question number ${index}?`, { max_tokens: 6 }));
    lines.push('{"custom_id": "broken", "method": "POST"');
    lines.push(chatLine('unknown-model', 'no-such-model', 'x'));
    lines.push(chatLine('too-long', MODEL, 'x', { max_tokens: 8000 }));
    lines.push(chatLine('bad-temperature', MODEL, 'x', { temperature: 7 }));
    const file = await sdk.files.create({
      file: await toFile(Buffer.from(lines.join('\n')), 'batch.jsonl'),
      purpose: 'batch',
    });
    const batch = await sdk.batches.create({
      input_file_id: file.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const done = await waitForBatch(client(coordinator.baseUrl, 'tenant-one'), batch.id, 120000);
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.request_counts, { total: 50, completed: 46, failed: 4 });
    const retrieved = await sdk.batches.retrieve(batch.id);
    assert.equal(retrieved.output_file_id, done.output_file_id);
    const output = jsonLines(
      await (await sdk.files.content(retrieved.output_file_id as string)).text(),
    ) as unknown as OutputLine[];
    const errors = jsonLines(
      await (await sdk.files.content(retrieved.error_file_id as string)).text(),
    ) as unknown as OutputLine[];
    const ids = [...output, ...errors].map((line) => line.custom_id);
    assert.equal(ids.length, 50);
    assert.equal(new Set(ids).size, 50);
    assert.ok(
      output.every(
        (line) =>
          line.response?.status_code === 200 && line.response.body.choices[0].message.content.length >= 0,
      ),
    );
    const byId = new Map(errors.map((line) => [line.custom_id, line]));
    assert.equal(byId.get(null)?.error?.code, 'invalid_json');
    assert.equal(byId.get('unknown-model')?.error?.code, 'model_not_found');
    assert.equal(byId.get('too-long')?.response?.status_code, 400);
    assert.equal(byId.get('too-long')?.response?.body.error?.code, 'context_length_exceeded');
    assert.equal(byId.get('bad-temperature')?.error?.code, 'invalid_value');
    assert.ok(
      ((await sdk.batches.retrieve(batch.id)) as unknown as { completion_tokens_generated: number })
        .completion_tokens_generated >= 46,
    );
  });

  test('another tenant sees none of it', async () => {
    const other = new OpenAI({ apiKey: 'tenant-two', baseURL: `${coordinator.baseUrl}/v1`, maxRetries: 0 });
    const batches = await other.batches.list();
    assert.equal(batches.data.length, 0);
    const files = await other.files.list();
    assert.equal(files.data.length, 0);
  });

  test('cancel stops a running batch; finished and cancelled lines are each reported once', async () => {
    const api = client(coordinator.baseUrl, 'tenant-one');
    const lines = Array.from({ length: 40 }, (_, index) =>
      chatLine(`c-${index}`, MODEL, `Long story ${index}`, { max_tokens: 200 }),
    );
    const file = await api.upload(lines.join('\n'));
    const created = await api.json('POST', '/v1/batches', {
      input_file_id: file.body.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const deadline = Date.now() + 20000;
    while ((await api.json('GET', `/v1/batches/${created.body.id}`)).body.status !== 'in_progress') {
      assert.ok(Date.now() < deadline, 'batch never started');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const cancelled = await api.json('POST', `/v1/batches/${created.body.id}/cancel`);
    assert.equal(cancelled.status, 200);
    const done = await waitForBatch(api, created.body.id, 60000);
    assert.equal(done.status, 'cancelled');
    const counts = done.request_counts as { total: number; completed: number; failed: number };
    assert.equal(counts.total, 40);
    assert.equal(counts.completed + counts.failed, 40);
    assert.ok(counts.failed > 0, 'some lines were cancelled');
    const outputs = done.output_file_id
      ? jsonLines((await api.text(`/v1/files/${done.output_file_id}/content`)).body)
      : [];
    const errors = jsonLines((await api.text(`/v1/files/${done.error_file_id}/content`)).body);
    const ids = [...outputs, ...errors].map((line) => line.custom_id);
    assert.equal(new Set(ids).size, 40);
    assert.equal(ids.length, 40);
  });

  test('a worker killed with SIGKILL mid-generation loses nothing: its jobs finish on the other', async () => {
    const api = client(coordinator.baseUrl, 'tenant-one');
    const lines = Array.from({ length: 16 }, (_, index) =>
      chatLine(`k-${index}`, MODEL, `Kill test ${index}`, { max_tokens: 120 }),
    );
    const file = await api.upload(lines.join('\n'));
    const created = await api.json('POST', '/v1/batches', {
      input_file_id: file.body.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    // Wait until the victim is generating, then kill it without any chance to clean up.
    const victim = workers[0];
    const deadline = Date.now() + 30000;
    for (;;) {
      const { body } = await api.json('GET', '/v1/workers');
      const state = (body.data as Array<{ workerId: string; runningJobs: number }>).find(
        (worker) => worker.workerId === victim.workerId,
      );
      if (state && state.runningJobs > 0) break;
      assert.ok(Date.now() < deadline, 'the victim never took a job');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    victim.child.kill('SIGKILL');
    const done = await waitForBatch(api, created.body.id, 120000);
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.request_counts, { total: 16, completed: 16, failed: 0 });
    const outputs = jsonLines((await api.text(`/v1/files/${done.output_file_id}/content`)).body);
    assert.deepEqual(
      outputs.map((line) => line.custom_id).sort(),
      lines.map((_, index) => `k-${index}`).sort(),
    );
    // The dead worker drops out of the fleet view once it stops heartbeating.
    await waitForWorkers(api, ['worker-b'], 10000);
  });

  test('SIGTERM drains a worker: what it cannot finish in time goes back to the queue, nothing is lost', async () => {
    const api = client(coordinator.baseUrl, 'tenant-one');
    const replacement = spawnWorker(redis.url, prefix, 'worker-c', { HEADKV_DRAIN_MS: '300' });
    workers.push(replacement);
    await waitForWorkers(api, ['worker-b', 'worker-c'], 60000);
    const lines = Array.from({ length: 12 }, (_, index) =>
      chatLine(`t-${index}`, MODEL, `Drain test ${index}`, { max_tokens: 400 }),
    );
    const file = await api.upload(lines.join('\n'));
    const created = await api.json('POST', '/v1/batches', {
      input_file_id: file.body.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const draining = workers[1];
    const deadline = Date.now() + 30000;
    for (;;) {
      const { body } = await api.json('GET', '/v1/workers');
      const state = (body.data as Array<{ workerId: string; runningJobs: number }>).find(
        (worker) => worker.workerId === draining.workerId,
      );
      if (state && state.runningJobs > 0) break;
      assert.ok(Date.now() < deadline, 'the draining worker never took a job');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(await draining.stop(), 0, draining.output());
    assert.match(draining.output(), /drain deadline reached: handing [1-9]\d* job\(s\) back to the queue/);
    // It left the fleet view at once, by saying so rather than by missing heartbeats.
    await waitForWorkers(api, ['worker-c'], 1000);
    const done = await waitForBatch(api, created.body.id, 120000);
    assert.deepEqual(done.request_counts, { total: 12, completed: 12, failed: 0 });
  });
});
