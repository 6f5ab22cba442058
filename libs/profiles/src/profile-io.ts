// profile-io.ts: reading, validating, writing profiles, and the checks that bind a profile to
// the model it is used with.
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { z } from 'zod';

import { ProfileError } from './profile-error';
import { HeadProfile, ProfileModel, profileSchema } from './profile-schema';

// "model.fingerprint", "scores[3][1]", "(root)".
function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

function describeIssues(source: string, issues: readonly z.core.$ZodIssue[]): string {
  const lines = issues.map((issue) => `${fieldPath(issue.path)}: ${issue.message}`);
  return `${source}: invalid profile: ${lines.join('; ')}`;
}

// Validates a parsed JSON value; `source` names it in errors (usually the file path).
export function parseProfile(value: unknown, source: string): HeadProfile {
  const result = profileSchema.safeParse(value);
  if (!result.success) throw new ProfileError(describeIssues(source, result.error.issues));
  return result.data;
}

export function loadProfile(file: string): HeadProfile {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new ProfileError(
      `${file}: cannot read profile (${(error as NodeJS.ErrnoException).code ?? error})`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ProfileError(`${file}: invalid JSON: ${(error as Error).message}`);
  }
  return parseProfile(value, file);
}

export function serializeProfile(profile: HeadProfile): string {
  return `${JSON.stringify(parseProfile(profile, 'profile to write'), null, 2)}\n`;
}

export function saveProfile(file: string, profile: HeadProfile): void {
  fs.writeFileSync(file, serializeProfile(profile));
}

// Refuses a profile made for another model (a profile's scores mean nothing elsewhere).
export function assertProfileForModel(profile: HeadProfile, model: ProfileModel, source: string): void {
  if (profile.model.fingerprint !== model.fingerprint) {
    throw new ProfileError(
      `${source}: profile is for model ${profile.model.fingerprint}, this model is ${model.fingerprint}`,
    );
  }
  for (const field of ['n_layers', 'n_heads', 'n_kv_heads'] as const) {
    if (profile.model[field] !== model[field]) {
      throw new ProfileError(
        `${source}: model.${field}: profile has ${profile.model[field]}, this model has ${model[field]}`,
      );
    }
  }
}

// The engine's head_scores: n_layers * n_heads floats, layer-major.
export function headScoresOf(profile: HeadProfile): Float32Array {
  return Float32Array.from(profile.scores.flat());
}

// The profile a model folder carries for headkv-r / headkv-r2 when none is named.
export const MODEL_PROFILE_FILE = 'headkv_profile.json';

// The profile for a HeadKV request: `file` when given, else the model folder's
// headkv_profile.json; checked against the model and the requested method.
export function resolveProfile(
  file: string | undefined,
  modelDir: string,
  model: ProfileModel,
  method: HeadProfile['method'],
): { file: string; profile: HeadProfile } {
  const chosen = file ?? path.join(modelDir, MODEL_PROFILE_FILE);
  if (file === undefined && !fs.existsSync(chosen)) {
    throw new ProfileError(
      `${method} needs a head-importance profile: give --profile FILE, or create ${chosen} with ` +
        `"headkv profile --model ${modelDir} --method ${method === 'headkv-r' ? 'r' : 'r2'} --out ${chosen}"`,
    );
  }
  const profile = loadProfile(chosen);
  assertProfileForModel(profile, model, chosen);
  if (profile.method !== method) {
    throw new ProfileError(
      `${chosen}: method: the profile holds ${profile.method} scores, the request asks for ${method}`,
    );
  }
  return { file: chosen, profile };
}
