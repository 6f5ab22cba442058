/** OpenAI chat-completion request/response shapes, as far as this server supports them. */

export type ChatRole = 'system' | 'developer' | 'user' | 'assistant' | 'tool';

/** A message after validation: content parts are joined into one string. */
export interface ChatMessage {
  role: ChatRole;
  content: string;
  name?: string;
}

/** Compression methods the engine implements (see HEADKV.md sections 1 and 7). */
export const KV_METHODS = ['full', 'snapkv', 'pyramidkv', 'ada-snapkv', 'headkv-r', 'headkv-r2'] as const;
export type KvMethod = (typeof KV_METHODS)[number];

/** Budget granularity under grouped-query attention (HEADKV.md section 6). */
export const KV_GRANULARITIES = ['kv-head', 'query-head'] as const;
export type KvGranularity = (typeof KV_GRANULARITIES)[number];

/** The `kv_compression` extension field of a chat request. */
export interface KvCompression {
  method: KvMethod;
  kv_size?: number;
  beta?: number;
  granularity?: KvGranularity;
}

/** A validated, normalized chat completion request. */
export interface ChatCompletionRequest {
  model: string;
  messages: ChatMessage[];
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  seed?: number;
  stop?: string[];
  stream: boolean;
  include_usage_in_stream: boolean;
  kv_compression?: KvCompression;
}

export type FinishReason = 'stop' | 'length' | 'cancelled';

/** KV-cache accounting added to `usage` (extension). */
export interface KvUsage {
  method: string;
  kv_size: number | null;
  kv_bytes_full: number;
  kv_bytes_kept: number;
  /** Set when a HeadKV method ran as snapkv because the model had no head profile yet. */
  fallback_from?: string;
}

export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  kv_compression?: KvUsage;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: { role: 'assistant'; content: string; refusal: null };
    finish_reason: FinishReason;
    logprobs: null;
  }>;
  usage: ChatUsage;
  system_fingerprint: string | null;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    delta: { role?: 'assistant'; content?: string };
    finish_reason: FinishReason | null;
    logprobs: null;
  }>;
  usage?: ChatUsage | null;
  system_fingerprint: string | null;
}
