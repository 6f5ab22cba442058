import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import type { INestApplicationContext } from '@nestjs/common';
import { JsonLogger, startTracing, stopTracing, tracer } from '@headkv/telemetry';
import { workerConfigFromEnv } from '../../apps/worker/src/config/worker-config';
import { startWorker } from '../../apps/worker/src/create-worker';
import {
  TINY_MODEL_DIR,
  client,
  fastFleetEnv,
  freshPrefix,
  startTestCoordinator,
  testRedis,
  waitForWorkers,
  type TestCoordinator,
} from './fleet-harness';

// Coordinator and worker in this process, so that one in-memory exporter sees every span: the
// HTTP request's span must be the ancestor of the worker's and the engine's spans.
describe('traces, metrics and logs', () => {
  const exporter = new InMemorySpanExporter();
  let redis: Awaited<ReturnType<typeof testRedis>>;
  let coordinator: TestCoordinator;
  let worker: INestApplicationContext;

  before(async () => {
    startTracing('fleet-test', exporter, true);
    redis = await testRedis();
    const prefix = freshPrefix();
    coordinator = await startTestCoordinator(redis.url, prefix);
    worker = await startWorker(
      workerConfigFromEnv({
        ...fastFleetEnv(redis.url, prefix),
        HEADKV_WORKER_ID: 'traced',
        HEADKV_MODEL_DIR: TINY_MODEL_DIR,
        HEADKV_MAX_SEQUENCES: '2',
        HEADKV_THREADS: '1',
      }),
      { logger: false },
    );
    await waitForWorkers(client(coordinator.baseUrl, 'k'), ['traced']);
  });

  after(async () => {
    await worker?.close();
    await coordinator?.close();
    await redis?.stop();
    await stopTracing();
  });

  test('the request span is the ancestor of the worker and engine spans', async () => {
    const response = await client(coordinator.baseUrl, 'k').json('POST', '/v1/chat/completions', {
      model: 'tiny-random-llama',
      messages: [{ role: 'user', content: 'trace me' }],
      max_tokens: 5,
      kv_compression: { method: 'snapkv', kv_size: 16 },
    });
    assert.equal(response.status, 200);
    const deadline = Date.now() + 5000;
    let spans = exporter.getFinishedSpans();
    while (!spans.some((span) => span.name === 'HTTP POST /v1/chat/completions') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      spans = exporter.getFinishedSpans();
    }
    const http = spans.find((span) => span.name === 'HTTP POST /v1/chat/completions');
    assert.ok(http, `no HTTP span among ${spans.map((span) => span.name).join(', ')}`);
    const traceId = http.spanContext().traceId;
    const inTrace = spans.filter((span) => span.spanContext().traceId === traceId);
    const process = inTrace.find((span) => span.name === 'worker.process');
    const prefill = inTrace.find((span) => span.name === 'engine.prefill');
    const decode = inTrace.find((span) => span.name === 'engine.decode');
    assert.ok(process && prefill && decode, `trace holds ${inTrace.map((span) => span.name).join(', ')}`);
    assert.equal(process.parentSpanId, http.spanContext().spanId);
    assert.equal(prefill.parentSpanId, process.spanContext().spanId);
    assert.equal(decode.parentSpanId, process.spanContext().spanId);
    assert.ok((prefill.attributes['headkv.prompt_tokens'] as number) > 0);
    assert.ok(
      (prefill.attributes['headkv.kv_bytes_kept'] as number) <
        (prefill.attributes['headkv.kv_bytes_full'] as number),
    );
    assert.equal(decode.attributes['headkv.completion_tokens'], 5);
  });

  test('/metrics exposes queue depth, fleet slots, tokens and latency', async () => {
    const text = (await client(coordinator.baseUrl, null).text('/metrics')).body;
    assert.match(text, /^headkv_queue_jobs\{queue="headkv-requests",state="completed"\} [1-9]/m);
    assert.match(text, /^headkv_workers 1$/m);
    assert.match(text, /^headkv_worker_slots\{state="free"\} \d+$/m);
    assert.match(text, /^headkv_completion_tokens_total [1-9]/m);
    assert.match(text, /^headkv_kv_bytes_saved_total [1-9]/m);
    assert.match(text, /^headkv_job_seconds_count\{phase="running",source="interactive"\} [1-9]/m);
  });

  test('JSON logs carry the active trace id', () => {
    let written = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        written += chunk.toString();
        done();
      },
    });
    const logger = new JsonLogger('test', sink);
    let traceId = '';
    tracer('test').startActiveSpan('logged', (span) => {
      traceId = span.spanContext().traceId;
      logger.log('inside', 'ctx');
      span.end();
    });
    logger.warn('outside');
    const [inside, outside] = written
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.equal(inside.trace_id, traceId);
    assert.equal(inside.context, 'ctx');
    assert.equal(inside.level, 'log');
    assert.equal(outside.trace_id, undefined);
  });
});
