// Continuous batching: sequences decoded together (more requests than slots, so some wait and
// join mid-flight) give exactly the tokens each gives alone, for greedy, seeded sampling and a
// compressed KV cache.
import * as assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Engine, GenerateRequest, GenerateResult } from '@headkv/engine';

import { LLAMA_FIXTURE_DIR } from '../helpers/fixtures';

let engine: Engine;

before(async () => {
  engine = await Engine.load(LLAMA_FIXTURE_DIR, { maxSequences: 3, threads: 2, prefillChunk: 16 });
});

after(async () => {
  await engine.dispose();
});

// Deterministic prompts of different lengths over ordinary (non-special) token ids.
function prompt(length: number, salt: number): number[] {
  const vocab = Math.min(engine.info.vocabSize, 200);
  return Array.from({ length }, (_, i) => 3 + ((i * 37 + salt * 101 + i * i * salt) % (vocab - 3)));
}

async function aloneThenTogether(requests: GenerateRequest[]): Promise<void> {
  const tokensBefore = engine.stats().tokensGenerated;
  const alone: GenerateResult[] = [];
  for (const request of requests) alone.push(await engine.generate(request));
  const together = await Promise.all(requests.map((request) => engine.generate(request)));
  const generated = [...alone, ...together].reduce((sum, result) => sum + result.tokenIds.length, 0);
  assert.equal(
    engine.stats().tokensGenerated - tokensBefore,
    generated,
    'the stats count every generated token',
  );
  assert.equal(engine.stats().kvBytesFull, 0, 'no sequence is held once all finished');
  together.forEach((result, i) => {
    assert.deepEqual(result.tokenIds, alone[i].tokenIds, `request ${i}`);
    assert.equal(result.finishReason, alone[i].finishReason);
    assert.equal(result.kv.bytesKept, alone[i].kv.bytesKept, `request ${i} kept bytes`);
  });
  assert.equal(engine.stats().kvBytesHeld, 0, 'finished sequences release their pages');
  assert.equal(engine.freeSlots, 3);
}

test('greedy: 5 requests over 3 slots equal each request alone', async () => {
  await aloneThenTogether(
    [5, 23, 9, 40, 14].map((length, i) => ({
      promptIds: prompt(length, i + 1),
      maxTokens: 8 + i,
      stopTokenIds: [],
    })),
  );
});

test('seeded sampling: batched equals alone', async () => {
  await aloneThenTogether(
    [12, 30, 7, 18].map((length, i) => ({
      promptIds: prompt(length, i + 7),
      maxTokens: 10,
      temperature: 0.9,
      topP: 0.95,
      topK: 40,
      seed: 1234 + i,
      stopTokenIds: [],
    })),
  );
});

test('compressed caches (snapkv, pyramidkv, ada-snapkv) batched with a full one equal alone', async () => {
  const long = prompt(64, 3);
  const requests: GenerateRequest[] = [
    { promptIds: long, maxTokens: 6, stopTokenIds: [], kv: { method: 'snapkv', kvSize: 16 } },
    { promptIds: long, maxTokens: 6, stopTokenIds: [], kv: { method: 'pyramidkv', kvSize: 16 } },
    { promptIds: long, maxTokens: 6, stopTokenIds: [], kv: { method: 'ada-snapkv', kvSize: 16 } },
    { promptIds: long, maxTokens: 6, stopTokenIds: [] },
  ];
  await aloneThenTogether(requests);
  const [snap, , , full] = await Promise.all(requests.map((request) => engine.generate(request)));
  assert.ok(
    snap.kv.bytesKept < full.kv.bytesKept,
    `snapkv keeps ${snap.kv.bytesKept} < full ${full.kv.bytesKept}`,
  );
  assert.equal(full.kv.bytesKept, full.kv.bytesFull);
});

test('while a request runs, the stats show its full-cache equivalent above the bytes it keeps', async () => {
  let seen: { full: number; held: number } | undefined;
  let calls = 0;
  await engine.generate({
    promptIds: prompt(60, 9),
    maxTokens: 6,
    kv: { method: 'snapkv', kvSize: 16 },
    onToken: () => {
      calls++;
      // From the third token on, the scheduler has refreshed its stats with the sequence held.
      if (calls === 3) seen = { full: engine.stats().kvBytesFull, held: engine.stats().kvBytesHeld };
    },
  });
  assert.ok(seen, 'three tokens were streamed');
  assert.ok(seen.full > 0, `kvBytesFull ${seen.full}`);
  assert.ok(seen.held > 0 && seen.held < seen.full, `held ${seen.held} of full ${seen.full}`);
});
