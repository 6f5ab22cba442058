// Which probe trials count (R: ROUGE-1 recall > 0.5, R2: token F1 > 0.5) and how the counted
// trials' head scores become a profile matrix (mean, then L1-normalised).
import * as assert from 'node:assert/strict';
import { test } from 'node:test';

import { aggregateTrialScores, isAnswerCorrect, qaTokens, rouge1Recall, tokenF1 } from '@headkv/profiles';

test('token F1 follows LongBench normalisation', () => {
  assert.deepEqual(qaTokens("The cat's  hat, an apple!"), ['cats', 'hat', 'apple']);
  assert.equal(tokenF1('the red fox', 'A red fox.'), 1);
  // prediction 4 tokens, reference 2, 2 common: P 0.5, R 1 -> F1 2/3.
  assert.ok(Math.abs(tokenF1('red fox runs fast', 'red fox') - 2 / 3) < 1e-12);
  assert.equal(tokenF1('blue', 'red fox'), 0);
  // Repeated tokens count once per occurrence in both.
  assert.equal(tokenF1('fox fox', 'fox'), 2 / 3);
});

test('ROUGE-1 recall counts reference words found in the prediction', () => {
  assert.equal(
    rouge1Recall('walk along the east railing', 'walk along the EAST railing and follow lanterns'),
    5 / 8,
  );
  assert.equal(rouge1Recall('', 'x y'), 0);
  assert.equal(rouge1Recall('anything', ''), 0);
});

test('a trial counts only above one half', () => {
  const answer = "Lena's favorite hobby is painting watercolor birds by the river on Sunday mornings.";
  assert.ok(
    isAnswerCorrect('headkv-r2', "Lena's favorite hobby is painting watercolor birds by the river.", answer),
  );
  assert.ok(!isAnswerCorrect('headkv-r2', "Omar's favorite hobby is building model trains.", answer));
  // R: recall of the answer words; extra words do not hurt.
  assert.ok(
    isAnswerCorrect(
      'headkv-r',
      'They walk along the east railing and follow the green lanterns, always.',
      'walk along the east railing and follow the green lanterns',
    ),
  );
  assert.ok(
    !isAnswerCorrect(
      'headkv-r',
      'walk along the bridge',
      'walk along the east railing and follow the green lanterns',
    ),
  );
  // Exactly one half is not enough: 2 of 4 words.
  assert.ok(!isAnswerCorrect('headkv-r', 'red fox', 'red fox blue hen'));
});

test('the matrix is the mean over correct trials, L1-normalised', () => {
  const { scores, counted } = aggregateTrialScores(
    [
      { scores: [1, 0, 2, 1], correct: true },
      { scores: [100, 100, 100, 100], correct: false },
      { scores: [3, 0, 0, 1], correct: true },
    ],
    2,
    2,
  );
  assert.equal(counted, 2);
  // means [2, 0, 1, 1], total 4.
  assert.deepEqual(scores, [
    [0.5, 0],
    [0.25, 0.25],
  ]);
});

test('no correct trial or only zero scores is an error; shapes are checked', () => {
  assert.throws(
    () => aggregateTrialScores([{ scores: [1, 1], correct: false }], 1, 2),
    /none of the 1 probe trials was answered correctly/,
  );
  assert.throws(
    () => aggregateTrialScores([{ scores: [0, 0], correct: true }], 1, 2),
    /gave every head a zero score/,
  );
  assert.throws(
    () => aggregateTrialScores([{ scores: [1, 1, 1], correct: true }], 1, 2),
    /trial 0: 3 head scores, expected n_layers \* n_heads = 2/,
  );
});
