// native-fuzz.test.ts: builds the libFuzzer targets of native/fuzz with clang (ASan + UBSan) in
// a build directory of their own and runs each for a fixed number of inputs from the committed
// seed corpus. A crash, a sanitizer report or an exception other than hkv::Error fails the test
// with libFuzzer's report and the reproducer path. clang is a CI requirement (.ci/run installs
// it); a machine without it fails here with the install line rather than skipping silently.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { REPO_ROOT } from '../helpers/repo-paths';

const FUZZ_BUILD_DIR = path.join(REPO_ROOT, 'native', 'build-fuzz');
const CORPUS_DIR = path.join(REPO_ROOT, 'native', 'fuzz', 'corpus');
const TARGETS = ['fuzz_json', 'fuzz_model_config', 'fuzz_safetensors'];
// Inputs per target: ~20 s in all on two cores, enough to get past the seeds' mutations.
const RUNS = 20000;
const MAX_INPUT_BYTES = 8192;

function run(command: string, args: string[]): { ok: boolean; output: string } {
  const result = spawnSync(command, args, { cwd: REPO_ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}`;
  return { ok: result.status === 0, output };
}

function requireClang(): void {
  const probe = spawnSync('clang++', ['--version'], { encoding: 'utf8' });
  assert.ok(
    probe.status === 0,
    'clang++ not found: the libFuzzer targets need clang with its fuzzer runtime ' +
      '(Debian: apt-get install -y clang; .ci/run installs it)',
  );
}

test('libFuzzer: the native loader targets build with clang', { timeout: 10 * 60 * 1000 }, () => {
  requireClang();
  const configure = run('cmake', [
    '-S',
    'native',
    '-B',
    FUZZ_BUILD_DIR,
    '-DCMAKE_CXX_COMPILER=clang++',
    '-DHKV_FUZZ=ON',
    '-DHEADKV_CUDA=OFF',
    '-DHKV_NATIVE_ARCH=OFF',
  ]);
  assert.ok(configure.ok, `cmake configure of ${FUZZ_BUILD_DIR} failed:\n${configure.output}`);
  const build = run('cmake', ['--build', FUZZ_BUILD_DIR, '-j', '2', '--target', ...TARGETS]);
  assert.ok(build.ok, `building ${TARGETS.join(', ')} failed:\n${build.output}`);
});

for (const target of TARGETS) {
  test(`libFuzzer: ${target} survives ${RUNS} inputs`, { timeout: 5 * 60 * 1000 }, () => {
    requireClang();
    const seeds = path.join(CORPUS_DIR, target);
    assert.ok(
      readdirSync(seeds).length > 0,
      `${seeds}: empty seed corpus (node native/fuzz/make-seed-corpus.js)`,
    );
    // New inputs go to a scratch directory first, so the committed seeds are never modified.
    // It is kept when the test fails: it holds the reproducer.
    const scratch = mkdtempSync(path.join(tmpdir(), `${target}-`));
    const fuzz = run(path.join(FUZZ_BUILD_DIR, target), [
      scratch,
      seeds,
      `-runs=${RUNS}`,
      `-max_len=${MAX_INPUT_BYTES}`,
      '-seed=1',
      `-artifact_prefix=${scratch}${path.sep}`,
      '-print_final_stats=1',
    ]);
    const artifacts = readdirSync(scratch).filter((name) => /^(crash|leak|timeout|oom)-/.test(name));
    assert.ok(
      fuzz.ok && artifacts.length === 0,
      `${target} found a bug (reproducer in ${scratch}: ${artifacts.join(', ') || 'none written'}):\n${fuzz.output.slice(-6000)}`,
    );
    assert.match(
      fuzz.output,
      new RegExp(`Done ${RUNS} runs`),
      `${target} did not complete ${RUNS} runs:\n${fuzz.output.slice(-3000)}`,
    );
    rmSync(scratch, { recursive: true, force: true });
  });
}
