import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { envInteger, fleetSettingsFromEnv, type FleetSettings } from '@headkv/queue';

export const WORKER_CONFIG = Symbol('WORKER_CONFIG');

/** Model of the embedded default, relative to the working directory. */
export const DEFAULT_MODEL_DIR = path.join('models', 'tiny-random-llama');

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
  /** HEADKV_MAX_CONTEXT: longest prompt + completion in tokens (0 = the model's own limit). */
  maxContext: number;
  /** HEADKV_DRAIN_MS: on SIGTERM, how long running jobs may finish before they are handed back. */
  drainTimeoutMs: number;
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
    maxContext: envInteger(env, 'HEADKV_MAX_CONTEXT', 0, 0),
    drainTimeoutMs: envInteger(env, 'HEADKV_DRAIN_MS', 30000, 0),
  };
}
