// Probe prompts: 5 lengths x 10 depths per needle, deterministic for a seed, the needle placed
// at a sentence end, the haystack within each length's budget; locating the scored span.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';

import { Tokenizer } from '@huggingface/tokenizers';

import { Tokenizer as ModelTokenizer } from '@headkv/engine';

import {
  buildProbeTrials,
  HaystackGenerator,
  locateSpan,
  probeDepths,
  probeLengths,
  ProfileError,
  RETRIEVAL_NEEDLES,
  RETRIEVAL_REASONING_NEEDLES,
  spanOfText,
} from '@headkv/profiles';

import { TINY_RANDOM_DIR } from '../helpers/repo-paths';

// A real (word-level) Hugging Face tokenizer: words and punctuation marks are tokens.
function wordTokenizer(vocabulary: readonly string[] = []): Tokenizer {
  const vocab: Record<string, number> = { '[UNK]': 0 };
  vocabulary.forEach((word, i) => (vocab[word] = i + 1));
  return new Tokenizer(
    {
      model: { type: 'WordLevel', vocab, unk_token: '[UNK]' },
      pre_tokenizer: { type: 'Whitespace' },
      normalizer: null,
      post_processor: null,
      decoder: null,
      added_tokens: [],
    },
    {},
  );
}

const tokenizer = wordTokenizer();
const countTokens = (text: string) => tokenizer.encode(text, { add_special_tokens: false }).tokens.length;

test('lengths and depths are numpy round(linspace)', () => {
  assert.deepEqual(probeLengths(4000), [0, 1000, 2000, 3000, 4000]);
  assert.deepEqual(probeLengths(1001), [0, 250, 500, 751, 1001]);
  assert.deepEqual(probeDepths(), [0, 11, 22, 33, 44, 56, 67, 78, 89, 100]);
});

test('the haystack is varied sentences, each ending with a period', () => {
  const generator = new HaystackGenerator(11);
  const sentences = Array.from({ length: 300 }, () => generator.nextSentence());
  for (const s of sentences) assert.match(s, /^[A-Z][^.]*\.$/);
  assert.ok(new Set(sentences).size > 250, 'sentences repeat too often');
  const again = new HaystackGenerator(11);
  assert.deepEqual(
    Array.from({ length: 300 }, () => again.nextSentence()),
    sentences,
  );
});

test('trials: needles x lengths x depths, deterministic for a seed', () => {
  const options = { method: 'headkv-r2' as const, maxLength: 1200, seed: 5 };
  const trials = buildProbeTrials(options, countTokens);
  assert.equal(trials.length, RETRIEVAL_REASONING_NEEDLES.length * 5 * 10);
  assert.deepEqual(buildProbeTrials(options, countTokens), trials);
  const other = buildProbeTrials({ ...options, seed: 6 }, countTokens);
  assert.notDeepEqual(
    other.map((t) => t.prompt),
    trials.map((t) => t.prompt),
  );
  const retrieval = buildProbeTrials(
    { ...options, method: 'headkv-r', nLengths: 2, nDepths: 3 },
    countTokens,
  );
  assert.equal(retrieval.length, RETRIEVAL_NEEDLES.length * 2 * 3);
  assert.equal(retrieval[0].needle.id, RETRIEVAL_NEEDLES[0].id);
});

test('the needle sits at a sentence end, at the requested depth, within the length budget', () => {
  const buffer = 200;
  const trials = buildProbeTrials({ method: 'headkv-r2', maxLength: 1500, seed: 1, buffer }, countTokens);
  for (const trial of trials) {
    const suffix = `\n\nQuestion: ${trial.needle.question}\nAnswer:`;
    assert.ok(trial.prompt.endsWith(suffix));
    const context = trial.prompt.slice(0, -suffix.length);
    const at = context.indexOf(trial.needle.needle);
    assert.ok(at >= 0, 'needle missing');
    const before = context.slice(0, at);
    const after = context.slice(at + trial.needle.needle.length);
    // Inserted between whole sentences.
    assert.ok(
      before === '' || before.endsWith('. '),
      `needle not after a sentence end: ...${before.slice(-30)}`,
    );
    assert.ok(
      after === '' || /^ [A-Z]/.test(after),
      `needle not before a sentence start: ${after.slice(0, 30)}...`,
    );
    if (trial.depthPercent === 0) assert.equal(before, '');
    if (trial.depthPercent === 100) assert.equal(after, '');
    // Haystack + needle stay within the length minus the buffer.
    assert.ok(
      countTokens(context) <= Math.max(trial.contextLength - buffer, countTokens(trial.needle.needle)),
    );
    if (trial.contextLength <= buffer) assert.equal(context, trial.needle.needle);
    // The insertion point is the last sentence end at or before depth% of the haystack.
    const haystackTokens = countTokens(before) + countTokens(after);
    assert.ok(countTokens(before) <= (haystackTokens * trial.depthPercent) / 100 + 1e-9);
  }
  // Longer contexts hold more haystack; deeper trials put more of it before the needle.
  const first = trials.filter((t) => t.needle.id === RETRIEVAL_REASONING_NEEDLES[0].id);
  const longest = first.filter((t) => t.contextLength === 1500);
  for (let i = 1; i < longest.length; i++)
    assert.ok(longest[i].sentencesBefore >= longest[i - 1].sentencesBefore);
  assert.ok(longest[longest.length - 1].sentencesBefore > 0);
  assert.ok(countTokens(longest[0].prompt) > 1500 - buffer - 40);
});

test('bad probe settings are refused', () => {
  const base = { method: 'headkv-r2' as const, maxLength: 500, seed: 1 };
  assert.throws(
    () => buildProbeTrials({ ...base, maxLength: 0 }, countTokens),
    /probe\.max_length: must be a positive integer, got 0/,
  );
  assert.throws(() => buildProbeTrials({ ...base, seed: -1 }, countTokens), /probe\.seed/);
  assert.throws(() => buildProbeTrials({ ...base, nDepths: 1.5 }, countTokens), /probe\.depths/);
  assert.throws(
    () =>
      buildProbeTrials(
        { ...base, needles: [{ id: 'x', needle: 'A b.', question: 'Q?', answer: 'c' }] },
        countTokens,
      ),
    (e: Error) =>
      e instanceof ProfileError && /"x": the answer is not a part of the needle text/.test(e.message),
  );
});

test('locateSpan finds the answer tokens in the prompt', () => {
  const needle = RETRIEVAL_REASONING_NEEDLES[0];
  const trial = buildProbeTrials(
    { method: 'headkv-r2', maxLength: 600, seed: 2, nLengths: 1, nDepths: 1 },
    countTokens,
  )[0];
  const words = Array.from(
    new Set(
      `${trial.prompt} ${needle.answer}`
        .split(/\b/)
        .map((w) => w.trim())
        .filter((w) => w !== ''),
    ),
  );
  const tok = wordTokenizer(words);
  const promptIds = tok.encode(trial.prompt, { add_special_tokens: false }).ids;
  const spanIds = tok.encode(needle.answer, { add_special_tokens: false }).ids;
  const { begin, end } = locateSpan(promptIds, spanIds);
  assert.equal(end - begin, spanIds.length);
  assert.deepEqual(promptIds.slice(begin, end), spanIds);
  // The answer sentence is the first sentence of this needle: it starts where the needle does.
  const needleIds = tok.encode(needle.needle, { add_special_tokens: false }).ids;
  assert.deepEqual(promptIds.slice(begin, begin + needleIds.length), needleIds);

  // Tokenized differently in context: the window sharing most distinct tokens (later on ties).
  assert.deepEqual(locateSpan([9, 1, 2, 7, 3, 1, 2, 3, 9], [1, 2, 3]), { begin: 5, end: 8 });
  assert.deepEqual(locateSpan([9, 3, 1, 2, 7, 8], [1, 2, 3]), { begin: 1, end: 4 });
  assert.deepEqual(locateSpan([5, 1, 2, 4, 6], [1, 2, 3]), { begin: 1, end: 4 });
  assert.throws(() => locateSpan([1, 2], []), /no tokens/);
  assert.throws(() => locateSpan([1], [1, 2]), /2 answer tokens do not fit a 1-token prompt/);
});

test('spanOfText locates the scored sentence with the tokenizer that made the prompt', () => {
  const needle = RETRIEVAL_REASONING_NEEDLES[2]; // the answer is the needle's second sentence
  const trial = buildProbeTrials(
    { method: 'headkv-r2', maxLength: 700, seed: 4, nLengths: 1, nDepths: 1, needles: [needle] },
    countTokens,
  )[0];
  const words = Array.from(
    new Set(
      trial.prompt
        .split(/\b/)
        .map((w) => w.trim())
        .filter((w) => w !== ''),
    ),
  );
  const tok = wordTokenizer(words);
  const encoder = {
    encode: (text: string, options: { addSpecialTokens: boolean }) =>
      tok.encode(text, { add_special_tokens: options.addSpecialTokens }).ids,
  };
  const promptIds = encoder.encode(trial.prompt, { addSpecialTokens: false });
  const span = spanOfText(promptIds, needle.answer, encoder);
  const answerIds = encoder.encode(needle.answer, { addSpecialTokens: false });
  assert.deepEqual(promptIds.slice(span.begin, span.end), answerIds);
  const firstSentence = encoder.encode(needle.needle.split('. ')[0], { addSpecialTokens: false });
  assert.ok(span.begin >= firstSentence.length, 'span must be the second sentence, not the distractor');
});

test('with a byte-level BPE tokenizer the span decodes to the scored text at every depth', () => {
  const bpe = ModelTokenizer.fromDir(TINY_RANDOM_DIR);
  const encoder = {
    encode: (text: string, options: { addSpecialTokens: boolean }) => bpe.encode(text, options),
  };
  const count = (text: string) => bpe.encode(text, { addSpecialTokens: false }).length;
  for (const method of ['headkv-r', 'headkv-r2'] as const) {
    const trials = buildProbeTrials({ method, maxLength: 900, seed: 9, nLengths: 3, nDepths: 4 }, count);
    for (const trial of trials) {
      const promptIds = encoder.encode(trial.prompt, { addSpecialTokens: true });
      const scored = method === 'headkv-r' ? trial.needle.needle : trial.needle.answer;
      const span = spanOfText(promptIds, scored, encoder);
      assert.equal(
        bpe.decode(promptIds.slice(span.begin, span.end)).trim(),
        scored,
        `${trial.needle.id} depth ${trial.depthPercent}`,
      );
    }
  }
});
