import { ApiError } from './api-error';
import {
  KV_GRANULARITIES,
  KV_METHODS,
  type ChatCompletionRequest,
  type ChatMessage,
  type ChatRole,
  type KvCompression,
  type KvGranularity,
  type KvMethod,
} from './chat-types';

const ROLES: readonly ChatRole[] = ['system', 'developer', 'user', 'assistant', 'tool'];
const MAX_STOP_SEQUENCES = 4;

/** Limits a deployment applies on top of the OpenAI schema. */
export interface ChatRequestLimits {
  /** Largest max_tokens accepted. */
  maxTokens: number;
}

export const DEFAULT_CHAT_REQUEST_LIMITS: ChatRequestLimits = { maxTokens: 32768 };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function optionalNumber(
  body: Record<string, unknown>,
  name: string,
  check: { min: number; max: number; integer: boolean },
  parent?: string,
): number | undefined {
  const value = body[name];
  // Nested fields are named by their full path, e.g. 'kv_compression.kv_size'.
  const field = parent === undefined ? name : `${parent}.${name}`;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw ApiError.invalidRequest(
      `'${field}' must be a number, got ${JSON.stringify(value)}`,
      field,
      'invalid_type',
    );
  }
  if (check.integer && !Number.isInteger(value)) {
    throw ApiError.invalidRequest(`'${field}' must be an integer, got ${value}`, field, 'invalid_type');
  }
  if (value < check.min || value > check.max) {
    throw ApiError.invalidRequest(
      `'${field}' must be between ${check.min} and ${check.max}, got ${value}`,
      field,
      'invalid_value',
    );
  }
  return value;
}

function messageContent(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part, index) => {
        const partParam = `${param}[${index}]`;
        if (!isRecord(part) || part.type !== 'text' || typeof part.text !== 'string') {
          throw ApiError.invalidRequest(
            `${partParam} must be a text part {type: "text", text: string}; only text content is supported`,
            partParam,
            'invalid_type',
          );
        }
        return part.text;
      })
      .join('');
  }
  throw ApiError.invalidRequest(`${param} must be a string or an array of text parts`, param, 'invalid_type');
}

function validateMessages(value: unknown): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw ApiError.invalidRequest("'messages' must be a non-empty array", 'messages', 'invalid_type');
  }
  return value.map((message, index) => {
    const param = `messages[${index}]`;
    if (!isRecord(message))
      throw ApiError.invalidRequest(`${param} must be an object`, param, 'invalid_type');
    if (typeof message.role !== 'string' || !ROLES.includes(message.role as ChatRole)) {
      throw ApiError.invalidRequest(
        `${param}.role must be one of ${ROLES.join(', ')}, got ${JSON.stringify(message.role)}`,
        `${param}.role`,
        'invalid_value',
      );
    }
    const validated: ChatMessage = {
      role: message.role as ChatRole,
      content: messageContent(message.content, `${param}.content`),
    };
    if (typeof message.name === 'string') validated.name = message.name;
    return validated;
  });
}

function validateStop(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.some((item) => typeof item !== 'string' || item.length === 0)) {
    throw ApiError.invalidRequest(
      "'stop' must be a non-empty string or an array of them",
      'stop',
      'invalid_type',
    );
  }
  if (list.length > MAX_STOP_SEQUENCES) {
    throw ApiError.invalidRequest(
      `'stop' accepts at most ${MAX_STOP_SEQUENCES} sequences`,
      'stop',
      'invalid_value',
    );
  }
  return list as string[];
}

function validateKvCompression(value: unknown): KvCompression | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) {
    throw ApiError.invalidRequest("'kv_compression' must be an object", 'kv_compression', 'invalid_type');
  }
  if (typeof value.method !== 'string' || !KV_METHODS.includes(value.method as KvMethod)) {
    throw ApiError.invalidRequest(
      `'kv_compression.method' must be one of ${KV_METHODS.join(', ')}, got ${JSON.stringify(value.method)}`,
      'kv_compression.method',
      'invalid_value',
    );
  }
  const result: KvCompression = { method: value.method as KvMethod };
  const kvSize = optionalNumber(value, 'kv_size', { min: 9, max: 1 << 20, integer: true }, 'kv_compression');
  if (kvSize !== undefined) result.kv_size = kvSize;
  if (result.method !== 'full' && kvSize === undefined) {
    throw ApiError.invalidRequest(
      `'kv_compression.kv_size' is required for method '${result.method}'`,
      'kv_compression.kv_size',
      'missing_required_parameter',
    );
  }
  const beta = optionalNumber(value, 'beta', { min: 1, max: 1000, integer: false }, 'kv_compression');
  if (beta !== undefined) result.beta = beta;
  if (value.granularity !== undefined && value.granularity !== null) {
    if (
      typeof value.granularity !== 'string' ||
      !KV_GRANULARITIES.includes(value.granularity as KvGranularity)
    ) {
      throw ApiError.invalidRequest(
        `'kv_compression.granularity' must be one of ${KV_GRANULARITIES.join(', ')}`,
        'kv_compression.granularity',
        'invalid_value',
      );
    }
    result.granularity = value.granularity as KvGranularity;
  }
  return result;
}

/**
 * Validates a /v1/chat/completions body and normalizes it (content parts joined, stop as a list,
 * max_completion_tokens folded into max_tokens). Unknown fields are ignored, as OpenAI clients
 * send fields (user, logprobs: false, ...) that do not change the result here.
 */
export function validateChatCompletionRequest(
  body: unknown,
  limits: ChatRequestLimits = DEFAULT_CHAT_REQUEST_LIMITS,
): ChatCompletionRequest {
  if (!isRecord(body))
    throw ApiError.invalidRequest('The request body must be a JSON object', null, 'invalid_type');
  if (typeof body.model !== 'string' || body.model.length === 0) {
    throw ApiError.invalidRequest(
      "'model' is required and must be a non-empty string",
      'model',
      'missing_required_parameter',
    );
  }
  // One choice per request is generated; any other 'n' is rejected rather than silently ignored.
  optionalNumber(body, 'n', { min: 1, max: 1, integer: true });
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') {
    throw ApiError.invalidRequest("'stream' must be a boolean", 'stream', 'invalid_type');
  }
  const streamOptions = body.stream_options;
  if (streamOptions !== undefined && streamOptions !== null && !isRecord(streamOptions)) {
    throw ApiError.invalidRequest("'stream_options' must be an object", 'stream_options', 'invalid_type');
  }
  const maxTokens =
    optionalNumber(body, 'max_completion_tokens', { min: 1, max: limits.maxTokens, integer: true }) ??
    optionalNumber(body, 'max_tokens', { min: 1, max: limits.maxTokens, integer: true });
  const request: ChatCompletionRequest = {
    model: body.model,
    messages: validateMessages(body.messages),
    stream: body.stream === true,
    include_usage_in_stream: isRecord(streamOptions) && streamOptions.include_usage === true,
  };
  if (maxTokens !== undefined) request.max_tokens = maxTokens;
  const temperature = optionalNumber(body, 'temperature', { min: 0, max: 2, integer: false });
  if (temperature !== undefined) request.temperature = temperature;
  const topP = optionalNumber(body, 'top_p', { min: 0, max: 1, integer: false });
  if (topP !== undefined) request.top_p = topP;
  const topK = optionalNumber(body, 'top_k', { min: 0, max: 1 << 20, integer: true });
  if (topK !== undefined) request.top_k = topK;
  const seed = optionalNumber(body, 'seed', { min: -(2 ** 53), max: 2 ** 53, integer: true });
  if (seed !== undefined) request.seed = seed;
  const stop = validateStop(body.stop);
  if (stop !== undefined) request.stop = stop;
  const kv = validateKvCompression(body.kv_compression);
  if (kv !== undefined) request.kv_compression = kv;
  return request;
}
