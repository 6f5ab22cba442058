// profile-schema.ts: the JSON document of a head-importance profile (HEADKV.md section 2), as a
// zod schema: one score per layer and query head of one model, and how they were obtained.
import { z } from 'zod';

export const PROFILE_SCHEMA_VERSION = 1;

export const PROFILE_METHODS = ['headkv-r', 'headkv-r2'] as const;
export type ProfileMethod = (typeof PROFILE_METHODS)[number];

export const PROFILE_GRANULARITIES = ['kv-head', 'query-head'] as const;
export type ProfileGranularity = (typeof PROFILE_GRANULARITIES)[number];

// What a HeadKV-R2 probe scores: the correct answer sentence (the paper) or the whole needle.
export const SCORED_SPANS = ['answer', 'needle'] as const;
export type ScoredSpan = (typeof SCORED_SPANS)[number];

const positiveInt = z.number().int().positive();

const modelSchema = z
  .object({
    // sha256 hex of config.json and every safetensors header (hkv_model_info.fingerprint).
    fingerprint: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits (sha256)'),
    architecture: z.string().min(1),
    n_layers: positiveInt,
    n_heads: positiveInt,
    n_kv_heads: positiveInt,
  })
  .strict();

// The probe settings that produced the scores; absent for scores imported from the reference.
const probeSchema = z
  .object({
    max_length: positiveInt,
    lengths: z.array(z.number().int().nonnegative()).min(1),
    depths: z.array(z.number().min(0).max(100)).min(1),
    needles: z.array(z.string().min(1)).min(1),
    seed: z.number().int().nonnegative(),
    // Tokens of each length left for the question and the answer.
    buffer: z.number().int().nonnegative(),
    // 'correct': the paper's rule (only trials answered correctly); 'all': every trial (for
    // models too small to answer, e.g. test models).
    counted_trials: z.enum(['correct', 'all']),
    // HeadKV-R2 only: 'needle' when the whole needle was scored instead of the answer sentence
    // (absent: the paper's rule).
    scored_span: z.enum(SCORED_SPANS).optional(),
  })
  .strict();

export const profileSchema = z
  .object({
    schema_version: z.literal(PROFILE_SCHEMA_VERSION),
    model: modelSchema,
    method: z.enum(PROFILE_METHODS),
    granularity: z.enum(PROFILE_GRANULARITIES),
    // scores[layer][query_head] >= 0; the engine L1-normalises them.
    scores: z.array(z.array(z.number().nonnegative())),
    // Probe trials answered correctly, over which the scores are averaged.
    trials: z.number().int().nonnegative().optional(),
    probe: probeSchema.optional(),
    // Where imported scores came from, e.g. "reference:Meta-Llama-3-8B-Instruct_retrieval_heads.json".
    imported_from: z.string().min(1).optional(),
    engine_version: z.string().min(1),
    created_at: z.iso.datetime(),
  })
  .strict()
  .superRefine((profile, ctx) => {
    const { n_layers, n_heads, n_kv_heads } = profile.model;
    if (n_heads % n_kv_heads !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['model', 'n_kv_heads'],
        message: `must divide n_heads (${n_heads}), got ${n_kv_heads}`,
      });
    }
    if (profile.scores.length !== n_layers) {
      ctx.addIssue({
        code: 'custom',
        path: ['scores'],
        message: `must have n_layers = ${n_layers} rows, got ${profile.scores.length}`,
      });
      return;
    }
    profile.scores.forEach((row, layer) => {
      if (row.length !== n_heads) {
        ctx.addIssue({
          code: 'custom',
          path: ['scores', layer],
          message: `must have n_heads = ${n_heads} scores, got ${row.length}`,
        });
      }
    });
    if (profile.scores.every((row) => row.every((s) => s === 0))) {
      ctx.addIssue({ code: 'custom', path: ['scores'], message: 'all scores are zero' });
    }
    if (profile.probe?.scored_span !== undefined && profile.method !== 'headkv-r2') {
      ctx.addIssue({
        code: 'custom',
        path: ['probe', 'scored_span'],
        message: 'is a headkv-r2 setting (headkv-r always scores the whole needle)',
      });
    }
    if (profile.probe === undefined && profile.imported_from === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['probe'],
        message: 'required unless the scores were imported (imported_from)',
      });
    }
  });

export type HeadProfile = z.infer<typeof profileSchema>;
export type ProfileModel = HeadProfile['model'];
export type ProbeSettings = NonNullable<HeadProfile['probe']>;

/** The model fields a profile records, as the engine reports them (ModelInfo, worker heartbeats). */
export interface EngineModelIdentity {
  fingerprint: string;
  architecture: string;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
}

export function profileModelOf(info: EngineModelIdentity): ProfileModel {
  return {
    fingerprint: info.fingerprint,
    architecture: info.architecture,
    n_layers: info.nLayers,
    n_heads: info.nHeads,
    n_kv_heads: info.nKvHeads,
  };
}
