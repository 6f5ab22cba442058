// profile.ts: head-importance profiles (HEADKV.md section 2).
//   headkv profile --model DIR --method r2 [--max-length N] --out FILE   probe the model, write a profile
//   headkv profile-import --reference FILE --model DIR --method r2 --out FILE
//   headkv profile-export --profile FILE --out FILE                      to the reference format
import * as fs from 'node:fs';

import { Command } from 'commander';

import { loadNativeAddon, ModelInfo, NativeModel, Tokenizer } from '@headkv/engine';
import {
  ContextProbeRunner,
  DEFAULT_PROBE_BUFFER,
  DEFAULT_PROBE_DEPTHS,
  DEFAULT_PROBE_LENGTHS,
  loadProfile,
  parseReferenceScores,
  profileFromReference,
  ProfileGranularity,
  ProfileMethod,
  profileModelOf,
  profileModel,
  saveProfile,
  SCORED_SPANS,
  ScoredSpan,
  toReferenceScores,
} from '@headkv/profiles';

import { CliError, cliAction } from '../cli-action';
import { parseChoice, parseNonNegativeInteger, parsePositiveInteger } from '../option-parsers';

type MethodChoice = 'r' | 'r2';
const METHOD_OF: Record<MethodChoice, ProfileMethod> = { r: 'headkv-r', r2: 'headkv-r2' };
const GRANULARITIES: readonly ProfileGranularity[] = ['kv-head', 'query-head'];
const DEFAULT_MAX_LENGTH = 4096;

// Tokens beyond --max-length that a probe prompt may need: the question, "Answer:", BOS and
// the answer (the buffer keeps the haystack 200 tokens shorter than the length).
const PROMPT_TAIL_TOKENS = 256;
const PAGE_TOKENS = 16;

// A full fp32 cache of one sequence of maxContext tokens, one spare page per head: enough
// whatever the backend's cache dtype.
function fullCacheBytes(info: ModelInfo, maxContext: number): number {
  const pagesPerHead = Math.ceil(maxContext / PAGE_TOKENS) + 1;
  return info.nLayers * info.nKvHeads * pagesPerHead * PAGE_TOKENS * info.headDim * 2 * 4;
}

async function withModel<T>(
  dir: string,
  threads: number,
  use: (model: NativeModel) => Promise<T>,
): Promise<T> {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
    throw new CliError(`${dir}: model folder does not exist`);
  const model = await loadNativeAddon().loadModel(dir, { threads });
  try {
    return await use(model);
  } finally {
    model.dispose();
  }
}

interface ProfileOptions {
  model: string;
  method: MethodChoice;
  maxLength?: number;
  seed: number;
  lengths: number;
  depths: number;
  buffer: number;
  granularity: ProfileGranularity;
  countAllTrials?: boolean;
  scoredSpan: ScoredSpan;
  threads: number;
  out: string;
}

async function runProfile(options: ProfileOptions): Promise<void> {
  const tokenizer = Tokenizer.fromDir(options.model);
  await withModel(options.model, options.threads, async (model) => {
    const info = model.info();
    // Room for the longest probe prompt, its question and answer, in a full cache.
    const longest = info.maxPositionEmbeddings - PROMPT_TAIL_TOKENS;
    const maxLength = options.maxLength ?? Math.min(DEFAULT_MAX_LENGTH, longest);
    if (maxLength > longest) {
      throw new CliError(
        `--max-length ${maxLength}: must be at most ${longest} (max_position_embeddings ${info.maxPositionEmbeddings} ` +
          `less ${PROMPT_TAIL_TOKENS} tokens for the question and answer)`,
      );
    }
    const maxContext = maxLength + PROMPT_TAIL_TOKENS;
    const context = model.createContext({
      maxSequences: 1,
      maxContext,
      pageTokens: PAGE_TOKENS,
      kvCacheBytes: fullCacheBytes(info, maxContext),
    });
    try {
      const runner = new ContextProbeRunner(context, tokenizer, info.eosTokenIds);
      const profile = await profileModel(runner, tokenizer, profileModelOf(info), {
        method: METHOD_OF[options.method],
        granularity: options.granularity,
        maxLength,
        seed: options.seed,
        nLengths: options.lengths,
        nDepths: options.depths,
        buffer: options.buffer,
        countAllTrials: options.countAllTrials,
        scoredSpan: options.scoredSpan,
        engineVersion: loadNativeAddon().version(),
        now: new Date(),
        onProgress: (done, total, correct) =>
          process.stderr.write(`\rprofile: trial ${done}/${total}, ${correct} answered correctly`),
      });
      process.stderr.write('\n');
      saveProfile(options.out, profile);
      process.stderr.write(`profile: wrote ${options.out} (${profile.trials} trials counted)\n`);
    } finally {
      context.dispose();
    }
  });
}

interface ImportOptions {
  reference: string;
  model: string;
  method: MethodChoice;
  granularity: ProfileGranularity;
  out: string;
}

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError(`${file}: cannot read ${what} (${(error as NodeJS.ErrnoException).code})`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CliError(`${file}: invalid JSON: ${(error as Error).message}`);
  }
}

async function importReference(options: ImportOptions): Promise<void> {
  const reference = parseReferenceScores(readJson(options.reference, 'reference scores'), options.reference);
  await withModel(options.model, 1, async (model) => {
    const profile = profileFromReference(reference, options.reference, {
      model: profileModelOf(model.info()),
      method: METHOD_OF[options.method],
      granularity: options.granularity,
      engineVersion: loadNativeAddon().version(),
      createdAt: new Date(),
    });
    saveProfile(options.out, profile);
  });
}

async function exportReference(options: { profile: string; out: string }): Promise<void> {
  const profile = loadProfile(options.profile);
  fs.writeFileSync(options.out, JSON.stringify(toReferenceScores(profile)) + '\n');
}

export function registerProfile(program: Command): void {
  program
    .command('profile')
    .description('score every attention head with HeadKV probe prompts and write a profile')
    .requiredOption('--model <dir>', 'Hugging Face model folder (config.json, safetensors, tokenizer.json)')
    .requiredOption(
      '--method <m>',
      'r (HeadKV-R, retrieval) or r2 (HeadKV-R2, retrieval-reasoning)',
      parseChoice<MethodChoice>(['r', 'r2']),
    )
    .requiredOption('--out <file>', 'profile JSON to write')
    .option(
      '--max-length <n>',
      `longest probe context in tokens (default ${DEFAULT_MAX_LENGTH}, or less for a model with fewer positions)`,
      parsePositiveInteger,
    )
    .option(
      '--lengths <n>',
      'context lengths, evenly spaced over [0, max-length]',
      parsePositiveInteger,
      DEFAULT_PROBE_LENGTHS,
    )
    .option(
      '--depths <n>',
      'needle depths, evenly spaced over 0..100%',
      parsePositiveInteger,
      DEFAULT_PROBE_DEPTHS,
    )
    .option(
      '--buffer <n>',
      'tokens of each length left for the question and answer',
      parseNonNegativeInteger,
      DEFAULT_PROBE_BUFFER,
    )
    .option('--seed <s>', 'haystack seed', parseNonNegativeInteger, 0)
    .option(
      '--granularity <g>',
      'cache granularity recorded in the profile',
      parseChoice(GRANULARITIES),
      'kv-head',
    )
    .option(
      '--count-all-trials',
      'average every trial, not only the correctly answered ones (models too small to answer)',
    )
    .option(
      '--scored-span <s>',
      'r2: what the probe scores: answer (the paper: the correct answer sentence) or needle (the answer, the distractor and the facts that decide)',
      parseChoice<ScoredSpan>(SCORED_SPANS),
      'answer',
    )
    .option('--threads <n>', 'CPU threads; 0 = all cores', parseNonNegativeInteger, 0)
    .action(cliAction(runProfile));

  program
    .command('profile-import')
    .description("turn one of the paper's head-score files into a profile for a model")
    .requiredOption('--reference <file>', 'reference scores: {"layer-head": [per-trial scores], ...}')
    .requiredOption('--model <dir>', 'the model the scores belong to (its fingerprint goes into the profile)')
    .requiredOption(
      '--method <m>',
      'r or r2: which rule produced the scores',
      parseChoice<MethodChoice>(['r', 'r2']),
    )
    .requiredOption('--out <file>', 'profile JSON to write')
    .option(
      '--granularity <g>',
      'cache granularity recorded in the profile',
      parseChoice(GRANULARITIES),
      'kv-head',
    )
    .action(cliAction(importReference));

  program
    .command('profile-export')
    .description("write a profile's scores in the paper's head-score format")
    .requiredOption('--profile <file>', 'profile JSON')
    .requiredOption('--out <file>', 'reference-format JSON to write')
    .action(cliAction(exportReference));
}
