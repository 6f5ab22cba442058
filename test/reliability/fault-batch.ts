// fault-batch.ts: what the fault tests share: a batch of numbered requests on the tiny model, a
// coordinator run as its own process (so that a test can SIGKILL it), and the exactly-once check
// of a finished batch's output and error files.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { client, fastFleetEnv, jsonLines, type BatchRecord } from '../fleet/fleet-harness';

export { submitBatch, type BatchRecord } from '../fleet/fleet-harness';
import { REPO_ROOT } from '../helpers/repo-paths';
import { freePort } from '../helpers/free-port';

export const MODEL = 'tiny-random-llama';
export type Api = ReturnType<typeof client>;

const ENDED = ['completed', 'failed', 'cancelled', 'expired'];

/** `custom_id` of request i of a fault batch. */
export function customIdOf(index: number): string {
  return `req-${index}`;
}

/** One batch line: a prompt of a few hundred tokens, so that each request takes a while to run. */
export function requestLine(index: number, body: Record<string, unknown> = {}): string {
  const document =
    `Record ${index}: ` + 'the quick brown fox jumps over the lazy dog. '.repeat(20 + (index % 5) * 10);
  return JSON.stringify({
    custom_id: customIdOf(index),
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: MODEL, messages: [{ role: 'user', content: document }], max_tokens: 8, ...body },
  });
}

export function batchFile(lines: string[]): string {
  return lines.join('\n') + '\n';
}

export async function getBatch(api: Api, batchId: string): Promise<BatchRecord> {
  const { status, body } = await api.json('GET', `/v1/batches/${batchId}`);
  assert.equal(status, 200, JSON.stringify(body));
  return body as BatchRecord;
}

/** Polls until `done(batch)`; fails naming the last status after `timeoutMs`. */
export async function waitForBatchState(
  api: Api,
  batchId: string,
  done: (batch: BatchRecord) => boolean,
  timeoutMs: number,
  what: string,
): Promise<BatchRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = await getBatch(api, batchId);
    if (done(batch)) return batch;
    if (Date.now() > deadline)
      throw new Error(`batch ${batchId} never ${what} in ${timeoutMs} ms: ${JSON.stringify(batch)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export function waitForBatchEnd(api: Api, batchId: string, timeoutMs: number): Promise<BatchRecord> {
  return waitForBatchState(api, batchId, (batch) => ENDED.includes(batch.status), timeoutMs, 'ended');
}

export interface BatchResults {
  outputs: Array<Record<string, unknown>>;
  errors: Array<Record<string, unknown>>;
}

export async function readResults(api: Api, batch: BatchRecord): Promise<BatchResults> {
  const read = async (id: unknown) =>
    typeof id === 'string' ? jsonLines((await api.text(`/v1/files/${id}/content`)).body) : [];
  return { outputs: await read(batch.output_file_id), errors: await read(batch.error_file_id) };
}

/**
 * Every custom_id of `expected` exactly once across the output and error files: none duplicated,
 * none missing, none unknown.
 */
export function assertEachCustomIdOnce(results: BatchResults, expected: string[]): void {
  const seen = new Map<string, number>();
  for (const entry of [...results.outputs, ...results.errors]) {
    const id = String(entry.custom_id);
    seen.set(id, (seen.get(id) ?? 0) + 1);
  }
  const duplicated = [...seen].filter(([, count]) => count > 1).map(([id]) => id);
  const missing = expected.filter((id) => !seen.has(id));
  const unknown = [...seen.keys()].filter((id) => !expected.includes(id));
  assert.deepEqual({ duplicated, missing, unknown }, { duplicated: [], missing: [], unknown: [] });
  assert.equal(results.outputs.length + results.errors.length, expected.length);
}

/** The error code of an error-file line (a top-level error or a rejected response's error). */
export function errorCodeOf(entry: Record<string, unknown>): string | undefined {
  const error = entry.error as { code?: string } | null;
  if (error) return error.code;
  const response = entry.response as { body?: { error?: { code?: string } } } | null;
  return response?.body?.error?.code;
}

const COORDINATOR_MAIN = path.join(REPO_ROOT, 'dist', 'apps', 'coordinator', 'src', 'main.js');

/** A coordinator process (apps/coordinator's main) that keeps its port and file folder across restarts. */
export interface CoordinatorProcess {
  baseUrl: string;
  output(): string;
  /** SIGKILL, as a crash; resolves once the process is gone. */
  kill(): Promise<void>;
  /** Starts a fresh process on the same port, Redis and files; resolves when /healthz answers. */
  restart(): Promise<void>;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
}

export async function startCoordinatorProcess(
  redisUrl: string,
  prefix: string,
  storageDir: string,
  env: Record<string, string> = {},
): Promise<CoordinatorProcess> {
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  let output = '';
  const start = async () => {
    const started = spawn(process.execPath, [COORDINATOR_MAIN], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        ...fastFleetEnv(redisUrl, prefix),
        PORT: String(port),
        HEADKV_STORAGE_DIR: storageDir,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20000));
    started.stdout?.on('data', collect);
    started.stderr?.on('data', collect);
    child = started;
    const deadline = Date.now() + 30000;
    while (started.exitCode === null) {
      try {
        if ((await fetch(`${baseUrl}/healthz`)).ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`coordinator on port ${port} did not start: ${output.slice(-2000)}`);
  };
  const halt = async (signal: NodeJS.Signals) => {
    const running = child;
    child = null;
    if (running === null || running.exitCode !== null || running.signalCode !== null) return;
    running.kill(signal);
    await once(running, 'exit');
  };
  await start();
  return {
    baseUrl,
    output: () => output,
    kill: () => halt('SIGKILL'),
    restart: start,
    stop: () => halt('SIGTERM'),
  };
}
