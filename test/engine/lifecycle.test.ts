// Loading errors, disposal, the one-operation-at-a-time guard of a context, and KV memory
// exhaustion failing only the request that caused it.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

import { Engine, EngineError, loadNativeAddon } from '@headkv/engine';

import { LLAMA_FIXTURE_DIR } from '../helpers/fixtures';

function tempModelDir(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'headkv-bad-model-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

test('a missing model folder rejects naming the folder', async () => {
  await assert.rejects(Engine.load(path.join(os.tmpdir(), 'headkv-no-such-model')), (error: Error) => {
    assert.match(error.message, /headkv-no-such-model/);
    assert.equal((error as Error & { code: string }).code, 'HKV_ERR_IO');
    return true;
  });
});

test('a broken config.json rejects naming the file; the process survives', async () => {
  const dir = tempModelDir({ 'config.json': '{"architectures": ["LlamaForCausalLM"], "hidden_size": ' });
  try {
    await assert.rejects(loadNativeAddon().loadModel(dir), (error: Error & { code?: string }) => {
      assert.match(error.message, /config\.json/);
      assert.match(String(error.code), /^HKV_ERR_/);
      return true;
    });
    await assert.rejects(Engine.load(dir), { name: 'EngineError', message: /config\.json/ });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a folder without weights rejects naming the safetensors file', async () => {
  const config = fs.readFileSync(path.join(LLAMA_FIXTURE_DIR, 'config.json'), 'utf8');
  const dir = tempModelDir({ 'config.json': config });
  try {
    await assert.rejects(Engine.load(dir), { name: 'EngineError', message: /safetensors/ });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('context: one operation at a time, disposed handles throw, model outlives its contexts', async () => {
  const model = await loadNativeAddon().loadModel(LLAMA_FIXTURE_DIR, { threads: 1 });
  const context = model.createContext({ maxSequences: 2, kvCacheBytes: 16 << 20 });
  const a = context.addSequence(
    Int32Array.from([5, 6, 7, 8, 9, 10]),
    { maxNewTokens: 4 },
    { method: 'full' },
  );
  const b = context.addSequence(Int32Array.from([5, 6, 7]), { maxNewTokens: 4 }, {});
  const running = context.prefill(a);
  assert.equal(context.busy, true);
  assert.throws(() => context.stats(), /busy with prefill/);
  assert.throws(() => context.prefill(b), /busy with prefill/);
  assert.throws(() => model.dispose(), /context\(s\) still use this model/);
  const first = await running;
  assert.ok(first >= 0 && first < model.info().vocabSize);
  assert.equal(context.busy, false);
  assert.equal(context.sequenceInfo(a).state, 'decoding');
  assert.equal(context.sequenceInfo(a).nPrompt, 6);
  assert.throws(
    () => context.addSequence(Int32Array.from([1]), {}, { method: 'nope' as never }),
    /kv\.method/,
  );
  await assert.rejects(context.prefill(999), { code: 'HKV_ERR_NOT_FOUND' });
  context.dispose();
  assert.throws(() => context.stats(), /disposed/);
  assert.throws(() => context.cancel(a), /disposed/);
  model.dispose();
  assert.throws(() => model.info(), /disposed/);
  assert.throws(() => model.createContext(), /disposed/);
});

test('engine.dispose() cancels running requests, rejects queued ones and further calls', async () => {
  const engine = await Engine.load(LLAMA_FIXTURE_DIR, { maxSequences: 1, threads: 1 });
  const running = engine.generate({ promptIds: [5, 6, 7, 8], maxTokens: 500, stopTokenIds: [] });
  const queued = engine.generate({ promptIds: [5, 6, 7], maxTokens: 5 });
  const queuedOutcome = queued.then(
    () => 'resolved',
    (error: Error & { code?: string }) => error.code,
  );
  await new Promise((resolve) => setTimeout(resolve, 50));
  await engine.dispose();
  const result = await running;
  assert.equal(result.finishReason, 'cancelled');
  assert.equal(await queuedOutcome, 'HKV_DISPOSED');
  await assert.rejects(engine.generate({ promptIds: [5] }), { code: 'HKV_DISPOSED' });
});

test('a prompt larger than the KV pool fails alone; a concurrent request completes', async () => {
  const probe = await loadNativeAddon().loadModel(LLAMA_FIXTURE_DIR, { threads: 1 });
  const info = probe.info();
  probe.dispose();
  const pageTokens = 16;
  const pageBytes = 2 * pageTokens * info.headDim * 4;
  // Four pages per layer and KV head: 64 tokens of full cache.
  const kvCacheBytes = pageBytes * info.nLayers * info.nKvHeads * 4;
  const engine = await Engine.load(LLAMA_FIXTURE_DIR, {
    maxSequences: 2,
    threads: 1,
    pageTokens,
    kvCacheBytes,
  });
  try {
    const tooLong = Math.min(300, info.maxPositionEmbeddings - 8);
    const [big, small] = await Promise.allSettled([
      engine.generate({ promptIds: Array.from({ length: tooLong }, (_, i) => 3 + (i % 100)), maxTokens: 4 }),
      engine.generate({ promptIds: [5, 6, 7, 8], maxTokens: 6, stopTokenIds: [] }),
    ]);
    assert.equal(big.status, 'rejected');
    assert.equal((big as PromiseRejectedResult).reason.code, 'HKV_ERR_OUT_OF_MEMORY');
    assert.equal(small.status, 'fulfilled');
    assert.equal((small as PromiseFulfilledResult<{ tokenIds: number[] }>).value.tokenIds.length, 6);
    assert.equal(engine.stats().kvBytesHeld, 0);
  } finally {
    await engine.dispose();
  }
});

test('engine.createContext() shares the weights, runs beside generate(), and is freed by dispose()', async () => {
  const engine = await Engine.load(LLAMA_FIXTURE_DIR, { maxSequences: 1, threads: 1 });
  const side = engine.createContext({ maxSequences: 1, kvCacheBytes: 8 << 20 });
  const prompt = [5, 6, 7, 8, 9];
  const id = side.addSequence(Int32Array.from(prompt), { maxNewTokens: 3, stopTokenIds: [] }, {});
  const [first, result] = await Promise.all([
    side.prefill(id),
    engine.generate({ promptIds: prompt, maxTokens: 3, stopTokenIds: [] }),
  ]);
  assert.equal(first, result.tokenIds[0]);
  const running = side.step();
  await assert.rejects(engine.dispose(), /still running/);
  await running;
  await engine.dispose();
  assert.equal(side.disposed, true);
});

test('the device is chosen at load: cpu reports its threads; cuda without a GPU is refused with the reason', async () => {
  const engine = await Engine.load(LLAMA_FIXTURE_DIR, { device: 'cpu', threads: 2 });
  try {
    assert.equal(engine.info.device, 'cpu (2 threads)');
  } finally {
    await engine.dispose();
  }
  // A CPU-only addon says it has no CUDA backend; an addon with one, on a machine without a GPU,
  // says no GPU is visible. On the GPU box the load succeeds (test/engine/cuda-device.test.ts).
  const cuda = await Engine.load(LLAMA_FIXTURE_DIR, { device: 'cuda' }).then(
    (loaded) => loaded,
    (error: EngineError) => error,
  );
  if (cuda instanceof Engine) {
    assert.doesNotMatch(cuda.info.device, /^cpu/);
    await cuda.dispose();
    return;
  }
  assert.equal(cuda.code, 'HKV_ERR_UNSUPPORTED');
  assert.match(cuda.message, /no CUDA backend|no GPU is visible/);
});
