// api-parsers.property.test.ts: property-based fuzzing (fast-check) of the request parsers in
// @headkv/api: the chat-request validator and the JSONL batch-line parser. Properties: arbitrary
// input never throws anything but ApiError (validator) or nothing at all (batch lines); every
// rejection is an OpenAI-style error naming the field; every valid request is accepted with its
// values preserved; one bad field in an otherwise valid request is rejected naming that field.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ApiError,
  KV_GRANULARITIES,
  KV_METHODS,
  parseBatchLine,
  splitJsonLines,
  validateChatCompletionRequest,
  type ErrorBody,
} from '@headkv/api';

const ENDPOINT = '/v1/chat/completions';
// Fixed seed: a CI failure reproduces; fast-check prints the seed and shrunk counterexample.
const RUNS = { numRuns: 2000, seed: 20261128 };

function assertOpenAiErrorBody(body: ErrorBody): void {
  assert.deepEqual(Object.keys(body), ['error']);
  assert.deepEqual(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type']);
  assert.equal(typeof body.error.message, 'string');
  assert.ok(body.error.message.length > 0, 'empty error message');
  assert.equal(body.error.type, 'invalid_request_error');
  assert.ok(body.error.param === null || typeof body.error.param === 'string');
  assert.ok(body.error.code === null || typeof body.error.code === 'string');
}

/** Runs the validator; returns the ApiError it threw, or null when it accepted. */
function rejection(body: unknown): ApiError | null {
  try {
    validateChatCompletionRequest(body);
    return null;
  } catch (error) {
    assert.ok(error instanceof ApiError, `threw a non-ApiError: ${String(error)}`);
    return error;
  }
}

const message = fc.record({
  role: fc.constantFrom('system', 'developer', 'user', 'assistant', 'tool'),
  content: fc.oneof(
    fc.string(),
    fc.array(fc.record({ type: fc.constant('text'), text: fc.string() }), { minLength: 0, maxLength: 3 }),
  ),
});

const kvCompression = fc.oneof(
  fc.record({ method: fc.constant('full') }),
  fc.record(
    {
      method: fc.constantFrom(...KV_METHODS.filter((m) => m !== 'full')),
      kv_size: fc.integer({ min: 9, max: 1 << 20 }),
      beta: fc.double({ min: 1, max: 1000, noNaN: true }),
      granularity: fc.constantFrom(...KV_GRANULARITIES),
    },
    { requiredKeys: ['method', 'kv_size'] },
  ),
);

const validRequest = fc.record(
  {
    model: fc.string({ minLength: 1 }),
    messages: fc.array(message, { minLength: 1, maxLength: 4 }),
    max_tokens: fc.integer({ min: 1, max: 32768 }),
    temperature: fc.double({ min: 0, max: 2, noNaN: true }),
    top_p: fc.double({ min: 0, max: 1, noNaN: true }),
    top_k: fc.integer({ min: 0, max: 1 << 20 }),
    seed: fc.integer(),
    stop: fc.oneof(fc.string({ minLength: 1 }), fc.array(fc.string({ minLength: 1 }), { maxLength: 4 })),
    stream: fc.boolean(),
    kv_compression: kvCompression,
  },
  { requiredKeys: ['model', 'messages'] },
);

test('chat validator: any JSON value is accepted or rejected with a 400 OpenAI-style error', () => {
  fc.assert(
    fc.property(
      fc.oneof(fc.jsonValue(), fc.record({ model: fc.string(), messages: fc.jsonValue() })),
      (body) => {
        const error = rejection(body);
        if (error === null) return;
        assert.equal(error.status, 400);
        assertOpenAiErrorBody(error.toBody());
      },
    ),
    RUNS,
  );
});

test('chat validator: valid requests are accepted and their values kept', () => {
  fc.assert(
    fc.property(validRequest, (body) => {
      const request = validateChatCompletionRequest(body);
      assert.equal(request.model, body.model);
      assert.equal(request.messages.length, body.messages.length);
      body.messages.forEach((m, i) => {
        const text = typeof m.content === 'string' ? m.content : m.content.map((part) => part.text).join('');
        assert.deepEqual(request.messages[i], { role: m.role, content: text });
      });
      assert.equal(request.max_tokens, body.max_tokens);
      assert.equal(request.temperature, body.temperature);
      assert.equal(request.top_p, body.top_p);
      assert.equal(request.seed, body.seed);
      assert.equal(request.stream, body.stream === true);
      if (body.stop !== undefined) {
        assert.deepEqual(request.stop, typeof body.stop === 'string' ? [body.stop] : body.stop);
      }
      if (body.kv_compression !== undefined) assert.deepEqual(request.kv_compression, body.kv_compression);
    }),
    RUNS,
  );
});

// One field of a valid request replaced by a value outside its documented range or type.
const badField = fc.oneof(
  fc.record({
    param: fc.constant('model'),
    value: fc.oneof(fc.constant(''), fc.integer(), fc.constant(null)),
  }),
  fc.record({
    param: fc.constant('messages'),
    value: fc.oneof(fc.constant([]), fc.string(), fc.constant(null)),
  }),
  fc.record({
    param: fc.constant('max_tokens'),
    value: fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 32769 }), fc.constant(1.5), fc.string()),
  }),
  fc.record({
    param: fc.constant('temperature'),
    value: fc.oneof(
      fc.double({ min: 2.0000001, noNaN: true, noDefaultInfinity: true }),
      fc.double({ max: -0.0000001, noNaN: true, noDefaultInfinity: true }),
      fc.string(),
    ),
  }),
  fc.record({
    param: fc.constant('top_p'),
    value: fc.oneof(fc.double({ min: 1.0000001, max: 1e9, noNaN: true }), fc.boolean()),
  }),
  fc.record({ param: fc.constant('n'), value: fc.integer({ min: 2, max: 100 }) }),
  fc.record({ param: fc.constant('stream'), value: fc.oneof(fc.string(), fc.integer()) }),
  fc.record({
    param: fc.constant('stop'),
    value: fc.oneof(
      fc.constant(''),
      fc.array(fc.string({ minLength: 1 }), { minLength: 5, maxLength: 8 }),
      fc.integer(),
    ),
  }),
  fc.record({
    param: fc.constant('kv_compression'),
    value: fc.oneof(fc.string(), fc.integer(), fc.array(fc.jsonValue())),
  }),
  fc.record({
    param: fc.constant('kv_compression.method'),
    value: fc.record({ method: fc.string().filter((m) => !(KV_METHODS as readonly string[]).includes(m)) }),
  }),
  fc.record({
    param: fc.constant('kv_compression.kv_size'),
    value: fc.oneof(
      fc.record({ method: fc.constant('snapkv') }),
      fc.record({
        method: fc.constant('headkv-r2'),
        kv_size: fc.oneof(fc.integer({ max: 8 }), fc.integer({ min: (1 << 20) + 1 }), fc.constant(64.5)),
      }),
    ),
  }),
  fc.record({
    param: fc.constant('kv_compression.beta'),
    value: fc.record({
      method: fc.constant('headkv-r'),
      kv_size: fc.constant(64),
      beta: fc.oneof(fc.double({ max: 0.999, noNaN: true }), fc.double({ min: 1000.001, noNaN: true })),
    }),
  }),
  fc.record({
    param: fc.constant('kv_compression.granularity'),
    value: fc.record({
      method: fc.constant('snapkv'),
      kv_size: fc.constant(64),
      granularity: fc.string().filter((g) => !(KV_GRANULARITIES as readonly string[]).includes(g)),
    }),
  }),
);

test('chat validator: one bad field in a valid request is rejected naming that field', () => {
  fc.assert(
    fc.property(validRequest, badField, (body, { param, value }) => {
      const field = param.startsWith('kv_compression.') ? 'kv_compression' : param;
      const error = rejection({ ...body, [field]: value });
      assert.ok(error !== null, `accepted ${field} = ${JSON.stringify(value)}`);
      assert.equal(error.status, 400);
      assert.equal(error.param, param, `error names ${error.param}, expected ${param}: ${error.message}`);
      assert.ok(
        error.message.includes(param.split('.').pop() ?? param),
        `message does not name ${param}: ${error.message}`,
      );
      assertOpenAiErrorBody(error.toBody());
    }),
    RUNS,
  );
});

test('batch line parser: any text yields a result, never an exception; errors name the line', () => {
  const jsonishLine = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc
      .record({
        custom_id: fc.jsonValue(),
        method: fc.jsonValue(),
        url: fc.jsonValue(),
        body: fc.jsonValue(),
      })
      .map((v) => JSON.stringify(v)),
    fc
      .record({
        custom_id: fc.string(),
        method: fc.constant('POST'),
        url: fc.constant(ENDPOINT),
        body: fc.jsonValue(),
      })
      .map((v) => JSON.stringify(v)),
  );
  fc.assert(
    fc.property(jsonishLine, fc.integer({ min: 1, max: 1_000_000 }), (text, line) => {
      const parsed = parseBatchLine(text, line, ENDPOINT);
      assert.equal(parsed.line, line);
      if (parsed.ok) return;
      assert.ok(parsed.message.startsWith(`line ${line}: `), parsed.message);
      assert.ok(parsed.code.length > 0);
      assert.ok(parsed.customId === null || parsed.customId.length > 0);
    }),
    RUNS,
  );
});

test('batch line parser: valid lines are accepted with their custom_id and request', () => {
  fc.assert(
    fc.property(fc.string({ minLength: 1 }), validRequest, (customId, body) => {
      const text = JSON.stringify({
        custom_id: customId,
        method: 'POST',
        url: ENDPOINT,
        body: { ...body, stream: false },
      });
      const parsed = parseBatchLine(text, 7, ENDPOINT);
      assert.ok(parsed.ok, parsed.ok ? '' : parsed.message);
      assert.equal(parsed.customId, customId);
      assert.deepEqual(parsed.request, validateChatCompletionRequest({ ...body, stream: false }));
    }),
    RUNS,
  );
});

test('batch line parser: a bad body field becomes an error line naming body.<field> and the custom_id', () => {
  fc.assert(
    fc.property(fc.string({ minLength: 1 }), validRequest, badField, (customId, body, { param, value }) => {
      const field = param.startsWith('kv_compression.') ? 'kv_compression' : param;
      if (field === 'stream') return; // a stream flag in a batch has its own message, tested in the bad-input table
      const text = JSON.stringify({
        custom_id: customId,
        method: 'POST',
        url: ENDPOINT,
        body: { ...body, stream: false, [field]: value },
      });
      const parsed = parseBatchLine(text, 3, ENDPOINT);
      assert.ok(!parsed.ok, `accepted body.${field} = ${JSON.stringify(value)}`);
      assert.equal(parsed.customId, customId);
      assert.ok(parsed.message.startsWith(`line 3: body.${param}: `), parsed.message);
    }),
    RUNS,
  );
});

test('JSONL splitting: every non-blank line keeps its 1-based number and its text', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.string(),
          fc.constant(''),
          fc.constant('  '),
          fc.string().map((s) => `${s}\r`),
        ),
      ),
      (rows) => {
        const content = rows.join('\n');
        const raw = content.split('\n');
        const lines = splitJsonLines(content);
        for (const { line, text } of lines) {
          assert.equal(text, raw[line - 1].replace(/\r$/, ''));
          assert.ok(text.trim().length > 0);
        }
        const expected = raw.filter((r) => r.replace(/\r$/, '').trim().length > 0).length;
        assert.equal(lines.length, expected);
      },
    ),
    RUNS,
  );
});
