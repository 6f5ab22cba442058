// `headkv generate`: the --json output shape, agreement with the engine library, streaming mode,
// and errors as one stderr line with a non-zero exit.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

import { Engine, loadNativeAddon } from '@headkv/engine';

import { LLAMA_FIXTURE_DIR } from '../helpers/fixtures';
import { CLI_BIN, REPO_ROOT } from '../helpers/repo-paths';

function headkv(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI_BIN, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const PROMPT = 'Once upon a time';

test('generate --json prints one object with the documented fields, equal to the engine', async () => {
  const run = headkv([
    'generate',
    '--model',
    LLAMA_FIXTURE_DIR,
    '--prompt',
    PROMPT,
    '--max-tokens',
    '6',
    '--json',
  ]);
  assert.equal(run.status, 0, run.stderr);
  const lines = run.stdout.trim().split('\n');
  assert.equal(lines.length, 1, 'exactly one line of JSON');
  const output = JSON.parse(lines[0]);
  assert.deepEqual(Object.keys(output).sort(), [
    'finish_reason',
    'kv',
    'prompt_tokens',
    'text',
    'timings',
    'token_ids',
  ]);
  assert.deepEqual(Object.keys(output.kv).sort(), ['bytes_full', 'bytes_kept', 'kv_size', 'method']);
  assert.deepEqual(Object.keys(output.timings).sort(), [
    'decode_ms',
    'decode_tokens_per_s',
    'prefill_ms',
    'prefill_tokens_per_s',
  ]);
  assert.equal(output.kv.method, 'full');
  assert.ok(output.kv.bytes_full > 0 && output.kv.bytes_kept === output.kv.bytes_full);

  const engine = await Engine.load(LLAMA_FIXTURE_DIR, { maxSequences: 1 });
  try {
    const expected = await engine.generate({ prompt: PROMPT, maxTokens: 6 });
    assert.deepEqual(output.token_ids, expected.tokenIds);
    assert.equal(output.text, expected.text);
    assert.equal(output.prompt_tokens, expected.promptTokens);
    assert.equal(output.finish_reason, expected.finishReason);
  } finally {
    await engine.dispose();
  }
});

test('generate with --prompt-ids, --chat and a compressed cache', () => {
  const ids = headkv([
    'generate',
    '--model',
    LLAMA_FIXTURE_DIR,
    '--prompt-ids',
    '5,6,7,8',
    '--max-tokens',
    '3',
    '--json',
  ]);
  assert.equal(ids.status, 0, ids.stderr);
  assert.equal(JSON.parse(ids.stdout).prompt_tokens, 4);
  const chat = headkv([
    'generate',
    '--model',
    LLAMA_FIXTURE_DIR,
    '--prompt',
    'Hi',
    '--chat',
    '--max-tokens',
    '2',
    '--json',
  ]);
  assert.equal(chat.status, 0, chat.stderr);
  assert.ok(JSON.parse(chat.stdout).prompt_tokens > 4, 'the chat template adds tokens around the message');
  const snap = headkv([
    'generate',
    '--model',
    LLAMA_FIXTURE_DIR,
    '--prompt',
    'The quick brown fox jumps over the lazy dog. '.repeat(6),
    '--kv-method',
    'snapkv',
    '--kv-size',
    '16',
    '--max-tokens',
    '2',
    '--json',
  ]);
  assert.equal(snap.status, 0, snap.stderr);
  const kv = JSON.parse(snap.stdout).kv;
  assert.equal(kv.method, 'snapkv');
  assert.equal(kv.kv_size, 16);
  assert.ok(kv.bytes_kept < kv.bytes_full, JSON.stringify(kv));
});

test("generate --dump-selection writes every head's kept prompt positions, consistent with bytes_kept", () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'headkv-selection-')), 'selection.json');
  const prompt = Array.from({ length: 60 }, (_, i) => String(((i * 7) % 200) + 3)).join(',');
  const out = headkv([
    'generate',
    '--model',
    LLAMA_FIXTURE_DIR,
    '--prompt-ids',
    prompt,
    '--kv-method',
    'snapkv',
    '--kv-size',
    '16',
    '--max-tokens',
    '3',
    '--dump-selection',
    file,
    '--json',
  ]);
  assert.equal(out.status, 0, out.stderr);
  const result = JSON.parse(out.stdout);
  const dump = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.equal(dump.method, 'snapkv');
  assert.equal(dump.prompt_tokens, 60);
  const heads = (dump.positions as number[][][]).flat();
  assert.equal(heads.length, 3 * dump.cache_heads, 'one list per layer and cache head');
  for (const positions of heads) {
    // SnapKV keeps kv_size positions per head: 8 selected plus the window [52, 60).
    assert.equal(positions.length, 16);
    assert.deepEqual(positions.slice(-8), [52, 53, 54, 55, 56, 57, 58, 59]);
    assert.deepEqual(
      [...positions].sort((a, b) => a - b),
      positions,
      'ascending',
    );
  }
  // Kept bytes: the kept prompt tokens plus the 2 fed generated tokens, in every head.
  const tokenBytes = result.kv.bytes_full / ((60 + 2) * 3 * dump.cache_heads);
  assert.equal(result.kv.bytes_kept, (16 + 2) * heads.length * tokenBytes);
});

test('generate --kv-method headkv-r2 reads head scores from --profile', async () => {
  const model = await loadNativeAddon().loadModel(LLAMA_FIXTURE_DIR, { threads: 1 });
  const info = model.info();
  model.dispose();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'headkv-cli-profile-'));
  const profileFile = path.join(dir, 'profile.json');
  const scores = Array.from({ length: info.nLayers }, (_, layer) =>
    Array.from({ length: info.nHeads }, (_, head) => ((layer * info.nHeads + head) % 4 === 0 ? 1 : 0.01)),
  );
  fs.writeFileSync(
    profileFile,
    JSON.stringify({
      schema_version: 1,
      model: {
        fingerprint: info.fingerprint,
        architecture: info.architecture,
        n_layers: info.nLayers,
        n_heads: info.nHeads,
        n_kv_heads: info.nKvHeads,
      },
      method: 'headkv-r2',
      granularity: 'kv-head',
      scores,
      imported_from: 'test: every fourth head important',
      engine_version: loadNativeAddon().version(),
      created_at: new Date().toISOString(),
    }),
  );
  try {
    const base = ['generate', '--model', LLAMA_FIXTURE_DIR, '--prompt', 'The quick brown fox. '.repeat(12)];
    const args = [...base, '--kv-method', 'headkv-r2', '--kv-size', '16', '--max-tokens', '2', '--json'];
    const run = headkv([...args, '--profile', profileFile]);
    assert.equal(run.status, 0, run.stderr);
    const kv = JSON.parse(run.stdout).kv;
    assert.equal(kv.method, 'headkv-r2');
    assert.ok(kv.bytes_kept < kv.bytes_full, JSON.stringify(kv));
    const missing = headkv(args);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /^headkv: headkv-r2 needs a head-importance profile: give --profile FILE/);
    assert.equal(missing.stderr.trim().split('\n').length, 1);
    const wrongMethod = headkv([
      ...base,
      '--kv-method',
      'headkv-r',
      '--kv-size',
      '16',
      '--profile',
      profileFile,
    ]);
    assert.notEqual(wrongMethod.status, 0);
    assert.match(wrongMethod.stderr, /method: the profile holds headkv-r2 scores/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('without --json the text streams to stdout and a summary line goes to stderr', () => {
  const run = headkv(['generate', '--model', LLAMA_FIXTURE_DIR, '--prompt', PROMPT, '--max-tokens', '4']);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /^finish=length prompt=\d+ generated=4 .*tok\/s/);
  assert.equal(run.stderr.trim().split('\n').length, 1);
});

for (const [name, args, pattern] of [
  ['missing model folder', ['generate', '--model', 'no/such/model', '--prompt', 'x'], /no\/such\/model/],
  ['no prompt', ['generate', '--model', LLAMA_FIXTURE_DIR], /exactly one of --prompt/],
  [
    'bad number',
    ['generate', '--model', LLAMA_FIXTURE_DIR, '--prompt', 'x', '--max-tokens', 'ten'],
    /--max-tokens/,
  ],
  [
    'bad kv method',
    ['generate', '--model', LLAMA_FIXTURE_DIR, '--prompt', 'x', '--kv-method', 'zip'],
    /kv-method/,
  ],
  [
    'missing prompt file',
    ['generate', '--model', LLAMA_FIXTURE_DIR, '--prompt-file', 'no/such.txt'],
    /no\/such\.txt/,
  ],
] as const) {
  test(`error: ${name} -> non-zero exit and one stderr line`, () => {
    const run = headkv([...args]);
    assert.notEqual(run.status, 0);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0], pattern);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(run.stdout, '');
  });
}

test('bin/headkv.js without a build says to run npm run build', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'headkv-unbuilt-'));
  try {
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.copyFileSync(CLI_BIN, path.join(dir, 'bin', 'headkv.js'));
    const run = spawnSync(process.execPath, [path.join(dir, 'bin', 'headkv.js'), 'generate'], {
      encoding: 'utf8',
    });
    assert.equal(run.status, 1);
    assert.equal(
      run.stderr,
      'headkv: not built yet (dist/apps/cli/src/main.js is missing): run npm run build\n',
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
