// profile-show.ts: `headkv profile-show MODEL|FILE`: a head profile's importance as a heatmap in
// the terminal (layers down, heads across) with a legend, and with --kv-size the per-head budget
// allocation HeadKV derives from it.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { Command } from 'commander';

import {
  allocateHeadBudgets,
  HEADKV_WINDOW,
  loadProfile,
  MODEL_PROFILE_FILE,
  parseProfile,
  PROFILE_GRANULARITIES,
  PROFILE_METHODS,
  type HeadProfile,
} from '@headkv/profiles';

import { CliError, cliAction } from '../cli-action';
import { parseChoice, parseNumber, parsePositiveInteger } from '../option-parsers';
import { coordinatorCall, type Connection } from '../coordinator-client';

/** viridis, dark to bright, as 24-bit colours. */
const VIRIDIS: Array<[number, number, number]> = [
  [68, 1, 84],
  [72, 40, 120],
  [62, 73, 137],
  [49, 104, 142],
  [38, 130, 142],
  [31, 158, 137],
  [53, 183, 121],
  [110, 206, 88],
  [181, 222, 43],
  [253, 231, 37],
];
/** Without colour, a cell is one character of this ramp (light to dense). */
const SHADES = ' .:-=+*#%@';

export interface HeatmapStyle {
  color: boolean;
}

function level(value: number, min: number, max: number, steps: number): number {
  if (max === min) return Math.floor(steps / 2);
  return Math.min(steps - 1, Math.floor(((value - min) / (max - min)) * steps));
}

function cell(index: number, style: HeatmapStyle): string {
  if (!style.color) return SHADES[index].repeat(2);
  const [r, g, b] = VIRIDIS[index];
  return `\x1b[48;2;${r};${g};${b}m  \x1b[0m`;
}

/** values[layer][head] as text: a header of head numbers, a row per layer, and a legend. */
export function renderHeatmap(
  title: string,
  values: number[][],
  columnLabel: string,
  format: (value: number) => string,
  style: HeatmapStyle,
): string {
  const flat = values.flat();
  const min = Math.min(...flat);
  const max = Math.max(...flat);
  const labelWidth = Math.max(5, String(values.length - 1).length + 1);
  const header =
    ' '.repeat(labelWidth) +
    values[0].map((_, column) => (column % 5 === 0 ? String(column).padEnd(10) : '')).join('');
  const rows = values.map(
    (row, layer) =>
      `L${String(layer).padStart(labelWidth - 2)} ` +
      row.map((value) => cell(level(value, min, max, VIRIDIS.length), style)).join(''),
  );
  const legend = VIRIDIS.map((_, index) => cell(index, style)).join('');
  return [
    title,
    `${' '.repeat(labelWidth)}${columnLabel} ->`,
    header.trimEnd(),
    ...rows,
    '',
    `legend: ${format(min)} ${legend} ${format(max)}`,
    '',
  ].join('\n');
}

interface ShowOptions extends Connection {
  method?: HeadProfile['method'];
  granularity: HeadProfile['granularity'];
  kvSize?: number;
  beta: number;
  color: boolean;
}

/** A profile file, a model folder's headkv_profile.json, or a served model id / fingerprint on the fleet. */
async function findProfile(
  target: string,
  options: ShowOptions,
): Promise<{ source: string; profile: HeadProfile }> {
  if (fs.existsSync(target)) {
    const file = fs.statSync(target).isDirectory() ? path.join(target, MODEL_PROFILE_FILE) : target;
    if (!fs.existsSync(file)) throw new CliError(`${target} is a folder without ${MODEL_PROFILE_FILE}`);
    return { source: file, profile: loadProfile(file) };
  }
  if (target.includes(path.sep) || target.endsWith('.json'))
    throw new CliError(`${target}: no such file or folder`);
  const workers = await coordinatorCall<{ data: Array<{ model: { id: string; fingerprint: string } }> }>(
    options,
    'GET',
    '/v1/workers',
  );
  const fingerprint = workers.data.find((worker) => worker.model.id === target)?.model.fingerprint ?? target;
  if (!/^[0-9a-f]{64}$/.test(fingerprint)) {
    throw new CliError(`${target}: no such file or folder, and no live worker serves a model of that id`);
  }
  const listed = await coordinatorCall<{
    data: Array<{ model: { fingerprint: string }; method: string; granularity: string }>;
  }>(options, 'GET', '/v1/profiles');
  const match = listed.data.find(
    (summary) =>
      summary.model.fingerprint === fingerprint &&
      summary.granularity === options.granularity &&
      (options.method === undefined || summary.method === options.method),
  );
  if (match === undefined) {
    throw new CliError(
      `the fleet has no ${options.method ?? PROFILE_METHODS.join(' or ')} ${options.granularity} profile of ${target}`,
    );
  }
  const source = `${target} (${match.method}, ${match.granularity}) on the fleet`;
  const document = await coordinatorCall<unknown>(
    options,
    'GET',
    `/v1/profiles/${fingerprint}/${match.method}/${match.granularity}`,
  );
  return { source, profile: parseProfile(document, source) };
}

async function show(target: string, options: ShowOptions): Promise<void> {
  const { source, profile } = await findProfile(target, options);
  // Colours only on a terminal (or when FORCE_COLOR asks for them), never with NO_COLOR.
  const style = {
    color:
      options.color &&
      process.env.NO_COLOR === undefined &&
      (process.stdout.isTTY === true || process.env.FORCE_COLOR !== undefined),
  };
  const { n_layers, n_heads, n_kv_heads } = profile.model;
  process.stdout.write(
    `${source}: ${profile.method}, ${profile.granularity}, ${profile.model.architecture} ` +
      `${n_layers} layers x ${n_heads} heads (${n_kv_heads} KV)` +
      `${profile.imported_from ? `, imported from ${profile.imported_from}` : ''}\n\n`,
  );
  process.stdout.write(
    renderHeatmap(
      'head importance (layers x query heads)',
      profile.scores,
      'head',
      (v) => v.toFixed(4),
      style,
    ),
  );
  if (options.kvSize === undefined) return;
  let allocation;
  try {
    allocation = allocateHeadBudgets(profile.scores, n_kv_heads, {
      kvSize: options.kvSize,
      beta: options.beta,
    });
  } catch (error) {
    throw new CliError(`${source}: ${(error as Error).message}`);
  }
  const perKvHead = profile.granularity === 'kv-head';
  const caps = perKvHead ? allocation.kvHeadCaps : allocation.queryHeadCaps;
  const tokens = caps.flat().reduce((sum, cap) => sum + cap + HEADKV_WINDOW, 0);
  const heads = caps.length * caps[0].length;
  process.stdout.write(
    '\n' +
      renderHeatmap(
        `selected tokens per ${perKvHead ? 'KV head' : 'query head'} at kv_size ${options.kvSize}, beta ${options.beta} (+${HEADKV_WINDOW} window each)`,
        caps,
        perKvHead ? 'KV head' : 'head',
        (v) => String(v),
        style,
      ) +
      `kept: ${tokens} tokens per sequence over ${heads} heads (every head at kv_size: ${heads * options.kvSize}); ` +
      `floor ${allocation.floor}, pool ${allocation.pool}\n`,
  );
}

export function registerProfileShow(program: Command): void {
  program
    .command('profile-show')
    .description('show a head profile as a terminal heatmap, and with --kv-size the budget allocation')
    .argument(
      '<model-or-file>',
      'profile JSON, a model folder with headkv_profile.json, or a served model id',
    )
    .option(
      '--method <m>',
      `profile method on the fleet (${PROFILE_METHODS.join(', ')})`,
      parseChoice(PROFILE_METHODS),
    )
    .option(
      '--granularity <g>',
      'profile granularity on the fleet',
      parseChoice(PROFILE_GRANULARITIES),
      'kv-head',
    )
    .option('--kv-size <n>', 'also show the per-head budgets for this average budget', parsePositiveInteger)
    .option('--beta <b>', 'pool factor of the allocation', parseNumber, 1.2)
    .option('--no-color', 'shade characters instead of colours (also when NO_COLOR is set)')
    .option(
      '--url <url>',
      'coordinator URL for a served model (default: HEADKV_URL or http://127.0.0.1:$PORT)',
    )
    .option('--api-key <key>', 'API key (default: HEADKV_API_KEY or OPENAI_API_KEY)')
    .action(cliAction(show));
}
