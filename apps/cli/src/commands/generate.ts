// generate.ts: `headkv generate`: one prompt through the engine, streamed or as one JSON object.
import * as fs from 'node:fs';

import { Command } from 'commander';

import {
  Engine,
  GenerateRequest,
  GenerateResult,
  KV_METHODS,
  KvGranularity,
  KvMethod,
  KvOptions,
} from '@headkv/engine';
import { headScoresOf, profileModelOf, resolveProfile } from '@headkv/profiles';

import { CliError, cliAction } from '../cli-action';
import {
  collect,
  parseChoice,
  parseIdList,
  parseNonNegativeInteger,
  parseNumber,
  parsePositiveInteger,
} from '../option-parsers';

interface GenerateOptions {
  model: string;
  prompt?: string;
  promptFile?: string;
  promptIds?: number[];
  chat?: boolean;
  maxTokens: number;
  temperature: number;
  topP: number;
  topK: number;
  seed: number;
  stop?: string[];
  kvMethod: KvMethod;
  kvSize?: number;
  beta?: number;
  granularity?: KvGranularity;
  profile?: string;
  threads: number;
  json?: boolean;
  dumpSelection?: string;
}

function promptOf(options: GenerateOptions): Pick<GenerateRequest, 'prompt' | 'promptIds' | 'messages'> {
  const sources = [options.prompt, options.promptFile, options.promptIds].filter(
    (value) => value !== undefined,
  );
  if (sources.length !== 1) throw new CliError('give exactly one of --prompt, --prompt-file or --prompt-ids');
  if (options.promptIds !== undefined) {
    if (options.chat)
      throw new CliError('--chat needs a text prompt (--prompt or --prompt-file), not --prompt-ids');
    return { promptIds: options.promptIds };
  }
  let text: string;
  if (options.promptFile !== undefined) {
    try {
      text = fs.readFileSync(options.promptFile, 'utf8');
    } catch (error) {
      throw new CliError(
        `${options.promptFile}: cannot read prompt file (${(error as NodeJS.ErrnoException).code})`,
      );
    }
  } else {
    text = options.prompt ?? '';
  }
  return options.chat ? { messages: [{ role: 'user', content: text }] } : { prompt: text };
}

function toJson(result: GenerateResult): object {
  return {
    token_ids: result.tokenIds,
    text: result.text,
    prompt_tokens: result.promptTokens,
    finish_reason: result.finishReason,
    kv: {
      method: result.kv.method,
      kv_size: result.kv.kvSize,
      bytes_full: result.kv.bytesFull,
      bytes_kept: result.kv.bytesKept,
    },
    timings: {
      prefill_ms: result.timings.prefillMs,
      decode_ms: result.timings.decodeMs,
      prefill_tokens_per_s: result.timings.prefillTokensPerS,
      decode_tokens_per_s: result.timings.decodeTokensPerS,
    },
  };
}

function mebibytes(bytes: number): string {
  return `${(bytes / (1 << 20)).toFixed(2)} MiB`;
}

function summary(result: GenerateResult): string {
  const t = result.timings;
  return (
    `finish=${result.finishReason} prompt=${result.promptTokens} generated=${result.tokenIds.length} ` +
    `prefill=${t.prefillMs.toFixed(1)}ms (${t.prefillTokensPerS.toFixed(1)} tok/s) ` +
    `decode=${t.decodeMs.toFixed(1)}ms (${t.decodeTokensPerS.toFixed(1)} tok/s) ` +
    `kv=${result.kv.method} kept ${mebibytes(result.kv.bytesKept)} of ${mebibytes(result.kv.bytesFull)}`
  );
}

function kvOptionsOf(options: GenerateOptions, engine: Engine): KvOptions | undefined {
  const method = options.kvMethod;
  if (method === 'full' && options.kvSize === undefined) return undefined;
  const kv: KvOptions = {
    method,
    kvSize: options.kvSize,
    beta: options.beta,
    granularity: options.granularity,
  };
  if (method === 'headkv-r' || method === 'headkv-r2') {
    const model = profileModelOf(engine.info);
    kv.headScores = headScoresOf(resolveProfile(options.profile, options.model, model, method).profile);
  } else if (options.profile !== undefined) {
    throw new CliError(`--profile applies to --kv-method headkv-r or headkv-r2, not ${method}`);
  }
  return kv;
}

async function generate(options: GenerateOptions): Promise<void> {
  const prompt = promptOf(options);
  const engine = await Engine.load(options.model, { threads: options.threads, maxSequences: 1 });
  // Ctrl-C cancels the generation; the partial result is still printed.
  const abort = new AbortController();
  const onInterrupt = (): void => abort.abort();
  process.once('SIGINT', onInterrupt);
  try {
    const result = await engine.generate({
      ...prompt,
      maxTokens: options.maxTokens,
      temperature: options.temperature,
      topP: options.topP,
      topK: options.topK,
      seed: options.seed,
      stop: options.stop,
      kv: kvOptionsOf(options, engine),
      signal: abort.signal,
      onToken: options.json ? undefined : (token) => process.stdout.write(token.text),
      captureSelection: options.dumpSelection !== undefined,
    });
    if (options.dumpSelection !== undefined) writeSelection(options.dumpSelection, result);
    if (options.json) {
      process.stdout.write(JSON.stringify(toJson(result)) + '\n');
    } else {
      process.stdout.write('\n');
      process.stderr.write(summary(result) + '\n');
    }
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    await engine.dispose();
  }
}

// --dump-selection: the kept prompt positions of every layer and cache head, as JSON.
function writeSelection(file: string, result: GenerateResult): void {
  if (!result.selection)
    throw new CliError('--dump-selection: the prompt was not prefilled, nothing was kept');
  const dump = {
    method: result.kv.method,
    kv_size: result.kv.kvSize,
    prompt_tokens: result.promptTokens,
    cache_heads: result.selection.cacheHeads,
    bytes_kept: result.kv.bytesKept,
    bytes_full: result.kv.bytesFull,
    positions: result.selection.positions,
  };
  try {
    fs.writeFileSync(file, JSON.stringify(dump) + '\n');
  } catch (error) {
    throw new CliError(`--dump-selection ${file}: ${(error as Error).message}`);
  }
}

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('generate text for one prompt with a local model folder')
    .requiredOption('--model <dir>', 'Hugging Face model folder (config.json, safetensors, tokenizer.json)')
    .option('--prompt <text>', 'prompt text (tokenized with the model tokenizer, BOS added)')
    .option('--prompt-file <path>', 'read the prompt text from a file')
    .option('--prompt-ids <ids>', 'prompt as comma-separated token ids, e.g. 1,2,3', parseIdList)
    .option('--chat', 'wrap the prompt as one user message through the chat template')
    .option('--max-tokens <n>', 'most tokens to generate', parsePositiveInteger, 128)
    .option('--temperature <t>', 'sampling temperature; 0 = greedy', parseNumber, 0)
    .option('--top-p <p>', 'nucleus sampling mass; 1 = off', parseNumber, 1)
    .option('--top-k <k>', 'sample among the k most likely tokens; 0 = off', parseNonNegativeInteger, 0)
    .option('--seed <s>', 'sampling seed', parseNonNegativeInteger, 0)
    .option('--stop <text>', 'stop string (repeatable)', collect)
    .option(
      '--kv-method <method>',
      `KV cache method: ${KV_METHODS.join(', ')}`,
      parseChoice(KV_METHODS),
      'full',
    )
    .option('--kv-size <n>', 'average per-head KV budget (tokens, window included)', parsePositiveInteger)
    .option('--beta <b>', 'HeadKV pool factor', parseNumber)
    .option(
      '--granularity <g>',
      'kv-head or query-head',
      parseChoice<KvGranularity>(['kv-head', 'query-head']),
    )
    .option(
      '--profile <file>',
      'head-importance profile for headkv-r / headkv-r2 (default: MODEL/headkv_profile.json)',
    )
    .option('--threads <n>', 'CPU threads; 0 = all cores', parseNonNegativeInteger, 0)
    .option('--json', 'print one JSON object instead of streaming text')
    .option('--dump-selection <file>', 'write the kept prompt positions per layer and cache head as JSON')
    .action(cliAction(generate));
}
