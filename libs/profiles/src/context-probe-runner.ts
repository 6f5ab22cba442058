// context-probe-runner.ts: the ProbeRunner over a native engine context: one probe trial at a
// time on a full-cache sequence, greedy, stopping at a newline as the reference does, then the
// probe's head totals. Shared by `headkv profile` and the fleet's profiling worker.
import type { NativeContext, Tokenizer } from '@headkv/engine';

import type { ProbeRule, ProbeRunner, ProbeRunResult } from './profile-run';

/** Thrown between probe steps once `interrupted()` says so (a worker shutting down hands the job back). */
export class ProfilingInterrupted extends Error {
  constructor() {
    super('profiling interrupted by shutdown');
    this.name = 'ProfilingInterrupted';
  }
}

export class ContextProbeRunner implements ProbeRunner {
  constructor(
    private readonly context: NativeContext,
    private readonly tokenizer: Tokenizer,
    private readonly stopTokenIds: number[],
    private readonly interrupted: () => boolean = () => false,
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
        const stepped = (await this.context.step()).find((s) => s.seqId === id);
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
