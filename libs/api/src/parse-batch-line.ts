import { ApiError } from './api-error';
import type { ChatCompletionRequest } from './chat-types';
import {
  validateChatCompletionRequest,
  type ChatRequestLimits,
  DEFAULT_CHAT_REQUEST_LIMITS,
} from './validate-chat-request';

/** A batch input line that parsed and validated. */
export interface ValidBatchLine {
  ok: true;
  line: number;
  customId: string;
  request: ChatCompletionRequest;
}

/** A line that cannot run: it becomes an error-file line, the rest of the batch goes on. */
export interface InvalidBatchLine {
  ok: false;
  line: number;
  /** null when the line is not JSON or has no usable custom_id. */
  customId: string | null;
  code: string;
  message: string;
}

export type ParsedBatchLine = ValidBatchLine | InvalidBatchLine;

function invalid(line: number, customId: string | null, code: string, message: string): InvalidBatchLine {
  return { ok: false, line, customId, code, message: `line ${line}: ${message}` };
}

/**
 * Parses one JSONL line {custom_id, method: "POST", url, body} of a batch input file.
 * `line` is 1-based, as editors show it.
 */
export function parseBatchLine(
  text: string,
  line: number,
  endpoint: string,
  limits: ChatRequestLimits = DEFAULT_CHAT_REQUEST_LIMITS,
): ParsedBatchLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return invalid(line, null, 'invalid_json', `not valid JSON (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return invalid(line, null, 'invalid_request', 'a batch line must be a JSON object');
  }
  const record = value as Record<string, unknown>;
  const customId =
    typeof record.custom_id === 'string' && record.custom_id.length > 0 ? record.custom_id : null;
  if (customId === null)
    return invalid(line, null, 'missing_required_parameter', "'custom_id' must be a non-empty string");
  if (record.method !== 'POST') {
    return invalid(
      line,
      customId,
      'invalid_value',
      `'method' must be "POST", got ${JSON.stringify(record.method)}`,
    );
  }
  if (record.url !== endpoint) {
    return invalid(
      line,
      customId,
      'invalid_value',
      `'url' must be the batch endpoint "${endpoint}", got ${JSON.stringify(record.url)}`,
    );
  }
  if (
    record.body !== undefined &&
    typeof record.body === 'object' &&
    record.body !== null &&
    (record.body as Record<string, unknown>).stream === true
  ) {
    return invalid(line, customId, 'invalid_value', "'body.stream' is not supported in a batch");
  }
  try {
    return { ok: true, line, customId, request: validateChatCompletionRequest(record.body, limits) };
  } catch (error) {
    if (error instanceof ApiError) {
      const where = error.param ? `body.${error.param}` : 'body';
      return invalid(line, customId, error.code ?? 'invalid_request', `${where}: ${error.message}`);
    }
    throw error;
  }
}

/** Splits a JSONL file into numbered non-blank lines. */
export function splitJsonLines(content: string): Array<{ line: number; text: string }> {
  const lines: Array<{ line: number; text: string }> = [];
  content.split('\n').forEach((raw, index) => {
    const text = raw.replace(/\r$/, '');
    if (text.trim().length > 0) lines.push({ line: index + 1, text });
  });
  return lines;
}

/** One line of a batch input file as bytes, before decoding. */
export interface RawBatchLine {
  line: number;
  bytes: Buffer;
}

/** Splits a JSONL file into numbered non-blank lines of bytes (1-based line numbers). */
export function splitJsonLineBuffers(content: Buffer): RawBatchLine[] {
  const lines: RawBatchLine[] = [];
  let start = 0;
  let number = 1;
  while (start <= content.length) {
    let end = content.indexOf(0x0a, start);
    if (end === -1) end = content.length;
    let bytes = content.subarray(start, end);
    if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
    if (bytes.toString('utf8').trim().length > 0) lines.push({ line: number, bytes });
    start = end + 1;
    number++;
  }
  return lines;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The custom_id of a line that will not run, when one can still be read from it. */
function customIdOf(text: string): string | null {
  try {
    const value = JSON.parse(text) as { custom_id?: unknown };
    return typeof value.custom_id === 'string' && value.custom_id.length > 0 ? value.custom_id : null;
  } catch {
    return null;
  }
}

/**
 * Parses one line of bytes: a line over `maxLineBytes` (the API's body limit) or with bytes that
 * are not UTF-8 is an error line, keeping its custom_id when readable; the rest as parseBatchLine.
 */
export function parseBatchLineBytes(
  raw: RawBatchLine,
  endpoint: string,
  maxLineBytes: number,
  limits: ChatRequestLimits = DEFAULT_CHAT_REQUEST_LIMITS,
): ParsedBatchLine {
  const lenient = raw.bytes.toString('utf8');
  if (raw.bytes.length > maxLineBytes) {
    return invalid(
      raw.line,
      customIdOf(lenient),
      'request_too_large',
      `the request is ${raw.bytes.length} bytes; at most ${maxLineBytes} bytes are allowed`,
    );
  }
  try {
    strictUtf8.decode(raw.bytes);
  } catch {
    return invalid(raw.line, customIdOf(lenient), 'invalid_utf8', 'the line is not valid UTF-8');
  }
  return parseBatchLine(lenient, raw.line, endpoint, limits);
}
