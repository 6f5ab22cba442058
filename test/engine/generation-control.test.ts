// Stop strings, stop tokens, length limits, cancellation through AbortSignal (while queued,
// during prefill, during decode) and streaming, through @headkv/engine.
import * as assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { Engine } from '@headkv/engine';

import { LLAMA_FIXTURE_DIR } from '../helpers/fixtures';

const PROMPT = 'The quick brown fox jumps over the lazy dog. Once upon a time';
let engine: Engine;

before(async () => {
  engine = await Engine.load(LLAMA_FIXTURE_DIR, { maxSequences: 2, threads: 2, prefillChunk: 8 });
});

after(async () => {
  await engine.dispose();
});

test('maxTokens ends with finish length and exactly that many tokens', async () => {
  const result = await engine.generate({ prompt: PROMPT, maxTokens: 7, stopTokenIds: [] });
  assert.equal(result.finishReason, 'length');
  assert.equal(result.tokenIds.length, 7);
  assert.equal(result.promptTokens, engine.tokenizer?.encode(PROMPT).length);
  assert.equal(result.text, engine.tokenizer?.decode(result.tokenIds, { skipSpecialTokens: true }));
});

test('a stop token id ends generation at its first occurrence, included in tokenIds', async () => {
  const free = await engine.generate({ prompt: PROMPT, maxTokens: 12, stopTokenIds: [] });
  const stopId = free.tokenIds[5];
  const stopped = await engine.generate({ prompt: PROMPT, maxTokens: 12, stopTokenIds: [stopId] });
  assert.equal(stopped.finishReason, 'stop');
  assert.deepEqual(stopped.tokenIds, free.tokenIds.slice(0, free.tokenIds.indexOf(stopId) + 1));
});

test('a stop string truncates the text before it and is never streamed', async () => {
  const free = await engine.generate({ prompt: PROMPT, maxTokens: 40, stopTokenIds: [] });
  assert.ok(free.text.length >= 20, `need some text to cut, got ${JSON.stringify(free.text)}`);
  const stop = free.text.slice(12, 16);
  const expected = free.text.slice(0, free.text.indexOf(stop));
  let streamed = '';
  const stopped = await engine.generate({
    prompt: PROMPT,
    maxTokens: 40,
    stopTokenIds: [],
    stop: ['never appears \u0000', stop],
    onToken: (token) => (streamed += token.text),
  });
  assert.equal(stopped.finishReason, 'stop');
  assert.equal(stopped.text, expected);
  assert.equal(streamed, expected);
  assert.ok(stopped.tokenIds.length < free.tokenIds.length);
  assert.deepEqual(stopped.tokenIds, free.tokenIds.slice(0, stopped.tokenIds.length));
});

test('streamed text equals the result text and every token is reported', async () => {
  const ids: number[] = [];
  let streamed = '';
  const result = await engine.generate({
    prompt: PROMPT,
    maxTokens: 15,
    stopTokenIds: [],
    onToken: (token) => {
      if (token.id >= 0) ids.push(token.id);
      streamed += token.text;
    },
  });
  assert.deepEqual(ids, result.tokenIds);
  assert.equal(streamed, result.text);
});

test('abort during decode ends with finish cancelled and frees the sequence', async () => {
  const abort = new AbortController();
  let seen = 0;
  const result = await engine.generate({
    prompt: PROMPT,
    maxTokens: 200,
    stopTokenIds: [],
    signal: abort.signal,
    onToken: () => {
      if (++seen === 3) abort.abort();
    },
  });
  assert.equal(result.finishReason, 'cancelled');
  assert.ok(result.tokenIds.length >= 3 && result.tokenIds.length < 200, `${result.tokenIds.length} tokens`);
  assert.equal(engine.stats().kvBytesHeld, 0);
  assert.equal(engine.stats().activeSequences, 0);
});

// The engine prefills layer by layer, so its units are (token, layer) steps: only the shape of
// the progress is checked (one total, rising, ending complete).
test('prefill progress rises monotonically to its total', async () => {
  const prompt = Array.from({ length: 50 }, (_, i) => 3 + ((i * 7) % 150));
  const events: Array<[number, number]> = [];
  const result = await engine.generate({
    promptIds: prompt,
    maxTokens: 2,
    onPrefillProgress: (done, total) => events.push([done, total]),
  });
  assert.ok(events.length > 0, 'at least one progress event');
  const total = events[0][1];
  assert.ok(total >= prompt.length, `total ${total}`);
  for (const [i, [done, eventTotal]] of events.entries()) {
    assert.equal(eventTotal, total);
    assert.ok(done >= (i > 0 ? events[i - 1][0] : 0) && done <= total, `event ${i}: ${done}/${total}`);
  }
  assert.equal(events[events.length - 1][0], total);
  assert.ok(result.tokenIds.length > 0);
});

test('abort during prefill cancels before any token', async () => {
  const abort = new AbortController();
  const long = Array.from({ length: 120 }, (_, i) => 3 + (i % 150));
  const result = await engine.generate({
    promptIds: long,
    maxTokens: 5,
    signal: abort.signal,
    onPrefillProgress: () => abort.abort(),
  });
  assert.equal(result.finishReason, 'cancelled');
  assert.deepEqual(result.tokenIds, []);
  assert.equal(engine.stats().kvBytesHeld, 0);
});

test('an already aborted signal and an abort while queued both end cancelled; others run on', async () => {
  const pre = new AbortController();
  pre.abort();
  const queued = new AbortController();
  const runs = [
    engine.generate({ prompt: PROMPT, maxTokens: 20, stopTokenIds: [] }),
    engine.generate({ prompt: PROMPT, maxTokens: 20, stopTokenIds: [] }),
  ];
  // Two slots are taken: this one waits in the queue until it is aborted.
  const waiting = engine.generate({ prompt: PROMPT, maxTokens: 20, signal: queued.signal });
  queued.abort();
  const [a, b, c, d] = await Promise.all([
    ...runs,
    waiting,
    engine.generate({ prompt: PROMPT, signal: pre.signal }),
  ]);
  assert.equal(a.finishReason, 'length');
  assert.equal(b.finishReason, 'length');
  assert.deepEqual(a.tokenIds, b.tokenIds);
  assert.equal(c.finishReason, 'cancelled');
  assert.deepEqual(c.tokenIds, []);
  assert.equal(d.finishReason, 'cancelled');
});

test('bad requests reject with EngineError HKV_REQUEST and leave the engine usable', async () => {
  await assert.rejects(engine.generate({ maxTokens: 3 }), { name: 'EngineError', code: 'HKV_REQUEST' });
  await assert.rejects(engine.generate({ prompt: 'x', promptIds: [1], maxTokens: 3 }), {
    code: 'HKV_REQUEST',
  });
  await assert.rejects(engine.generate({ promptIds: [engine.info.vocabSize] }), /promptIds\[0\]/);
  await assert.rejects(engine.generate({ prompt: PROMPT, maxTokens: 0 }), /maxTokens/);
  await assert.rejects(engine.generate({ prompt: PROMPT, kv: { method: 'snapkv' } }), /kvSize/);
  await assert.rejects(
    engine.generate({ prompt: PROMPT, kv: { method: 'headkv-r2', kvSize: 16 } }),
    /headScores/,
  );
  const ok = await engine.generate({ prompt: PROMPT, maxTokens: 2, stopTokenIds: [] });
  assert.equal(ok.tokenIds.length, 2);
});

test('chat messages go through the chat template', async () => {
  const messages = [{ role: 'user', content: 'Hello there' }];
  const result = await engine.generate({ messages, maxTokens: 3, stopTokenIds: [] });
  assert.equal(result.promptTokens, engine.tokenizer?.encodeChat(messages).length);
});
