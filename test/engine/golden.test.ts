// Golden greedy decoding through @headkv/engine against transformers (test/fixtures/golden):
// every model's greedy ids, all cases decoded together in one batch, and the last prompt
// position's logits through the addon within the fixture's tolerance.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';

import { Engine, loadNativeAddon } from '@headkv/engine';

import { goldenFixtures } from '../helpers/fixtures';

const fixtures = goldenFixtures();

test('golden fixtures exist', () => {
  assert.ok(fixtures.length > 0, 'no test/fixtures/golden/*.json: run tools/reference/make_fixtures.py');
});

for (const golden of fixtures) {
  test(`greedy tokens of ${path.basename(golden.file, '.json')} match transformers, batched`, async () => {
    const engine = await Engine.load(golden.modelDir, { maxSequences: golden.cases.length, threads: 2 });
    try {
      const results = await Promise.all(
        golden.cases.map((c) =>
          engine.generate({ promptIds: c.prompt_ids, maxTokens: c.greedy_ids.length, stopTokenIds: [] }),
        ),
      );
      results.forEach((result, i) => {
        assert.deepEqual(
          result.tokenIds,
          golden.cases[i].greedy_ids,
          `case ${i} (${golden.cases[i].prompt_ids.length} tokens)`,
        );
        assert.equal(result.finishReason, 'length');
        assert.equal(result.promptTokens, golden.cases[i].prompt_ids.length);
      });
    } finally {
      await engine.dispose();
    }
  });

  test(`last-position logits of ${path.basename(golden.file, '.json')} within ${golden.tolerance.logits_max_abs}`, async () => {
    const model = await loadNativeAddon().loadModel(golden.modelDir, { threads: 2 });
    const context = model.createContext({ maxSequences: 1, kvCacheBytes: 64 << 20 });
    try {
      for (const [i, c] of golden.cases.entries()) {
        const id = context.addSequence(
          Int32Array.from(c.prompt_ids),
          { maxNewTokens: 1 },
          { method: 'full' },
        );
        await context.prefill(id);
        const logits = context.logits(id);
        context.remove(id);
        const expected = c.logits[c.logits.length - 1];
        assert.equal(logits.length, expected.length);
        let worst = 0;
        for (let v = 0; v < expected.length; v++) worst = Math.max(worst, Math.abs(logits[v] - expected[v]));
        assert.ok(worst <= golden.tolerance.logits_max_abs, `case ${i}: max |logit diff| ${worst}`);
      }
    } finally {
      context.dispose();
      model.dispose();
    }
  });
}
