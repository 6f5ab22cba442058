// coordinator-client.ts: how the CLI's fleet commands reach a coordinator: the connection from
// flags, environment and config file, one call helper, and following a batch with a progress bar.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { SingleBar } from 'cli-progress';

import type { BatchObject, ErrorBody } from '@headkv/api';

import { CliError } from './cli-action';

/** --url and --api-key as given on the command line. */
export interface Connection {
  url?: string;
  apiKey?: string;
}

export const TERMINAL_STATUSES = ['completed', 'failed', 'cancelled', 'expired'];
const POLL_INTERVAL_MS = 1000;

interface ConfigFile {
  url?: string;
  api_key?: string;
}

/** HEADKV_CONFIG, else $XDG_CONFIG_HOME/headkv/config.json (~/.config/headkv/config.json). */
export function configFilePath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HEADKV_CONFIG) return env.HEADKV_CONFIG;
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), '.config');
  return path.join(base, 'headkv', 'config.json');
}

function readConfigFile(env: NodeJS.ProcessEnv): ConfigFile {
  const file = configFilePath(env);
  if (!fs.existsSync(file)) {
    if (env.HEADKV_CONFIG) throw new CliError(`${file} (HEADKV_CONFIG): no such file`);
    return {};
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CliError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CliError(`${file}: expected a JSON object like {"url": "...", "api_key": "..."}`);
  }
  const config = parsed as Record<string, unknown>;
  for (const field of Object.keys(config)) {
    if (field !== 'url' && field !== 'api_key') throw new CliError(`${file}: unknown field "${field}"`);
    if (typeof config[field] !== 'string') throw new CliError(`${file}: field "${field}" must be a string`);
  }
  return config as ConfigFile;
}

/**
 * The coordinator URL and API key: a flag wins, then the environment (HEADKV_URL, HEADKV_API_KEY
 * or OPENAI_API_KEY), then the config file, then `headkv serve`'s localhost default (any key
 * works there).
 */
export function resolveConnection(
  connection: Connection,
  env: NodeJS.ProcessEnv = process.env,
): { url: string; apiKey: string } {
  const needsFile = connection.url === undefined || connection.apiKey === undefined;
  const file = needsFile ? readConfigFile(env) : {};
  const url = connection.url ?? env.HEADKV_URL ?? file.url ?? `http://127.0.0.1:${env.PORT || 8080}`;
  const apiKey = connection.apiKey ?? env.HEADKV_API_KEY ?? env.OPENAI_API_KEY ?? file.api_key ?? 'local';
  return { url: url.replace(/\/+$/, ''), apiKey };
}

/** A JSON call (text for file contents) to the coordinator; HTTP errors become one-line CliErrors. */
export async function coordinatorCall<T>(
  connection: Connection,
  method: string,
  route: string,
  body?: unknown,
): Promise<T> {
  const { url, apiKey } = resolveConnection(connection);
  const headers: Record<string, string> = { Authorization: `Bearer ${apiKey}` };
  let payload: string | FormData | undefined;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let response: Response;
  try {
    response = await fetch(`${url}${route}`, { method, headers, body: payload });
  } catch (error) {
    throw new CliError(`cannot reach ${url} (${(error as Error).message}); is the fleet running?`);
  }
  const text = await response.text();
  if (!response.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as ErrorBody).error.message;
    } catch {
      // Not an OpenAI error body: the raw text says more than nothing.
    }
    throw new CliError(`${method} ${route}: HTTP ${response.status}: ${message}`);
  }
  return (route.endsWith('/content') ? text : JSON.parse(text)) as T;
}

/**
 * Follows a batch with a progress bar (requests done, failed, tokens, rate, ETA) until it ends.
 * Ctrl-C stops following, not the batch: the error says how to resume. `announcement` (the
 * batch's id, how to resume) goes to stderr only once Ctrl-C is handled, so that an interrupt
 * sent as soon as it is read never meets Node's default SIGINT exit.
 */
export async function followBatch(
  connection: Connection,
  batchId: string,
  label: string,
  resumeCommand: string,
  announcement = '',
): Promise<BatchObject> {
  let interrupted = false;
  const onInterrupt = () => {
    interrupted = true;
  };
  process.once('SIGINT', onInterrupt);
  process.stderr.write(announcement);
  const bar = new SingleBar({
    format: `${label} [{bar}] {value}/{total} | {failed} failed | {tokens} tokens, {rate} tok/s | eta {eta_formatted}`,
    stream: process.stderr,
    hideCursor: true,
    noTTYOutput: true,
    notTTYSchedule: 10_000,
    etaBuffer: 20,
  });
  const started = Date.now();
  let startTokens: number | null = null;
  try {
    let batch = await coordinatorCall<BatchObject>(connection, 'GET', `/v1/batches/${batchId}`);
    bar.start(Math.max(1, batch.request_counts.total), 0, { failed: 0, tokens: 0, rate: '0.0' });
    for (;;) {
      const counts = batch.request_counts;
      const tokens = batch.completion_tokens_generated;
      startTokens ??= tokens;
      const seconds = (Date.now() - started) / 1000;
      bar.setTotal(Math.max(1, counts.total));
      bar.update(counts.completed + counts.failed, {
        failed: counts.failed,
        tokens,
        rate: seconds > 0 ? ((tokens - startTokens) / seconds).toFixed(1) : '0.0',
      });
      if (TERMINAL_STATUSES.includes(batch.status)) return batch;
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
      if (interrupted) {
        throw new CliError(`interrupted; batch ${batchId} keeps running. Resume with: ${resumeCommand}`);
      }
      batch = await coordinatorCall<BatchObject>(connection, 'GET', `/v1/batches/${batchId}`);
    }
  } finally {
    bar.stop();
    process.removeListener('SIGINT', onInterrupt);
  }
}
