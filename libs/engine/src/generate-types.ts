// generate-types.ts: the request and result of Engine.generate().
import type { ChatMessage } from './chat-template';
import type { KvGranularity, KvMethod } from './native-addon';

export interface KvOptions {
  method: KvMethod;
  // Average per-head budget K (window included); required for every method but 'full'.
  kvSize?: number;
  beta?: number;
  temp?: number;
  granularity?: KvGranularity;
  window?: number;
  poolKernel?: number;
  capAtPrompt?: boolean;
  groupAggregation?: 'mean' | 'max';
  // HeadKV profile: n_layers * n_heads scores, layer-major (headkv-r / headkv-r2 only).
  headScores?: Float32Array;
}

export interface GeneratedToken {
  // The generated token id; -1 for the last call, which releases text held back until the end.
  id: number;
  // Text this token completes (possibly '' while a character or a stop-string prefix is held).
  text: string;
}

export interface GenerateRequest {
  // Exactly one of promptIds, prompt (tokenized with the tokenizer's special tokens) or
  // messages (rendered through the chat template).
  promptIds?: readonly number[] | Int32Array;
  prompt?: string;
  messages?: ChatMessage[];
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  // Sampling seed (temperature > 0); absent = a random one, as OpenAI's API does.
  seed?: number;
  stop?: string[];
  // Defaults to the model's eos token ids.
  stopTokenIds?: readonly number[];
  kv?: KvOptions;
  signal?: AbortSignal;
  onToken?: (token: GeneratedToken) => void;
  onPrefillProgress?: (done: number, total: number) => void;
  // Return the kept prompt positions of every head (result.selection), read before the
  // sequence is freed.
  captureSelection?: boolean;
}

// The prompt positions each cache head kept after compression: positions[layer][head] ascending.
// Cache heads are KV heads (kv-head granularity) or query heads (query-head).
export interface KvSelection {
  cacheHeads: number;
  positions: number[][][];
}

export type FinishReason = 'stop' | 'length' | 'cancelled';

export interface GenerateResult {
  // Generated ids only (a final stop token included, as transformers' generate does).
  tokenIds: number[];
  text: string;
  promptTokens: number;
  finishReason: FinishReason;
  kv: { method: KvMethod; kvSize: number | null; bytesFull: number; bytesKept: number };
  timings: { prefillMs: number; decodeMs: number; prefillTokensPerS: number; decodeTokensPerS: number };
  // With request.captureSelection, once the prompt was prefilled.
  selection?: KvSelection;
}

export const DEFAULT_MAX_TOKENS = 256;
