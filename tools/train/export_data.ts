// export_data.ts: writes the suite's text for training headkv-tiny (tools/train/README.md).
//   node dist/tools/train/export_data.js corpus --out FILE [--cases N]
//       training-split prompts and answers, one a line (newlines escaped), for the tokenizer;
//       lengths approximate (4 characters a token) since the tokenizer does not exist yet
//   node dist/tools/train/export_data.js train --tokenizer DIR --out DIR [--scale X] [--shard I/N]
//       train.jsonl.gz (training split, the length plan below scaled by X) and validation.jsonl.gz,
//       lengths measured in the tokenizer's tokens (BOS included)
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

import { Tokenizer } from '@headkv/engine';
import {
  generateCase,
  pretokenCounter,
  SeededRandom,
  splitPatternOf,
  Split,
  SuiteCase,
  TASKS,
  TokenCounter,
} from '@headkv/suite';

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
const VALIDATION_LENGTHS = [1024, 4096, 8192];
const VALIDATION_PER_TASK = 6;

function option(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  if (at < 0) return undefined;
  const value = args[at + 1];
  if (value === undefined) throw new Error(`${name} needs a value`);
  return value;
}

function required(args: string[], name: string): string {
  const value = option(args, name);
  if (value === undefined) throw new Error(`missing ${name}`);
  return value;
}

function record(c: SuiteCase): string {
  return JSON.stringify({
    id: c.id,
    task: c.task,
    length: c.length,
    depth: c.depth,
    prompt: c.prompt,
    answer: c.answer,
  });
}

// Case i of the plan: task and depth drawn from the case index, so any shard reproduces it.
function* planned(split: Split, plan: ReadonlyArray<[number, number]>, shard: number, shards: number) {
  for (const [length, count] of plan) {
    for (let i = 0; i < count; i++) {
      if (i % shards !== shard) continue;
      const random = new SeededRandom(length * 1_000_003 + i);
      const task = TASKS[i % TASKS.length];
      const index = Math.floor(i / TASKS.length);
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
  const cases = Number(option(args, '--cases') ?? '3000');
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

function exportTrain(args: string[]): void {
  const tokenizerDir = required(args, '--tokenizer');
  const out = required(args, '--out');
  const scale = Number(option(args, '--scale') ?? '1');
  const [shard, shards] = (option(args, '--shard') ?? '0/1').split('/').map(Number);
  const tokenizer = Tokenizer.fromDir(tokenizerDir);
  const counter = pretokenCounter(
    (text) => tokenizer.encode(text, { addSpecialTokens: false }).length,
    splitPatternOf(path.join(tokenizerDir, 'tokenizer.json')),
  );
  // +1: the BOS the tokenizer adds, so that a case of length L encodes to at most L ids.
  const count: TokenCounter = (text) => counter(text) + 1;
  fs.mkdirSync(out, { recursive: true });
  const plan = TRAIN_PLAN.map(([length, n]): [number, number] => [length, Math.round(n * scale)]);
  const suffix = shards > 1 ? `.${shard}` : '';
  const trainCount = writeGzipLines(
    path.join(out, `train${suffix}.jsonl.gz`),
    (function* () {
      for (const request of planned('train', plan, shard, shards)) yield record(generateCase(request, count));
    })(),
  );
  process.stderr.write(`export_data: ${trainCount} training cases -> ${out}\n`);
  if (shard === 0) {
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

function main(): void {
  const [mode, ...args] = process.argv.slice(2);
  if (mode === 'corpus') exportCorpus(args);
  else if (mode === 'train') exportTrain(args);
  else throw new Error('usage: export_data.js corpus --out FILE | train --tokenizer DIR --out DIR');
}

try {
  main();
} catch (error) {
  process.stderr.write(`export_data: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
