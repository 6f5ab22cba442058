// Queue and API overhead of the fleet with the engine replaced by an instant fake
// (tools/bench/queue-overhead-engine.ts): batch jobs/s through one coordinator and two workers,
// and the latency a chat completion gains on the way through API, queue and worker.
//
//   node dist/tools/bench/queue-overhead.js [--batch-lines 2000] [--chat-requests 300]
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  chatLine,
  client,
  fastFleetEnv,
  freshPrefix,
  startTestCoordinator,
  waitForBatch,
  waitForWorkers,
} from '../../test/fleet/fleet-harness';
import { startRedis } from '../../test/helpers/redis';
import { REPO_ROOT } from '../../test/helpers/repo-paths';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { redisOptionsFromUrl } from '@headkv/queue';
import { InstantEngine } from './queue-overhead-engine';
import { percentile, positiveIntegerOption } from './bench-options';

const MODEL_ID = 'instant';
const WORKER_ENTRY = path.join(REPO_ROOT, 'dist', 'tools', 'bench', 'queue-overhead-worker.js');
const WARMUP_REQUESTS = 20;

function spawnInstantWorker(redisUrl: string, prefix: string, workerId: string): ChildProcess {
  const child = spawn(process.execPath, [WORKER_ENTRY], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      ...fastFleetEnv(redisUrl, prefix),
      HEADKV_WORKER_ID: workerId,
      HEADKV_MODEL_ID: MODEL_ID,
      HEADKV_MAX_SEQUENCES: '4',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return child;
}

/** The fake engine's own time per request, in the benchmark's process: the floor of the numbers. */
async function instantEngineMsPerRequest(requests: number): Promise<number> {
  const engine = new InstantEngine(4);
  const started = performance.now();
  for (let i = 0; i < requests; i++) {
    await engine.generate({ messages: [{ role: 'user', content: `request ${i}` }], maxTokens: 1 });
  }
  return (performance.now() - started) / requests;
}

/**
 * Latencies of bare BullMQ round trips (add, an in-process worker that returns at once, the
 * completion event) on the same Redis: the share of the chat latency that is the queue itself.
 */
async function bareQueueLatenciesMs(redisUrl: string, requests: number): Promise<number[]> {
  const connection = redisOptionsFromUrl(redisUrl);
  const name = 'bench-bare-queue';
  const prefix = freshPrefix();
  const queue = new Queue(name, { connection, prefix });
  const events = new QueueEvents(name, { connection, prefix });
  const worker = new Worker(name, async () => ({ text: 'ok' }), { connection, prefix, concurrency: 4 });
  try {
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady(), worker.waitUntilReady()]);
    const latencies: number[] = [];
    for (let i = 0; i < WARMUP_REQUESTS + requests; i++) {
      const started = performance.now();
      const job = await queue.add('request', { index: i });
      await job.waitUntilFinished(events);
      if (i >= WARMUP_REQUESTS) latencies.push(performance.now() - started);
    }
    return latencies.sort((a, b) => a - b);
  } finally {
    await worker.close();
    await events.close();
    await queue.close();
  }
}

async function main(): Promise<void> {
  const batchLines = positiveIntegerOption('batch-lines', 2000);
  const chatRequests = positiveIntegerOption('chat-requests', 300);
  const redis = await startRedis();
  const prefix = freshPrefix();
  const coordinator = await startTestCoordinator(redis.url, prefix);
  const workers = [
    spawnInstantWorker(redis.url, prefix, 'bench-worker-a'),
    spawnInstantWorker(redis.url, prefix, 'bench-worker-b'),
  ];
  try {
    const api = client(coordinator.baseUrl, 'bench');
    await waitForWorkers(api, ['bench-worker-a', 'bench-worker-b'], 60000);

    const chat = async (content: string): Promise<number> => {
      const started = performance.now();
      const response = await api.json('POST', '/v1/chat/completions', {
        model: MODEL_ID,
        messages: [{ role: 'user', content }],
        max_tokens: 1,
      });
      if (response.status !== 200) {
        throw new Error(`chat completion answered ${response.status}: ${JSON.stringify(response.body)}`);
      }
      return performance.now() - started;
    };
    for (let i = 0; i < WARMUP_REQUESTS; i++) await chat(`warm-up ${i}`);
    const latencies: number[] = [];
    for (let i = 0; i < chatRequests; i++) latencies.push(await chat(`request ${i}`));
    latencies.sort((a, b) => a - b);

    const lines = Array.from({ length: batchLines }, (_, i) =>
      chatLine(`line-${i}`, MODEL_ID, `line ${i}`, { max_tokens: 1 }),
    );
    const file = await api.upload(lines.join('\n') + '\n');
    if (file.status !== 200)
      throw new Error(`file upload answered ${file.status}: ${JSON.stringify(file.body)}`);
    const batchStarted = performance.now();
    const created = await api.json('POST', '/v1/batches', {
      input_file_id: file.body.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    if (created.status !== 200)
      throw new Error(`batch create answered ${created.status}: ${JSON.stringify(created.body)}`);
    const done = await waitForBatch(api, created.body.id as string, 600000);
    const batchSeconds = (performance.now() - batchStarted) / 1000;
    const counts = done.request_counts as { total: number; completed: number; failed: number };
    if (done.status !== 'completed' || counts.completed !== batchLines) {
      throw new Error(`batch ended ${done.status} with ${JSON.stringify(counts)}`);
    }

    const engineMs = await instantEngineMsPerRequest(100000);
    const bare = await bareQueueLatenciesMs(redis.url, chatRequests);
    const report = {
      machine: `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), node ${process.version}`,
      workers: 2,
      worker_max_sequences: 4,
      chat_requests: chatRequests,
      chat_latency_ms: {
        p50: Number(percentile(latencies, 0.5).toFixed(2)),
        p99: Number(percentile(latencies, 0.99).toFixed(2)),
        mean: Number((latencies.reduce((sum, ms) => sum + ms, 0) / latencies.length).toFixed(2)),
      },
      batch_lines: batchLines,
      batch_seconds: Number(batchSeconds.toFixed(2)),
      batch_jobs_per_s: Number((batchLines / batchSeconds).toFixed(1)),
      bare_bullmq_round_trip_ms: {
        p50: Number(percentile(bare, 0.5).toFixed(2)),
        p99: Number(percentile(bare, 0.99).toFixed(2)),
      },
      instant_engine_ms_per_request: Number(engineMs.toFixed(5)),
    };
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  } finally {
    for (const worker of workers) {
      worker.kill('SIGTERM');
      if (worker.exitCode === null && worker.signalCode === null) await once(worker, 'exit');
    }
    await coordinator.close();
    await redis.stop();
  }
}

main().catch((error: Error) => {
  process.stderr.write(`queue-overhead: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
