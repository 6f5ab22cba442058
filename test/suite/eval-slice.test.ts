// CI slice of the committed fidelity eval: a few test-split cases per method on the shipped
// headkv-tiny model, run through the engine exactly as `headkv eval` runs them (the command that
// made the committed slice is in models/headkv-tiny/eval/ci-slice/COMMAND). Asserts, with a
// tolerance of ONE case per method (floating-point sums may differ across CPUs and flip a
// near-tie token): each method's accuracy, the full-cache accuracy, and every ordering between
// two methods that the committed slice shows by more than that tolerance.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, test } from 'node:test';

import { Engine, KvMethod } from '@headkv/engine';
import { headScoresOf, resolveProfile } from '@headkv/profiles';
import {
  answerLine,
  buildSuite,
  EvalSummary,
  pretokenCounter,
  scoreCase,
  splitPatternOf,
  suiteSpec,
  TaskName,
} from '@headkv/suite';

import { REPO_ROOT } from '../helpers/repo-paths';

const MODEL_DIR = path.join(REPO_ROOT, 'models', 'headkv-tiny');
const SLICE_DIR = path.join(MODEL_DIR, 'eval', 'ci-slice');

interface SliceResults extends EvalSummary {
  lengths: number[];
  tasks: TaskName[];
  limit: number;
}

const committed = JSON.parse(fs.readFileSync(path.join(SLICE_DIR, 'results.json'), 'utf8')) as SliceResults;
let engine: Engine;

before(async () => {
  engine = await Engine.load(MODEL_DIR, { threads: 2, maxSequences: 1 });
});
after(async () => {
  await engine.dispose();
});

test('the committed slice of the fidelity eval reproduces within one case per method', async () => {
  const tokenizer = engine.tokenizer;
  assert.ok(tokenizer);
  const counter = pretokenCounter(
    (text) => tokenizer.encode(text, { addSpecialTokens: false }).length,
    splitPatternOf(path.join(MODEL_DIR, 'tokenizer.json')),
  );
  const cases = buildSuite(
    suiteSpec('ruler-tiny'),
    { split: 'test', limit: committed.limit, lengths: committed.lengths, tasks: committed.tasks },
    (text) => counter(text) + 1,
  );
  const info = engine.info;
  const model = {
    fingerprint: info.fingerprint,
    architecture: info.architecture,
    n_layers: info.nLayers,
    n_heads: info.nHeads,
    n_kv_heads: info.nKvHeads,
  };
  const measured = new Map<string, number>();
  for (const config of committed.configs) {
    const method = config.method as KvMethod;
    const headScores =
      method === 'headkv-r2'
        ? headScoresOf(resolveProfile(undefined, MODEL_DIR, model, method).profile)
        : undefined;
    let total = 0;
    for (const c of cases) {
      const result = await engine.generate({
        promptIds: tokenizer.encode(c.prompt),
        maxTokens: 64,
        temperature: 0,
        kv: config.kvSize === null ? { method: 'full' } : { method, kvSize: config.kvSize, headScores },
      });
      total += scoreCase(c.metric, answerLine(result.text), c.answer);
    }
    measured.set(config.method, (100 * total) / cases.length);
  }
  const tolerance = 100 / cases.length;
  for (const config of committed.configs) {
    const accuracy = measured.get(config.method) as number;
    assert.ok(
      Math.abs(accuracy - config.accuracy) <= tolerance + 1e-9,
      `${config.method}@${config.kvSize ?? 'full'}: ${accuracy.toFixed(1)} vs committed ${config.accuracy.toFixed(1)}`,
    );
  }
  for (const a of committed.configs) {
    for (const b of committed.configs) {
      if (a.accuracy - b.accuracy > tolerance + 1e-9) {
        assert.ok(
          (measured.get(a.method) as number) >= (measured.get(b.method) as number),
          `the committed slice has ${a.method} above ${b.method}`,
        );
      }
    }
  }
});
