import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { LocalDirectoryStorage } from '@headkv/storage';
import { coordinatorConfigFromEnv } from '../../apps/coordinator/src/config/coordinator-config';
import { startCoordinator } from '../../apps/coordinator/src/create-coordinator';
import { startLocalRedisServer } from '../../apps/coordinator/src/embedded/local-redis-server';

/** Redis for one test file: REDIS_URL when set (CI), else a throwaway redis-server from PATH. */
export async function testRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop: async () => undefined };
  return startLocalRedisServer();
}

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
