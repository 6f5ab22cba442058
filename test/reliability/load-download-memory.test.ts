// load-download-memory.test.ts: GET /v1/files/ID/content streams a file from storage. A 64 MiB
// output file, written to local storage with its record in Redis, is downloaded over HTTP from a
// real coordinator running in a worker thread with a heap limit of its own. The thread measures
// what its isolate holds (after a full collection) at points of the download where the client has
// stopped reading: a coordinator that read the file whole holds all 64 MiB of it then, a streaming
// one a few chunks. (A heap limit alone does not catch that: a file read into a Buffer lives
// outside the V8 heap.) The test also checks the bytes, that a client gone mid-download leaves no
// open file behind, that a storage error before the headers is an OpenAI-style 500, and that
// another tenant's key gets a 404.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { LocalDirectoryStorage } from '@headkv/storage';
import { ApiKeyRegistry } from '../../apps/coordinator/src/auth/api-key-registry';
import { coordinatorConfigFromEnv } from '../../apps/coordinator/src/config/coordinator-config';
import { FileRecordsService } from '../../apps/coordinator/src/files/file-records.service';
import { MetadataRedis } from '../../apps/coordinator/src/redis/metadata-redis';
import { freshPrefix, testRedis } from '../fleet/fleet-harness';
import type {
  DownloadThreadInput,
  DownloadThreadMessage,
  DownloadThreadRequest,
} from './load-download-thread';

const MIB = 1024 * 1024;
const FILE_MIB = 64;
/** The coordinator's own heap limit: a file turned into a string would not fit beside the app. */
const HEAP_LIMIT_MIB = 96;
/** Most buffer memory the download may add in the thread: a quarter of the file. */
const HELD_LIMIT_BYTES = 16 * MIB;
/** Received bytes at which the client stops reading and the thread measures. */
const MEASURE_AT_MIB = [4, 24, 48];
const KEY = 'key-download';
const OTHER_KEY = 'key-other-tenant';
const LARGE_ID = 'file-downloadlarge';
const BROKEN_ID = 'file-downloadbroken';

let redis: Awaited<ReturnType<typeof testRedis>>;
let storageDir: string;
let thread: Worker;
let baseUrl: string;
let largeSha256: string;
const prefix = freshPrefix();
const pending: Array<(message: DownloadThreadMessage) => void> = [];

/** Chunk i of the large file: 1 MiB of the byte i % 251, so a reordered or lost chunk changes the hash. */
async function* largeFileChunks(hash: ReturnType<typeof createHash>): AsyncGenerator<Buffer> {
  for (let i = 0; i < FILE_MIB; i++) {
    const chunk = Buffer.alloc(MIB, i % 251);
    hash.update(chunk);
    yield chunk;
  }
}

function ask(request: DownloadThreadRequest): Promise<DownloadThreadMessage> {
  return new Promise((resolve) => {
    pending.push(resolve);
    thread.postMessage(request);
  });
}

async function measuredArrayBuffers(): Promise<number> {
  const message = await ask('measure');
  assert.equal(message.kind, 'measured');
  return message.kind === 'measured' ? message.arrayBuffers : NaN;
}

/** How many of this process's file descriptors (the thread's included) are open on `file`. */
async function openDescriptorsOn(file: string): Promise<number> {
  const descriptors = await readdir('/proc/self/fd');
  const targets = await Promise.all(
    descriptors.map((fd) => readlink(path.join('/proc/self/fd', fd)).catch(() => '')),
  );
  return targets.filter((target) => target === file).length;
}

function download(key: string, id: string, signal?: AbortSignal): Promise<Response> {
  return fetch(`${baseUrl}/v1/files/${id}/content`, { headers: { Authorization: `Bearer ${key}` }, signal });
}

before(async () => {
  redis = await testRedis();
  storageDir = await mkdtemp(path.join(tmpdir(), 'headkv-download-'));
  const config = coordinatorConfigFromEnv({ REDIS_URL: redis.url, HEADKV_QUEUE_PREFIX: prefix });
  const tenant = new ApiKeyRegistry([KEY]).authenticate(`Bearer ${KEY}`, '127.0.0.1');
  const metadata = new MetadataRedis(redis.url);
  try {
    const files = new FileRecordsService(metadata, new LocalDirectoryStorage(storageDir), config);
    const hash = createHash('sha256');
    const large = await files.saveStream(
      tenant,
      LARGE_ID,
      'large.jsonl',
      'batch_output',
      largeFileChunks(hash),
    );
    assert.equal(large.bytes, FILE_MIB * MIB);
    largeSha256 = hash.digest('hex');
    await files.save(tenant, BROKEN_ID, 'broken.jsonl', 'batch_output', Buffer.from('{}\n'));
  } finally {
    metadata.disconnect();
  }

  const input: DownloadThreadInput = { redisUrl: redis.url, prefix, storageDir, apiKeys: [KEY, OTHER_KEY] };
  thread = new Worker(path.join(__dirname, 'load-download-thread.js'), {
    workerData: input,
    resourceLimits: { maxOldGenerationSizeMb: HEAP_LIMIT_MIB },
  });
  const listening = new Promise<number>((resolve, reject) => {
    thread.on('message', (message: DownloadThreadMessage) => {
      if (message.kind === 'listening') resolve(message.port);
      else pending.shift()?.(message);
    });
    thread.once('error', reject);
    thread.once('exit', (code) =>
      reject(new Error(`coordinator thread exited with ${code} before listening`)),
    );
  });
  baseUrl = `http://127.0.0.1:${await listening}`;
});

after(async () => {
  if (thread) {
    await ask('stop');
    await thread.terminate();
  }
  await redis?.stop();
  if (storageDir) await rm(storageDir, { recursive: true, force: true });
});

test(`a ${FILE_MIB} MiB download holds less than ${HELD_LIMIT_BYTES / MIB} MiB in a ${HEAP_LIMIT_MIB} MiB-heap coordinator`, async (t) => {
  const idle = await measuredArrayBuffers();
  const response = await download(KEY, LARGE_ID);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'application/octet-stream');
  assert.equal(response.headers.get('content-length'), String(FILE_MIB * MIB));
  assert.equal(response.headers.get('content-disposition'), 'attachment; filename="large.jsonl"');
  assert.ok(response.body);

  const reader = response.body.getReader();
  const hash = createHash('sha256');
  let received = 0;
  const held: number[] = [];
  const stops = MEASURE_AT_MIB.map((mib) => mib * MIB);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    hash.update(value);
    received += value.length;
    // The client stops reading here; the coordinator waits on backpressure while it measures.
    if (stops.length > 0 && received >= stops[0]) {
      stops.shift();
      held.push((await measuredArrayBuffers()) - idle);
    }
  }
  assert.equal(received, FILE_MIB * MIB);
  assert.equal(hash.digest('hex'), largeSha256, 'the downloaded bytes differ from the stored file');
  assert.equal(held.length, MEASURE_AT_MIB.length);
  const most = Math.max(...held);
  t.diagnostic(
    `held beyond idle at ${MEASURE_AT_MIB.join(', ')} MiB: ${held.map((bytes) => (bytes / MIB).toFixed(2)).join(', ')} MiB`,
  );
  assert.ok(
    most < HELD_LIMIT_BYTES,
    `the coordinator held ${(most / MIB).toFixed(1)} MiB more than when idle during the download (at ${MEASURE_AT_MIB.join(', ')} MiB: ${held.map((bytes) => (bytes / MIB).toFixed(1)).join(', ')} MiB)`,
  );
});

test('a client gone mid-download, or a HEAD request, leaves no open file in the coordinator', async () => {
  const file = path.join(
    storageDir,
    new ApiKeyRegistry([KEY]).authenticate(`Bearer ${KEY}`, '127.0.0.1'),
    LARGE_ID,
  );
  const abort = new AbortController();
  const response = await download(KEY, LARGE_ID, abort.signal);
  assert.equal(response.status, 200);
  assert.ok(response.body);
  const reader = response.body.getReader();
  let received = 0;
  while (received < 4 * MIB) received += (await reader.read()).value?.length ?? Infinity;
  assert.equal(await openDescriptorsOn(file), 1, 'the download should be reading the file now');
  abort.abort();
  await reader.cancel().catch(() => undefined);
  const deadline = Date.now() + 10_000;
  while ((await openDescriptorsOn(file)) > 0) {
    assert.ok(Date.now() < deadline, 'the coordinator still has the file open 10 s after the client left');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // The coordinator still answers after the download cut short; HEAD gets the headers only.
  const head = await fetch(`${baseUrl}/v1/files/${LARGE_ID}/content`, {
    method: 'HEAD',
    headers: { Authorization: `Bearer ${KEY}` },
  });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-length'), String(FILE_MIB * MIB));
  assert.equal((await head.arrayBuffer()).byteLength, 0);
  assert.equal(await openDescriptorsOn(file), 0, 'HEAD left the file open');
});

test("a storage error before the headers is an OpenAI-style 500; another tenant's key gets a 404", async () => {
  // A directory where the file should be: it opens, and its first read fails (EISDIR).
  const tenant = new ApiKeyRegistry([KEY]).authenticate(`Bearer ${KEY}`, '127.0.0.1');
  const broken = path.join(storageDir, tenant, BROKEN_ID);
  await rm(broken);
  await mkdir(broken);
  const failed = await download(KEY, BROKEN_ID);
  assert.equal(failed.status, 500);
  assert.match(failed.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(failed.headers.get('content-disposition'), null);
  const body = (await failed.json()) as { error: { type: string; message: string } };
  assert.equal(body.error.type, 'server_error');
  assert.equal(await openDescriptorsOn(broken), 0, 'the failed read left the directory open');

  const other = await download(OTHER_KEY, LARGE_ID);
  assert.equal(other.status, 404);
  const missing = (await other.json()) as { error: { message: string; param: string } };
  assert.equal(missing.error.message, `No such File object: ${LARGE_ID}`);
  assert.equal(missing.error.param, 'file_id');
});
