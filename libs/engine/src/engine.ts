// engine.ts: Engine = one loaded model, its tokenizer and ONE context shared by every
// generate() call through the continuous-batching scheduler.
import { randomInt } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { BatchScheduler, type SchedulerStats } from './batch-scheduler';
import { EngineError } from './engine-error';
import { DEFAULT_MAX_TOKENS, GenerateRequest, GenerateResult } from './generate-types';
import { toNativeKvParams } from './kv-options';
import {
  EngineDevice,
  loadNativeAddon,
  NativeContext,
  NativeContextOptions,
  NativeModel,
  NativeModelInfo,
  NativeSampling,
} from './native-addon';
import { PreparedRequest, SequenceJob } from './sequence-job';
import { Tokenizer } from './tokenizer';

export interface EngineOptions extends NativeContextOptions {
  // CPU threads of the model's contexts; 0 or absent = all cores.
  threads?: number;
  // 'cpu' (default) or 'cuda', and the GPU ordinal for 'cuda'.
  device?: EngineDevice;
  gpuIndex?: number;
}

export interface EngineStats extends SchedulerStats {
  queuedRequests: number;
}

const DEFAULT_MAX_SEQUENCES = 8;

export class Engine {
  private readonly scheduler: BatchScheduler;
  private readonly extraContexts = new Set<NativeContext>();
  private disposed = false;

  private constructor(
    readonly modelDir: string,
    readonly info: NativeModelInfo,
    // Absent when the model folder has no tokenizer.json: requests must then give promptIds.
    readonly tokenizer: Tokenizer | undefined,
    private readonly model: NativeModel,
    private readonly context: NativeContext,
    readonly maxSequences: number,
  ) {
    this.scheduler = new BatchScheduler(context, maxSequences);
  }

  static async load(modelDir: string, options: EngineOptions = {}): Promise<Engine> {
    if (!fs.existsSync(modelDir) || !fs.statSync(modelDir).isDirectory()) {
      throw new EngineError('HKV_ERR_IO', `${modelDir}: model folder does not exist`);
    }
    const addon = loadNativeAddon();
    const tokenizer = fs.existsSync(path.join(modelDir, 'tokenizer.json'))
      ? Tokenizer.fromDir(modelDir)
      : undefined;
    let model: NativeModel;
    try {
      model = await addon.loadModel(modelDir, {
        threads: options.threads ?? 0,
        device: options.device ?? 'cpu',
        gpuIndex: options.gpuIndex ?? 0,
      });
    } catch (error) {
      throw EngineError.from(error);
    }
    const maxSequences = options.maxSequences ?? DEFAULT_MAX_SEQUENCES;
    const contextOptions: NativeContextOptions = {
      maxSequences,
      pageTokens: options.pageTokens,
      kvCacheBytes: options.kvCacheBytes,
      prefillChunk: options.prefillChunk,
      maxContext: options.maxContext,
    };
    let context: NativeContext;
    try {
      context = model.createContext(contextOptions);
    } catch (error) {
      model.dispose();
      throw EngineError.from(error);
    }
    return new Engine(modelDir, model.info(), tokenizer, model, context, maxSequences);
  }

  // Requests that can start now without waiting for a slot.
  get freeSlots(): number {
    return Math.max(0, this.maxSequences - this.scheduler.activeCount - this.scheduler.queuedCount);
  }

  stats(): EngineStats {
    return { ...this.scheduler.stats, queuedRequests: this.scheduler.queuedCount };
  }

  // Resolves when the request finishes (including by a stop string or cancellation); rejects
  // with EngineError for a bad request or an engine failure of this sequence.
  generate(request: GenerateRequest): Promise<GenerateResult> {
    if (this.disposed) return Promise.reject(new EngineError('HKV_DISPOSED', 'engine was disposed'));
    let job: SequenceJob;
    try {
      job = new SequenceJob(this.prepare(request), this.tokenizer);
    } catch (error) {
      return Promise.reject(EngineError.from(error));
    }
    this.scheduler.submit(job);
    return job.result;
  }

  // Another context on the same loaded weights (no second copy of the model), e.g. for
  // head-importance probing next to serving. The caller runs one operation on it at a time;
  // dispose() frees it too.
  createContext(options: NativeContextOptions = {}): NativeContext {
    if (this.disposed) throw new EngineError('HKV_DISPOSED', 'engine was disposed');
    let context: NativeContext;
    try {
      context = this.model.createContext(options);
    } catch (error) {
      throw EngineError.from(error);
    }
    this.extraContexts.add(context);
    return context;
  }

  // Ends running requests as cancelled, rejects queued ones, then frees the contexts and model.
  async dispose(): Promise<void> {
    if (this.disposed) return;
    if ([...this.extraContexts].some((context) => context.busy)) {
      throw new EngineError(
        'HKV_ERR_STATE',
        'engine.dispose(): a context from engine.createContext() is still running',
      );
    }
    this.disposed = true;
    await this.scheduler.shutdown(
      new EngineError('HKV_DISPOSED', 'engine was disposed before the request ran'),
    );
    this.context.dispose();
    for (const context of this.extraContexts) context.dispose();
    this.model.dispose();
  }

  private requireTokenizer(what: string): Tokenizer {
    if (!this.tokenizer) {
      throw new EngineError(
        'HKV_REQUEST',
        `${path.join(this.modelDir, 'tokenizer.json')} not found: ${what} needs a tokenizer (give promptIds instead)`,
      );
    }
    return this.tokenizer;
  }

  private promptIdsOf(request: GenerateRequest): Int32Array {
    const given = [request.promptIds, request.prompt, request.messages].filter(
      (value) => value !== undefined,
    );
    if (given.length !== 1) {
      throw new EngineError('HKV_REQUEST', 'give exactly one of promptIds, prompt or messages');
    }
    let ids: ArrayLike<number>;
    if (request.promptIds !== undefined) ids = request.promptIds;
    else if (request.prompt !== undefined) ids = this.requireTokenizer('prompt').encode(request.prompt);
    else ids = this.requireTokenizer('messages').encodeChat(request.messages ?? []);
    if (ids.length === 0) throw new EngineError('HKV_REQUEST', 'the prompt is empty (0 tokens)');
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.info.vocabSize) {
        throw new EngineError('HKV_REQUEST', `promptIds[${i}] = ${id} is not a token id of this model`);
      }
    }
    return Int32Array.from(ids);
  }

  private prepare(request: GenerateRequest): PreparedRequest {
    const maxTokens = request.maxTokens ?? DEFAULT_MAX_TOKENS;
    if (!Number.isInteger(maxTokens) || maxTokens < 1) {
      throw new EngineError('HKV_REQUEST', `maxTokens must be a positive integer, got ${maxTokens}`);
    }
    const stop = request.stop ?? [];
    if (!Array.isArray(stop) || stop.some((s) => typeof s !== 'string' || s.length === 0)) {
      throw new EngineError('HKV_REQUEST', 'stop must be an array of non-empty strings');
    }
    if (stop.length > 0) this.requireTokenizer('stop strings');
    const sampling: NativeSampling = {
      temperature: request.temperature ?? 0,
      topK: request.topK ?? 0,
      topP: request.topP ?? 1,
      seed: request.seed ?? randomInt(2 ** 47),
      maxNewTokens: maxTokens,
      stopTokenIds: Int32Array.from(request.stopTokenIds ?? this.info.eosTokenIds),
    };
    return {
      promptIds: this.promptIdsOf(request),
      sampling,
      kv: toNativeKvParams(request.kv, this.info),
      stop,
      request,
    };
  }
}
