// profile-helpers.ts: a valid profile document for the profile tests to start from.
import type { HeadProfile } from '@headkv/profiles';

export const FINGERPRINT_A = 'a'.repeat(64);
export const FINGERPRINT_B = '0123456789abcdef'.repeat(4);

export function validProfile(): HeadProfile {
  return {
    schema_version: 1,
    model: {
      fingerprint: FINGERPRINT_A,
      architecture: 'LlamaForCausalLM',
      n_layers: 2,
      n_heads: 4,
      n_kv_heads: 2,
    },
    method: 'headkv-r2',
    granularity: 'kv-head',
    scores: [
      [0.1, 0.0, 0.2, 0.05],
      [0.3, 0.15, 0.0, 0.2],
    ],
    trials: 37,
    probe: {
      max_length: 4096,
      lengths: [0, 1024, 2048, 3072, 4096],
      depths: [0, 50, 100],
      needles: ['r2-a'],
      seed: 3,
      buffer: 200,
      counted_trials: 'correct',
    },
    engine_version: '0.1.0',
    created_at: '2026-11-28T00:00:00.000Z',
  };
}
