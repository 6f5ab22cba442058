// A large batch through the real fleet: one coordinator process (apps/coordinator main), 2-4
// worker processes (apps/worker main) on the tiny model on CPU, Redis from test/helpers/redis.ts.
// Records throughput, per-request latency (from each completed job's timing, read off the
// requests queue's event stream) and samples the memory of the coordinator and of Redis while
// the batch runs, to show that neither grows with the number of finished requests.
//
//   node dist/tools/bench/load-10k.js [--requests 10000] [--workers 2] [--max-tokens 2] [--sample-ms 2000]
//                                     [--coordinator-heap-mib N]
//
// --coordinator-heap-mib caps the coordinator's V8 heap (--max-old-space-size): a coordinator that
// kept per-request state would run out of heap and the run would fail.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import IORedis from 'ioredis';
import { QueueEvents } from 'bullmq';
import { REQUESTS_QUEUE, redisOptionsFromUrl, type RequestJobResult } from '@headkv/queue';
import {
  TINY_MODEL_DIR,
  WORKER_MAIN,
  chatLine,
  client,
  fastFleetEnv,
  freshPrefix,
  jsonLines,
} from '../../test/fleet/fleet-harness';
import { startRedis } from '../../test/helpers/redis';
import { REPO_ROOT } from '../../test/helpers/repo-paths';
import { freePort } from '../../test/helpers/free-port';
import { percentile, positiveIntegerOption } from './bench-options';

const COORDINATOR_MAIN = path.join(REPO_ROOT, 'dist', 'apps', 'coordinator', 'src', 'main.js');
const API_KEY = 'load-test-key';

/** Resident set size of a process, from /proc (Linux). */
/** A process's VmRSS (resident now) or VmHWM (the most it was ever resident) from /proc. */
function residentBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
  if (!match) throw new Error(`/proc/${pid}/status has no ${field} line`);
  return Number(match[1]) * 1024;
}

function spawnService(main: string, env: Record<string, string>, nodeOptions: string[] = []): ChildProcess {
  // Logs go to /dev/null: the benchmark's numbers are its only output.
  return spawn(process.execPath, [...nodeOptions, main], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function stopService(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

async function waitForHttp(baseUrl: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`coordinator exited with code ${child.exitCode}`);
    try {
      if ((await fetch(`${baseUrl}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`coordinator at ${baseUrl} did not answer /healthz`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

interface MemorySample {
  seconds: number;
  completed: number;
  coordinatorRss: number;
  redisUsedMemory: number;
  redisKeys: number;
}

const mib = (bytes: number) => Number((bytes / 1024 / 1024).toFixed(1));

async function main(): Promise<void> {
  const requests = positiveIntegerOption('requests', 10000);
  const workerCount = positiveIntegerOption('workers', 2);
  const maxTokens = positiveIntegerOption('max-tokens', 2);
  const sampleMs = positiveIntegerOption('sample-ms', 2000);
  const heapMib = process.argv.includes('--coordinator-heap-mib')
    ? positiveIntegerOption('coordinator-heap-mib', 0)
    : null;
  if (workerCount > 4) throw new Error('--workers must be between 1 and 4');

  const redis = await startRedis();
  const prefix = freshPrefix();
  const storageDir = await mkdtemp(path.join(os.tmpdir(), 'headkv-load-'));
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const fleetEnv = fastFleetEnv(redis.url, prefix);
  // Production lock and stall timings: the fast test timings make a loaded machine re-run jobs.
  delete fleetEnv.HEADKV_LOCK_MS;
  delete fleetEnv.HEADKV_STALLED_CHECK_MS;
  const coordinator = spawnService(
    COORDINATOR_MAIN,
    { ...fleetEnv, PORT: String(port), HEADKV_API_KEYS: API_KEY, HEADKV_STORAGE_DIR: storageDir },
    heapMib === null ? [] : [`--max-old-space-size=${heapMib}`],
  );
  const workers = Array.from({ length: workerCount }, (_, i) =>
    spawnService(WORKER_MAIN, {
      ...fleetEnv,
      HEADKV_WORKER_ID: `load-worker-${i}`,
      HEADKV_MODEL_DIR: TINY_MODEL_DIR,
      HEADKV_MAX_SEQUENCES: '8',
      HEADKV_THREADS: '1',
    }),
  );
  const metrics = new IORedis(redisOptionsFromUrl(redis.url));
  const events = new QueueEvents(REQUESTS_QUEUE, { connection: redisOptionsFromUrl(redis.url), prefix });
  try {
    await waitForHttp(baseUrl, coordinator, 60000);
    const api = client(baseUrl, API_KEY);
    const deadline = Date.now() + 120000;
    for (;;) {
      const { body } = await api.json('GET', '/v1/workers');
      if ((body.data as unknown[]).length === workerCount) break;
      if (Date.now() > deadline) throw new Error(`only ${body.data.length} of ${workerCount} workers joined`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await events.waitUntilReady();

    const runMs: number[] = [];
    const totalMs: number[] = [];
    events.on('completed', ({ returnvalue }) => {
      const result = (
        typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue
      ) as RequestJobResult;
      runMs.push(result.timing.runMs);
      totalMs.push(result.timing.queuedMs + result.timing.runMs);
    });

    const model = path.basename(TINY_MODEL_DIR);
    const lines = Array.from({ length: requests }, (_, i) =>
      chatLine(`req-${i}`, model, `Load request number ${i}: say something.`, { max_tokens: maxTokens }),
    );
    const file = await api.upload(lines.join('\n') + '\n');
    if (file.status !== 200) throw new Error(`upload answered ${file.status}: ${JSON.stringify(file.body)}`);

    const samples: MemorySample[] = [];
    const sample = async (started: number, completed: number) => {
      const info = await metrics.info('memory');
      const used = /^used_memory:(\d+)/m.exec(info);
      samples.push({
        seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
        completed,
        coordinatorRss: residentBytes(coordinator.pid ?? 0, 'VmRSS'),
        redisUsedMemory: Number(used?.[1] ?? NaN),
        redisKeys: await metrics.dbsize(),
      });
    };
    const started = performance.now();
    await sample(started, 0);
    const created = await api.json('POST', '/v1/batches', {
      input_file_id: file.body.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    if (created.status !== 200)
      throw new Error(`batch create answered ${created.status}: ${JSON.stringify(created.body)}`);
    const batchId = created.body.id as string;
    let batch: Record<string, unknown>;
    for (;;) {
      batch = (await api.json('GET', `/v1/batches/${batchId}`)).body;
      const counts = batch.request_counts as { completed: number };
      await sample(started, counts.completed);
      if (['completed', 'failed', 'cancelled', 'expired'].includes(batch.status as string)) break;
      process.stderr.write(`${samples[samples.length - 1].seconds} s: ${counts.completed}/${requests}\n`);
      await new Promise((resolve) => setTimeout(resolve, sampleMs));
    }
    const seconds = (performance.now() - started) / 1000;
    await sample(started, requests);
    // Read before the output file is downloaded through the coordinator: the batch's own high water.
    const coordinatorHighWater = residentBytes(coordinator.pid ?? 0, 'VmHWM');
    const counts = batch.request_counts as { total: number; completed: number; failed: number };
    if (batch.status !== 'completed')
      throw new Error(`batch ended ${batch.status}: ${JSON.stringify(counts)}`);

    const output = jsonLines((await api.text(`/v1/files/${batch.output_file_id}/content`)).body);
    const seen = new Map<string, number>();
    for (const line of output)
      seen.set(line.custom_id as string, (seen.get(line.custom_id as string) ?? 0) + 1);
    const missing = lines.length - seen.size;
    const duplicated = [...seen.values()].filter((count) => count > 1).length;

    // What the batch leaves behind in Redis once it is done: the largest keys.
    const leftover: Array<{ key: string; bytes: number }> = [];
    for (const key of await metrics.keys('*')) {
      leftover.push({
        key: key.replace(prefix, '{prefix}'),
        bytes: (await metrics.memory('USAGE', key)) ?? 0,
      });
    }
    leftover.sort((a, b) => b.bytes - a.bytes);

    runMs.sort((a, b) => a - b);
    totalMs.sort((a, b) => a - b);
    const peak = (pick: (s: MemorySample) => number) => Math.max(...samples.map(pick));
    const report = {
      machine: `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ${mib(os.totalmem())} MiB, node ${process.version}, load average ${os
        .loadavg()
        .map((load) => load.toFixed(1))
        .join(' ')}`,
      requests,
      workers: workerCount,
      worker_max_sequences: 8,
      coordinator_heap_cap_mib: heapMib,
      max_tokens: maxTokens,
      status: batch.status,
      request_counts: counts,
      output_lines: output.length,
      custom_ids_missing: missing,
      custom_ids_duplicated: duplicated,
      batch_seconds: Number(seconds.toFixed(1)),
      requests_per_s: Number((requests / seconds).toFixed(1)),
      latency_samples: runMs.length,
      worker_run_ms: { p50: percentile(runMs, 0.5), p99: percentile(runMs, 0.99) },
      queued_plus_run_ms: { p50: percentile(totalMs, 0.5), p99: percentile(totalMs, 0.99) },
      coordinator_rss_mib: {
        start: mib(samples[0].coordinatorRss),
        peak: mib(peak((s) => s.coordinatorRss)),
        end: mib(samples[samples.length - 1].coordinatorRss),
        high_water: mib(coordinatorHighWater),
      },
      redis_used_memory_mib: {
        start: mib(samples[0].redisUsedMemory),
        peak: mib(peak((s) => s.redisUsedMemory)),
        end: mib(samples[samples.length - 1].redisUsedMemory),
      },
      redis_keys: {
        start: samples[0].redisKeys,
        peak: peak((s) => s.redisKeys),
        end: samples[samples.length - 1].redisKeys,
      },
      redis_largest_keys_after: leftover.slice(0, 8),
      samples: samples.map((s) => ({
        s: s.seconds,
        completed: s.completed,
        coordinator_rss_mib: mib(s.coordinatorRss),
        redis_mib: mib(s.redisUsedMemory),
        redis_keys: s.redisKeys,
      })),
    };
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    if (missing !== 0 || duplicated !== 0 || counts.completed !== requests) process.exitCode = 1;
  } finally {
    await events.close();
    metrics.disconnect();
    await Promise.all(workers.map(stopService));
    await stopService(coordinator);
    await redis.stop();
    await rm(storageDir, { recursive: true, force: true });
  }
}

main().catch((error: Error) => {
  process.stderr.write(`load-10k: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
