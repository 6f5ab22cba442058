// load-finalize-memory.test.ts: batch finalization streams the output and error files. A batch of
// 8,000 completed lines with 8 KiB results (a 64 MiB output file) is finalized by the real
// BatchFinalizer in a worker thread whose heap is limited to 48 MiB: a finalizer that gathered
// the results or the file in memory runs out of heap there. The files are then checked line by
// line (input order, each custom_id in exactly one file, failures and lost lines as error lines),
// the plan key is gone with the batch's end, and a rerun of the finalize job changes nothing.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import IORedis from 'ioredis';
import { Queue } from 'bullmq';
import type { BatchObject } from '@headkv/api';
import {
  BATCHES_QUEUE,
  REQUESTS_QUEUE,
  batchLineJobId,
  batchParentJobId,
  metadataKeys,
  redisOptionsFromUrl,
  type BatchJobData,
  type RequestJobResult,
} from '@headkv/queue';
import type { BatchPlan, StoredBatch } from '../../apps/coordinator/src/batches/batch-plan';
import { freshPrefix, jsonLines, testRedis } from '../fleet/fleet-harness';
import type { FinalizeThreadInput } from './load-finalize-thread';

const LINES = 8000;
const RESULT_CONTENT_BYTES = 8 * 1024;
/** Far below the 64 MiB of results: only a finalizer that streams them fits. */
const HEAP_LIMIT_MIB = 48;
const TENANT = 'tenant-load';
/** Lines whose request failed (in the parent's failures hash) and lines with no trace at all. */
const FAILED_EVERY = 1000;
const LOST_EVERY = 1500;

let redis: Awaited<ReturnType<typeof testRedis>>;
let storageDir: string;
const prefix = freshPrefix();

before(async () => {
  redis = await testRedis();
  storageDir = await mkdtemp(path.join(tmpdir(), 'headkv-finalize-'));
});

after(async () => {
  await redis?.stop();
  if (storageDir) await rm(storageDir, { recursive: true, force: true });
});

function result(line: number): RequestJobResult {
  return {
    statusCode: 200,
    body: {
      id: `chatcmpl-${line}`,
      object: 'chat.completion',
      created: 0,
      model: 'tiny-random-llama',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: `${line} `.padEnd(RESULT_CONTENT_BYTES, 'x'),
            refusal: null,
          },
          finish_reason: 'length',
          logprobs: null,
        },
      ],
      usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 },
      system_fingerprint: null,
    },
    timing: { queuedMs: 1, runMs: 1 },
  };
}

/**
 * The state a batch's flow leaves when its last child finishes: the record `in_progress`, the
 * plan, the finalize job, and the results and failures hashes the children wrote to it.
 */
async function batchReadyToFinalize(connection: IORedis, batchId: string): Promise<void> {
  const plan: BatchPlan = { queued: [], invalid: [] };
  for (let line = 1; line <= LINES; line++)
    plan.queued.push({ line, customId: `req-${line}`, requestId: `batch_req_${line}` });
  plan.invalid.push({
    ok: false,
    line: LINES + 1,
    customId: 'bad',
    code: 'invalid_json',
    message: 'bad line',
  });
  const batch: BatchObject = {
    id: batchId,
    object: 'batch',
    endpoint: '/v1/chat/completions',
    errors: null,
    input_file_id: 'file-input',
    completion_window: '24h',
    status: 'in_progress',
    output_file_id: null,
    error_file_id: null,
    created_at: 0,
    in_progress_at: 0,
    expires_at: null,
    finalizing_at: null,
    completed_at: null,
    failed_at: null,
    expired_at: null,
    cancelling_at: null,
    cancelled_at: null,
    request_counts: { total: LINES + 1, completed: 0, failed: 1 },
    metadata: null,
    completion_tokens_generated: 0,
  };
  await connection.set(
    metadataKeys.batch(prefix, batchId),
    JSON.stringify({ tenant: TENANT, batch } satisfies StoredBatch),
  );
  await connection.set(metadataKeys.batchPlan(prefix, batchId), JSON.stringify(plan));
  const batches = new Queue<BatchJobData>(BATCHES_QUEUE, {
    connection: redisOptionsFromUrl(redis.url),
    prefix,
  });
  try {
    await batches.add(
      'finalize',
      { tenant: TENANT, batchId, trace: {} },
      { jobId: batchParentJobId(batchId) },
    );
  } finally {
    await batches.close();
  }
  const parent = `${prefix}:${BATCHES_QUEUE}:${batchParentJobId(batchId)}`;
  for (let start = 1; start <= LINES; start += 500) {
    const pipeline = connection.pipeline();
    for (let line = start; line < start + 500 && line <= LINES; line++) {
      const child = `${prefix}:${REQUESTS_QUEUE}:${batchLineJobId(batchId, line)}`;
      if (line % LOST_EVERY === 0) continue;
      if (line % FAILED_EVERY === 0) pipeline.hset(`${parent}:failed`, child, 'worker exploded');
      else pipeline.hset(`${parent}:processed`, child, JSON.stringify(result(line)));
    }
    await pipeline.exec();
  }
}

/** Runs the finalizer in a worker thread with a heap limit; rejects if the thread fails or runs out of heap. */
function finalizeWithHeapLimit(batchId: string): Promise<void> {
  const input: FinalizeThreadInput = { redisUrl: redis.url, prefix, storageDir, batchId };
  const thread = new Worker(path.join(__dirname, 'load-finalize-thread.js'), {
    workerData: input,
    resourceLimits: { maxOldGenerationSizeMb: HEAP_LIMIT_MIB },
  });
  return new Promise((resolve, reject) => {
    let finalized = false;
    thread.on('message', () => (finalized = true));
    thread.on('error', reject);
    thread.on('exit', (code) =>
      finalized && code === 0 ? resolve() : reject(new Error(`finalize thread exited with ${code}`)),
    );
  });
}

test(`finalizing ${LINES} lines of ${RESULT_CONTENT_BYTES / 1024} KiB results fits a ${HEAP_LIMIT_MIB} MiB heap, in order, exactly once`, async () => {
  const connection = new IORedis(redis.url);
  try {
    const batchId = 'batch_finalizememory';
    await batchReadyToFinalize(connection, batchId);
    await finalizeWithHeapLimit(batchId);

    const stored = JSON.parse(
      (await connection.get(metadataKeys.batch(prefix, batchId))) ?? 'null',
    ) as StoredBatch;
    const batch = stored.batch;
    const lost = Math.floor(LINES / LOST_EVERY);
    assert.equal(batch.status, 'completed');
    assert.equal(
      await connection.exists(metadataKeys.batchPlan(prefix, batchId)),
      0,
      'the plan outlived the batch',
    );

    const expectedOutputs: number[] = [];
    const expectedErrors: string[] = ['bad'];
    for (let line = 1; line <= LINES; line++) {
      if (line % LOST_EVERY === 0 || line % FAILED_EVERY === 0) expectedErrors.push(`req-${line}`);
      else expectedOutputs.push(line);
    }
    assert.deepEqual(batch.request_counts, {
      total: LINES + 1,
      completed: expectedOutputs.length,
      failed: expectedErrors.length,
    });

    const outputText = await readFile(path.join(storageDir, TENANT, batch.output_file_id ?? ''), 'utf8');
    const outputs = jsonLines(outputText);
    assert.deepEqual(
      outputs.map((line) => line.custom_id),
      expectedOutputs.map((line) => `req-${line}`),
      'output lines are not the completed lines in input order',
    );
    const sample = outputs[1234] as { id: string; response: { body: RequestJobResult['body'] } };
    const sampleLine = expectedOutputs[1234];
    assert.equal(sample.id, `batch_req_${sampleLine}`);
    assert.deepEqual(sample.response.body, result(sampleLine).body);

    const errors = jsonLines(
      await readFile(path.join(storageDir, TENANT, batch.error_file_id ?? ''), 'utf8'),
    );
    assert.deepEqual(
      errors.map((line) => line.custom_id),
      expectedErrors,
      'error lines are not the invalid, failed and lost lines in input order',
    );
    const codes = errors.map((line) => (line.error as { code: string }).code);
    assert.deepEqual([...new Set(codes)].sort(), ['invalid_json', 'request_failed', 'request_lost']);
    assert.equal(codes.filter((code) => code === 'request_lost').length, lost);

    // A rerun (the job stalled after the batch ended) finds the batch ended and leaves it alone.
    const before = await connection.get(metadataKeys.batch(prefix, batchId));
    await finalizeWithHeapLimit(batchId);
    assert.equal(await connection.get(metadataKeys.batch(prefix, batchId)), before);
    assert.equal(await connection.exists(metadataKeys.batchPlan(prefix, batchId)), 0);
  } finally {
    connection.disconnect();
  }
});
