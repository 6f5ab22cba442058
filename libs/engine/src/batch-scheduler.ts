// batch-scheduler.ts: continuous batching over one native context. A single loop owns every
// call on the context (a context runs one operation at a time): each turn it admits queued
// requests while slots are free, prefills one newly admitted sequence, then steps all decoding
// sequences together, and retires the sequences that finished. An error in one sequence fails
// only its request.
import { EngineError } from './engine-error';
import type { FinishReason } from './generate-types';
import type { NativeContext, NativeContextStats, NativeFinish, NativeSequenceInfo } from './native-addon';
import type { SequenceJob } from './sequence-job';

// Context statistics plus what only the scheduler knows: the full-cache bytes its sequences
// would hold uncompressed, and every token generated since the engine started.
export interface SchedulerStats extends NativeContextStats {
  kvBytesFull: number;
  tokensGenerated: number;
}

export class BatchScheduler {
  private readonly queue: SequenceJob[] = [];
  private readonly active = new Map<number, SequenceJob>();
  private loop: Promise<void> | undefined;
  private lastStats: SchedulerStats;
  private tokensGenerated = 0;

  constructor(
    private readonly context: NativeContext,
    private readonly maxSequences: number,
  ) {
    this.lastStats = { ...context.stats(), kvBytesFull: 0, tokensGenerated: 0 };
  }

  get queuedCount(): number {
    return this.queue.length;
  }

  get activeCount(): number {
    return this.active.size;
  }

  // Context statistics as of the end of the last scheduler operation (the context itself may be
  // busy in a worker thread right now).
  get stats(): SchedulerStats {
    return this.lastStats;
  }

  submit(job: SequenceJob): void {
    const signal = job.request.signal;
    if (signal?.aborted) {
      job.succeed('cancelled', undefined);
      return;
    }
    if (signal) {
      const onAbort = (): void => this.abort(job);
      signal.addEventListener('abort', onAbort, { once: true });
      // A signal may outlive many requests: drop the listener once this one is settled.
      const detach = (): void => signal.removeEventListener('abort', onAbort);
      job.result.then(detach, detach);
    }
    this.queue.push(job);
    this.ensureLoop();
  }

  private ensureLoop(): void {
    if (this.loop) return;
    this.loop = this.run().finally(() => {
      this.loop = undefined;
      // A request submitted while the loop was finishing starts a new loop.
      if (this.queue.length > 0 || this.active.size > 0) this.ensureLoop();
    });
  }

  // Resolves once every submitted request has finished.
  async idle(): Promise<void> {
    while (this.loop) await this.loop;
  }

  // Ends every request (running ones as cancelled, queued ones rejected) and waits.
  async shutdown(reason: EngineError): Promise<void> {
    for (const job of this.queue.splice(0)) job.fail(reason);
    for (const job of this.active.values()) this.requestEnd(job, 'cancelled');
    await this.idle();
  }

  private abort(job: SequenceJob): void {
    if (job.phase === 'queued') {
      this.queue.splice(this.queue.indexOf(job), 1);
      job.succeed('cancelled', undefined);
    } else if (job.phase !== 'done') {
      this.requestEnd(job, 'cancelled');
    }
  }

  // Marks the job to end with `reason`; the native cancel is thread-safe, so a running prefill
  // stops at its next chunk.
  private requestEnd(job: SequenceJob, reason: FinishReason): void {
    job.endRequested ??= reason;
    if (job.seqId < 0) return;
    try {
      this.context.cancel(job.seqId);
    } catch {
      // The sequence may already have finished inside the engine; it is retired either way at
      // the end of this turn, and retire() reports real failures.
    }
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0 || this.active.size > 0) {
      try {
        this.admit();
        await this.prefillOne();
        await this.stepAll();
        this.retireEnded();
      } catch (error) {
        // Only a bug in this loop lands here: fail everything rather than spin.
        this.failAll(error);
      }
      if (!this.context.disposed) this.refreshStats();
    }
  }

  private refreshStats(): void {
    let kvBytesFull = 0;
    for (const job of this.active.values()) kvBytesFull += this.context.sequenceInfo(job.seqId).kvBytesFull;
    this.lastStats = { ...this.context.stats(), kvBytesFull, tokensGenerated: this.tokensGenerated };
  }

  private admit(): void {
    while (this.queue.length > 0 && this.active.size < this.maxSequences) {
      const job = this.queue[0];
      try {
        const { promptIds, sampling, kv } = job.prepared;
        job.seqId = this.context.addSequence(promptIds, sampling, kv);
      } catch (error) {
        const engineError = EngineError.from(error);
        // The pool may be full only for now: wait for running sequences to free pages.
        if (engineError.code === 'HKV_ERR_OUT_OF_MEMORY' && this.active.size > 0) return;
        this.queue.shift();
        job.fail(engineError);
        continue;
      }
      this.queue.shift();
      job.phase = 'added';
      this.active.set(job.seqId, job);
    }
  }

  private async prefillOne(): Promise<void> {
    const job = [...this.active.values()].find((candidate) => candidate.phase === 'added');
    if (!job || job.endRequested) return;
    const listener = job.request.onPrefillProgress;
    const onProgress = listener
      ? (done: number, total: number) => {
          try {
            listener(done, total);
          } catch (error) {
            job.listenerFailed(error);
            this.requestEnd(job, 'cancelled');
          }
        }
      : undefined;
    job.prefillStarted();
    let firstToken: number;
    try {
      firstToken = await this.context.prefill(job.seqId, onProgress);
    } catch (error) {
      const engineError = EngineError.from(error);
      if (engineError.code === 'HKV_ERR_CANCELLED') job.endRequested ??= 'cancelled';
      else this.retire(job, () => job.fail(engineError));
      return;
    }
    job.prefillFinished();
    this.tokensGenerated++;
    if (job.endRequested) return;
    if (job.acceptToken(firstToken)) this.requestEnd(job, 'stop');
    const info = this.context.sequenceInfo(job.seqId);
    if (info.state === 'finished') this.finishNatively(job, info.finish, info);
    else if (job.endRequested) this.requestEnd(job, job.endRequested);
  }

  private async stepAll(): Promise<void> {
    const decoding = [...this.active.values()].filter((job) => job.phase === 'decoding' && !job.endRequested);
    if (decoding.length === 0) return;
    let tokens;
    try {
      tokens = await this.context.step();
    } catch (error) {
      // hkv_step does not say which sequence failed: every sequence it stepped fails.
      const engineError = EngineError.from(error);
      for (const job of decoding) this.retire(job, () => job.fail(engineError));
      return;
    }
    const stepped = new Set<number>();
    for (const { seqId, token, finish } of tokens) {
      stepped.add(seqId);
      if (token >= 0) this.tokensGenerated++;
      const job = this.active.get(seqId);
      if (!job || job.phase === 'done') continue;
      if (!job.endRequested && job.acceptToken(token)) this.requestEnd(job, 'stop');
      if (finish !== 'none') this.finishNatively(job, finish, undefined);
    }
    // A sequence the step passed over is no longer decoding: settle it rather than step forever.
    for (const job of decoding) {
      if (stepped.has(job.seqId) || job.phase === 'done') continue;
      const info = this.context.sequenceInfo(job.seqId);
      if (info.state === 'finished') this.finishNatively(job, info.finish, info);
    }
  }

  private finishNatively(job: SequenceJob, finish: NativeFinish, info: NativeSequenceInfo | undefined): void {
    const reason: FinishReason = job.endRequested ?? (finish === 'none' ? 'length' : finish);
    this.retire(job, (final) => job.succeed(reason, final ?? info));
  }

  // Ends jobs that were cancelled or hit a stop string, whether or not the engine saw it yet.
  private retireEnded(): void {
    for (const job of [...this.active.values()]) {
      if (job.endRequested && job.phase !== 'done') {
        const reason = job.endRequested;
        if (job.listenerError !== undefined) this.retire(job, () => job.fail(job.listenerError));
        else this.retire(job, (info) => job.succeed(reason, info));
      }
    }
  }

  // Reads the sequence's final KV sizes (and kept positions when asked), frees it, and settles
  // the job.
  private retire(job: SequenceJob, settle: (info: NativeSequenceInfo | undefined) => void): void {
    let info: NativeSequenceInfo | undefined;
    try {
      info = this.context.sequenceInfo(job.seqId);
      if (job.wantsSelection && info.state !== 'pending')
        job.keepSelection(this.context.selection(job.seqId));
      this.context.remove(job.seqId);
    } catch (error) {
      this.active.delete(job.seqId);
      job.fail(error);
      return;
    }
    this.active.delete(job.seqId);
    settle(info);
  }

  private failAll(error: unknown): void {
    for (const job of this.queue.splice(0)) job.fail(error);
    for (const job of [...this.active.values()]) this.retire(job, () => job.fail(error));
    this.active.clear();
  }
}
