// demo-batch.ts: writes docs/examples/batch.jsonl, the README's demo batch for the embedded default
// model (models/headkv-tiny): test-split cases of the fidelity suite, built exactly as
// `headkv eval` builds them, sent as chat requests whose chat template renders the suite's prompt.
//   node dist/tools/demo/demo-batch.js [--model DIR] [--out FILE]
import * as fs from 'node:fs';
import * as path from 'node:path';

import { ChatMessage, Tokenizer } from '@headkv/engine';
import {
  buildSuite,
  DEFAULT_SUITE,
  pretokenCounter,
  splitPatternOf,
  SuiteCase,
  suiteSpec,
  TaskName,
} from '@headkv/suite';
import { optionValue } from '../option-value';

// Every suite prompt ends with this; headkv-tiny's chat template appends it as the generation prompt.
const ANSWER_CUE = '\nAnswer:';

export interface DemoRequest {
  customId: string;
  task: TaskName;
  // The case's index in the suite's test split (test/TASK/LENGTH/INDEX in `headkv eval` output).
  index: number;
  length: number;
  kvCompression: Record<string, unknown>;
  maxTokens: number;
}

// One report summarised under three cache budgets, then a needle question: the README's demo.
export const DEMO_REQUESTS: readonly DemoRequest[] = [
  {
    customId: 'summary-headkv-r2',
    task: 'summary',
    index: 0,
    length: 1024,
    kvCompression: { method: 'headkv-r2', kv_size: 32 },
    maxTokens: 64,
  },
  {
    customId: 'summary-snapkv',
    task: 'summary',
    index: 0,
    length: 1024,
    kvCompression: { method: 'snapkv', kv_size: 32 },
    maxTokens: 64,
  },
  {
    customId: 'summary-full',
    task: 'summary',
    index: 0,
    length: 1024,
    kvCompression: { method: 'full' },
    maxTokens: 64,
  },
  {
    customId: 'needle-headkv-r2',
    task: 'niah_single',
    index: 0,
    length: 1024,
    kvCompression: { method: 'headkv-r2', kv_size: 32 },
    maxTokens: 16,
  },
];

// The chat messages whose rendering by headkv-tiny's chat template is the suite prompt: the user
// message holds the report, a blank line and "Question: ..."; the template adds BOS and "\nAnswer:".
export function suiteChatMessages(prompt: string): ChatMessage[] {
  if (!prompt.endsWith(ANSWER_CUE)) {
    throw new Error(`a suite prompt ends with ${JSON.stringify(ANSWER_CUE)}; this one does not`);
  }
  return [{ role: 'user', content: prompt.slice(0, -ANSWER_CUE.length) }];
}

// The test-split case `headkv eval --model modelDir` builds for a task, length and index: the same
// token counter (the model's tokenizer, BOS included) so the same filler fits the same length.
export function demoCase(
  modelDir: string,
  request: Pick<DemoRequest, 'task' | 'index' | 'length'>,
): SuiteCase {
  const tokenizer = Tokenizer.fromDir(modelDir);
  const counter = pretokenCounter(
    (text) => tokenizer.encode(text, { addSpecialTokens: false }).length,
    splitPatternOf(path.join(modelDir, 'tokenizer.json')),
  );
  const withBos = tokenizer.encode('', { addSpecialTokens: true }).length;
  const cases = buildSuite(
    suiteSpec(DEFAULT_SUITE),
    { split: 'test', limit: request.index + 1, lengths: [request.length], tasks: [request.task] },
    (text) => counter(text) + withBos,
  );
  return cases[request.index];
}

export interface DemoLine {
  request: DemoRequest;
  suiteCase: SuiteCase;
  // The JSONL line of docs/examples/batch.jsonl.
  line: string;
}

export function demoBatch(modelDir: string): DemoLine[] {
  const model = path.basename(path.resolve(modelDir));
  return DEMO_REQUESTS.map((request) => {
    const suiteCase = demoCase(modelDir, request);
    const line = JSON.stringify({
      custom_id: request.customId,
      method: 'POST',
      url: '/v1/chat/completions',
      body: {
        model,
        messages: suiteChatMessages(suiteCase.prompt),
        max_tokens: request.maxTokens,
        kv_compression: request.kvCompression,
      },
    });
    return { request, suiteCase, line };
  });
}

function main(): void {
  const args = process.argv.slice(2);
  const modelDir = optionValue(args, '--model') ?? path.join('models', 'headkv-tiny');
  const out = optionValue(args, '--out') ?? path.join('docs', 'examples', 'batch.jsonl');
  const lines = demoBatch(modelDir);
  fs.writeFileSync(out, lines.map((entry) => entry.line).join('\n') + '\n');
  for (const { request, suiteCase } of lines) {
    process.stderr.write(
      `${request.customId}: ${suiteCase.id}, ${suiteCase.promptTokens} tokens, answer: ${suiteCase.answer}\n`,
    );
  }
  process.stderr.write(`demo-batch: ${lines.length} requests -> ${out}\n`);
}

if (require.main === module) main();
