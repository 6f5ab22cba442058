// eval.ts: fidelity of the KV-cache methods on the RULER-style suite or LongBench-format data.
//   headkv eval --model DIR [--suite NAME] [--methods full,snapkv,...] [--kv-sizes 16,32,64,128]
//               [--granularity kv-head|query-head] [--lengths 4096,8192] [--limit N] [--json] [--out DIR]
//   headkv eval --model DIR --longbench FILE.jsonl [...same method options]
// Every case runs greedily through the engine once per method and kv_size (the full cache once);
// the table shows accuracy, accuracy relative to the full cache, and the share of the cache kept
// (bytes kept / bytes of a full cache). --out writes results.json, cases.jsonl and plot.svg.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { SingleBar } from 'cli-progress';
import { Command, InvalidArgumentError } from 'commander';

import { Engine, KV_METHODS, KvGranularity, KvMethod, KvOptions } from '@headkv/engine';
import { headScoresOf, profileModelOf, resolveProfile } from '@headkv/profiles';
import {
  answerLine,
  buildSuite,
  DEFAULT_SUITE,
  EvalRecord,
  evalPlotSvg,
  formatEvalTable,
  longBenchPrompt,
  pretokenCounter,
  readLongBenchJsonl,
  scoreCase,
  scoreLongBench,
  Split,
  SPLITS,
  splitPatternOf,
  suiteSpec,
  summarizeEval,
  TaskName,
  TASKS,
} from '@headkv/suite';

import { CliError, cliAction } from '../cli-action';
import { parseChoice, parseNonNegativeInteger, parseNumber, parsePositiveInteger } from '../option-parsers';

interface EvalOptions {
  model: string;
  suite: string;
  split: Split;
  longbench?: string;
  methods: KvMethod[];
  kvSizes: number[];
  lengths?: number[];
  tasks?: TaskName[];
  granularity?: KvGranularity;
  beta?: number;
  profile?: string;
  profileR?: string;
  limit?: number;
  maxTokens: number;
  threads: number;
  json?: boolean;
  out?: string;
}

// One prompt to run and how to score what comes back.
interface EvalItem {
  id: string;
  group: string;
  length: number;
  promptIds: number[];
  answer: string;
  score: (prediction: string) => number;
}

function parseList<T>(parse: (part: string) => T): (value: string) => T[] {
  return (value: string) => {
    const parts = value
      .split(',')
      .map((p) => p.trim())
      .filter((p) => p.length > 0);
    if (parts.length === 0) throw new InvalidArgumentError('expected a comma-separated list.');
    return parts.map(parse);
  };
}

const parseMethods = parseList<KvMethod>((part) => {
  if (!(KV_METHODS as readonly string[]).includes(part)) {
    throw new InvalidArgumentError(`unknown method '${part}' (expected ${KV_METHODS.join(', ')}).`);
  }
  return part as KvMethod;
});
const parseSizes = parseList<number>((part) => parsePositiveInteger(part));
const parseTasks = parseList<TaskName>((part) => {
  if (!(TASKS as readonly string[]).includes(part)) {
    throw new InvalidArgumentError(`unknown task '${part}' (expected ${TASKS.join(', ')}).`);
  }
  return part as TaskName;
});

// Profiles: headkv-r2 reads --profile or MODEL/headkv_profile.json; headkv-r reads --profile-r or
// MODEL/headkv_profile_r.json.
function headScoresFor(method: 'headkv-r' | 'headkv-r2', options: EvalOptions, engine: Engine): Float32Array {
  const file =
    method === 'headkv-r2'
      ? options.profile
      : (options.profileR ?? path.join(options.model, 'headkv_profile_r.json'));
  if (method === 'headkv-r' && !fs.existsSync(file as string)) {
    throw new CliError(
      `headkv-r needs a HeadKV-R profile: give --profile-r FILE or create ${file} with headkv profile --method r`,
    );
  }
  return headScoresOf(resolveProfile(file, options.model, profileModelOf(engine.info), method).profile);
}

interface RunConfig {
  method: KvMethod;
  kvSize: number | null;
  kv: KvOptions;
}

function configsOf(options: EvalOptions, engine: Engine): RunConfig[] {
  const configs: RunConfig[] = [];
  for (const method of options.methods) {
    if (method === 'full') {
      configs.push({ method, kvSize: null, kv: { method: 'full' } });
      continue;
    }
    const headScores =
      method === 'headkv-r' || method === 'headkv-r2' ? headScoresFor(method, options, engine) : undefined;
    for (const kvSize of options.kvSizes) {
      configs.push({
        method,
        kvSize,
        kv: { method, kvSize, granularity: options.granularity, beta: options.beta, headScores },
      });
    }
  }
  return configs;
}

function suiteItems(options: EvalOptions, engine: Engine): EvalItem[] {
  const tokenizer = engine.tokenizer;
  if (tokenizer === undefined)
    throw new CliError(`${options.model}: the suite needs the model's tokenizer.json`);
  const spec = suiteSpec(options.suite);
  const encode = (text: string): number => tokenizer.encode(text, { addSpecialTokens: false }).length;
  const counter = pretokenCounter(encode, splitPatternOf(path.join(options.model, 'tokenizer.json')));
  const withBos = tokenizer.encode('', { addSpecialTokens: true }).length;
  const cases = buildSuite(
    spec,
    { split: options.split, limit: options.limit, lengths: options.lengths, tasks: options.tasks },
    (text) => counter(text) + withBos,
  );
  return cases.map((c) => ({
    id: c.id,
    group: c.task,
    length: c.length,
    promptIds: tokenizer.encode(c.prompt),
    answer: c.answer,
    score: (prediction: string) => scoreCase(c.metric, prediction, c.answer),
  }));
}

function longBenchItems(file: string, options: EvalOptions, engine: Engine): EvalItem[] {
  const tokenizer = engine.tokenizer;
  if (tokenizer === undefined)
    throw new CliError(`${options.model}: LongBench prompts need the model's tokenizer.json`);
  let records = readLongBenchJsonl(file);
  if (options.limit !== undefined) {
    // At most --limit records per dataset.
    const taken = new Map<string, number>();
    records = records.filter((r) => {
      const n = taken.get(r.dataset) ?? 0;
      taken.set(r.dataset, n + 1);
      return n < (options.limit as number);
    });
  }
  return records.map((r) => {
    const promptIds = tokenizer.encode(longBenchPrompt(r));
    return {
      id: `${path.basename(file)}:${r.line}`,
      group: r.dataset,
      length: promptIds.length,
      promptIds,
      answer: r.answers.join(' | '),
      score: (prediction: string) => scoreLongBench(r.dataset, prediction, r.answers),
    };
  });
}

async function runEval(options: EvalOptions): Promise<void> {
  if (options.methods.some((m) => m !== 'full') && options.kvSizes.length === 0) {
    throw new CliError('--kv-sizes is empty');
  }
  const engine = await Engine.load(options.model, { threads: options.threads, maxSequences: 1 });
  try {
    const configs = configsOf(options, engine);
    const items = options.longbench
      ? longBenchItems(options.longbench, options, engine)
      : suiteItems(options, engine);
    const maxContext = engine.info.maxPositionEmbeddings;
    for (const item of items) {
      if (item.promptIds.length + options.maxTokens > maxContext) {
        throw new CliError(
          `${item.id}: ${item.promptIds.length} prompt tokens + ${options.maxTokens} exceed the model's ${maxContext}`,
        );
      }
    }
    const bar = new SingleBar({
      format: 'eval [{bar}] {value}/{total} runs | {item} {config} | eta {eta_formatted}',
      stream: process.stderr,
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 10_000,
    });
    bar.start(items.length * configs.length, 0, { item: '', config: '' });
    const records: EvalRecord[] = [];
    for (const item of items) {
      for (const config of configs) {
        bar.update({
          item: item.id,
          config: `${config.method}${config.kvSize === null ? '' : `@${config.kvSize}`}`,
        });
        const result = await engine.generate({
          promptIds: item.promptIds,
          maxTokens: options.maxTokens,
          temperature: 0,
          kv: config.kv,
        });
        const prediction = answerLine(result.text);
        records.push({
          item: item.id,
          group: item.group,
          length: item.length,
          method: config.method,
          kvSize: config.kvSize,
          score: item.score(prediction),
          prediction,
          answer: item.answer,
          bytesFull: result.kv.bytesFull,
          bytesKept: result.kv.bytesKept,
        });
        bar.increment();
      }
    }
    bar.stop();
    const summary = summarizeEval(records);
    const report = {
      model: options.model,
      source: options.longbench
        ? { longbench: options.longbench }
        : { suite: options.suite, split: options.split },
      granularity: options.granularity ?? 'kv-head',
      beta: options.beta ?? null,
      limit: options.limit ?? null,
      lengths: options.lengths ?? null,
      tasks: options.tasks ?? null,
      ...summary,
    };
    if (options.out !== undefined) {
      fs.mkdirSync(options.out, { recursive: true });
      fs.writeFileSync(path.join(options.out, 'results.json'), JSON.stringify(report, null, 2) + '\n');
      fs.writeFileSync(
        path.join(options.out, 'cases.jsonl'),
        records.map((r) => JSON.stringify(r)).join('\n') + '\n',
      );
      const title = `${path.basename(options.model)}: ${options.longbench ? path.basename(options.longbench) : options.suite}`;
      fs.writeFileSync(path.join(options.out, 'plot.svg'), evalPlotSvg(summary, title));
    }
    process.stdout.write(
      options.json ? JSON.stringify(report, null, 2) + '\n' : formatEvalTable(summary) + '\n',
    );
  } finally {
    await engine.dispose();
  }
}

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description(
      'accuracy of each KV-cache method and kv_size on the fidelity suite or LongBench-format JSONL',
    )
    .requiredOption('--model <dir>', 'model folder')
    .option('--suite <name>', 'suite (ruler-tiny: 1K-8K; ruler-long: 4K-8K)', DEFAULT_SUITE)
    .option('--split <s>', 'suite split', parseChoice(SPLITS), 'test')
    .option(
      '--longbench <file>',
      'LongBench-format JSONL (input, context, answers, dataset) instead of the suite',
    )
    .option('--methods <list>', `comma-separated: ${KV_METHODS.join(', ')}`, parseMethods, [...KV_METHODS])
    .option('--kv-sizes <list>', 'comma-separated average per-head budgets', parseSizes, [16, 32, 64, 128])
    .option('--lengths <list>', "only these of the suite's prompt lengths", parseSizes)
    .option('--tasks <list>', "only these of the suite's tasks", parseTasks)
    .option(
      '--granularity <g>',
      'kv-head (default) or query-head',
      parseChoice<KvGranularity>(['kv-head', 'query-head']),
    )
    .option('--beta <b>', 'HeadKV pool factor', parseNumber)
    .option('--profile <file>', 'HeadKV-R2 profile (default: MODEL/headkv_profile.json)')
    .option('--profile-r <file>', 'HeadKV-R profile (default: MODEL/headkv_profile_r.json)')
    .option(
      '--limit <n>',
      'at most n cases per task and length (LongBench: per dataset)',
      parsePositiveInteger,
    )
    .option('--max-tokens <n>', 'tokens generated per case', parsePositiveInteger, 64)
    .option('--threads <n>', 'CPU threads; 0 = all cores', parseNonNegativeInteger, 0)
    .option('--json', 'print the results as JSON instead of the table')
    .option('--out <dir>', 'write results.json, cases.jsonl and plot.svg here')
    .action(cliAction(runEval));
}
