// KV compression through the addon and the engine: which prompt positions each head keeps
// (ctx.selection), HeadKV's uneven per-head budgets from a head-score profile, and HeadKV
// requests batched with others giving the same tokens as alone.
import * as assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import {
  Engine,
  GenerateRequest,
  GenerateResult,
  loadNativeAddon,
  ModelInfo,
  NativeContext,
  NativeModel,
} from '@headkv/engine';

import { LLAMA_FIXTURE_DIR } from '../helpers/fixtures';

const PROMPT_LENGTH = 96;
const KV_SIZE = 24;
const WINDOW = 8;

let model: NativeModel;
let context: NativeContext;
let info: ModelInfo;

function promptIds(): Int32Array {
  return Int32Array.from({ length: PROMPT_LENGTH }, (_, i) => 3 + ((i * 53 + 11) % 150));
}

// A profile where a few heads matter much more than the rest (seeded, deterministic).
function skewedHeadScores(): Float32Array {
  const scores = new Float32Array(info.nLayers * info.nHeads);
  let state = 12345;
  for (let i = 0; i < scores.length; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    scores[i] = i % 5 === 0 ? 1 + state / 2147483648 : 0.01 * (state / 2147483648);
  }
  return scores;
}

before(async () => {
  model = await loadNativeAddon().loadModel(LLAMA_FIXTURE_DIR, { threads: 2 });
  info = model.info();
  context = model.createContext({ maxSequences: 2, kvCacheBytes: 32 << 20 });
});

after(() => {
  context.dispose();
  model.dispose();
});

async function selectionOf(kv: Parameters<NativeContext['addSequence']>[2]) {
  const id = context.addSequence(promptIds(), { maxNewTokens: 2 }, kv);
  try {
    await context.prefill(id);
    return { selection: context.selection(id), sequence: context.sequenceInfo(id) };
  } finally {
    context.remove(id);
  }
}

test('snapkv keeps kvSize positions per KV head, ascending, the window included', async () => {
  const { selection, sequence } = await selectionOf({ method: 'snapkv', kvSize: KV_SIZE, window: WINDOW });
  assert.equal(selection.cacheHeads, info.nKvHeads);
  assert.equal(selection.counts.length, info.nLayers * info.nKvHeads);
  let offset = 0;
  for (const count of selection.counts) {
    assert.equal(count, KV_SIZE);
    const kept = Array.from(selection.positions.subarray(offset, offset + count));
    offset += count;
    assert.deepEqual(
      kept,
      [...kept].sort((a, b) => a - b),
      'ascending',
    );
    assert.ok(kept.every((p) => p >= 0 && p < PROMPT_LENGTH));
    for (let p = PROMPT_LENGTH - WINDOW; p < PROMPT_LENGTH; p++)
      assert.ok(kept.includes(p), `window position ${p}`);
  }
  assert.equal(offset, selection.positions.length);
  assert.ok(sequence.kvBytesKept < sequence.kvBytesFull);
});

test('query-head granularity selects per query head', async () => {
  const { selection } = await selectionOf({ method: 'snapkv', kvSize: KV_SIZE, granularity: 'query-head' });
  assert.equal(selection.cacheHeads, info.nHeads);
  assert.equal(selection.counts.length, info.nLayers * info.nHeads);
});

test('headkv-r2 gives important heads more tokens within the same total budget', async () => {
  const headScores = skewedHeadScores();
  const { selection } = await selectionOf({ method: 'headkv-r2', kvSize: KV_SIZE, beta: 1.2, headScores });
  const counts = Array.from(selection.counts);
  assert.ok(Math.max(...counts) > Math.min(...counts), `uneven budgets: ${counts.join(',')}`);
  assert.ok(Math.min(...counts) >= WINDOW, 'every head keeps at least its window');
  assert.ok(counts.every((count) => count <= PROMPT_LENGTH));
  const snap = await selectionOf({ method: 'snapkv', kvSize: KV_SIZE });
  const total = (values: Int32Array) => values.reduce((sum, value) => sum + value, 0);
  assert.ok(total(selection.counts) <= total(snap.selection.counts) + counts.length, 'about the same total');
  assert.throws(
    () =>
      context.addSequence(
        promptIds(),
        {},
        { method: 'headkv-r', kvSize: 8, headScores: new Float32Array(3) },
      ),
    /headScores has 3 entries/,
  );
});

test('headkv-r2 requests batched with full ones equal each alone', async () => {
  const engine = await Engine.load(LLAMA_FIXTURE_DIR, { maxSequences: 3, threads: 2 });
  try {
    const prompt = Array.from(promptIds());
    const requests: GenerateRequest[] = [
      {
        promptIds: prompt,
        maxTokens: 6,
        stopTokenIds: [],
        kv: { method: 'headkv-r2', kvSize: KV_SIZE, headScores: skewedHeadScores() },
      },
      { promptIds: prompt.slice(0, 40), maxTokens: 6, stopTokenIds: [] },
      {
        promptIds: prompt,
        maxTokens: 6,
        stopTokenIds: [],
        kv: { method: 'headkv-r', kvSize: 16, beta: 1.5, headScores: skewedHeadScores() },
      },
    ];
    const alone: GenerateResult[] = [];
    for (const request of requests) alone.push(await engine.generate(request));
    const together = await Promise.all(requests.map((request) => engine.generate(request)));
    together.forEach((result, i) => assert.deepEqual(result.tokenIds, alone[i].tokenIds, `request ${i}`));
    assert.ok(together[0].kv.bytesKept < together[0].kv.bytesFull);
    assert.equal(together[0].kv.method, 'headkv-r2');
    assert.equal(together[0].kv.kvSize, KV_SIZE);
  } finally {
    await engine.dispose();
  }
});

test('attention probes score every head over the decode steps', async () => {
  for (const rule of ['retrieval', 'retrieval-reasoning'] as const) {
    const id = context.addSequence(promptIds(), { maxNewTokens: 6 }, { method: 'full' });
    try {
      assert.throws(() => context.attachProbe(id, 'copy' as never, 0, 4), /rule must be/);
      context.attachProbe(id, rule, 20, 40);
      await context.prefill(id);
      for (let step = 0; step < 5; step++) await context.step();
      const scores = context.probeScores(id);
      assert.ok(scores instanceof Float64Array);
      assert.equal(scores.length, info.nLayers * info.nHeads);
      assert.ok(
        scores.every((score) => Number.isFinite(score) && score >= 0),
        rule,
      );
      if (rule === 'retrieval-reasoning')
        assert.ok(
          scores.some((score) => score > 0),
          'some head attends the span',
        );
    } finally {
      context.remove(id);
    }
  }
});
