import * as assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { LocalDirectoryStorage } from '@headkv/storage';
import { coordinatorConfigFromEnv } from '../../apps/coordinator/src/config/coordinator-config';
import { startCoordinator } from '../../apps/coordinator/src/create-coordinator';
import { startRedis } from '../helpers/redis';
import { REPO_ROOT } from '../helpers/repo-paths';

/** Redis for one test file: REDIS_URL when set (CI), else a throwaway redis-server from PATH. */
export const testRedis = startRedis;

/** A queue prefix no other test uses, so tests sharing one Redis never see each other's jobs. */
export function freshPrefix(): string {
  return `t${randomBytes(5).toString('hex')}`;
}

export interface TestCoordinator {
  app: INestApplication;
  baseUrl: string;
  close(): Promise<void>;
}

/** Fleet timing settings short enough for tests (heartbeats, locks, retries). */
export function fastFleetEnv(redisUrl: string, prefix: string): Record<string, string> {
  return {
    REDIS_URL: redisUrl,
    HEADKV_QUEUE_PREFIX: prefix,
    HEADKV_HEARTBEAT_MS: '500',
    HEADKV_LOCK_MS: '3000',
    HEADKV_STALLED_CHECK_MS: '1000',
    HEADKV_RETRY_BACKOFF_MS: '100',
  };
}

export async function startTestCoordinator(
  redisUrl: string,
  prefix: string,
  env: Record<string, string> = {},
): Promise<TestCoordinator> {
  const directory = await mkdtemp(path.join(tmpdir(), 'headkv-files-'));
  const config = coordinatorConfigFromEnv({ ...fastFleetEnv(redisUrl, prefix), PORT: '0', ...env });
  const app = await startCoordinator(config, {
    storage: new LocalDirectoryStorage(directory),
    logger: false,
  });
  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    app,
    baseUrl: `http://127.0.0.1:${port}`,
    async close() {
      await app.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** A small fetch client for one API key. */
export function client(baseUrl: string, apiKey: string | null) {
  const headers = (extra: Record<string, string> = {}) => ({
    ...(apiKey === null ? {} : { Authorization: `Bearer ${apiKey}` }),
    ...extra,
  });
  return {
    async json(method: string, route: string, body?: unknown, extra: Record<string, string> = {}) {
      const response = await fetch(baseUrl + route, {
        method,
        headers: headers(body === undefined ? extra : { 'Content-Type': 'application/json', ...extra }),
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: text.length > 0 ? JSON.parse(text) : null };
    },
    async upload(
      content: string,
      filename = 'input.jsonl',
      extra: Record<string, string> = {},
      purpose = 'batch',
    ) {
      const form = new FormData();
      form.append('purpose', purpose);
      form.append('file', new Blob([content]), filename);
      const response = await fetch(baseUrl + '/v1/files', {
        method: 'POST',
        headers: headers(extra),
        body: form,
      });
      return { status: response.status, body: JSON.parse(await response.text()) };
    },
    async text(route: string) {
      const response = await fetch(baseUrl + route, { headers: headers() });
      return { status: response.status, body: await response.text() };
    },
  };
}

/** A batch as the API returns it. */
export type BatchRecord = Record<string, unknown> & { id: string; status: string };

/** Uploads `content` as a batch input file and creates a 24 h chat-completions batch on it;
 * returns the batch as created (status validating). */
export async function submitBatch(api: ReturnType<typeof client>, content: string): Promise<BatchRecord> {
  const uploaded = await api.upload(content);
  assert.equal(uploaded.status, 200, JSON.stringify(uploaded.body));
  const created = await api.json('POST', '/v1/batches', {
    input_file_id: uploaded.body.id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
  });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  return created.body as BatchRecord;
}

/** Polls a batch until it reaches a terminal status. */
export async function waitForBatch(
  api: ReturnType<typeof client>,
  batchId: string,
  timeoutMs = 60000,
): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await api.json('GET', `/v1/batches/${batchId}`);
    if (['completed', 'failed', 'cancelled', 'expired'].includes(body.status)) return body;
    if (Date.now() > deadline) throw new Error(`batch ${batchId} still ${body.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Parses a JSONL file body. */
export function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line));
}

export function chatLine(
  customId: string,
  model: string,
  content: string,
  extra: Record<string, unknown> = {},
): string {
  return JSON.stringify({
    custom_id: customId,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model, messages: [{ role: 'user', content }], max_tokens: 4, ...extra },
  });
}

/** A worker process (apps/worker) for end-to-end tests: real engine, real queue. */
export interface WorkerProcess {
  child: ChildProcess;
  workerId: string;
  output(): string;
  /** SIGTERM and wait for the exit (graceful drain). */
  stop(): Promise<number | null>;
}

export const WORKER_MAIN = path.join(REPO_ROOT, 'dist', 'apps', 'worker', 'src', 'main.js');
export const TINY_MODEL_DIR = path.join(REPO_ROOT, 'models', 'tiny-random-llama');

export function spawnWorker(
  redisUrl: string,
  prefix: string,
  workerId: string,
  env: Record<string, string> = {},
): WorkerProcess {
  const child = spawn(process.execPath, [WORKER_MAIN], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      ...fastFleetEnv(redisUrl, prefix),
      HEADKV_WORKER_ID: workerId,
      HEADKV_MODEL_DIR: TINY_MODEL_DIR,
      HEADKV_MAX_SEQUENCES: '4',
      HEADKV_THREADS: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20000));
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  return {
    child,
    workerId,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}

/** Waits until GET /v1/workers lists exactly `ids` (joined and, for removed ones, gone). */
export async function waitForWorkers(
  api: ReturnType<typeof client>,
  ids: string[],
  timeoutMs = 30000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await api.json('GET', '/v1/workers');
    const live = (body.data as Array<{ workerId: string }>).map((worker) => worker.workerId).sort();
    if (JSON.stringify(live) === JSON.stringify([...ids].sort())) return;
    if (Date.now() > deadline)
      throw new Error(`workers ${JSON.stringify(live)} never became ${JSON.stringify(ids)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
