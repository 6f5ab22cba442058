// tools/train/export_data.ts, the training data's exporter: --first-case draws a length's cases
// from a later index (fresh cases beside another export: a case is drawn from its task, length and
// index), a bad value is refused naming the option, and the validation split covers every test
// length with 24 cases a task.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { after, test } from 'node:test';

import { HEADKV_TINY_DIR, REPO_ROOT } from '../helpers/repo-paths';

const EXPORT_DATA = path.join(REPO_ROOT, 'dist', 'tools', 'train', 'export_data.js');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'export-data-'));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

interface ExportedCase {
  id: string;
  task: string;
  length: number;
  prompt: string;
  answer: string;
}

function exportTrain(name: string, extra: string[]): ReturnType<typeof spawnSync> {
  return spawnSync(
    process.execPath,
    [EXPORT_DATA, 'train', '--tokenizer', HEADKV_TINY_DIR, '--out', scratch, '--name', name, ...extra],
    { encoding: 'utf8' },
  );
}

function readCases(file: string): ExportedCase[] {
  const text = zlib.gunzipSync(fs.readFileSync(path.join(scratch, file))).toString('utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as ExportedCase);
}

test('--first-case K starts each length at its Kth case: the same cases as a plain export from there on', () => {
  const plan = ['--plan', '1024:6', '--tasks', 'variable_tracking,two_hop'];
  for (const [name, first] of [
    ['plain', '0'],
    ['later', '4'],
  ]) {
    const run = exportTrain(name, [...plan, '--first-case', first]);
    assert.equal(run.status, 0, String(run.stderr));
  }
  const plain = readCases('plain.jsonl.gz');
  const later = readCases('later.jsonl.gz');
  assert.deepEqual(
    plain.map((c) => c.id),
    [0, 0, 1, 1, 2, 2].map((i, n) => `train/${n % 2 === 0 ? 'variable_tracking' : 'two_hop'}/1024/${i}`),
  );
  // Cases 4..9 of the plan: indices 2..4 of each task; index 2 is in both exports, and equal there.
  assert.deepEqual(
    later.map((c) => c.id),
    [2, 2, 3, 3, 4, 4].map((i, n) => `train/${n % 2 === 0 ? 'variable_tracking' : 'two_hop'}/1024/${i}`),
  );
  assert.deepEqual(later.slice(0, 2), plain.slice(4, 6));
  const plainPrompts = new Set(plain.map((c) => c.prompt));
  assert.ok(
    later.slice(2).every((c) => !plainPrompts.has(c.prompt)),
    'cases past the plain export are new',
  );
});

test('a negative or fractional --first-case is refused, naming the option', () => {
  for (const bad of ['-1', '2.5', 'ten']) {
    const run = exportTrain('bad', ['--plan', '1024:1', '--first-case', bad]);
    assert.notEqual(run.status, 0, bad);
    assert.match(String(run.stderr), new RegExp(`--first-case: '${bad}' is not a non-negative integer`));
  }
  assert.equal(fs.existsSync(path.join(scratch, 'bad.jsonl.gz')), false);
});

test('the validation split: 24 cases of every task at each test length, 1K to 8K', () => {
  const run = exportTrain('train', ['--scale', '0.001']);
  assert.equal(run.status, 0, String(run.stderr));
  const counts = new Map<string, number>();
  for (const c of readCases('validation.jsonl.gz')) {
    assert.match(c.id, /^validation\//);
    const key = `${c.task}@${c.length}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  assert.equal(counts.size, 7 * 4);
  assert.deepEqual(new Set(counts.values()), new Set([24]));
  assert.deepEqual(
    [...new Set([...counts.keys()].map((k) => Number(k.split('@')[1])))].sort((a, b) => a - b),
    [1024, 2048, 4096, 8192],
  );
});
