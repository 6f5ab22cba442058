// summarize.ts: `headkv summarize PATH... --out DIR`: one batch request per document on a running
// fleet, a progress bar (rate, ETA) while it runs, one summary file per document at the end.
// Ctrl-C leaves the batch running; `headkv summarize --wait BATCH_ID --out DIR` picks it up again.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Command } from 'commander';

import type { BatchObject, BatchOutputLine, FileObject } from '@headkv/api';

import { CliError, cliAction } from '../cli-action';
import { coordinatorCall, followBatch, type Connection } from '../coordinator-client';
import { parsePositiveInteger } from '../option-parsers';

const SUMMARY_SUFFIX = '.summary.txt';
const DEFAULT_INSTRUCTION =
  'Summarize the following document in a few sentences. Keep names, numbers and conclusions.';
/** Marks batches made by this command, so --wait can refuse batches it cannot turn into files. */
const SUMMARIZE_METADATA_KEY = 'headkv_summarize';

interface Document {
  /** The batch line's custom_id and the summary's path under --out. */
  key: string;
  file: string;
}

function listFolder(folder: string, prefix: string, found: Document[]): void {
  const entries = fs
    .readdirSync(folder, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const full = path.join(folder, entry.name);
    const key = `${prefix}/${entry.name}`;
    if (entry.isDirectory()) listFolder(full, key, found);
    else if (entry.isFile()) found.push({ key, file: full });
  }
}

/** Every document under the given files and folders (hidden files skipped), keyed by a relative name. */
export function collectDocuments(inputs: string[]): Document[] {
  const documents: Document[] = [];
  for (const input of inputs) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(input);
    } catch (error) {
      throw new CliError(`${input}: cannot read (${(error as NodeJS.ErrnoException).code})`);
    }
    if (stat.isDirectory()) listFolder(input, path.basename(path.resolve(input)), documents);
    else documents.push({ key: path.basename(input), file: input });
  }
  if (documents.length === 0) throw new CliError(`no documents found in ${inputs.join(', ')}`);
  const seen = new Map<string, string>();
  for (const document of documents) {
    const first = seen.get(document.key);
    if (first !== undefined) {
      throw new CliError(
        `${document.file} and ${first} would both be summarized as ${document.key}; pass their folders instead`,
      );
    }
    seen.set(document.key, document.file);
  }
  return documents;
}

interface SummarizeOptions extends Connection {
  out: string;
  model?: string;
  maxTokens: number;
  instruction: string;
  wait?: string;
  detach?: boolean;
}

async function chooseModel(options: SummarizeOptions): Promise<string> {
  if (options.model !== undefined) return options.model;
  const models = await coordinatorCall<{ data: Array<{ id: string }> }>(options, 'GET', '/v1/models');
  if (models.data.length === 1) return models.data[0].id;
  throw new CliError(
    models.data.length === 0
      ? 'no worker serves a model yet; pass --model'
      : `the fleet serves ${models.data.map((model) => model.id).join(', ')}; pick one with --model`,
  );
}

async function submitDocuments(documents: Document[], options: SummarizeOptions): Promise<BatchObject> {
  const model = await chooseModel(options);
  const lines = documents.map((document) => {
    const text = fs.readFileSync(document.file, 'utf8');
    return JSON.stringify({
      custom_id: document.key,
      method: 'POST',
      url: '/v1/chat/completions',
      body: {
        model,
        max_tokens: options.maxTokens,
        messages: [
          { role: 'system', content: options.instruction },
          { role: 'user', content: text },
        ],
      },
    });
  });
  const form = new FormData();
  form.append('purpose', 'batch');
  form.append('file', new Blob([lines.join('\n') + '\n']), 'summarize.jsonl');
  const uploaded = await coordinatorCall<FileObject>(options, 'POST', '/v1/files', form);
  return coordinatorCall<BatchObject>(options, 'POST', '/v1/batches', {
    input_file_id: uploaded.id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
    metadata: { [SUMMARIZE_METADATA_KEY]: String(documents.length) },
  });
}

function resumeHint(batchId: string, out: string): string {
  return `headkv summarize --wait ${batchId} --out ${out}`;
}

/** The summary path of a document key, kept inside --out whatever the key holds. */
export function summaryPath(out: string, key: string): string {
  const parts = key.split(/[\\/]+/).filter((part) => part !== '' && part !== '.' && part !== '..');
  if (parts.length === 0) throw new CliError(`custom_id ${JSON.stringify(key)} names no file`);
  return path.join(out, ...parts) + SUMMARY_SUFFIX;
}

async function writeSummaries(batch: BatchObject, options: SummarizeOptions): Promise<void> {
  if (batch.status === 'failed') {
    const reasons = batch.errors?.data.map((error) => error.message).join('; ') ?? 'no reason given';
    throw new CliError(`batch ${batch.id} failed: ${reasons}`);
  }
  const readLines = async (fileId: string | null): Promise<BatchOutputLine[]> => {
    if (fileId === null) return [];
    const text = await coordinatorCall<string>(options, 'GET', `/v1/files/${fileId}/content`);
    return text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as BatchOutputLine);
  };
  let written = 0;
  for (const line of await readLines(batch.output_file_id)) {
    const body = line.response?.body as { choices?: Array<{ message?: { content?: string } }> } | undefined;
    const content = body?.choices?.[0]?.message?.content;
    if (line.custom_id === null || typeof content !== 'string') continue;
    const target = summaryPath(options.out, line.custom_id);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, content.trim() + '\n');
    written += 1;
  }
  const failures = (await readLines(batch.error_file_id)).map(
    (line) => `${line.custom_id ?? line.id}: ${line.error?.message ?? `HTTP ${line.response?.status_code}`}`,
  );
  process.stderr.write(`headkv: ${written} summaries written to ${options.out}\n`);
  if (failures.length > 0) {
    throw new CliError(`${failures.length} document(s) not summarized: ${failures.join('; ')}`);
  }
  if (batch.status !== 'completed') throw new CliError(`batch ${batch.id} ended ${batch.status}`);
}

async function summarize(inputs: string[], options: SummarizeOptions): Promise<void> {
  let batchId: string;
  let intro = '';
  if (options.wait !== undefined) {
    if (inputs.length > 0) throw new CliError('give either documents or --wait BATCH_ID, not both');
    const existing = await coordinatorCall<BatchObject>(options, 'GET', `/v1/batches/${options.wait}`);
    if (existing.metadata?.[SUMMARIZE_METADATA_KEY] === undefined) {
      throw new CliError(`batch ${options.wait} was not made by headkv summarize; use headkv batch results`);
    }
    batchId = existing.id;
  } else {
    if (inputs.length === 0)
      throw new CliError('give the documents to summarize (files or folders), or --wait BATCH_ID');
    const documents = collectDocuments(inputs);
    const batch = await submitDocuments(documents, options);
    batchId = batch.id;
    if (options.detach) {
      process.stdout.write(`${batchId}\n`);
      return;
    }
    intro = `headkv: ${documents.length} documents in batch ${batchId}; after Ctrl-C resume with: ${resumeHint(batchId, options.out)}\n`;
  }
  await writeSummaries(
    await followBatch(options, batchId, 'summarize', resumeHint(batchId, options.out), intro),
    options,
  );
}

export function registerSummarize(program: Command): void {
  program
    .command('summarize')
    .description(
      'summarize documents on a running fleet: one batch request and one summary file per document',
    )
    .argument('[paths...]', 'documents: files, or folders (every non-hidden file inside, recursively)')
    .requiredOption('--out <dir>', 'folder for the summaries (<document>.summary.txt, folders kept)')
    .option('--model <id>', 'served model (default: the only model the fleet serves)')
    .option('--max-tokens <n>', 'longest summary in tokens', parsePositiveInteger, 256)
    .option('--instruction <text>', 'the system instruction sent with every document', DEFAULT_INSTRUCTION)
    .option('--wait <batch-id>', 'follow an earlier summarize batch (after Ctrl-C) and write its summaries')
    .option('--detach', 'submit, print the batch id and return without waiting')
    .option('--url <url>', 'coordinator URL (default: HEADKV_URL or http://127.0.0.1:$PORT, port 8080)')
    .option('--api-key <key>', 'API key (default: HEADKV_API_KEY or OPENAI_API_KEY)')
    .action(cliAction(summarize));
}
