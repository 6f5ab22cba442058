// reference-format.ts: the head-score files published with the paper ("layer-head" keys in
// layer-major order, each value the list of per-trial scores; a head's score is the mean).
import { ProfileError } from './profile-error';
import { parseProfile } from './profile-io';
import { HeadProfile, PROFILE_SCHEMA_VERSION } from './profile-schema';

export interface ReferenceScores {
  nLayers: number;
  nHeads: number;
  // trials[layer][head]: the per-trial scores as published.
  trials: number[][][];
  // scores[layer][head]: mean of the head's trials.
  scores: number[][];
}

const KEY = /^(0|[1-9]\d*)-(0|[1-9]\d*)$/;

function mean(values: readonly number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

// Checks and reads a parsed reference file; L and H are inferred from the keys, which must be
// exactly "0-0", "0-1", ... in layer-major order.
export function parseReferenceScores(value: unknown, source: string): ReferenceScores {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ProfileError(`${source}: a reference score file is one JSON object of "layer-head" keys`);
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) throw new ProfileError(`${source}: no "layer-head" keys`);
  let nLayers = 0;
  let nHeads = 0;
  for (const [key] of entries) {
    const match = KEY.exec(key);
    if (!match) throw new ProfileError(`${source}: key "${key}" is not "layer-head"`);
    nLayers = Math.max(nLayers, Number(match[1]) + 1);
    nHeads = Math.max(nHeads, Number(match[2]) + 1);
  }
  if (entries.length !== nLayers * nHeads) {
    throw new ProfileError(
      `${source}: ${entries.length} keys, but the largest key implies ${nLayers} layers x ${nHeads} heads = ${nLayers * nHeads}`,
    );
  }
  const trials: number[][][] = [];
  entries.forEach(([key, list], index) => {
    const layer = Math.floor(index / nHeads);
    const head = index % nHeads;
    if (key !== `${layer}-${head}`) {
      throw new ProfileError(
        `${source}: key #${index} is "${key}", expected "${layer}-${head}" (layer-major order)`,
      );
    }
    if (!Array.isArray(list) || list.length === 0) {
      throw new ProfileError(`${source}: "${key}": expected a non-empty list of per-trial scores`);
    }
    list.forEach((v: unknown, t) => {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
        throw new ProfileError(
          `${source}: "${key}"[${t}]: expected a finite number >= 0, got ${JSON.stringify(v)}`,
        );
      }
    });
    if (head === 0) trials.push([]);
    trials[layer].push(list as number[]);
  });
  return { nLayers, nHeads, trials, scores: trials.map((row) => row.map(mean)) };
}

// A profile's scores in the reference format: each head's list holds its one (mean) score, so
// importing the export gives the same scores back.
export function toReferenceScores(profile: HeadProfile): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  profile.scores.forEach((row, layer) =>
    row.forEach((score, head) => {
      out[`${layer}-${head}`] = [score];
    }),
  );
  return out;
}

export interface ReferenceImportOptions {
  model: HeadProfile['model'];
  method: HeadProfile['method'];
  granularity: HeadProfile['granularity'];
  engineVersion: string;
  createdAt: Date;
}

// A profile of reference scores for `model`, whose shape must match the file's.
export function profileFromReference(
  reference: ReferenceScores,
  source: string,
  options: ReferenceImportOptions,
): HeadProfile {
  const { model } = options;
  if (reference.nLayers !== model.n_layers || reference.nHeads !== model.n_heads) {
    throw new ProfileError(
      `${source}: scores are ${reference.nLayers} layers x ${reference.nHeads} heads, the model has ${model.n_layers} x ${model.n_heads}`,
    );
  }
  const baseName = source.split(/[\\/]/).pop() ?? source;
  return parseProfile(
    {
      schema_version: PROFILE_SCHEMA_VERSION,
      model,
      method: options.method,
      granularity: options.granularity,
      scores: reference.scores,
      trials: Math.max(...reference.trials.flat().map((list) => list.length)),
      imported_from: `reference:${baseName}`,
      engine_version: options.engineVersion,
      created_at: options.createdAt.toISOString(),
    },
    source,
  );
}
