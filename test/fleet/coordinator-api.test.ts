import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  chatLine,
  client,
  freshPrefix,
  jsonLines,
  startTestCoordinator,
  testRedis,
  waitForBatch,
  type TestCoordinator,
} from './fleet-harness';

// The coordinator side against real Redis and BullMQ, with no worker running: everything that
// must work before (or without) a worker picking up a request.
describe('coordinator API without workers', () => {
  let redis: Awaited<ReturnType<typeof testRedis>>;
  let coordinator: TestCoordinator;
  const keys = ['key-alice', 'key-bob'];

  before(async () => {
    redis = await testRedis();
    coordinator = await startTestCoordinator(redis.url, freshPrefix(), {
      HEADKV_API_KEYS: keys.join(','),
      HEADKV_MAX_FILE_BYTES: '20000',
      HEADKV_MAX_BODY_BYTES: '10000',
    });
  });
  after(async () => {
    await coordinator?.close();
    await redis?.stop();
  });

  test('API keys: missing and wrong keys get 401 with an OpenAI error body', async () => {
    const missing = await client(coordinator.baseUrl, null).json('GET', '/v1/files');
    assert.equal(missing.status, 401);
    assert.equal(missing.body.error.type, 'authentication_error');
    const wrong = await client(coordinator.baseUrl, 'nope').json('GET', '/v1/files');
    assert.equal(wrong.status, 401);
    assert.equal((await client(coordinator.baseUrl, keys[0]).json('GET', '/v1/files')).status, 200);
    assert.equal((await client(coordinator.baseUrl, null).json('GET', '/healthz')).status, 200);
    assert.equal((await client(coordinator.baseUrl, null).json('GET', '/readyz')).status, 200);
  });

  test('files: upload, get, content, list, delete; tenant isolation', async () => {
    const alice = client(coordinator.baseUrl, keys[0]);
    const bob = client(coordinator.baseUrl, keys[1]);
    const uploaded = await alice.upload('{"a":1}\n', 'a.jsonl');
    assert.equal(uploaded.status, 200);
    assert.equal(uploaded.body.object, 'file');
    assert.equal(uploaded.body.purpose, 'batch');
    assert.equal(uploaded.body.bytes, 8);
    const id = uploaded.body.id as string;
    assert.equal((await alice.json('GET', `/v1/files/${id}`)).body.filename, 'a.jsonl');
    assert.equal((await alice.text(`/v1/files/${id}/content`)).body, '{"a":1}\n');
    assert.ok(
      (await alice.json('GET', '/v1/files')).body.data.some((file: { id: string }) => file.id === id),
    );
    assert.equal((await bob.json('GET', `/v1/files/${id}`)).status, 404);
    assert.equal((await bob.text(`/v1/files/${id}/content`)).status, 404);
    assert.equal((await bob.json('DELETE', `/v1/files/${id}`)).status, 404);
    assert.deepEqual((await bob.json('GET', '/v1/files')).body.data, []);
    assert.deepEqual((await alice.json('DELETE', `/v1/files/${id}`)).body, {
      id,
      object: 'file',
      deleted: true,
    });
    assert.equal((await alice.json('GET', `/v1/files/${id}`)).status, 404);
  });

  test('files: wrong purpose is 400, oversized file is 413, oversized JSON body is 413', async () => {
    const alice = client(coordinator.baseUrl, keys[0]);
    const wrongPurpose = await alice.upload('x\n', 'a.jsonl', {}, 'fine-tune');
    assert.equal(wrongPurpose.status, 400);
    assert.equal(wrongPurpose.body.error.param, 'purpose');
    const big = await alice.upload('x'.repeat(30000));
    assert.equal(big.status, 413);
    assert.ok(big.body.error.message);
    const bigBody = await alice.json('POST', '/v1/batches', { input_file_id: 'x'.repeat(20000) });
    assert.equal(bigBody.status, 413);
  });

  test('idempotency key returns the same file for a repeated upload', async () => {
    const alice = client(coordinator.baseUrl, keys[0]);
    const first = await alice.upload('{"a":1}\n', 'a.jsonl', { 'Idempotency-Key': 'upload-1' });
    const second = await alice.upload('{"a":1}\n', 'a.jsonl', { 'Idempotency-Key': 'upload-1' });
    assert.equal(first.body.id, second.body.id);
    const other = await alice.upload('{"a":1}\n', 'a.jsonl', { 'Idempotency-Key': 'upload-2' });
    assert.notEqual(other.body.id, first.body.id);
  });

  test('batch create validation errors name the field', async () => {
    const alice = client(coordinator.baseUrl, keys[0]);
    const noFile = await alice.json('POST', '/v1/batches', {
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    assert.equal(noFile.status, 400);
    assert.equal(noFile.body.error.param, 'input_file_id');
    const file = await alice.upload(chatLine('a', 'm', 'x') + '\n');
    const badEndpoint = await alice.json('POST', '/v1/batches', {
      input_file_id: file.body.id,
      endpoint: '/v1/embeddings',
      completion_window: '24h',
    });
    assert.equal(badEndpoint.status, 400);
    assert.equal(badEndpoint.body.error.param, 'endpoint');
    const unknownFile = await alice.json('POST', '/v1/batches', {
      input_file_id: 'file-missing',
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    assert.equal(unknownFile.status, 404);
  });

  test('a batch of only invalid lines completes with one error line per input line', async () => {
    const alice = client(coordinator.baseUrl, keys[0]);
    const content = [
      '{not json',
      JSON.stringify({ custom_id: 'wrong-url', method: 'POST', url: '/v1/embeddings', body: {} }),
      JSON.stringify({
        custom_id: 'bad-body',
        method: 'POST',
        url: '/v1/chat/completions',
        body: { model: 'm', messages: [] },
      }),
    ].join('\n');
    const file = await alice.upload(content);
    const created = await alice.json('POST', '/v1/batches', {
      input_file_id: file.body.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
      metadata: { purpose: 'test' },
    });
    assert.equal(created.status, 200);
    assert.equal(created.body.object, 'batch');
    assert.equal(created.body.status, 'validating');
    const done = await waitForBatch(alice, created.body.id);
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.request_counts, { total: 3, completed: 0, failed: 3 });
    assert.equal(done.output_file_id, null);
    const errors = jsonLines((await alice.text(`/v1/files/${done.error_file_id}/content`)).body);
    assert.deepEqual(errors.map((line) => line.custom_id).sort(), [null, 'bad-body', 'wrong-url'].sort());
    assert.ok(
      errors.every(
        (line) => line.response === null && typeof (line.error as { message: string }).message === 'string',
      ),
    );
    assert.match(JSON.stringify(errors), /line 1: not valid JSON/);
    // The batch and its files are invisible to another tenant.
    const bob = client(coordinator.baseUrl, keys[1]);
    assert.equal((await bob.json('GET', `/v1/batches/${created.body.id}`)).status, 404);
    assert.equal((await bob.json('POST', `/v1/batches/${created.body.id}/cancel`)).status, 404);
    assert.equal((await bob.text(`/v1/files/${done.error_file_id}/content`)).status, 404);
    assert.deepEqual((await bob.json('GET', '/v1/batches')).body.data, []);
  });

  test('duplicate custom_id fails the batch with a validation error naming the line', async () => {
    const alice = client(coordinator.baseUrl, keys[0]);
    const file = await alice.upload([chatLine('same', 'm', 'a'), chatLine('same', 'm', 'b')].join('\n'));
    const created = await alice.json('POST', '/v1/batches', {
      input_file_id: file.body.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const done = await waitForBatch(alice, created.body.id);
    assert.equal(done.status, 'failed');
    const errors = done.errors as { data: Array<{ code: string; line: number }> };
    assert.equal(errors.data[0].code, 'duplicate_custom_id');
    assert.equal(errors.data[0].line, 2);
  });

  test('cancel with no worker: every queued line becomes a batch_cancelled error line', async () => {
    const alice = client(coordinator.baseUrl, keys[0]);
    const lines = Array.from({ length: 10 }, (_, index) => chatLine(`req-${index}`, 'm', `hello ${index}`));
    lines.push('garbage');
    const file = await alice.upload(lines.join('\n'));
    const created = await alice.json('POST', '/v1/batches', {
      input_file_id: file.body.id,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
    });
    const deadline = Date.now() + 10000;
    while ((await alice.json('GET', `/v1/batches/${created.body.id}`)).body.status === 'validating') {
      assert.ok(Date.now() < deadline, 'batch never left validating');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const cancelling = await alice.json('POST', `/v1/batches/${created.body.id}/cancel`);
    assert.equal(cancelling.status, 200);
    assert.ok(['cancelling', 'cancelled'].includes(cancelling.body.status));
    const done = await waitForBatch(alice, created.body.id);
    assert.equal(done.status, 'cancelled');
    assert.ok(done.cancelled_at);
    assert.deepEqual(done.request_counts, { total: 11, completed: 0, failed: 11 });
    const errors = jsonLines((await alice.text(`/v1/files/${done.error_file_id}/content`)).body);
    const ids = errors.map((line) => line.custom_id);
    assert.equal(ids.length, 11);
    assert.equal(new Set(ids).size, 11);
    assert.equal(
      errors.filter((line) => (line.error as { code: string }).code === 'batch_cancelled').length,
      10,
    );
    const again = await alice.json('POST', `/v1/batches/${created.body.id}/cancel`);
    assert.equal(again.status, 200);
    // Pagination: newest first, with after/limit.
    const page = await alice.json('GET', '/v1/batches?limit=1');
    assert.equal(page.body.data.length, 1);
    assert.equal(page.body.has_more, true);
    const next = await alice.json('GET', `/v1/batches?limit=1&after=${page.body.last_id}`);
    assert.notEqual(next.body.data[0].id, page.body.data[0].id);
  });
});
