// batch.ts: `headkv batch submit|status|list|cancel|results`: the OpenAI Batch API of a running
// fleet (`headkv serve` or a deployed coordinator) from the command line.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Command } from 'commander';

import type { BatchObject, FileObject, ListPage } from '@headkv/api';

import { CliError, cliAction } from '../cli-action';
import {
  coordinatorCall as call,
  followBatch,
  TERMINAL_STATUSES,
  type Connection as ConnectionOptions,
} from '../coordinator-client';
import { parsePositiveInteger } from '../option-parsers';

function printBatch(batch: BatchObject): void {
  const counts = batch.request_counts;
  process.stdout.write(
    `${batch.id}  ${batch.status}  ${counts.completed}/${counts.total} completed, ${counts.failed} failed` +
      `${batch.output_file_id ? `  output ${batch.output_file_id}` : ''}${batch.error_file_id ? `  errors ${batch.error_file_id}` : ''}\n`,
  );
}

function waitForBatch(options: ConnectionOptions, batchId: string, announcement = ''): Promise<BatchObject> {
  return followBatch(options, batchId, batchId, `headkv batch results ${batchId} --wait`, announcement);
}

// Downloads the output and error files next to each other; returns their paths.
async function downloadResults(
  options: ConnectionOptions,
  batch: BatchObject,
  directory: string,
): Promise<{ output: string | null; errors: string | null }> {
  fs.mkdirSync(directory, { recursive: true });
  const save = async (fileId: string | null, suffix: string): Promise<string | null> => {
    if (fileId === null) return null;
    const target = path.join(directory, `${batch.id}_${suffix}.jsonl`);
    fs.writeFileSync(target, await call<string>(options, 'GET', `/v1/files/${fileId}/content`));
    return target;
  };
  return {
    output: await save(batch.output_file_id, 'output'),
    errors: await save(batch.error_file_id, 'error'),
  };
}

// Prints the results file path on stdout (the error file's too, when some requests failed).
async function reportResults(
  options: ConnectionOptions,
  batch: BatchObject,
  directory: string,
): Promise<void> {
  if (batch.status === 'failed') {
    const reasons = batch.errors?.data.map((error) => error.message).join('; ') ?? 'no reason given';
    throw new CliError(`batch ${batch.id} failed validation: ${reasons}`);
  }
  const paths = await downloadResults(options, batch, directory);
  if (paths.output !== null) process.stdout.write(`${paths.output}\n`);
  if (paths.errors !== null) {
    process.stdout.write(`${paths.errors}\n`);
    process.stderr.write(`headkv: ${batch.request_counts.failed} request(s) failed; see ${paths.errors}\n`);
  }
}

function parseMetadata(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const separator = value.indexOf('=');
  if (separator <= 0) throw new CliError(`--metadata ${value}: expected key=value`);
  return { ...previous, [value.slice(0, separator)]: value.slice(separator + 1) };
}

interface SubmitOptions extends ConnectionOptions {
  wait?: boolean;
  output: string;
  metadata?: Record<string, string>;
}

async function submit(file: string, options: SubmitOptions): Promise<void> {
  let content: Buffer;
  try {
    content = fs.readFileSync(file);
  } catch (error) {
    throw new CliError(`${file}: cannot read batch input (${(error as NodeJS.ErrnoException).code})`);
  }
  const form = new FormData();
  form.append('purpose', 'batch');
  form.append('file', new Blob([new Uint8Array(content)]), path.basename(file));
  const uploaded = await call<FileObject>(options, 'POST', '/v1/files', form);
  const batch = await call<BatchObject>(options, 'POST', '/v1/batches', {
    input_file_id: uploaded.id,
    endpoint: '/v1/chat/completions',
    completion_window: '24h',
    metadata: options.metadata,
  });
  if (!options.wait) {
    process.stdout.write(`${batch.id}\n`);
    return;
  }
  await reportResults(
    options,
    await waitForBatch(options, batch.id, `headkv: submitted ${batch.id}\n`),
    options.output,
  );
}

function withConnection(command: Command): Command {
  return command
    .option(
      '--url <url>',
      'coordinator URL (default: HEADKV_URL, the config file, or http://127.0.0.1:$PORT, port 8080)',
    )
    .option('--api-key <key>', 'API key (default: HEADKV_API_KEY, OPENAI_API_KEY or the config file)');
}

export function registerBatch(program: Command): void {
  const batch = program
    .command('batch')
    .description('submit and follow OpenAI-format batches on a running fleet');
  withConnection(batch.command('submit <file>'))
    .description(
      'upload a JSONL file of /v1/chat/completions requests and start a batch; prints the batch id',
    )
    .option('--wait', 'wait until the batch ends, download its results and print the results file path')
    .option('--output <dir>', 'folder for the downloaded results', '.')
    .option('--metadata <key=value>', 'batch metadata (repeatable)', parseMetadata)
    .action(cliAction(submit));
  withConnection(batch.command('status <batch-id>'))
    .description('show one batch')
    .option('--json', 'print the batch object as JSON')
    .action(
      cliAction(async (batchId: string, options: ConnectionOptions & { json?: boolean }) => {
        const found = await call<BatchObject>(options, 'GET', `/v1/batches/${batchId}`);
        if (options.json) process.stdout.write(`${JSON.stringify(found, null, 2)}\n`);
        else printBatch(found);
      }),
    );
  withConnection(batch.command('list'))
    .description('list batches, newest first')
    .option('--limit <n>', 'how many', parsePositiveInteger, 20)
    .action(
      cliAction(async (options: ConnectionOptions & { limit: number }) => {
        const page = await call<ListPage<BatchObject>>(options, 'GET', `/v1/batches?limit=${options.limit}`);
        for (const item of page.data) printBatch(item);
      }),
    );
  withConnection(batch.command('cancel <batch-id>'))
    .description('cancel a batch: queued requests are dropped, running ones stopped')
    .action(
      cliAction(async (batchId: string, options: ConnectionOptions) => {
        printBatch(await call<BatchObject>(options, 'POST', `/v1/batches/${batchId}/cancel`));
      }),
    );
  withConnection(batch.command('results <batch-id>'))
    .description('download the output and error files of a finished batch and print their paths')
    .option('--output <dir>', 'folder for the downloaded results', '.')
    .option('--wait', 'wait for the batch to end first')
    .action(
      cliAction(async (batchId: string, options: ConnectionOptions & { output: string; wait?: boolean }) => {
        const found = options.wait
          ? await waitForBatch(options, batchId)
          : await call<BatchObject>(options, 'GET', `/v1/batches/${batchId}`);
        if (!TERMINAL_STATUSES.includes(found.status)) {
          throw new CliError(`batch ${batchId} is still ${found.status}; pass --wait to wait for it`);
        }
        await reportResults(options, found, options.output);
      }),
    );
}
