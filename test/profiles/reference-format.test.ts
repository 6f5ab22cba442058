// The reference's head-score files: "layer-head" keys in layer-major order -> per-trial lists.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';

import {
  headScoresOf,
  parseProfile,
  parseReferenceScores,
  profileFromReference,
  ProfileError,
  toReferenceScores,
} from '@headkv/profiles';

import { REPO_ROOT } from '../helpers/repo-paths';
import { FINGERPRINT_A } from './profile-helpers';

const SYNTHETIC = path.join(REPO_ROOT, 'test', 'profiles', 'fixtures', 'reference-2x3.json');
const LLAMA_R2 = path.join(
  REPO_ROOT,
  '..',
  'shared',
  'reference',
  'head_scores',
  'Meta-Llama-3-8B-Instruct_retrieval_reasoning_heads.json',
);

function readJson(file: string): unknown {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

const importOptions = (nLayers: number, nHeads: number, nKvHeads: number) => ({
  model: {
    fingerprint: FINGERPRINT_A,
    architecture: 'LlamaForCausalLM',
    n_layers: nLayers,
    n_heads: nHeads,
    n_kv_heads: nKvHeads,
  },
  method: 'headkv-r2' as const,
  granularity: 'kv-head' as const,
  engineVersion: '0.1.0',
  createdAt: new Date('2026-11-28T00:00:00Z'),
});

test('a synthetic reference file: shape inferred, scores are the means', () => {
  const ref = parseReferenceScores(readJson(SYNTHETIC), SYNTHETIC);
  assert.equal(ref.nLayers, 2);
  assert.equal(ref.nHeads, 3);
  assert.deepEqual(ref.scores, [
    [0.25, 0, 0.75],
    [0.125, 0.5, 0.03125],
  ]);
  assert.deepEqual(ref.trials[1][1], [0.75, 0.25, 0.5, 0.5]);
});

test('import, export and import again gives the same profile scores', () => {
  const ref = parseReferenceScores(readJson(SYNTHETIC), SYNTHETIC);
  const profile = profileFromReference(ref, SYNTHETIC, importOptions(2, 3, 1));
  assert.equal(profile.imported_from, 'reference:reference-2x3.json');
  assert.equal(profile.trials, 4);
  const exported = toReferenceScores(profile);
  assert.deepEqual(Object.keys(exported), ['0-0', '0-1', '0-2', '1-0', '1-1', '1-2']);
  const again = parseReferenceScores(JSON.parse(JSON.stringify(exported)), 'exported.json');
  assert.deepEqual(again.scores, profile.scores);
  // The profile document itself survives a JSON round trip.
  assert.deepEqual(parseProfile(JSON.parse(JSON.stringify(profile)), 'p.json'), profile);
});

test('malformed reference files are rejected with the key', () => {
  const bad = (value: unknown, pattern: RegExp) =>
    assert.throws(
      () => parseReferenceScores(value, 'ref.json'),
      (e: Error) => e instanceof ProfileError && pattern.test(e.message),
    );
  bad([], /^ref\.json: a reference score file is one JSON object/);
  bad({}, /no "layer-head" keys/);
  bad({ '0-0': [1], 'x-1': [1] }, /key "x-1" is not "layer-head"/);
  bad({ '0-0': [1], '0-1': [1], '1-1': [1] }, /3 keys, but the largest key implies 2 layers x 2 heads = 4/);
  bad(
    { '0-0': [1], '1-0': [1], '0-1': [1], '1-1': [1] },
    /key #1 is "1-0", expected "0-1" \(layer-major order\)/,
  );
  bad({ '0-0': [] }, /"0-0": expected a non-empty list/);
  bad({ '0-0': [1, -1] }, /"0-0"\[1\]: expected a finite number >= 0, got -1/);
  bad({ '0-0': [1, 'x'] }, /"0-0"\[1\]: expected a finite number >= 0, got "x"/);
});

test('a reference file of another shape than the model is refused', () => {
  const ref = parseReferenceScores(readJson(SYNTHETIC), SYNTHETIC);
  assert.throws(
    () => profileFromReference(ref, 'ref.json', importOptions(2, 4, 2)),
    /ref\.json: scores are 2 layers x 3 heads, the model has 2 x 4/,
  );
});

test(
  'the published Llama-3-8B R2 scores round-trip',
  { skip: !fs.existsSync(LLAMA_R2) && `${LLAMA_R2} not present` },
  () => {
    const ref = parseReferenceScores(readJson(LLAMA_R2), LLAMA_R2);
    assert.equal(ref.nLayers, 32);
    assert.equal(ref.nHeads, 32);
    const profile = profileFromReference(ref, LLAMA_R2, importOptions(32, 32, 8));
    const again = parseReferenceScores(
      JSON.parse(JSON.stringify(toReferenceScores(profile))),
      'exported.json',
    );
    assert.deepEqual(again.scores, ref.scores);
    assert.equal(headScoresOf(profile).length, 1024);
  },
);
