import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  envInteger,
  fleetSettingsFromEnv,
  type FleetSettings,
  type ProfileProbeSettings,
} from '@headkv/queue';
import type { EngineDevice } from '@headkv/engine';

export const WORKER_CONFIG = Symbol('WORKER_CONFIG');

/** Model of the embedded default (the trained headkv-tiny), relative to the working directory. */
export const DEFAULT_MODEL_DIR = path.join('models', 'headkv-tiny');

export interface WorkerConfig extends FleetSettings {
  /** HEADKV_WORKER_ID: name in the fleet view (default host-pid-random). */
  workerId: string;
  /** HEADKV_MODEL_DIR: the model folder this worker's engine loads. */
  modelDir: string;
  /** HEADKV_MODEL_ID: the `model` value requests must name (default: the folder's name). */
  modelId: string;
  /** HEADKV_MAX_SEQUENCES: sequences the engine batches together = job concurrency. */
  maxSequences: number;
  /** HEADKV_THREADS: CPU threads of the engine (0 = all cores). */
  threads: number;
  /** HEADKV_DEVICE ('cpu' | 'cuda', default cpu) and HEADKV_GPU (the GPU ordinal, default 0). */
  device: EngineDevice;
  gpuIndex: number;
  /** HEADKV_MAX_CONTEXT: longest prompt + completion in tokens (0 = the model's own limit). */
  maxContext: number;
  /**
   * HEADKV_KV_CACHE_BYTES: size of the engine's KV page pool (0 = the engine's default). A request
   * whose prompt cache cannot fit the whole pool fails with the engine's out-of-memory error.
   */
  kvCacheBytes: number;
  /**
   * HEADKV_QUARANTINE_AFTER_CRASHES: a request whose worker process died while running it this many
   * times (killed, crashed, out of host memory) is not run again: it fails as `quarantined`, so that
   * one poison request cannot take down worker after worker.
   */
  quarantineAfterCrashes: number;
  /**
   * HEADKV_MAP_REDUCE ('on' | 'off', default on): a chat request whose prompt does not fit the
   * context but whose last (user) message can be cut into chunks runs as map-reduce (see
   * processing/map-reduce.ts) instead of failing with context_length_exceeded.
   */
  mapReduce: boolean;
  /** HEADKV_MAP_SUMMARY_TOKENS: completion budget of each chunk summary of a map-reduce (default 128). */
  mapSummaryTokens: number;
  /** HEADKV_DRAIN_MS: on SIGTERM, how long running jobs may finish before they are handed back. */
  drainTimeoutMs: number;
  /**
   * HEADKV_PROFILE_MISSING: what a headkv-r/headkv-r2 request does while its model has no profile
   * yet: 'fallback' runs it with snapkv at the same kv_size and says so in usage; 'wait' waits
   * for the fleet's profiling job. Either way the profiling job is started (once for the fleet).
   */
  profileMissing: 'fallback' | 'wait';
  /** Probe settings of profiling jobs this worker starts (HEADKV_PROFILE_MAX_LENGTH, _LENGTHS, _DEPTHS, _COUNT_ALL). */
  profileProbe: ProfileProbeSettings;
}

function profileMissingOf(value: string | undefined): WorkerConfig['profileMissing'] {
  if (value === undefined || value === '' || value === 'fallback') return 'fallback';
  if (value === 'wait') return 'wait';
  throw new Error(`environment variable HEADKV_PROFILE_MISSING="${value}" must be 'fallback' or 'wait'`);
}

function deviceOf(value: string | undefined): EngineDevice {
  if (value === undefined || value === '' || value === 'cpu') return 'cpu';
  if (value === 'cuda') return 'cuda';
  throw new Error(`environment variable HEADKV_DEVICE="${value}" must be 'cpu' or 'cuda'`);
}

function mapReduceOf(value: string | undefined): boolean {
  if (value === undefined || value === '' || value === 'on') return true;
  if (value === 'off') return false;
  throw new Error(`environment variable HEADKV_MAP_REDUCE="${value}" must be 'on' or 'off'`);
}

export function workerConfigFromEnv(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  const modelDir = path.resolve(env.HEADKV_MODEL_DIR || DEFAULT_MODEL_DIR);
  return {
    ...fleetSettingsFromEnv(env),
    workerId: env.HEADKV_WORKER_ID || `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    modelDir,
    modelId: env.HEADKV_MODEL_ID || path.basename(modelDir),
    maxSequences: envInteger(env, 'HEADKV_MAX_SEQUENCES', 4),
    threads: envInteger(env, 'HEADKV_THREADS', 0, 0),
    device: deviceOf(env.HEADKV_DEVICE),
    gpuIndex: envInteger(env, 'HEADKV_GPU', 0, 0),
    maxContext: envInteger(env, 'HEADKV_MAX_CONTEXT', 0, 0),
    kvCacheBytes: envInteger(env, 'HEADKV_KV_CACHE_BYTES', 0, 0),
    quarantineAfterCrashes: envInteger(env, 'HEADKV_QUARANTINE_AFTER_CRASHES', 3),
    mapReduce: mapReduceOf(env.HEADKV_MAP_REDUCE),
    mapSummaryTokens: envInteger(env, 'HEADKV_MAP_SUMMARY_TOKENS', 128, 1),
    drainTimeoutMs: envInteger(env, 'HEADKV_DRAIN_MS', 30000, 0),
    profileMissing: profileMissingOf(env.HEADKV_PROFILE_MISSING),
    profileProbe: {
      maxLength: envInteger(env, 'HEADKV_PROFILE_MAX_LENGTH', 4096, 64),
      lengths: envInteger(env, 'HEADKV_PROFILE_LENGTHS', 5),
      depths: envInteger(env, 'HEADKV_PROFILE_DEPTHS', 10),
      seed: envInteger(env, 'HEADKV_PROFILE_SEED', 0, 0),
      countAllTrials: env.HEADKV_PROFILE_COUNT_ALL === '1',
    },
  };
}
