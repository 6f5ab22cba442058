// security-logs-traces.test.ts: a batch (with a malformed line), a chat completion and a streamed
// one run through a coordinator and a worker (both in this process, so that one in-memory span
// exporter of the real OpenTelemetry SDK sees every span) with their JSON logs captured at every
// level; neither the logs nor any span (name, attributes, events, status) may contain the API
// key, the REDIS_URL password, a prompt or a completion. They carry sizes, token counts and ids.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { LocalDirectoryStorage } from '@headkv/storage';
import { JsonLogger, redactSecrets, startTracing, stopTracing } from '@headkv/telemetry';
import { coordinatorConfigFromEnv } from '../../apps/coordinator/src/config/coordinator-config';
import { startCoordinator } from '../../apps/coordinator/src/create-coordinator';
import { workerConfigFromEnv } from '../../apps/worker/src/config/worker-config';
import { startWorker } from '../../apps/worker/src/create-worker';
import {
  TINY_MODEL_DIR,
  chatLine,
  client,
  fastFleetEnv,
  freshPrefix,
  jsonLines,
  waitForBatch,
  waitForWorkers,
  submitBatch,
} from '../fleet/fleet-harness';
import { startSecuredRedis, type SecuredRedis } from './security-redis-server';

const API_KEY = 'sk-canary-key-5e1d0c7a9b';
const REDIS_PASSWORD = 'canary-redis-password-84f2';
const MODEL = path.basename(TINY_MODEL_DIR);
/** Prompts: each holds a marker that appears nowhere else. */
const PROMPTS = {
  chat: 'CANARY-CHAT-PROMPT-a71f: the launch code is 4417',
  stream: 'CANARY-STREAM-PROMPT-93be: my diagnosis is confidential',
  batch: (i: number) => `CANARY-BATCH-PROMPT-${i}-c20d: quarterly numbers`,
  malformed: 'CANARY-MALFORMED-LINE-6b88',
};

const logs: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    logs.push(chunk.toString());
    done();
  },
});
const exporter = new InMemorySpanExporter();
let secured: SecuredRedis;
let coordinator: INestApplication;
let worker: INestApplicationContext;
let storageDir: string;
let baseUrl: string;

before(async () => {
  startTracing('security-test', exporter, true);
  const prefix = freshPrefix();
  // A Redis with a password, so that a leak of REDIS_URL would show.
  secured = await startSecuredRedis([`user fleet on >${REDIS_PASSWORD} ~${prefix}:* &* +@all`]);
  const redisUrl = `redis://fleet:${REDIS_PASSWORD}@127.0.0.1:${secured.port}`;
  storageDir = await mkdtemp(path.join(os.tmpdir(), 'headkv-security-'));
  coordinator = await startCoordinator(
    coordinatorConfigFromEnv({ ...fastFleetEnv(redisUrl, prefix), PORT: '0', HEADKV_API_KEYS: API_KEY }),
    { storage: new LocalDirectoryStorage(storageDir), logger: new JsonLogger('coordinator', sink) },
  );
  baseUrl = `http://127.0.0.1:${(coordinator.getHttpServer().address() as AddressInfo).port}`;
  worker = await startWorker(
    workerConfigFromEnv({
      ...fastFleetEnv(redisUrl, prefix),
      HEADKV_WORKER_ID: 'audited',
      HEADKV_MODEL_DIR: TINY_MODEL_DIR,
      HEADKV_MAX_SEQUENCES: '2',
      HEADKV_THREADS: '1',
    }),
    { logger: new JsonLogger('worker', sink) },
  );
  await waitForWorkers(client(baseUrl, API_KEY), ['audited']);
});

after(async () => {
  await worker?.close();
  await coordinator?.close();
  await secured?.stop();
  await stopTracing();
  if (storageDir) await rm(storageDir, { recursive: true, force: true });
});

/** Every string a span carries: name, attribute keys and values, event names and attributes, status. */
function spanText(span: ReadableSpan): string {
  return JSON.stringify({
    name: span.name,
    attributes: span.attributes,
    events: span.events.map((event) => ({ name: event.name, attributes: event.attributes })),
    status: span.status,
    resource: span.resource.attributes,
  });
}

test('logs and spans hold no API key, Redis password, prompt or completion', async () => {
  const api = client(baseUrl, API_KEY);
  const secrets: Array<{ what: string; text: string }> = [
    { what: 'API key', text: API_KEY },
    { what: 'Redis password', text: REDIS_PASSWORD },
    { what: 'chat prompt', text: PROMPTS.chat },
    { what: 'stream prompt', text: PROMPTS.stream },
    { what: 'malformed batch line', text: PROMPTS.malformed },
  ];

  const chat = await api.json('POST', '/v1/chat/completions', {
    model: MODEL,
    messages: [{ role: 'user', content: PROMPTS.chat }],
    max_tokens: 16,
  });
  assert.equal(chat.status, 200, JSON.stringify(chat.body));
  secrets.push({ what: 'chat completion', text: chat.body.choices[0].message.content });

  const stream = await fetch(`${baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      model: MODEL,
      messages: [{ role: 'user', content: PROMPTS.stream }],
      max_tokens: 16,
      stream: true,
    }),
  });
  assert.equal(stream.status, 200);
  let streamed = '';
  for (const event of (await stream.text()).split('\n\n')) {
    const data = event.replace(/^data: /, '');
    if (data === '' || data === '[DONE]') continue;
    streamed += (JSON.parse(data).choices[0]?.delta?.content as string | undefined) ?? '';
  }
  secrets.push({ what: 'streamed completion', text: streamed });

  const lines = [0, 1, 2].map((i) =>
    chatLine(`line-${i}`, MODEL, PROMPTS.batch(i), {
      max_tokens: 16,
      kv_compression: { method: 'snapkv', kv_size: 16 },
    }),
  );
  lines.push(`{"custom_id": "broken", "body": ${PROMPTS.malformed}`);
  const batch = await waitForBatch(api, (await submitBatch(api, lines.join('\n') + '\n')).id, 120000);
  assert.equal(batch.status, 'completed');
  const output = jsonLines((await api.text(`/v1/files/${batch.output_file_id}/content`)).body);
  assert.equal(output.length, 3);
  for (const [i, line] of output.entries()) {
    secrets.push({ what: `batch prompt ${i}`, text: PROMPTS.batch(i) });
    const body = (line.response as { body: { choices: Array<{ message: { content: string } }> } }).body;
    secrets.push({ what: `batch completion ${line.custom_id}`, text: body.choices[0].message.content });
  }
  // The malformed line's error (which quotes it) is in the tenant's error file, not in the logs.
  const errors = (await api.text(`/v1/files/${batch.error_file_id}/content`)).body;
  assert.match(errors, /line 4: not valid JSON/);

  // Spans end asynchronously after the responses; wait for the batch finalizer's logs and spans.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const spans = exporter.getFinishedSpans();
  assert.ok(
    spans.some((span) => span.name === 'worker.process'),
    'no worker span was captured',
  );
  assert.ok(
    spans.some((span) => span.name === 'HTTP POST /v1/batches'),
    'no batch HTTP span was captured',
  );
  const logText = logs.join('');
  assert.ok(logText.includes('"service":"worker"') && logText.includes('"service":"coordinator"'), logText);
  assert.match(logText, /batch batch_\w+: 3 requests queued, 1 invalid lines/);

  // A completion of a few characters could match unrelated text by chance; the tiny model's
  // 16 tokens give far longer strings, and the check says which one it skipped otherwise.
  const checked = secrets.filter((secret) => secret.text.length >= 12);
  assert.ok(checked.length >= secrets.length - 2, `too many short completions: ${JSON.stringify(secrets)}`);
  for (const { what, text } of checked) {
    // As written, and as it reads inside a JSON string (logs and spanText are JSON).
    for (const form of [text, JSON.stringify(text).slice(1, -1)]) {
      assert.ok(!logText.includes(form), `the logs contain the ${what}: ${JSON.stringify(text)}`);
      for (const span of spans) {
        assert.ok(
          !spanText(span).includes(form),
          `span ${span.name} contains the ${what}: ${spanText(span)}`,
        );
      }
    }
  }
  // Markers alone (a prompt could be logged cut or escaped differently).
  assert.doesNotMatch(logText, /CANARY-/);
  for (const span of spans) assert.doesNotMatch(spanText(span), /CANARY-/);
});

test('the JSON logger masks bearer tokens and URL passwords that reach a message', () => {
  const lines: string[] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const logger = new JsonLogger('test', out);
  logger.error(`upstream said "Authorization: Bearer ${API_KEY}" for redis://fleet:${REDIS_PASSWORD}@h:1/0`, {
    url: `rediss://u:${REDIS_PASSWORD}@host`,
  });
  const record = JSON.parse(lines[0]) as { message: string; details: unknown[] };
  assert.equal(record.message, 'upstream said "Authorization: Bearer ***" for redis://fleet:***@h:1/0');
  assert.deepEqual(record.details, [{ url: 'rediss://u:***@host' }]);
  assert.equal(
    redactSecrets('redis://127.0.0.1:6379 and https://example.org/a:b@c'),
    'redis://127.0.0.1:6379 and https://example.org/a:b@c',
  );
});
