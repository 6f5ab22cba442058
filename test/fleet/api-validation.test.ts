import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  ApiError,
  parseBatchLine,
  parseBatchLineBytes,
  splitJsonLineBuffers,
  splitJsonLines,
  validateChatCompletionRequest,
} from '@headkv/api';

const endpoint = '/v1/chat/completions';

test('a valid chat request is normalized', () => {
  const request = validateChatCompletionRequest({
    model: 'tiny',
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'a' },
          { type: 'text', text: 'b' },
        ],
      },
    ],
    max_completion_tokens: 5,
    stop: 'x',
    kv_compression: { method: 'headkv-r2', kv_size: 64, beta: 1.2, granularity: 'kv-head' },
    user: 'ignored',
  });
  assert.deepEqual(request.messages, [{ role: 'user', content: 'ab' }]);
  assert.equal(request.max_tokens, 5);
  assert.deepEqual(request.stop, ['x']);
  assert.equal(request.stream, false);
  assert.deepEqual(request.kv_compression, {
    method: 'headkv-r2',
    kv_size: 64,
    beta: 1.2,
    granularity: 'kv-head',
  });
});

test('invalid chat requests name the offending field', () => {
  const cases: Array<[unknown, string]> = [
    [{ messages: [{ role: 'user', content: 'x' }] }, 'model'],
    [{ model: 'm', messages: [] }, 'messages'],
    [{ model: 'm', messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role'],
    [{ model: 'm', messages: [{ role: 'user', content: 'x' }], temperature: 3 }, 'temperature'],
    [{ model: 'm', messages: [{ role: 'user', content: 'x' }], max_tokens: 1.5 }, 'max_tokens'],
    [{ model: 'm', messages: [{ role: 'user', content: 'x' }], n: 2 }, 'n'],
    [
      { model: 'm', messages: [{ role: 'user', content: 'x' }], kv_compression: { method: 'zip' } },
      'kv_compression.method',
    ],
  ];
  for (const [body, param] of cases) {
    assert.throws(
      () => validateChatCompletionRequest(body),
      (error: unknown) => error instanceof ApiError && error.status === 400 && error.param === param,
      `expected a 400 on ${param}`,
    );
  }
  const body = (() => {
    try {
      validateChatCompletionRequest({ model: 'm', messages: 'hi' });
    } catch (error) {
      return (error as ApiError).toBody();
    }
    return undefined;
  })();
  assert.deepEqual(Object.keys(body?.error ?? {}).sort(), ['code', 'message', 'param', 'type']);
});

test('batch lines: valid, malformed JSON, wrong url, bad body', () => {
  const good = parseBatchLine(
    JSON.stringify({
      custom_id: 'a',
      method: 'POST',
      url: endpoint,
      body: { model: 'm', messages: [{ role: 'user', content: 'x' }] },
    }),
    1,
    endpoint,
  );
  assert.equal(good.ok, true);
  const notJson = parseBatchLine('{oops', 2, endpoint);
  assert.equal(notJson.ok, false);
  assert.equal(notJson.customId, null);
  assert.match(!notJson.ok ? notJson.message : '', /^line 2: not valid JSON/);
  const wrongUrl = parseBatchLine(
    JSON.stringify({ custom_id: 'b', method: 'POST', url: '/v1/embeddings', body: {} }),
    3,
    endpoint,
  );
  assert.equal(wrongUrl.ok, false);
  assert.equal(wrongUrl.customId, 'b');
  const badBody = parseBatchLine(
    JSON.stringify({
      custom_id: 'c',
      method: 'POST',
      url: endpoint,
      body: { model: 'm', messages: [], temperature: 1 },
    }),
    4,
    endpoint,
  );
  assert.ok(!badBody.ok && badBody.message.includes('body.messages'));
});

test('splitJsonLines keeps 1-based line numbers and skips blank lines', () => {
  assert.deepEqual(splitJsonLines('a\r\n\nb\n'), [
    { line: 1, text: 'a' },
    { line: 3, text: 'b' },
  ]);
});

test('batch line bytes: size limit and non-UTF-8 become error lines that keep the custom_id', () => {
  const [raw] = splitJsonLineBuffers(
    Buffer.concat([
      Buffer.from('{"custom_id":"latin","body":"caf'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}\r\n'),
    ]),
  );
  const broken = parseBatchLineBytes(raw, endpoint, 1000);
  assert.ok(!broken.ok && broken.code === 'invalid_utf8' && broken.customId === 'latin');
  const big = parseBatchLineBytes(
    { line: 3, bytes: Buffer.from(`{"custom_id":"big","x":"${'y'.repeat(100)}"}`) },
    endpoint,
    50,
  );
  assert.ok(!big.ok && big.code === 'request_too_large' && big.customId === 'big');
  assert.match(!big.ok ? big.message : '', /^line 3: the request is \d+ bytes; at most 50 bytes/);
  const nested = (() => {
    try {
      validateChatCompletionRequest({
        model: 'm',
        messages: [{ role: 'user', content: 'x' }],
        kv_compression: { method: 'snapkv', kv_size: 2 },
      });
    } catch (error) {
      return error as ApiError;
    }
    return undefined;
  })();
  assert.equal(nested?.param, 'kv_compression.kv_size');
});
