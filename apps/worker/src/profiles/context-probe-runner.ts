import type { NativeContext, Tokenizer } from '@headkv/engine';
import type { ProbeRule, ProbeRunner, ProbeRunResult } from '@headkv/profiles';

/** Thrown between probe steps once the worker is shutting down, to hand the job back. */
export class ProfilingInterrupted extends Error {
  constructor() {
    super('profiling interrupted by shutdown');
    this.name = 'ProfilingInterrupted';
  }
}

/**
 * Runs one probe trial on a full-cache sequence of a dedicated native context: greedy decoding
 * that stops at a newline (as the reference does), then the probe's per-head totals.
 */
export class ContextProbeRunner implements ProbeRunner {
  constructor(
    private readonly context: NativeContext,
    private readonly tokenizer: Tokenizer,
    private readonly stopTokenIds: number[],
    private readonly interrupted: () => boolean,
  ) {}

  async run(
    promptIds: Int32Array,
    rule: ProbeRule,
    spanBegin: number,
    spanEnd: number,
    maxNewTokens: number,
  ): Promise<ProbeRunResult> {
    if (this.interrupted()) throw new ProfilingInterrupted();
    const id = this.context.addSequence(
      promptIds,
      { temperature: 0, maxNewTokens, stopTokenIds: Int32Array.from(this.stopTokenIds) },
      { method: 'full' },
    );
    try {
      this.context.attachProbe(id, rule, spanBegin, spanEnd);
      const tokens = [await this.context.prefill(id)];
      const text = () => this.tokenizer.decode(tokens, { skipSpecialTokens: true });
      while (this.context.sequenceInfo(id).state === 'decoding' && !text().includes('\n')) {
        if (this.interrupted()) throw new ProfilingInterrupted();
        const stepped = (await this.context.step()).find((step) => step.seqId === id);
        if (stepped === undefined) break;
        if (stepped.token >= 0) tokens.push(stepped.token);
        if (stepped.finish !== 'none') break;
      }
      return { text: text().split('\n')[0], headScores: this.context.probeScores(id) };
    } finally {
      this.context.remove(id);
    }
  }
}
