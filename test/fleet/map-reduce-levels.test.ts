// MapReduce on the real engine and tokenizer of the tiny model, in process: a second level of
// summaries when the first level's summaries do not fit the combine prompt, and a clear error
// when even the second level does not fit.
import * as assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Engine, type Tokenizer } from '@headkv/engine';
import { MapReduce, MapReduceTooLongError } from '../../apps/worker/src/processing/map-reduce';
import { TINY_MODEL_DIR } from './fleet-harness';

let engine: Engine;
let tokenizer: Tokenizer;

before(async () => {
  engine = await Engine.load(TINY_MODEL_DIR, { maxSequences: 8, threads: 2 });
  assert.ok(engine.tokenizer !== undefined, 'the tiny model has a tokenizer');
  tokenizer = engine.tokenizer;
});

after(async () => {
  await engine.dispose();
});

function document(facts: number): string {
  return Array.from(
    { length: facts },
    (_, index) => `Fact ${index}: item ${index} weighs ${index * 3} kg.`,
  ).join(' ');
}

// Greedy decoding with stop tokens ignored, so that every summary uses its whole budget.
const greedy = { temperature: 0, stopTokenIds: [] };

test('summaries too long for the combine step are summarised once more', async () => {
  const contextLimit = 384;
  const mapReduce = new MapReduce(engine, tokenizer, { contextLimit, summaryTokens: 48 });
  const messages = [{ role: 'user', content: `${document(120)}\n\nWhat does item 7 weigh?` }];
  assert.ok(tokenizer.encodeChat(messages).length > contextLimit);
  assert.ok(mapReduce.splittable(messages, 4));
  const answered: string[] = [];
  const outcome = await mapReduce.run(messages, 4, greedy, (token) => answered.push(token.text));
  assert.equal(outcome.levels, 2);
  assert.ok(outcome.chunks >= 2);
  // Every chunk summarised at level 1, at least one summary of summaries, one combine step.
  assert.ok(outcome.generations >= outcome.chunks + 2);
  assert.equal(outcome.result.finishReason, 'length');
  // Usage adds up: each summary used its whole budget (stop tokens ignored), the answer 4 tokens.
  assert.equal(outcome.result.tokenIds.length, (outcome.generations - 1) * 48 + 4);
  assert.ok(outcome.result.promptTokens > contextLimit * 2);
  // Only the combine step's tokens are streamed, and they are the answer.
  assert.equal(answered.join(''), outcome.result.text);
});

test('the combine step that does not fit after two levels is a MapReduceTooLongError', async () => {
  // Each ~120-token chunk becomes a 120-token summary: the summaries never shrink.
  const mapReduce = new MapReduce(engine, tokenizer, { contextLimit: 300, summaryTokens: 120 });
  const messages = [{ role: 'user', content: document(100) }];
  assert.ok(mapReduce.splittable(messages, 4));
  await assert.rejects(
    mapReduce.run(messages, 4, greedy, undefined),
    (error: Error) =>
      error instanceof MapReduceTooLongError &&
      /after 2 levels of summaries \(\d+ chunks\) the combine step still does not fit the context of 300 tokens/.test(
        error.message,
      ),
  );
});
