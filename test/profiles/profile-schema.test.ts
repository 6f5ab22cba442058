// Profile documents: validation errors name the file and the field; a profile for another
// model is refused; the engine's head scores are the matrix, layer-major.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

import {
  assertProfileForModel,
  HeadProfile,
  headScoresOf,
  loadProfile,
  parseProfile,
  ProfileError,
  resolveProfile,
  saveProfile,
} from '@headkv/profiles';

import { FINGERPRINT_A, FINGERPRINT_B, validProfile } from './profile-helpers';

function rejects(value: unknown, ...needles: string[]): void {
  assert.throws(
    () => parseProfile(value, 'p.json'),
    (error: unknown) => {
      assert.ok(error instanceof ProfileError, `not a ProfileError: ${String(error)}`);
      assert.ok(error.message.startsWith('p.json: invalid profile: '), error.message);
      for (const needle of needles)
        assert.ok(error.message.includes(needle), `"${needle}" not in: ${error.message}`);
      return true;
    },
  );
}

function withChange(change: (p: Record<string, unknown> & HeadProfile) => void): unknown {
  const profile = validProfile() as Record<string, unknown> & HeadProfile;
  change(profile);
  return profile;
}

test('a valid profile parses unchanged', () => {
  assert.deepEqual(parseProfile(validProfile(), 'p.json'), validProfile());
});

test('schema errors name the field', () => {
  rejects(
    withChange((p) => (p.schema_version = 2 as 1)),
    'schema_version',
  );
  rejects(
    withChange((p) => (p.model.fingerprint = 'xyz')),
    'model.fingerprint',
    '64 lowercase hex',
  );
  rejects(
    withChange((p) => (p.method = 'snapkv' as 'headkv-r')),
    'method',
  );
  rejects(
    withChange((p) => (p.granularity = 'layer' as 'kv-head')),
    'granularity',
  );
  rejects(
    withChange((p) => (p.scores[1][2] = -0.5)),
    'scores[1][2]',
  );
  rejects(
    withChange((p) => p.scores.pop()),
    'scores',
    'n_layers = 2 rows, got 1',
  );
  rejects(
    withChange((p) => p.scores[0].push(0.1)),
    'scores[0]',
    'n_heads = 4 scores, got 5',
  );
  rejects(
    withChange(
      (p) =>
        (p.scores = [
          [0, 0, 0, 0],
          [0, 0, 0, 0],
        ]),
    ),
    'scores',
    'all scores are zero',
  );
  rejects(
    withChange((p) => (p.model.n_kv_heads = 3)),
    'model.n_kv_heads',
    'divide n_heads (4)',
  );
  rejects(
    withChange((p) => (p.created_at = 'yesterday')),
    'created_at',
  );
  rejects(
    withChange((p) => (p.extra = 1)),
    'extra',
  );
  rejects(
    withChange((p) => delete (p as Partial<HeadProfile>).probe),
    'probe',
    'imported_from',
  );
  rejects(
    withChange((p) => p.probe && (p.probe.depths = [0, 120])),
    'probe.depths[1]',
  );
  rejects(
    withChange((p) => p.probe && (p.probe.counted_trials = 'some' as 'all')),
    'probe.counted_trials',
  );
  rejects(
    withChange((p) => p.probe && (p.probe.scored_span = 'facts' as 'needle')),
    'probe.scored_span',
  );
  rejects(
    withChange((p) => {
      p.method = 'headkv-r';
      if (p.probe) p.probe.scored_span = 'needle';
    }),
    'probe.scored_span',
    'headkv-r2 setting',
  );
  rejects([1, 2], '(root)');
});

test('a headkv-r2 profile may record a whole-needle scored span', () => {
  const profile = withChange((p) => {
    p.method = 'headkv-r2';
    if (p.probe) p.probe.scored_span = 'needle';
  });
  assert.deepEqual(parseProfile(profile, 'p.json'), profile);
});

test('load reports unreadable files and bad JSON with the file name', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hkv-profile-'));
  try {
    const missing = path.join(dir, 'missing.json');
    assert.throws(
      () => loadProfile(missing),
      new RegExp(`^ProfileError: ${missing}: cannot read profile \\(ENOENT\\)`),
    );
    const broken = path.join(dir, 'broken.json');
    fs.writeFileSync(broken, '{"schema_version": 1,');
    assert.throws(
      () => loadProfile(broken),
      (e: Error) => e.message.startsWith(`${broken}: invalid JSON`),
    );
    const good = path.join(dir, 'good.json');
    saveProfile(good, validProfile());
    assert.deepEqual(loadProfile(good), validProfile());
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a profile for another model is refused', () => {
  const profile = validProfile();
  assert.doesNotThrow(() => assertProfileForModel(profile, profile.model, 'p.json'));
  assert.throws(
    () => assertProfileForModel(profile, { ...profile.model, fingerprint: FINGERPRINT_B }, 'p.json'),
    (e: Error) =>
      e instanceof ProfileError &&
      e.message === `p.json: profile is for model ${FINGERPRINT_A}, this model is ${FINGERPRINT_B}`,
  );
  assert.throws(
    () => assertProfileForModel(profile, { ...profile.model, n_heads: 8 }, 'p.json'),
    /model\.n_heads: profile has 4, this model has 8/,
  );
});

test('head scores are the matrix, layer-major, as float32', () => {
  const scores = headScoresOf(validProfile());
  assert.ok(scores instanceof Float32Array);
  assert.deepEqual(Array.from(scores), [0.1, 0.0, 0.2, 0.05, 0.3, 0.15, 0.0, 0.2].map(Math.fround));
});

test("resolveProfile: the named file, else the model folder's headkv_profile.json", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hkv-profile-'));
  try {
    const model = validProfile().model;
    assert.throws(
      () => resolveProfile(undefined, dir, model, 'headkv-r2'),
      (e: Error) =>
        e instanceof ProfileError &&
        e.message.startsWith(
          `headkv-r2 needs a head-importance profile: give --profile FILE, or create ${path.join(dir, 'headkv_profile.json')}`,
        ) &&
        e.message.includes(`headkv profile --model ${dir} --method r2`),
    );
    saveProfile(path.join(dir, 'headkv_profile.json'), validProfile());
    assert.deepEqual(resolveProfile(undefined, dir, model, 'headkv-r2').profile, validProfile());
    assert.throws(
      () => resolveProfile(undefined, dir, model, 'headkv-r'),
      /headkv_profile\.json: method: the profile holds headkv-r2 scores, the request asks for headkv-r/,
    );
    assert.throws(
      () => resolveProfile(undefined, dir, { ...model, fingerprint: FINGERPRINT_B }, 'headkv-r2'),
      /profile is for model a{64}, this model is 0123/,
    );
    const named = path.join(dir, 'other.json');
    assert.throws(
      () => resolveProfile(named, dir, model, 'headkv-r2'),
      /other\.json: cannot read profile \(ENOENT\)/,
    );
    saveProfile(named, validProfile());
    assert.equal(resolveProfile(named, dir, model, 'headkv-r2').file, named);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
