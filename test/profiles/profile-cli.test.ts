// The profile commands on the bundled tiny model: import of a reference score file (the model's
// fingerprint goes in), export back to the reference format, shape errors as one stderr line,
// and profiling through the engine's attention probes (deterministic for a seed).
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';

import { loadNativeAddon } from '@headkv/engine';
import { loadProfile, parseReferenceScores } from '@headkv/profiles';

import { REPO_ROOT, TINY_RANDOM_DIR } from '../helpers/repo-paths';

const PROFILE_COMMANDS = path.join(REPO_ROOT, 'dist', 'apps', 'cli', 'src', 'commands', 'profile.js');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'hkv-profile-cli-'));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

// The profile commands registered on a fresh `headkv` program, run as a child process.
function headkv(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const script =
    "const { Command } = require('commander');" +
    `const { registerProfile } = require(${JSON.stringify(PROFILE_COMMANDS)});` +
    "const program = new Command('headkv');" +
    'registerProfile(program);' +
    "program.parseAsync(process.argv.slice(1), { from: 'user' });";
  const result = spawnSync(process.execPath, ['-e', script, '--', ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

// 4 layers x 8 heads, like the tiny model: per-trial lists with known means.
function writeReference(file: string, nLayers: number, nHeads: number): number[][] {
  const doc: Record<string, number[]> = {};
  const means: number[][] = [];
  for (let l = 0; l < nLayers; l++) {
    means.push([]);
    for (let h = 0; h < nHeads; h++) {
      const trials = [((l + 1) * (h + 2)) % 7, (l * 3 + h) % 5, 0.5];
      doc[`${l}-${h}`] = trials;
      means[l].push((trials[0] + trials[1] + trials[2]) / 3);
    }
  }
  fs.writeFileSync(file, JSON.stringify(doc));
  return means;
}

async function modelFingerprint(): Promise<string> {
  const model = await loadNativeAddon().loadModel(TINY_RANDOM_DIR, { threads: 1 });
  try {
    return model.info().fingerprint;
  } finally {
    model.dispose();
  }
}

test('profile-import writes a profile bound to the model; profile-export gives the scores back', async () => {
  const reference = path.join(scratch, 'ref-4x8.json');
  const means = writeReference(reference, 4, 8);
  const out = path.join(scratch, 'imported.json');
  const run = headkv([
    'profile-import',
    '--reference',
    reference,
    '--model',
    TINY_RANDOM_DIR,
    '--method',
    'r2',
    '--out',
    out,
  ]);
  assert.equal(run.status, 0, run.stderr);
  const profile = loadProfile(out);
  assert.equal(profile.model.fingerprint, await modelFingerprint());
  assert.deepEqual([profile.model.n_layers, profile.model.n_heads, profile.model.n_kv_heads], [4, 8, 2]);
  assert.equal(profile.method, 'headkv-r2');
  assert.equal(profile.imported_from, 'reference:ref-4x8.json');
  assert.deepEqual(profile.scores, means);

  const exported = path.join(scratch, 'exported.json');
  const back = headkv(['profile-export', '--profile', out, '--out', exported]);
  assert.equal(back.status, 0, back.stderr);
  const again = parseReferenceScores(JSON.parse(fs.readFileSync(exported, 'utf8')), exported);
  assert.deepEqual(again.scores, means);
});

test('a reference file of another shape is refused with one stderr line', () => {
  const reference = path.join(scratch, 'ref-2x3.json');
  writeReference(reference, 2, 3);
  const run = headkv([
    'profile-import',
    '--reference',
    reference,
    '--model',
    TINY_RANDOM_DIR,
    '--method',
    'r',
    '--out',
    path.join(scratch, 'x.json'),
  ]);
  assert.equal(run.status, 1);
  assert.equal(run.stderr, `headkv: ${reference}: scores are 2 layers x 3 heads, the model has 4 x 8\n`);
  assert.ok(!fs.existsSync(path.join(scratch, 'x.json')));
});

test('profile-export of an invalid profile names the file and field', () => {
  const bad = path.join(scratch, 'bad.json');
  fs.writeFileSync(bad, JSON.stringify({ schema_version: 1 }));
  const run = headkv(['profile-export', '--profile', bad, '--out', path.join(scratch, 'y.json')]);
  assert.equal(run.status, 1);
  assert.match(run.stderr, new RegExp(`^headkv: ${bad}: invalid profile: model: `));
});

test('profile runs the probes on the tiny model, deterministically for a seed', async () => {
  const args = (out: string) => [
    'profile',
    '--model',
    TINY_RANDOM_DIR,
    '--method',
    'r2',
    '--max-length',
    '320',
    '--lengths',
    '2',
    '--depths',
    '3',
    '--buffer',
    '40',
    '--seed',
    '7',
    '--count-all-trials',
    '--threads',
    '2',
    '--out',
    out,
  ];
  const first = path.join(scratch, 'run-1.json');
  const run = headkv(args(first));
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /profile: trial 24\/24/);
  const profile = loadProfile(first);
  assert.equal(profile.model.fingerprint, await modelFingerprint());
  assert.equal(profile.trials, 24); // 4 needles x 2 lengths x 3 depths, all counted
  assert.deepEqual(profile.probe?.lengths, [0, 320]);
  assert.deepEqual(profile.probe?.depths, [0, 50, 100]);
  assert.equal(profile.probe?.counted_trials, 'all');
  const total = profile.scores.flat().reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(total - 1) < 1e-9, `scores are L1-normalised (sum ${total})`);

  const second = path.join(scratch, 'run-2.json');
  assert.equal(headkv(args(second)).status, 0);
  assert.deepEqual(loadProfile(second).scores, profile.scores);
});

test('a probe length beyond the model positions is refused before any trial runs', () => {
  const out = path.join(scratch, 'too-long.json');
  const run = headkv([
    'profile',
    '--model',
    TINY_RANDOM_DIR,
    '--method',
    'r',
    '--max-length',
    '4000',
    '--out',
    out,
  ]);
  assert.equal(run.status, 1);
  assert.equal(
    run.stderr,
    'headkv: --max-length 4000: must be at most 3840 (max_position_embeddings 4096 less 256 tokens for the question and answer)\n',
  );
  assert.ok(!fs.existsSync(out));
});

test('profile --scored-span needle scores the whole R2 needle and says so in the file; r refuses it', () => {
  const args = (out: string, method: string, span: string) => [
    'profile',
    '--model',
    TINY_RANDOM_DIR,
    '--method',
    method,
    '--max-length',
    '320',
    '--lengths',
    '2',
    '--depths',
    '2',
    '--buffer',
    '40',
    '--count-all-trials',
    '--scored-span',
    span,
    '--threads',
    '2',
    '--out',
    out,
  ];
  const answer = path.join(scratch, 'span-answer.json');
  const needle = path.join(scratch, 'span-needle.json');
  assert.equal(headkv(args(answer, 'r2', 'answer')).status, 0);
  const run = headkv(args(needle, 'r2', 'needle'));
  assert.equal(run.status, 0, run.stderr);
  const answerProfile = loadProfile(answer);
  const needleProfile = loadProfile(needle);
  // The paper's rule leaves the field out; the whole needle is a wider span, other scores.
  assert.equal(answerProfile.probe?.scored_span, undefined);
  assert.equal(needleProfile.probe?.scored_span, 'needle');
  assert.notDeepEqual(needleProfile.scores, answerProfile.scores);

  const refused = path.join(scratch, 'span-r.json');
  const r = headkv(args(refused, 'r', 'needle'));
  assert.equal(r.status, 1);
  assert.match(r.stderr, /scored span 'needle' is HeadKV-R2's option/);
  assert.ok(!fs.existsSync(refused));
  const bad = headkv(args(refused, 'r2', 'facts'));
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /--scored-span/);
});
