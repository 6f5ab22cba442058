// bad-input.test.ts: drives every row of bad-input-table.ts through HTTP against a real
// coordinator (real Redis, BullMQ) and one real worker on the tiny model, and checks the status,
// the OpenAI-style error body and its message (or, for batch input lines, the batch's errors or
// the line's entry in the error file).
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  freshPrefix,
  jsonLines,
  spawnWorker,
  startTestCoordinator,
  testRedis,
  waitForWorkers,
  client,
  type TestCoordinator,
  type WorkerProcess,
} from '../fleet/fleet-harness';
import {
  BAD_INPUTS,
  KEYS,
  LIMITS,
  type BadInputRow,
  type BatchRow,
  type HttpExpectation,
  type RequestRow,
  type UploadRow,
} from './bad-input-table';

let redis: Awaited<ReturnType<typeof testRedis>>;
let coordinator: TestCoordinator;
let worker: WorkerProcess;
const placeholders: Record<string, string> = {};

function authorization(key: RequestRow['key']): Record<string, string> {
  if (key === 'none') return {};
  if (key === 'wrong') return { Authorization: 'Bearer key-that-nobody-has' };
  if (key === 'basic-scheme')
    return { Authorization: `Basic ${Buffer.from(`u:${KEYS.alpha}`).toString('base64')}` };
  return { Authorization: `Bearer ${KEYS[key]}` };
}

function fill(text: string): string {
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => placeholders[name] ?? whole);
}

async function send(
  method: string,
  route: string,
  headers: Record<string, string>,
  body?: BodyInit,
): Promise<{ status: number; body: unknown; text: string }> {
  const response = await fetch(coordinator.baseUrl + fill(route), { method, headers, body });
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = null;
  }
  return { status: response.status, body: parsed, text };
}

function checkError(
  row: BadInputRow,
  got: { status: number; body: unknown; text: string },
  expect: HttpExpectation,
): void {
  const where = `${row.name}: got ${got.status} ${got.text.slice(0, 400)}`;
  assert.equal(got.status, expect.status, where);
  const error = (got.body as { error?: Record<string, unknown> } | null)?.error;
  assert.ok(error !== undefined, `${where}: not an OpenAI-style error body`);
  assert.deepEqual(Object.keys(error).sort(), ['code', 'message', 'param', 'type'], where);
  assert.equal(
    error.type,
    expect.status >= 500
      ? 'server_error'
      : expect.status === 401
        ? 'authentication_error'
        : 'invalid_request_error',
    where,
  );
  assert.match(String(error.message), expect.message, where);
  if (expect.code !== undefined) assert.equal(error.code, expect.code, where);
  if (expect.param !== undefined) assert.equal(error.param, expect.param, where);
}

async function runRequest(row: RequestRow): Promise<void> {
  const headers = authorization(row.key);
  let body: BodyInit | undefined;
  if (typeof row.body === 'string') {
    body = fill(row.body);
    headers['Content-Type'] = row.contentType ?? 'application/json';
  } else if (row.body !== undefined) {
    body = fill(JSON.stringify(row.body));
    headers['Content-Type'] = 'application/json';
  }
  checkError(row, await send(row.method, row.route, headers, body), row.expect);
}

async function upload(content: Buffer | null, filename: string, purpose: string | null) {
  const form = new FormData();
  if (purpose !== null) form.append('purpose', purpose);
  if (content !== null) form.append('file', new Blob([new Uint8Array(content)]), filename);
  return send('POST', '/v1/files', authorization('alpha'), form);
}

async function runUpload(row: UploadRow): Promise<void> {
  const got = await upload(row.content, row.filename, row.purpose);
  if ('filename' in row.expect) {
    assert.equal(got.status, 200, `${row.name}: ${got.text}`);
    assert.equal((got.body as { filename: string }).filename, row.expect.filename, row.name);
    return;
  }
  checkError(row, got, row.expect);
}

async function runBatch(row: BatchRow): Promise<void> {
  const alpha = client(coordinator.baseUrl, KEYS.alpha);
  const uploaded = await upload(row.content, 'input.jsonl', 'batch');
  assert.equal(uploaded.status, 200, `${row.name}: upload: ${uploaded.text}`);
  const fileId = (uploaded.body as { id: string }).id;
  const created = await alpha.json('POST', '/v1/batches', {
    input_file_id: fileId,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
  });
  assert.equal(created.status, 200, `${row.name}: create: ${JSON.stringify(created.body)}`);
  const batch = await waitBatch(alpha, created.body.id as string);
  if ('batchFailed' in row.expect) {
    assert.equal(batch.status, 'failed', `${row.name}: batch ${JSON.stringify(batch)}`);
    const errors = (batch.errors as { data: Array<{ code: string; message: string }> }).data;
    const match = errors.find(
      (e) => e.code === (row.expect as { batchFailed: { code: string } }).batchFailed.code,
    );
    assert.ok(match, `${row.name}: no ${row.expect.batchFailed.code} in ${JSON.stringify(errors)}`);
    assert.match(match.message, row.expect.batchFailed.message, row.name);
    return;
  }
  const expected = row.expect.errorLine;
  assert.equal(batch.status, 'completed', `${row.name}: batch ${JSON.stringify(batch)}`);
  const outputs = batch.output_file_id
    ? jsonLines((await alpha.text(`/v1/files/${batch.output_file_id}/content`)).body)
    : [];
  assert.ok(
    batch.error_file_id,
    `${row.name}: no error file; output lines: ${JSON.stringify(outputs).slice(0, 400)}`,
  );
  const errorLines = jsonLines((await alpha.text(`/v1/files/${batch.error_file_id}/content`)).body);
  const entry = errorLines.find((l) => l.custom_id === expected.customId);
  assert.ok(entry, `${row.name}: no error line for ${expected.customId} in ${JSON.stringify(errorLines)}`);
  const response = entry.response as {
    status_code: number;
    body: { error: { code: string; message: string } };
  } | null;
  const error = (entry.error as { code: string; message: string } | null) ?? response?.body.error;
  assert.ok(error, `${row.name}: error line without an error: ${JSON.stringify(entry)}`);
  assert.equal(error.code, expected.code, `${row.name}: ${JSON.stringify(entry)}`);
  assert.match(error.message, expected.message, `${row.name}: ${JSON.stringify(entry)}`);
  if (expected.statusCode !== undefined) assert.equal(response?.status_code, expected.statusCode, row.name);
}

async function waitBatch(api: ReturnType<typeof client>, id: string): Promise<Record<string, unknown>> {
  const deadline = Date.now() + 60000;
  for (;;) {
    const { body } = await api.json('GET', `/v1/batches/${id}`);
    if (['completed', 'failed', 'cancelled', 'expired'].includes(body.status)) return body;
    if (Date.now() > deadline) throw new Error(`batch ${id} still ${body.status} after 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

before(async () => {
  redis = await testRedis();
  const prefix = freshPrefix();
  const env = Object.fromEntries(Object.entries(LIMITS).map(([k, v]) => [k, String(v)]));
  coordinator = await startTestCoordinator(redis.url, prefix, {
    ...env,
    HEADKV_API_KEYS: `${KEYS.alpha},${KEYS.beta}`,
  });
  worker = spawnWorker(redis.url, prefix, 'bad-input-worker');
  await waitForWorkers(client(coordinator.baseUrl, KEYS.alpha), ['bad-input-worker'], 60000).catch(
    (error) => {
      throw new Error(`${(error as Error).message}\n${worker.output()}`);
    },
  );
  // Tenant alpha's file and finished batch (one invalid line: it completes without the worker).
  const uploaded = await upload(Buffer.from('not json\n'), 'alpha.jsonl', 'batch');
  placeholders.alphaFile = (uploaded.body as { id: string }).id;
  const alpha = client(coordinator.baseUrl, KEYS.alpha);
  const created = await alpha.json('POST', '/v1/batches', {
    input_file_id: placeholders.alphaFile,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
  });
  placeholders.alphaBatch = created.body.id as string;
  assert.equal((await waitBatch(alpha, placeholders.alphaBatch)).status, 'completed');
});

after(async () => {
  await worker?.stop();
  await coordinator?.close();
  await redis?.stop();
});

test(`bad-input table: ${BAD_INPUTS.length} bad inputs answered with the documented status and message`, async (t) => {
  assert.ok(BAD_INPUTS.length >= 40);
  for (const row of BAD_INPUTS) {
    await t.test(`${row.kind}: ${row.name}`, async () => {
      if (row.kind === 'request') await runRequest(row);
      else if (row.kind === 'upload') await runUpload(row);
      else await runBatch(row);
    });
  }
});
