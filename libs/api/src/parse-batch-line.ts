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
