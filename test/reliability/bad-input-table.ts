// bad-input-table.ts: the bad-input table of issue 9, one row per input, each with the status and
// message the coordinator must answer (docs/reliability.md renders the same rows). The driver is
// bad-input.test.ts; it runs a coordinator with the limits below, one worker on the tiny model
// (needed where the model registry or the tokenizer decides) and two tenants' keys.
//
// Placeholders in routes and bodies: {alphaFile} and {alphaBatch} are a file and a finished batch
// of tenant alpha; rows sent with key 'beta' probe tenant isolation with them.

export const LIMITS = {
  HEADKV_MAX_FILE_BYTES: 65536,
  HEADKV_MAX_BODY_BYTES: 16384,
  HEADKV_MAX_BATCH_LINES: 100,
};
export const KEYS = { alpha: 'key-alpha-0123456789', beta: 'key-beta-9876543210' };
export const MODEL = 'tiny-random-llama';
const ENDPOINT = '/v1/chat/completions';

type Key = keyof typeof KEYS | 'none' | 'wrong' | 'basic-scheme';

/** The OpenAI-style error an HTTP request must get. */
export interface HttpExpectation {
  status: number;
  code?: string | null;
  param?: string | null;
  message: RegExp;
}

/** A plain HTTP request. `body`: an object is sent as JSON; a string as-is with `contentType`. */
export interface RequestRow {
  kind: 'request';
  name: string;
  key: Key;
  method: 'GET' | 'POST' | 'DELETE';
  route: string;
  body?: unknown;
  contentType?: string;
  expect: HttpExpectation;
}

/** A multipart upload to /v1/files (file omitted when `content` is null). */
export interface UploadRow {
  kind: 'upload';
  name: string;
  content: Buffer | null;
  filename: string;
  purpose: string | null;
  /** For accepted uploads: the status is 200 and the stored filename is this. */
  expect: HttpExpectation | { status: 200; filename: string };
}

/**
 * A batch input file: uploaded by alpha, a batch created on it, awaited. Either the whole batch
 * fails validation (errors[] code and message), or it completes with the error line of `customId`
 * carrying the code and message (from error.code or from response.body.error.code when the worker
 * rejected the request).
 */
export interface BatchRow {
  kind: 'batch';
  name: string;
  content: Buffer;
  expect:
    | { batchFailed: { code: string; message: RegExp } }
    | { errorLine: { customId: string | null; code: string; message: RegExp; statusCode?: number } };
}

export type BadInputRow = RequestRow | UploadRow | BatchRow;

function line(customId: string | null, body: unknown, overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({ custom_id: customId, method: 'POST', url: ENDPOINT, body, ...overrides });
}

function chat(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: MODEL, messages: [{ role: 'user', content: 'hello' }], max_tokens: 4, ...extra };
}

function file(...lines: string[]): Buffer {
  return Buffer.from(lines.join('\n') + '\n', 'utf8');
}

// A valid line whose bytes inside a JSON string are not UTF-8 (0xC3 0x28: a broken 2-byte sequence).
const NON_UTF8_LINE = Buffer.concat([
  Buffer.from(
    `{"custom_id":"latin","method":"POST","url":"${ENDPOINT}","body":{"model":"${MODEL}","max_tokens":4,"messages":[{"role":"user","content":"caf`,
  ),
  Buffer.from([0xc3, 0x28, 0xff]),
  Buffer.from('"}]}}\n'),
]);

const BAD_JSON = { status: 400, code: 'invalid_json', message: /not valid JSON/ };
const NOT_FOUND_FILE = { status: 404, code: 'not_found', message: /No such File object/ };
const NOT_FOUND_BATCH = { status: 404, code: 'not_found', message: /No such Batch|not found/i };
const batchBody = (extra: Record<string, unknown> = {}) => ({
  input_file_id: '{alphaFile}',
  endpoint: ENDPOINT,
  completion_window: '24h',
  ...extra,
});

export const BAD_INPUTS: BadInputRow[] = [
  // --- authentication ---
  {
    kind: 'request',
    name: 'missing API key',
    key: 'none',
    method: 'GET',
    route: '/v1/files',
    expect: { status: 401, code: 'invalid_api_key', message: /Missing bearer API key/ },
  },
  {
    kind: 'request',
    name: 'wrong API key',
    key: 'wrong',
    method: 'GET',
    route: '/v1/files',
    expect: { status: 401, code: 'invalid_api_key', message: /Incorrect API key/ },
  },
  {
    kind: 'request',
    name: 'Basic instead of Bearer scheme',
    key: 'basic-scheme',
    method: 'GET',
    route: '/v1/batches',
    expect: { status: 401, code: 'invalid_api_key', message: /Missing bearer API key/ },
  },
  {
    kind: 'request',
    name: 'wrong API key on chat',
    key: 'wrong',
    method: 'POST',
    route: ENDPOINT,
    body: chat(),
    expect: { status: 401, code: 'invalid_api_key', message: /Incorrect API key/ },
  },

  // --- another tenant's ids ---
  {
    kind: 'request',
    name: "another tenant's file",
    key: 'beta',
    method: 'GET',
    route: '/v1/files/{alphaFile}',
    expect: NOT_FOUND_FILE,
  },
  {
    kind: 'request',
    name: "another tenant's file content",
    key: 'beta',
    method: 'GET',
    route: '/v1/files/{alphaFile}/content',
    expect: NOT_FOUND_FILE,
  },
  {
    kind: 'request',
    name: "deleting another tenant's file",
    key: 'beta',
    method: 'DELETE',
    route: '/v1/files/{alphaFile}',
    expect: NOT_FOUND_FILE,
  },
  {
    kind: 'request',
    name: "another tenant's batch",
    key: 'beta',
    method: 'GET',
    route: '/v1/batches/{alphaBatch}',
    expect: NOT_FOUND_BATCH,
  },
  {
    kind: 'request',
    name: "cancelling another tenant's batch",
    key: 'beta',
    method: 'POST',
    route: '/v1/batches/{alphaBatch}/cancel',
    expect: NOT_FOUND_BATCH,
  },
  {
    kind: 'request',
    name: "a batch on another tenant's file",
    key: 'beta',
    method: 'POST',
    route: '/v1/batches',
    body: batchBody(),
    expect: NOT_FOUND_FILE,
  },

  // --- uploads ---
  {
    kind: 'upload',
    name: 'upload without the file field',
    content: null,
    filename: 'x.jsonl',
    purpose: 'batch',
    expect: { status: 400, param: 'file', message: /multipart field 'file' is required/ },
  },
  {
    kind: 'upload',
    name: 'upload without purpose',
    content: file(line('a', chat())),
    filename: 'x.jsonl',
    purpose: null,
    expect: { status: 400, param: 'purpose', message: /'purpose' must be "batch"/ },
  },
  {
    kind: 'upload',
    name: 'upload with purpose fine-tune',
    content: file(line('a', chat())),
    filename: 'x.jsonl',
    purpose: 'fine-tune',
    expect: { status: 400, param: 'purpose', message: /'purpose' must be "batch".*fine-tune/ },
  },
  {
    kind: 'upload',
    name: 'empty file',
    content: Buffer.alloc(0),
    filename: 'empty.jsonl',
    purpose: 'batch',
    expect: { status: 400, param: 'file', message: /'file' is empty/ },
  },
  {
    kind: 'upload',
    name: 'file over HEADKV_MAX_FILE_BYTES',
    content: Buffer.alloc(LIMITS.HEADKV_MAX_FILE_BYTES + 1, 0x20),
    filename: 'huge.jsonl',
    purpose: 'batch',
    expect: { status: 413, code: 'request_too_large', message: /too large/i },
  },
  {
    kind: 'upload',
    name: 'path traversal in the file name',
    content: file(line('a', chat())),
    filename: '../../../etc/passwd',
    purpose: 'batch',
    expect: { status: 200, filename: 'passwd' },
  },
  {
    kind: 'request',
    name: 'upload as JSON instead of multipart',
    key: 'alpha',
    method: 'POST',
    route: '/v1/files',
    body: { purpose: 'batch', file: 'x' },
    expect: { status: 400, param: 'file', message: /multipart field 'file' is required/ },
  },
  {
    kind: 'request',
    name: 'path traversal in a file id',
    key: 'alpha',
    method: 'GET',
    route: '/v1/files/..%2F..%2Fetc%2Fpasswd/content',
    expect: NOT_FOUND_FILE,
  },

  // --- batch creation ---
  {
    kind: 'request',
    name: 'batch body is not JSON',
    key: 'alpha',
    method: 'POST',
    route: '/v1/batches',
    body: '{"input_file_id": ',
    contentType: 'application/json',
    expect: { status: 400, code: 'invalid_json', message: /Request body is not valid JSON/ },
  },
  {
    kind: 'request',
    name: 'batch body with a text/plain content type',
    key: 'alpha',
    method: 'POST',
    route: '/v1/batches',
    body: JSON.stringify(batchBody()),
    contentType: 'text/plain',
    expect: { status: 400, message: /must be a JSON object/ },
  },
  {
    kind: 'request',
    name: 'batch body over HEADKV_MAX_BODY_BYTES',
    key: 'alpha',
    method: 'POST',
    route: '/v1/batches',
    body: batchBody({ metadata: { k: 'x'.repeat(LIMITS.HEADKV_MAX_BODY_BYTES) } }),
    expect: { status: 413, code: 'request_too_large', message: /exceeds the limit of 16384 bytes/ },
  },
  {
    kind: 'request',
    name: 'batch body is an array',
    key: 'alpha',
    method: 'POST',
    route: '/v1/batches',
    body: [batchBody()],
    expect: { status: 400, message: /must be a JSON object/ },
  },
  {
    kind: 'request',
    name: 'batch without input_file_id',
    key: 'alpha',
    method: 'POST',
    route: '/v1/batches',
    body: batchBody({ input_file_id: undefined }),
    expect: {
      status: 400,
      param: 'input_file_id',
      code: 'missing_required_parameter',
      message: /'input_file_id' is required/,
    },
  },
  {
    kind: 'request',
    name: 'batch on a wrong endpoint',
    key: 'alpha',
    method: 'POST',
    route: '/v1/batches',
    body: batchBody({ endpoint: '/v1/embeddings' }),
    expect: { status: 400, param: 'endpoint', message: /'endpoint' must be one of .*"\/v1\/embeddings"/ },
  },
  {
    kind: 'request',
    name: 'batch with completion_window 48h',
    key: 'alpha',
    method: 'POST',
    route: '/v1/batches',
    body: batchBody({ completion_window: '48h' }),
    expect: { status: 400, param: 'completion_window', message: /'completion_window' must be one of/ },
  },
  {
    kind: 'request',
    name: 'batch metadata not an object',
    key: 'alpha',
    method: 'POST',
    route: '/v1/batches',
    body: batchBody({ metadata: 'x' }),
    expect: { status: 400, param: 'metadata', message: /'metadata' must be an object of strings/ },
  },
  {
    kind: 'request',
    name: 'batch metadata with 17 pairs',
    key: 'alpha',
    method: 'POST',
    route: '/v1/batches',
    body: batchBody({ metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])) }),
    expect: { status: 400, param: 'metadata', message: /at most 16 pairs/ },
  },
  {
    kind: 'request',
    name: 'batch on a file id that does not exist',
    key: 'alpha',
    method: 'POST',
    route: '/v1/batches',
    body: batchBody({ input_file_id: 'file-doesnotexist' }),
    expect: NOT_FOUND_FILE,
  },
  {
    kind: 'request',
    name: 'batch on a path-traversal file id',
    key: 'alpha',
    method: 'POST',
    route: '/v1/batches',
    body: batchBody({ input_file_id: '../../etc/passwd' }),
    expect: NOT_FOUND_FILE,
  },
  {
    kind: 'request',
    name: 'cancelling a completed batch',
    key: 'alpha',
    method: 'POST',
    route: '/v1/batches/{alphaBatch}/cancel',
    expect: {
      status: 409,
      code: 'batch_not_cancellable',
      message: /Cannot cancel a batch with status 'completed'/,
    },
  },
  {
    kind: 'request',
    name: 'list with limit=abc',
    key: 'alpha',
    method: 'GET',
    route: '/v1/batches?limit=abc',
    expect: { status: 400, param: 'limit', message: /'limit' must be an integer between 1 and/ },
  },

  // --- interactive chat requests ---
  {
    kind: 'request',
    name: 'chat with an unknown model',
    key: 'alpha',
    method: 'POST',
    route: ENDPOINT,
    body: chat({ model: 'gpt-9' }),
    expect: {
      status: 404,
      code: 'model_not_found',
      param: 'model',
      message: /The model 'gpt-9' does not exist/,
    },
  },
  {
    kind: 'request',
    name: 'chat with max_tokens 0',
    key: 'alpha',
    method: 'POST',
    route: ENDPOINT,
    body: chat({ max_tokens: 0 }),
    expect: { status: 400, param: 'max_tokens', message: /'max_tokens' must be between 1 and 32768, got 0/ },
  },
  {
    kind: 'request',
    name: 'chat with max_tokens 40000',
    key: 'alpha',
    method: 'POST',
    route: ENDPOINT,
    body: chat({ max_tokens: 40000 }),
    expect: {
      status: 400,
      param: 'max_tokens',
      message: /'max_tokens' must be between 1 and 32768, got 40000/,
    },
  },
  {
    kind: 'request',
    name: 'chat with kv_compression.method zip',
    key: 'alpha',
    method: 'POST',
    route: ENDPOINT,
    body: chat({ kv_compression: { method: 'zip' } }),
    expect: {
      status: 400,
      param: 'kv_compression.method',
      message: /'kv_compression.method' must be one of .*"zip"/,
    },
  },
  {
    kind: 'request',
    name: 'chat with snapkv and no kv_size',
    key: 'alpha',
    method: 'POST',
    route: ENDPOINT,
    body: chat({ kv_compression: { method: 'snapkv' } }),
    expect: {
      status: 400,
      param: 'kv_compression.kv_size',
      message: /'kv_compression.kv_size' is required for method 'snapkv'/,
    },
  },
  {
    kind: 'request',
    name: 'chat with kv_compression.kv_size 8',
    key: 'alpha',
    method: 'POST',
    route: ENDPOINT,
    body: chat({ kv_compression: { method: 'snapkv', kv_size: 8 } }),
    expect: {
      status: 400,
      param: 'kv_compression.kv_size',
      message: /'kv_compression.kv_size' must be between 9 and/,
    },
  },
  {
    kind: 'request',
    name: 'chat with kv_compression.granularity layer',
    key: 'alpha',
    method: 'POST',
    route: ENDPOINT,
    body: chat({ kv_compression: { method: 'headkv-r2', kv_size: 64, granularity: 'layer' } }),
    expect: {
      status: 400,
      param: 'kv_compression.granularity',
      message: /'kv_compression.granularity' must be one of/,
    },
  },
  {
    kind: 'request',
    name: 'chat with kv_compression a string',
    key: 'alpha',
    method: 'POST',
    route: ENDPOINT,
    body: chat({ kv_compression: 'headkv' }),
    expect: { status: 400, param: 'kv_compression', message: /'kv_compression' must be an object/ },
  },
  {
    kind: 'request',
    name: 'chat with an image content part',
    key: 'alpha',
    method: 'POST',
    route: ENDPOINT,
    body: chat({
      messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://x' } }] }],
    }),
    expect: { status: 400, param: 'messages[0].content[0]', message: /only text content is supported/ },
  },
  {
    kind: 'request',
    name: 'chat with n=2',
    key: 'alpha',
    method: 'POST',
    route: ENDPOINT,
    body: chat({ n: 2 }),
    expect: { status: 400, param: 'n', message: /'n' must be between 1 and 1/ },
  },

  // --- batch input lines (error file or failed batch) ---
  {
    kind: 'batch',
    name: 'malformed JSONL line',
    content: file('{"custom_id": "a", "method": "POST",'),
    expect: { errorLine: { customId: null, ...BAD_JSON, message: /^line 1: not valid JSON/ } },
  },
  {
    kind: 'batch',
    name: 'line that is a JSON array',
    content: file('[1, 2, 3]'),
    expect: {
      errorLine: {
        customId: null,
        code: 'invalid_request',
        message: /^line 1: a batch line must be a JSON object/,
      },
    },
  },
  {
    kind: 'batch',
    name: 'line without custom_id',
    content: file(line(null, chat())),
    expect: {
      errorLine: {
        customId: null,
        code: 'missing_required_parameter',
        message: /^line 1: 'custom_id' must be a non-empty string/,
      },
    },
  },
  {
    kind: 'batch',
    name: 'line with method GET',
    content: file(line('get', chat(), { method: 'GET' })),
    expect: {
      errorLine: {
        customId: 'get',
        code: 'invalid_value',
        message: /^line 1: 'method' must be "POST", got "GET"/,
      },
    },
  },
  {
    kind: 'batch',
    name: 'line for the wrong endpoint',
    content: file(line('emb', chat(), { url: '/v1/embeddings' })),
    expect: {
      errorLine: {
        customId: 'emb',
        code: 'invalid_value',
        message: /^line 1: 'url' must be the batch endpoint/,
      },
    },
  },
  {
    kind: 'batch',
    name: 'line with stream: true',
    content: file(line('s', chat({ stream: true }))),
    expect: {
      errorLine: {
        customId: 's',
        code: 'invalid_value',
        message: /^line 1: 'body.stream' is not supported in a batch/,
      },
    },
  },
  {
    kind: 'batch',
    name: 'line with an unknown model',
    content: file(line('m', chat({ model: 'gpt-9' }))),
    expect: {
      errorLine: {
        customId: 'm',
        code: 'model_not_found',
        message: /^line 1: the model 'gpt-9' is not served by any worker/,
      },
    },
  },
  {
    kind: 'batch',
    name: 'line with max_tokens 0',
    content: file(line('mt', chat({ max_tokens: 0 }))),
    expect: {
      errorLine: {
        customId: 'mt',
        code: 'invalid_value',
        message: /^line 1: body.max_tokens: 'max_tokens' must be between 1 and 32768/,
      },
    },
  },
  {
    kind: 'batch',
    name: 'line with kv_compression.beta 0',
    content: file(line('beta', chat({ kv_compression: { method: 'headkv-r', kv_size: 64, beta: 0 } }))),
    expect: {
      errorLine: {
        customId: 'beta',
        code: 'invalid_value',
        message: /^line 1: body.kv_compression.beta: .*must be between 1 and 1000/,
      },
    },
  },
  {
    kind: 'batch',
    name: 'line with an unsupported kv_compression.method',
    content: file(line('kv', chat({ kv_compression: { method: 'h2o', kv_size: 64 } }))),
    expect: {
      errorLine: { customId: 'kv', code: 'invalid_value', message: /^line 1: body.kv_compression.method: / },
    },
  },
  {
    kind: 'batch',
    name: 'line whose completion exceeds the context (max_tokens 4096)',
    content: file(line('ctx', chat({ max_tokens: 4096 }))),
    expect: {
      errorLine: {
        customId: 'ctx',
        statusCode: 400,
        code: 'context_length_exceeded',
        message: /maximum context length is 4096 tokens/,
      },
    },
  },
  {
    kind: 'batch',
    name: 'line with non-UTF-8 bytes',
    content: NON_UTF8_LINE,
    expect: { errorLine: { customId: 'latin', code: 'invalid_utf8', message: /^line 1: .*UTF-8/ } },
  },
  {
    kind: 'batch',
    name: 'line over the size limit (HEADKV_MAX_BODY_BYTES)',
    content: file(line('big', chat({ user: 'x'.repeat(LIMITS.HEADKV_MAX_BODY_BYTES) }))),
    expect: { errorLine: { customId: 'big', code: 'request_too_large', message: /^line 1: .*16384 bytes/ } },
  },
  {
    kind: 'batch',
    name: 'duplicate custom_id',
    content: file(line('dup', chat({ max_tokens: 0 })), line('dup', chat({ max_tokens: 0 }))),
    expect: {
      batchFailed: {
        code: 'duplicate_custom_id',
        message: /^line 2: custom_id "dup" was already used on line 1/,
      },
    },
  },
  {
    kind: 'batch',
    name: 'file of blank lines only',
    content: Buffer.from('\n  \n\r\n'),
    expect: { batchFailed: { code: 'empty_file', message: /The input file has no requests/ } },
  },
  {
    kind: 'batch',
    name: 'more lines than HEADKV_MAX_BATCH_LINES',
    content: file(...Array.from({ length: 101 }, (_, i) => line(`r${i}`, chat({ max_tokens: 0 })))),
    expect: {
      batchFailed: { code: 'too_many_requests', message: /has 101 requests; at most 100 are allowed/ },
    },
  },
];
