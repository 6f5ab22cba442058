// `headkv eval`: a small run on the shipped model writes results.json, cases.jsonl and plot.svg
// and prints JSON; bad options and a missing profile are one-line errors.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

import { CLI_BIN, REPO_ROOT } from '../helpers/repo-paths';

const TINY = path.join(REPO_ROOT, 'models', 'headkv-tiny');
const DEMO = path.join(REPO_ROOT, 'models', 'tiny-random-llama');

function headkv(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI_BIN, ...args], { cwd: REPO_ROOT, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('a one-case run prints JSON and writes the results, the cases and the plot', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'headkv-eval-'));
  const result = headkv(
    'eval',
    '--model',
    TINY,
    '--tasks',
    'niah_single',
    '--lengths',
    '1024',
    '--limit',
    '1',
    '--methods',
    'full,snapkv,headkv-r2',
    '--kv-sizes',
    '16',
    '--threads',
    '2',
    '--json',
    '--out',
    out,
  );
  assert.equal(result.status, 0, result.stderr);
  const report = JSON.parse(result.stdout) as {
    configs: { method: string; cases: number; cacheShare: number }[];
  };
  assert.deepEqual(
    report.configs.map((c) => c.method),
    ['full', 'snapkv', 'headkv-r2'],
  );
  assert.ok(report.configs.every((c) => c.cases === 1));
  assert.equal(report.configs[0].cacheShare, 1);
  assert.ok(report.configs[1].cacheShare < 0.1);
  assert.deepEqual(
    JSON.parse(fs.readFileSync(path.join(out, 'results.json'), 'utf8')).configs,
    report.configs,
  );
  assert.equal(fs.readFileSync(path.join(out, 'cases.jsonl'), 'utf8').trim().split('\n').length, 3);
  assert.ok(fs.readFileSync(path.join(out, 'plot.svg'), 'utf8').startsWith('<svg'));
});

test('bad options and a missing profile are one-line errors', () => {
  const unknownMethod = headkv('eval', '--model', TINY, '--methods', 'full,bogus');
  assert.notEqual(unknownMethod.status, 0);
  assert.match(unknownMethod.stderr, /unknown method 'bogus'/);
  const unknownSuite = headkv('eval', '--model', TINY, '--suite', 'nope', '--methods', 'full');
  assert.equal(unknownSuite.status, 1);
  assert.match(unknownSuite.stderr, /^headkv: unknown suite 'nope'/);
  const noProfile = headkv('eval', '--model', DEMO, '--methods', 'headkv-r2', '--limit', '1');
  assert.equal(noProfile.status, 1);
  assert.match(noProfile.stderr, /headkv-r2 needs a head-importance profile/);
  assert.equal(noProfile.stderr.trim().split('\n').length, 1);
});
