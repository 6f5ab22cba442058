// export_data.ts: writes the suite's text for training headkv-tiny (tools/train/README.md).
//   node dist/tools/train/export_data.js corpus --out FILE [--cases N]
//       training-split prompts and answers, one a line (newlines escaped), for the tokenizer;
//       lengths approximate (4 characters a token) since the tokenizer does not exist yet
//   node dist/tools/train/export_data.js train --tokenizer DIR --out DIR [--scale X] [--shard I/N]
//       [--plan LEN:N,LEN:N...] [--tasks TASK,TASK...] [--name NAME] [--first-case K]
//       [--two-hop-variants]
//       NAME.jsonl.gz (default train; training split, the length plan, default TRAIN_PLAN, scaled
//       by X, cases cycling through the tasks, default all) and, from shard 0 of the default plan,
//       validation.jsonl.gz; lengths measured in the tokenizer's tokens (BOS included). Each
//       length's cases are its plan's Kth on (default 0): K past another export's count at the
//       same length gives cases it does not hold (a case is drawn from its task, length and
//       index). With
//       --two-hop-variants every two_hop case comes with its mirrored question, both
//       comparison-only questions (the winner's name), both value questions (the winner's
//       number) and both lookups (the name stated with a number) over the same prompt, these with
//       their own tasks, the comparisons by direction: two_hop_comparison_higher (older, taller),
//       two_hop_comparison_lower, two_hop_value_higher, two_hop_value_lower and two_hop_lookup
//   node dist/tools/train/export_data.js drill --out DIR [--kind KIND] [--cases N] [--name NAME]
//       N (default 200000) drills for two_hop's steps, bare prompts (no haystack). KIND
//       number-order (default; NAME train-drill): half ask the larger of two numbers (task
//       number_order_higher), half the smaller (number_order_lower), in the 64-token bucket.
//       KIND lookup (NAME train-lookup-drill): two to five people's ages or heights and who has
//       one of them (task fact_lookup), in the 96-token bucket
//   node dist/tools/train/export_data.js test --tokenizer DIR --out DIR [--suite NAME] [--limit N]
//       test.jsonl.gz: the suite's test-split cases exactly as `headkv eval --suite NAME --limit N`
//       builds them (first N per task and length), for train.py's greedy evaluation
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

import { Tokenizer } from '@headkv/engine';
import {
  buildSuite,
  DEFAULT_SUITE,
  drawFactLookup,
  drawNumberOrder,
  generateCase,
  generateTwoHopVariants,
  pretokenCounter,
  promptText,
  SeededRandom,
  splitPatternOf,
  Split,
  SuiteCase,
  suiteSpec,
  TaskName,
  TASKS,
  TokenCounter,
  TwoHopVariantCase,
} from '@headkv/suite';
import { optionValue } from '../option-value';

// Cases per prompt length in the training split: many short prompts (where the skills are learned
// cheaply), fewer long ones (where they must survive up to 8K tokens).
const TRAIN_PLAN: ReadonlyArray<[number, number]> = [
  [256, 14000],
  [512, 12000],
  [1024, 8000],
  [2048, 5000],
  [4096, 2600],
  [8192, 1400],
];
// Every test length, 24 cases a task (672 in all): with 12 a task at three lengths, three of v6's
// four runs tied on validation. The first 12 a task at 1K, 4K and 8K are the earlier set's.
const VALIDATION_LENGTHS = [1024, 2048, 4096, 8192];
const VALIDATION_PER_TASK = 24;

function required(args: string[], name: string): string {
  const value = optionValue(args, name);
  if (value === undefined) throw new Error(`missing ${name}`);
  return value;
}

// The two_hop variants that answer a name or a number get their own tasks (train.py can train
// them in rungs, see tools/train/README.md), the comparisons by direction; a lookup has no
// direction, only a number to find.
const VARIANT_TASKS: Record<Exclude<TwoHopVariantCase['asks'], 'favorite'>, string> = {
  winner: 'two_hop_comparison',
  value: 'two_hop_value',
  lookup: 'two_hop_lookup',
};

function variantRecord(v: TwoHopVariantCase): string {
  if (v.asks === 'favorite') return record(v.suiteCase);
  if (v.asks === 'lookup') return record(v.suiteCase, VARIANT_TASKS.lookup);
  return record(v.suiteCase, `${VARIANT_TASKS[v.asks]}_${v.pickHigher ? 'higher' : 'lower'}`);
}

function record(c: SuiteCase, task: string = c.task): string {
  return JSON.stringify({
    id: c.id,
    task,
    length: c.length,
    depth: c.depth,
    metric: c.metric,
    prompt: c.prompt,
    answer: c.answer,
  });
}

// Case i of the plan: task and depth drawn from the case index, so any shard reproduces it.
function* planned(
  split: Split,
  plan: ReadonlyArray<[number, number]>,
  shard: number,
  shards: number,
  tasks: readonly TaskName[] = TASKS,
  firstCase = 0,
) {
  for (const [length, count] of plan) {
    for (let i = firstCase; i < firstCase + count; i++) {
      if (i % shards !== shard) continue;
      const random = new SeededRandom(length * 1_000_003 + i);
      const task = tasks[i % tasks.length];
      const index = Math.floor(i / tasks.length);
      yield { task, split, index, length, depth: Math.round(random.next() * 1000) / 1000 };
    }
  }
}

function writeGzipLines(file: string, lines: Iterable<string>): number {
  const chunks: Buffer[] = [];
  let count = 0;
  for (const line of lines) {
    chunks.push(Buffer.from(line + '\n'));
    count++;
    if (count % 1000 === 0) process.stderr.write(`  ${path.basename(file)}: ${count} cases\n`);
  }
  fs.writeFileSync(file, zlib.gzipSync(Buffer.concat(chunks), { level: 6 }));
  return count;
}

function exportCorpus(args: string[]): void {
  const out = required(args, '--out');
  const cases = Number(optionValue(args, '--cases') ?? '3000');
  const approximate: TokenCounter = (text) => Math.ceil(text.length / 4);
  const lines: string[] = [];
  for (const request of planned('train', [[1024, cases]], 0, 1)) {
    const c = generateCase(request, approximate);
    lines.push(`${c.prompt} ${c.answer}`.replace(/\n/g, '\\n'));
  }
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, lines.join('\n') + '\n');
  process.stderr.write(`export_data: ${lines.length} corpus lines -> ${out}\n`);
}

// The tokenizer's count of a text as the model sees it: the BOS the tokenizer adds included, so
// that a case of length L encodes to at most L ids (what `headkv eval` counts too).
function tokenCounterOf(tokenizerDir: string): TokenCounter {
  const tokenizer = Tokenizer.fromDir(tokenizerDir);
  const counter = pretokenCounter(
    (text) => tokenizer.encode(text, { addSpecialTokens: false }).length,
    splitPatternOf(path.join(tokenizerDir, 'tokenizer.json')),
  );
  const withBos = tokenizer.encode('', { addSpecialTokens: true }).length;
  return (text) => counter(text) + withBos;
}

// "256:14000,512:12000" -> [[256, 14000], [512, 12000]].
function parsePlan(text: string): Array<[number, number]> {
  return text.split(',').map((item): [number, number] => {
    const [length, count] = item.split(':').map(Number);
    if (!(Number.isInteger(length) && length > 0 && Number.isInteger(count) && count > 0))
      throw new Error(`--plan: '${item}' is not LENGTH:COUNT with positive integers`);
    return [length, count];
  });
}

function parseTasks(text: string): TaskName[] {
  return text.split(',').map((name) => {
    const task = TASKS.find((t) => t === name);
    if (task === undefined) throw new Error(`--tasks: unknown task '${name}' (known: ${TASKS.join(', ')})`);
    return task;
  });
}

function exportTrain(args: string[]): void {
  const tokenizerDir = required(args, '--tokenizer');
  const out = required(args, '--out');
  const scale = Number(optionValue(args, '--scale') ?? '1');
  const [shard, shards] = (optionValue(args, '--shard') ?? '0/1').split('/').map(Number);
  const planText = optionValue(args, '--plan');
  const tasksText = optionValue(args, '--tasks');
  const name = optionValue(args, '--name') ?? 'train';
  const twoHopVariants = args.includes('--two-hop-variants');
  const firstCaseText = optionValue(args, '--first-case') ?? '0';
  const firstCase = Number(firstCaseText);
  if (!(Number.isInteger(firstCase) && firstCase >= 0))
    throw new Error(`--first-case: '${firstCaseText}' is not a non-negative integer`);
  const count = tokenCounterOf(tokenizerDir);
  fs.mkdirSync(out, { recursive: true });
  const plan = (planText === undefined ? TRAIN_PLAN : parsePlan(planText)).map(
    ([length, n]): [number, number] => [length, Math.round(n * scale)],
  );
  const tasks = tasksText === undefined ? TASKS : parseTasks(tasksText);
  const suffix = shards > 1 ? `.${shard}` : '';
  const trainCount = writeGzipLines(
    path.join(out, `${name}${suffix}.jsonl.gz`),
    (function* () {
      for (const request of planned('train', plan, shard, shards, tasks, firstCase)) {
        if (twoHopVariants && request.task === 'two_hop')
          for (const v of generateTwoHopVariants(request, count)) yield variantRecord(v);
        else yield record(generateCase(request, count));
      }
    })(),
  );
  process.stderr.write(`export_data: ${trainCount} training cases -> ${out}\n`);
  if (shard === 0 && planText === undefined && tasksText === undefined) {
    const validation = VALIDATION_LENGTHS.map((length): [number, number] => [
      length,
      VALIDATION_PER_TASK * TASKS.length,
    ]);
    const n = writeGzipLines(
      path.join(out, 'validation.jsonl.gz'),
      (function* () {
        for (const request of planned('validation', validation, 0, 1))
          yield record(generateCase(request, count));
      })(),
    );
    process.stderr.write(`export_data: ${n} validation cases -> ${out}\n`);
  }
}

// The drills: bare prompts (no haystack) that teach one step of two_hop each, in a short bucket
// (their prompts are far shorter than a haystack's), so a step holds many. Each drill is drawn
// from its index alone (and its bucket: the seed).
interface DrillCase {
  id: string;
  task: string;
  context: string;
  question: string;
  answer: string;
}

const DRILLS: Record<
  string,
  { name: string; length: number; draw: (r: SeededRandom, i: number) => DrillCase }
> = {
  // Which of two numbers is the larger (even indices) or the smaller: the comparison.
  'number-order': {
    name: 'train-drill',
    length: 64,
    draw: (r, i) => {
      const pickHigher = i % 2 === 0;
      const drill = drawNumberOrder(r, pickHigher);
      const task = pickHigher ? 'number_order_higher' : 'number_order_lower';
      return { id: `train/number_order/${i}`, task, context: '', ...drill };
    },
  },
  // Who has a number, among two to five people's facts: the step from the number to the name.
  lookup: {
    name: 'train-lookup-drill',
    length: 96,
    draw: (r, i) => {
      const { facts, question, answer } = drawFactLookup(r, 'train', 2 + (i % 4));
      return { id: `train/fact_lookup/96/${i}`, task: 'fact_lookup', context: facts, question, answer };
    },
  },
};

function exportDrill(args: string[]): void {
  const out = required(args, '--out');
  const kind = optionValue(args, '--kind') ?? 'number-order';
  const drills = DRILLS[kind];
  if (drills === undefined)
    throw new Error(`--kind: '${kind}' is not one of ${Object.keys(DRILLS).join(', ')}`);
  const name = optionValue(args, '--name') ?? drills.name;
  const casesText = optionValue(args, '--cases') ?? '200000';
  const cases = Number(casesText);
  if (!(Number.isInteger(cases) && cases > 0))
    throw new Error(`--cases: '${casesText}' is not a positive integer`);
  fs.mkdirSync(out, { recursive: true });
  const n = writeGzipLines(
    path.join(out, `${name}.jsonl.gz`),
    (function* () {
      for (let i = 0; i < cases; i++) {
        const drill = drills.draw(new SeededRandom(drills.length * 1_000_003 + i), i);
        yield JSON.stringify({
          id: drill.id,
          task: drill.task,
          length: drills.length,
          depth: 0,
          metric: 'exact',
          prompt: promptText(drill.context, drill.question),
          answer: drill.answer,
        });
      }
    })(),
  );
  process.stderr.write(`export_data: ${n} ${kind} drills -> ${out}\n`);
}

function exportTest(args: string[]): void {
  const tokenizerDir = required(args, '--tokenizer');
  const out = required(args, '--out');
  const spec = suiteSpec(optionValue(args, '--suite') ?? DEFAULT_SUITE);
  const limitText = optionValue(args, '--limit');
  const limit = limitText === undefined ? undefined : Number(limitText);
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0))
    throw new Error(`--limit: '${limitText}' is not a positive integer`);
  const cases = buildSuite(spec, { split: 'test', limit }, tokenCounterOf(tokenizerDir));
  fs.mkdirSync(out, { recursive: true });
  const n = writeGzipLines(
    path.join(out, 'test.jsonl.gz'),
    cases.map((c) => record(c)),
  );
  process.stderr.write(`export_data: ${n} test cases of ${spec.name} -> ${out}\n`);
}

function main(): void {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === 'corpus') exportCorpus(args);
  else if (mode === 'train') exportTrain(args);
  else if (mode === 'drill') exportDrill(args);
  else if (mode === 'test') exportTest(args);
  else
    throw new Error(
      'usage: export_data.js corpus --out FILE | train --tokenizer DIR --out DIR | drill --out DIR [--kind KIND] | test --tokenizer DIR --out DIR',
    );
}

try {
  main();
} catch (error) {
  process.stderr.write(`export_data: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
