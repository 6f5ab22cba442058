// The fidelity suite: deterministic cases, disjoint splits (seeds and entities), prompt lengths
// in tokens, needle depths, answers present in the prompt, and the scoring functions.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';

import { Tokenizer } from '@headkv/engine';
import {
  buildSuite,
  caseSeed,
  drawEntities,
  drawFactLookup,
  drawNumberOrder,
  drawTwoHopVariants,
  exactMatch,
  FillerGenerator,
  generateCase,
  generateTwoHopVariants,
  normalizeAnswer,
  pretokenCounter,
  qaF1Score,
  rougeL,
  SeededRandom,
  SPLITS,
  splitOfEntity,
  splitOfSeed,
  splitPatternOf,
  suiteSpec,
  TASKS,
  TokenCounter,
} from '@headkv/suite';

import { REPO_ROOT } from '../helpers/repo-paths';

const TINY_DIR = path.join(REPO_ROOT, 'models', 'headkv-tiny');
const tokenizer = Tokenizer.fromDir(TINY_DIR);
const exactCount: TokenCounter = (text) => tokenizer.encode(text, { addSpecialTokens: false }).length;
const fastCount = pretokenCounter(exactCount, splitPatternOf(path.join(TINY_DIR, 'tokenizer.json')));

test('the same request gives the same case; another index gives another', () => {
  for (const task of TASKS) {
    const request = { task, split: 'test' as const, index: 4, length: 1024, depth: 0.5 };
    const a = generateCase(request, fastCount);
    const b = generateCase(request, fastCount);
    assert.deepEqual(a, b);
    const c = generateCase({ ...request, index: 5 }, fastCount);
    assert.notEqual(a.prompt, c.prompt, task);
  }
});

test('prompts measure at most their length in tokens, and within one sentence of it', () => {
  for (const length of [512, 2048]) {
    for (const task of TASKS) {
      const c = generateCase({ task, split: 'validation', index: 0, length, depth: 0.3 }, fastCount);
      const tokens = exactCount(c.prompt);
      assert.equal(c.promptTokens, tokens, `${task}: the fast counter disagrees with the tokenizer`);
      assert.ok(tokens <= length && tokens > length - 40, `${task} at ${length}: ${tokens} tokens`);
    }
  }
});

test('every answer can be read off the prompt', () => {
  for (const task of TASKS) {
    const c = generateCase({ task, split: 'test', index: 2, length: 1024, depth: 0.7 }, fastCount);
    const context = c.prompt;
    if (task === 'variable_tracking') {
      for (const name of c.answer.split(', ')) assert.ok(context.includes(`VAR ${name} = `), name);
    } else if (task === 'summary') {
      for (const fact of c.answer.split('. '))
        assert.ok(context.includes(`Key fact: ${fact.replace(/\.$/, '')}`), fact);
    } else {
      for (const part of c.answer.split(', ')) assert.ok(context.includes(part), `${task}: ${part}`);
    }
    assert.ok(c.prompt.endsWith('\nAnswer:'));
  }
});

test('the two-hop answer is the favorite of the person the comparison picks', () => {
  for (let index = 0; index < 20; index++) {
    const c = generateCase({ task: 'two_hop', split: 'test', index, length: 512, depth: 0.5 }, fastCount);
    const question = /favorite (\w+) of the (\w+) one between (\S+) and (\S+)\?/.exec(c.prompt);
    assert.ok(question, c.prompt.slice(-200));
    const [, , ask, p, q] = question;
    const value = (name: string): number => {
      const m = new RegExp(`${name} is (\\d+) (?:years old|centimeters tall)`).exec(c.prompt);
      assert.ok(m, name);
      return Number(m[1]);
    };
    const higher = value(p) > value(q) ? p : q;
    const lower = higher === p ? q : p;
    const expected = ask === 'older' || ask === 'taller' ? higher : lower;
    assert.ok(c.answer.startsWith(`${expected}'s favorite`), `${ask}: ${c.answer}`);
  }
});

test('two-hop training variants: the suite case itself, then the mirrored question, the comparison alone and its number, over one haystack', () => {
  const opposite: Record<string, string> = {
    older: 'younger',
    younger: 'older',
    taller: 'shorter',
    shorter: 'taller',
  };
  for (let index = 0; index < 12; index++) {
    const request = { task: 'two_hop' as const, split: 'train' as const, index, length: 512, depth: 0.25 };
    const variants = generateTwoHopVariants(request, fastCount);
    const [asked, mirrored, comparison, mirroredComparison, value, mirroredValue, lookup, mirroredLookup] =
      variants.map((v) => v.suiteCase);
    assert.deepEqual(asked, generateCase(request, fastCount));
    assert.deepEqual(
      variants.map((v) => v.suiteCase.id.slice(asked.id.length)),
      [
        '',
        '/mirrored',
        '/comparison',
        '/mirrored-comparison',
        '/value',
        '/mirrored-value',
        '/lookup',
        '/mirrored-lookup',
      ],
    );
    const context = (c: typeof asked): string => c.prompt.slice(0, c.prompt.lastIndexOf('Question:'));
    // One haystack, cut to each question's length: without the needle (which may move by a filler
    // sentence as the cut changes), one context is a prefix of the other.
    const needle = drawTwoHopVariants(new SeededRandom(asked.seed), 'train', request.depth).asked.needles[0]
      .text;
    const filler = (c: typeof asked): string => {
      assert.ok(context(c).includes(needle), c.id);
      return context(c).replace(needle, '').replace(/ {2}/, ' ');
    };
    for (const c of [
      mirrored,
      comparison,
      mirroredComparison,
      value,
      mirroredValue,
      lookup,
      mirroredLookup,
    ]) {
      const [shorter, longer] = [filler(c), filler(asked)].sort((a, b) => a.length - b.length);
      assert.ok(longer.startsWith(shorter.trimEnd()), c.id);
      assert.ok(c.promptTokens <= c.length, c.id);
    }
    const ask = (c: typeof asked): string => {
      const m = / the (\w+) one between /.exec(c.prompt.slice(c.prompt.lastIndexOf('Question:')));
      assert.ok(m, c.prompt.slice(-160));
      return m[1];
    };
    assert.equal(ask(mirrored), opposite[ask(asked)]);
    assert.equal(ask(comparison), ask(asked));
    assert.equal(ask(mirroredComparison), ask(mirrored));
    assert.equal(ask(value), ask(asked));
    assert.equal(ask(mirroredValue), ask(mirrored));
    // The mirrored question's answer is the other person's sentence; the comparison answers the name.
    const person = (sentence: string): string => sentence.slice(0, sentence.indexOf("'s favorite"));
    assert.notEqual(person(mirrored.answer), person(asked.answer));
    assert.ok(context(asked).includes(mirrored.answer), mirrored.answer);
    assert.equal(comparison.answer, person(asked.answer));
    assert.equal(mirroredComparison.answer, person(mirrored.answer));
    // The value questions answer the number the prompt states for the winner, asked as it measures.
    const numberOf = (name: string): string => {
      const m = new RegExp(`${name} is (\\d+) (years old|centimeters tall)`).exec(context(asked));
      assert.ok(m, name);
      assert.ok(
        value.prompt.includes(m[2] === 'years old' ? 'How old is the' : 'How tall is the'),
        value.prompt,
      );
      return m[1];
    };
    assert.equal(value.answer, numberOf(comparison.answer));
    assert.equal(mirroredValue.answer, numberOf(mirroredComparison.answer));
    // A lookup asks who has a number the prompt states, in the words of its fact.
    const lookedUp = (c: typeof asked): string => {
      const m = /Who is (\d+) (years old|centimeters tall)\?/.exec(
        c.prompt.slice(c.prompt.lastIndexOf('Question:')),
      );
      assert.ok(m, c.prompt.slice(-160));
      return m[1];
    };
    assert.equal(lookup.answer, comparison.answer);
    assert.equal(lookedUp(lookup), value.answer);
    assert.equal(mirroredLookup.answer, mirroredComparison.answer);
    assert.equal(lookedUp(mirroredLookup), mirroredValue.answer);
    const higher = ask(asked) === 'older' || ask(asked) === 'taller';
    assert.deepEqual(
      variants.map((v) => [v.asks, v.pickHigher]),
      [
        ['favorite', higher],
        ['favorite', !higher],
        ['winner', higher],
        ['winner', !higher],
        ['value', higher],
        ['value', !higher],
        ['lookup', higher],
        ['lookup', !higher],
      ],
    );
  }
  assert.throws(
    () =>
      generateTwoHopVariants(
        { task: 'niah_single', split: 'train', index: 0, length: 512, depth: 0 },
        fastCount,
      ),
    /two_hop variants asked for a niah_single case/,
  );
});

test('number-order drills ask for the larger or the smaller of two distinct numbers two_hop compares', () => {
  const seen = new Set<string>();
  for (let seed = 0; seed < 200; seed++) {
    for (const pickHigher of [true, false]) {
      const drill = drawNumberOrder(new SeededRandom(seed), pickHigher);
      const m = /^Which is (larger|smaller): (\d+) or (\d+)\?$/.exec(drill.question);
      assert.ok(m, drill.question);
      assert.equal(m[1], pickHigher ? 'larger' : 'smaller');
      const [a, b] = [Number(m[2]), Number(m[3])];
      assert.notEqual(a, b);
      const inRange = (n: number): boolean => (n >= 18 && n <= 90) || (n >= 150 && n <= 199);
      assert.ok(inRange(a) && inRange(b) && a >= 150 === b >= 150, drill.question);
      assert.equal(Number(drill.answer), pickHigher ? Math.max(a, b) : Math.min(a, b));
      seen.add(drill.question);
    }
  }
  assert.ok(seen.size > 300, `only ${seen.size} distinct drills in 400`);
});

test('lookup drills state distinct numbers of one kind for training-split people and ask whose one is', () => {
  const asked = new Set<number>();
  for (let seed = 0; seed < 200; seed++) {
    const people = 2 + (seed % 4);
    const drill = drawFactLookup(new SeededRandom(seed), 'train', people);
    const facts = [...drill.facts.matchAll(/(\w+) is (\d+) (years old|centimeters tall)\./g)];
    assert.equal(facts.length, people, drill.facts);
    assert.equal(new Set(facts.map((f) => f[3])).size, 1, drill.facts);
    assert.equal(new Set(facts.map((f) => f[2])).size, people, drill.facts);
    for (const f of facts) assert.equal(splitOfEntity(f[1]), 'train', f[1]);
    const m = /^Who is (\d+) (years old|centimeters tall)\?$/.exec(drill.question);
    assert.ok(m, drill.question);
    assert.equal(m[2], facts[0][3]);
    const index = facts.findIndex((f) => f[2] === m[1]);
    assert.ok(index >= 0, drill.question);
    assert.equal(drill.answer, facts[index][1]);
    asked.add(index);
  }
  // Every position is asked, so the first or last name is no shortcut.
  assert.deepEqual([...asked].sort(), [0, 1, 2, 3, 4]);
});

test('needles sit at their depth (within one sentence of filler)', () => {
  for (const depth of [0, 0.25, 0.5, 0.75, 1]) {
    const c = generateCase({ task: 'niah_single', split: 'test', index: 1, length: 4096, depth }, fastCount);
    const contextEnd = c.prompt.lastIndexOf('\n\nQuestion:');
    const before = exactCount(c.prompt.slice(0, c.needleOffset));
    const total = exactCount(c.prompt.slice(0, contextEnd));
    assert.ok(Math.abs(before / total - depth) < 0.02, `depth ${depth}: needle at ${before}/${total}`);
    if (depth === 0) assert.equal(c.needleOffset, 0);
  }
});

test('splits use disjoint seeds and disjoint entities', () => {
  const seeds = new Map<number, string>();
  for (const split of SPLITS) {
    for (const task of TASKS) {
      for (const index of [0, 1, 99_999]) {
        const seed = caseSeed(split, `${task}@1024`, index);
        assert.equal(splitOfSeed(seed), split);
        assert.equal(seeds.has(seed), false, `seed ${seed} reused`);
        seeds.set(seed, split);
      }
    }
  }
  const random = new SeededRandom(7);
  const names = new Map<string, Set<string>>();
  for (const split of SPLITS) {
    for (const kind of ['person', 'key', 'variable'] as const) {
      for (const name of drawEntities(kind, split, 200, random)) {
        assert.equal(splitOfEntity(name), split);
        const owners = names.get(name) ?? new Set<string>();
        owners.add(split);
        names.set(name, owners);
      }
    }
  }
  for (const [name, owners] of names) assert.equal(owners.size, 1, `${name} in ${[...owners].join(', ')}`);
  // The test split's prompts name no training entity.
  const test = generateCase({ task: 'two_hop', split: 'test', index: 0, length: 512, depth: 0.5 }, fastCount);
  const people = /between (\S+) and (\S+)\?/.exec(test.prompt);
  assert.ok(people);
  assert.equal(splitOfEntity(people[1]), 'test');
  assert.equal(splitOfEntity(people[2]), 'test');
});

test('the filler varies: no sentence makes up more than 2% of a long haystack', () => {
  const generator = new FillerGenerator(3);
  const counts = new Map<string, number>();
  for (let i = 0; i < 2000; i++) {
    const sentence = generator.nextSentence();
    counts.set(sentence, (counts.get(sentence) ?? 0) + 1);
  }
  assert.ok(counts.size > 1500, `${counts.size} distinct sentences of 2000`);
  assert.ok(Math.max(...counts.values()) <= 40);
});

test('buildSuite enumerates lengths x tasks x cases with cycling depths, and rejects unknown lengths', () => {
  const spec = suiteSpec('ruler-tiny');
  const cases = buildSuite(spec, { split: 'test', limit: 2, lengths: [1024] }, fastCount);
  assert.equal(cases.length, TASKS.length * 2);
  assert.deepEqual(
    cases.filter((c) => c.task === 'niah_single').map((c) => c.depth),
    [spec.depths[0], spec.depths[1]],
  );
  assert.throws(() => buildSuite(spec, { split: 'test', lengths: [999] }, fastCount), /has no length 999/);
  assert.throws(() => suiteSpec('nope'), /unknown suite 'nope'/);
});

test('scores: LongBench normalization, exact match, token F1 and ROUGE-L', () => {
  assert.equal(normalizeAnswer('  The Quick, brown fox!  '), 'quick brown fox');
  assert.equal(exactMatch('1234567.', '1234567'), 1);
  assert.equal(exactMatch('1234568', '1234567'), 0);
  // prediction {quick, fox, jumps} vs answer {quick, brown, fox}: P = R = 2/3.
  assert.ok(Math.abs(qaF1Score('the quick fox jumps', 'a quick brown fox') - 2 / 3) < 1e-12);
  assert.equal(qaF1Score('', 'x'), 0);
  // LCS("a b c d", "a c d e") = 3: P = R = 3/4.
  assert.ok(Math.abs(rougeL('a b c d', 'a c d e') - 0.75) < 1e-12);
  assert.equal(rougeL('Same words here', 'same words here'), 1);
  assert.equal(rougeL('x', ''), 0);
});
