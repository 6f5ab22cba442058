// native-addon.ts: the types of the node-addon-api module native/build/Release/headkv.node and
// its loader. The addon is loaded on first use so that the pure-TypeScript parts of this library
// (tokenizer, chat templates) work before the native build exists.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { EngineError } from './engine-error';

// Where the model runs: the fp32 CPU backend (always built) or the bf16 CUDA backend (an
// engine built with HEADKV_CUDA; the addon reports HKV_ERR_UNSUPPORTED otherwise).
export type EngineDevice = 'cpu' | 'cuda';

export interface NativeModelInfo {
  architecture: string;
  weightsDtype: string;
  fingerprint: string;
  // Where the model runs, e.g. "cpu (16 threads)" or the GPU's name.
  device: string;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  hiddenSize: number;
  intermediateSize: number;
  vocabSize: number;
  maxPositionEmbeddings: number;
  nParams: number;
  bosTokenId: number;
  eosTokenIds: number[];
}

export interface NativeContextOptions {
  maxSequences?: number;
  pageTokens?: number;
  kvCacheBytes?: number;
  /** Prompt tokens per prefill chunk; unset: the backend's own (512 on the CPU, 4096 on CUDA). */
  prefillChunk?: number;
  maxContext?: number;
}

export interface NativeSampling {
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number | bigint;
  maxNewTokens?: number;
  stopTokenIds?: Int32Array | number[];
}

export type KvMethod = 'full' | 'snapkv' | 'pyramidkv' | 'ada-snapkv' | 'headkv-r' | 'headkv-r2';
export const KV_METHODS: readonly KvMethod[] = [
  'full',
  'snapkv',
  'pyramidkv',
  'ada-snapkv',
  'headkv-r',
  'headkv-r2',
];
export type KvGranularity = 'kv-head' | 'query-head';

export interface NativeKvParams {
  method?: KvMethod;
  kvSize?: number;
  window?: number;
  poolKernel?: number;
  beta?: number;
  temp?: number;
  granularity?: KvGranularity;
  capAtPrompt?: boolean;
  groupAggregation?: 'mean' | 'max';
  headScores?: Float32Array;
}

export type NativeFinish = 'none' | 'stop' | 'length' | 'cancelled';

export interface NativeStepToken {
  seqId: number;
  token: number;
  finish: NativeFinish;
}

export interface NativeSequenceInfo {
  state: 'pending' | 'decoding' | 'finished';
  finish: NativeFinish;
  nPrompt: number;
  nGenerated: number;
  kvBytesFull: number;
  kvBytesKept: number;
  kvPages: number;
}

export interface NativeContextStats {
  pageBytes: number;
  pagesTotal: number;
  pagesUsed: number;
  kvBytesHeld: number;
  activeSequences: number;
  freeSlots: number;
}

export interface NativeSelection {
  cacheHeads: number;
  counts: Int32Array;
  positions: Int32Array;
}

// Head-importance probe rules: HeadKV-R (retrieval) and HeadKV-R2 (retrieval-reasoning).
export type ProbeRule = 'retrieval' | 'retrieval-reasoning';

export interface NativeContext {
  readonly disposed: boolean;
  readonly busy: boolean;
  addSequence(promptIds: Int32Array, sampling: NativeSampling, kv: NativeKvParams): number;
  prefill(id: number, onProgress?: (done: number, total: number) => void): Promise<number>;
  step(): Promise<NativeStepToken[]>;
  cancel(id: number): void;
  remove(id: number): void;
  sequenceInfo(id: number): NativeSequenceInfo;
  logits(id: number): Float32Array;
  selection(id: number): NativeSelection;
  stats(): NativeContextStats;
  // Scores the decode steps of a pending full-cache sequence against the prompt span
  // [spanBegin, spanEnd); probeScores() returns n_layers * n_heads totals, layer-major.
  attachProbe(id: number, rule: ProbeRule, spanBegin: number, spanEnd: number): void;
  probeScores(id: number): Float64Array;
  dispose(): void;
}

export interface NativeModel {
  readonly disposed: boolean;
  info(): NativeModelInfo;
  createContext(options?: NativeContextOptions): NativeContext;
  dispose(): void;
}

export interface NativeAddon {
  loadModel(
    dir: string,
    options?: { threads?: number; device?: EngineDevice; gpuIndex?: number },
  ): Promise<NativeModel>;
  version(): string;
}

// dist/libs/engine/src -> repository root.
const ADDON_PATH = path.resolve(
  __dirname,
  '..',
  '..',
  '..',
  '..',
  'native',
  'build',
  'Release',
  'headkv.node',
);

let loaded: NativeAddon | undefined;

export function loadNativeAddon(): NativeAddon {
  if (loaded) return loaded;
  if (!fs.existsSync(ADDON_PATH)) {
    throw new EngineError(
      'HKV_ADDON_MISSING',
      `the native addon native/build/Release/headkv.node is not built: run npm run build`,
    );
  }
  loaded = require(ADDON_PATH) as NativeAddon;
  return loaded;
}
