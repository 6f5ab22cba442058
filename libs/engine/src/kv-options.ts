// kv-options.ts: checks a request's KV-compression options and turns them into addon params.
import { EngineError } from './engine-error';
import type { KvOptions } from './generate-types';
import { KV_METHODS, NativeKvParams, NativeModelInfo } from './native-addon';

function positiveInteger(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new EngineError('HKV_REQUEST', `kv.${field} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

export function toNativeKvParams(kv: KvOptions | undefined, model: NativeModelInfo): NativeKvParams {
  if (kv === undefined) return { method: 'full' };
  if (!KV_METHODS.includes(kv.method)) {
    throw new EngineError(
      'HKV_REQUEST',
      `kv.method must be one of ${KV_METHODS.join(', ')}; got '${kv.method}'`,
    );
  }
  const kvSize = positiveInteger(kv.kvSize, 'kvSize');
  if (kv.method !== 'full' && kvSize === undefined) {
    throw new EngineError('HKV_REQUEST', `kv.kvSize is required for kv.method '${kv.method}'`);
  }
  const isHeadKv = kv.method === 'headkv-r' || kv.method === 'headkv-r2';
  if (isHeadKv) {
    const expected = model.nLayers * model.nHeads;
    if (!(kv.headScores instanceof Float32Array) || kv.headScores.length !== expected) {
      throw new EngineError(
        'HKV_REQUEST',
        `kv.method '${kv.method}' needs kv.headScores: a Float32Array of n_layers * n_heads = ${expected} scores`,
      );
    }
  } else if (kv.headScores !== undefined) {
    throw new EngineError(
      'HKV_REQUEST',
      `kv.headScores only applies to headkv-r / headkv-r2, not '${kv.method}'`,
    );
  }
  const params: NativeKvParams = { method: kv.method };
  if (kvSize !== undefined) params.kvSize = kvSize;
  const window = positiveInteger(kv.window, 'window');
  if (window !== undefined) params.window = window;
  const poolKernel = positiveInteger(kv.poolKernel, 'poolKernel');
  if (poolKernel !== undefined) params.poolKernel = poolKernel;
  if (kv.beta !== undefined) params.beta = kv.beta;
  if (kv.temp !== undefined) params.temp = kv.temp;
  if (kv.granularity !== undefined) params.granularity = kv.granularity;
  if (kv.capAtPrompt !== undefined) params.capAtPrompt = kv.capAtPrompt;
  if (kv.groupAggregation !== undefined) params.groupAggregation = kv.groupAggregation;
  if (isHeadKv) params.headScores = kv.headScores;
  return params;
}
