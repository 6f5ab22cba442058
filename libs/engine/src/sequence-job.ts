// sequence-job.ts: one generate() request inside the scheduler: its prepared inputs, the tokens
// and text produced so far (streamed through onToken), its timings and its promise.
import { IncrementalDetokenizer } from './detokenizer';
import { EngineError } from './engine-error';
import type { FinishReason, GenerateRequest, GenerateResult, KvSelection } from './generate-types';
import type {
  KvMethod,
  NativeKvParams,
  NativeSampling,
  NativeSelection,
  NativeSequenceInfo,
} from './native-addon';
import { StopStringMatcher } from './stop-strings';
import type { Tokenizer } from './tokenizer';

export interface PreparedRequest {
  promptIds: Int32Array;
  sampling: NativeSampling;
  kv: NativeKvParams;
  stop: string[];
  request: GenerateRequest;
}

export type JobPhase = 'queued' | 'added' | 'decoding' | 'done';

export class SequenceJob {
  phase: JobPhase = 'queued';
  seqId = -1;
  // Set when the caller aborted or a stop string matched: the native sequence is cancelled and
  // the job ends with this reason at the next scheduler turn.
  endRequested: FinishReason | undefined;
  // An onToken / onPrefillProgress listener threw: the job is cancelled and fails with this.
  listenerError: unknown;
  readonly result: Promise<GenerateResult>;

  private readonly tokenIds: number[] = [];
  private text = '';
  private readonly detokenizer: IncrementalDetokenizer | undefined;
  private readonly stopMatcher: StopStringMatcher;
  private prefillStart = 0;
  private prefillEnd = 0;
  private selection: KvSelection | undefined;
  private resolve!: (result: GenerateResult) => void;
  private reject!: (error: EngineError) => void;

  constructor(
    readonly prepared: PreparedRequest,
    tokenizer: Tokenizer | undefined,
  ) {
    this.result = new Promise<GenerateResult>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.detokenizer = tokenizer ? new IncrementalDetokenizer(tokenizer) : undefined;
    this.stopMatcher = new StopStringMatcher(prepared.stop);
  }

  get request(): GenerateRequest {
    return this.prepared.request;
  }

  prefillStarted(): void {
    this.prefillStart = performance.now();
  }

  prefillFinished(): void {
    this.prefillEnd = performance.now();
    this.phase = 'decoding';
  }

  // Records a generated token; returns true when a stop string has just matched.
  acceptToken(id: number): boolean {
    if (id < 0 || this.stopMatcher.isStopped) return false;
    this.tokenIds.push(id);
    const completed = this.detokenizer ? this.detokenizer.push(id) : '';
    const match = this.stopMatcher.push(completed);
    this.emit(id, match.release);
    if (match.stopped) this.endRequested = 'stop';
    return match.stopped;
  }

  get wantsSelection(): boolean {
    return this.prepared.request.captureSelection === true;
  }

  // Keeps the native selection (counts per layer-major cache head, positions concatenated)
  // as positions[layer][head].
  keepSelection(native: NativeSelection): void {
    const layers = native.counts.length / native.cacheHeads;
    const positions: number[][][] = [];
    let offset = 0;
    for (let l = 0; l < layers; l++) {
      const heads: number[][] = [];
      for (let h = 0; h < native.cacheHeads; h++) {
        const count = native.counts[l * native.cacheHeads + h];
        heads.push(Array.from(native.positions.subarray(offset, offset + count)));
        offset += count;
      }
      positions.push(heads);
    }
    this.selection = { cacheHeads: native.cacheHeads, positions };
  }

  succeed(finishReason: FinishReason, info: NativeSequenceInfo | undefined): void {
    if (this.phase === 'done') return;
    if (!this.stopMatcher.isStopped && this.detokenizer) {
      const tail = this.stopMatcher.push(this.detokenizer.flush());
      const rest = tail.stopped ? tail.release : tail.release + this.stopMatcher.flush();
      if (tail.stopped) finishReason = 'stop';
      if (rest.length > 0) this.emit(undefined, rest);
    }
    this.phase = 'done';
    const end = performance.now();
    const prefilled = this.prefillEnd > 0;
    const prefillMs = prefilled ? this.prefillEnd - this.prefillStart : 0;
    const decodeMs = prefilled ? end - this.prefillEnd : 0;
    const decodedTokens = Math.max(0, this.tokenIds.length - 1);
    const kvSize = this.prepared.kv.kvSize;
    this.resolve({
      tokenIds: this.tokenIds,
      text: this.text,
      promptTokens: this.prepared.promptIds.length,
      finishReason,
      kv: {
        method: this.prepared.kv.method as KvMethod,
        kvSize: kvSize ?? null,
        bytesFull: info?.kvBytesFull ?? 0,
        bytesKept: info?.kvBytesKept ?? 0,
      },
      timings: {
        prefillMs,
        decodeMs,
        prefillTokensPerS: prefillMs > 0 ? (this.prepared.promptIds.length * 1000) / prefillMs : 0,
        decodeTokensPerS: decodeMs > 0 ? (decodedTokens * 1000) / decodeMs : 0,
      },
      ...(this.selection ? { selection: this.selection } : {}),
    });
  }

  fail(error: unknown): void {
    if (this.phase === 'done') return;
    this.phase = 'done';
    this.reject(EngineError.from(error));
  }

  // Text reaches the caller only through here, so result.text is exactly what was streamed.
  private emit(id: number | undefined, text: string): void {
    this.text += text;
    const onToken = this.request.onToken;
    if (!onToken || (id === undefined && text.length === 0)) return;
    try {
      onToken({ id: id ?? -1, text });
    } catch (error) {
      this.listenerFailed(error);
    }
  }

  listenerFailed(error: unknown): void {
    this.listenerError ??= error;
    this.endRequested = 'cancelled';
  }
}
