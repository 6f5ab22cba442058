import type { Engine, GenerateRequest, GenerateResult } from '@headkv/engine';

/** What the worker's services read of an engine; the instant engine provides exactly that. */
const INSTANT_MODEL_INFO: Engine['info'] = {
  architecture: 'instant-benchmark-engine',
  weightsDtype: 'none',
  fingerprint: 'instant-benchmark-engine',
  device: 'none (instant benchmark engine)',
  nLayers: 1,
  nHeads: 1,
  nKvHeads: 1,
  headDim: 1,
  hiddenSize: 1,
  intermediateSize: 1,
  vocabSize: 1,
  maxPositionEmbeddings: 1 << 20,
  nParams: 0,
  bosTokenId: 0,
  eosTokenIds: [0],
};

/**
 * For tools/bench/queue-overhead only: an engine that answers every request at once with one
 * token, so that what the benchmark measures is the queue and API path around the engine. It has
 * no tokenizer, so the worker's context-length check is skipped as for a tokenizer-less model.
 */
export class InstantEngine {
  readonly info = INSTANT_MODEL_INFO;
  readonly tokenizer = undefined;
  private active = 0;
  private generated = 0;

  constructor(readonly maxSequences: number) {}

  get freeSlots(): number {
    return Math.max(0, this.maxSequences - this.active);
  }

  stats() {
    return {
      pageBytes: 0,
      pagesTotal: 0,
      pagesUsed: 0,
      kvBytesHeld: 0,
      kvBytesFull: 0,
      tokensGenerated: this.generated,
      activeSequences: this.active,
      freeSlots: this.freeSlots,
      queuedRequests: 0,
    };
  }

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    this.active++;
    this.generated++;
    try {
      request.onToken?.({ id: 1, text: 'ok' });
      return {
        tokenIds: [1],
        text: 'ok',
        promptTokens: request.messages?.length ?? 0,
        finishReason: 'length',
        kv: { method: 'full', kvSize: null, bytesFull: 0, bytesKept: 0 },
        timings: { prefillMs: 0, decodeMs: 0, prefillTokensPerS: 0, decodeTokensPerS: 0 },
      };
    } finally {
      this.active--;
    }
  }

  async dispose(): Promise<void> {}
}
