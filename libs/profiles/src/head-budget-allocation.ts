// head-budget-allocation.ts: HeadKV's per-head budget allocation (HEADKV.md section 3) in
// TypeScript, so the dashboard and the CLI can show what a kv_size/beta setting keeps per head
// without loading the engine.

/** Observation window tokens every head keeps besides its selected tokens (alpha). */
export const HEADKV_WINDOW = 8;

export interface AllocationSettings {
  /** Average per-head budget in tokens ("KV size"), > window. */
  kvSize: number;
  /** Pool factor, > 1 would keep a floor; must be >= 1. */
  beta: number;
  /** Score exponent; 1 in the paper. */
  temp?: number;
}

export interface HeadAllocation {
  /** Tokens every head gets before the shared pool (b - floor(b / beta)). */
  floor: number;
  /** Tokens shared out by score (floor(b / beta) * layers * query heads). */
  pool: number;
  /** Selected prompt tokens per [layer][query head], window excluded. */
  queryHeadCaps: number[][];
  /** Selected prompt tokens per [layer][KV head], window excluded (GQA groups merged). */
  kvHeadCaps: number[][];
}

/** Python's float floor division (a // b), which the reference uses for the pool share. */
function pythonFloorDiv(a: number, b: number): number {
  const mod = a % b;
  let div = (a - mod) / b;
  if (mod !== 0 && b < 0 !== mod < 0) div -= 1;
  let floored = Math.floor(div);
  if (div - floored > 0.5) floored += 1;
  return floored;
}

/** numpy's round (half to even). */
function roundHalfEven(value: number): number {
  const floored = Math.floor(value);
  const fraction = value - floored;
  if (fraction > 0.5) return floored + 1;
  if (fraction < 0.5) return floored;
  return floored % 2 === 0 ? floored : floored + 1;
}

function validateScores(scores: number[][], nKvHeads: number): { layers: number; heads: number } {
  const layers = scores.length;
  if (layers === 0) throw new Error('scores: at least one layer is required');
  const heads = scores[0].length;
  scores.forEach((row, layer) => {
    if (row.length !== heads) throw new Error(`scores[${layer}]: expected ${heads} heads, got ${row.length}`);
    row.forEach((value, head) => {
      if (!Number.isFinite(value) || value < 0)
        throw new Error(`scores[${layer}][${head}]: must be a finite number >= 0, got ${value}`);
    });
  });
  if (!Number.isInteger(nKvHeads) || nKvHeads < 1 || heads % nKvHeads !== 0)
    throw new Error(`n_kv_heads: must divide the ${heads} query heads, got ${nKvHeads}`);
  return { layers, heads };
}

/**
 * Budgets per head from importance scores[layer][query head]. KV-head caps follow the engine's
 * GQA rule: the group's query-head caps summed and divided by the group size, with the remainder
 * tokens going one at a time to the KV heads of largest remainder (ties: lower layer-major index)
 * until they add up to floor(total / group).
 */
export function allocateHeadBudgets(
  scores: number[][],
  nKvHeads: number,
  settings: AllocationSettings,
): HeadAllocation {
  const { layers, heads } = validateScores(scores, nKvHeads);
  const temp = settings.temp ?? 1;
  if (!Number.isInteger(settings.kvSize) || settings.kvSize <= HEADKV_WINDOW)
    throw new Error(`kv_size: must be an integer > ${HEADKV_WINDOW}, got ${settings.kvSize}`);
  if (!Number.isFinite(settings.beta) || settings.beta < 1)
    throw new Error(`beta: must be a number >= 1, got ${settings.beta}`);
  if (!Number.isFinite(temp) || temp <= 0) throw new Error(`temp: must be a number > 0, got ${temp}`);

  const flat = scores.flat();
  const total = flat.reduce((sum, value) => sum + value, 0);
  if (total === 0) throw new Error('scores: all scores are zero');
  let shares = flat.map((value) => (value / total) ** temp);
  const powered = shares.reduce((sum, value) => sum + value, 0);
  shares = shares.map((value) => value / powered);

  const budget = settings.kvSize - HEADKV_WINDOW;
  const share = pythonFloorDiv(budget, settings.beta);
  const pool = share * layers * heads;
  const floor = budget - share;
  const queryCaps = shares.map((value) => roundHalfEven(value * pool + floor));

  const group = heads / nKvHeads;
  const sums: number[] = [];
  for (let kv = 0; kv < layers * nKvHeads; kv++) {
    let sum = 0;
    for (let member = 0; member < group; member++) sum += queryCaps[kv * group + member];
    sums.push(sum);
  }
  const kvCaps = sums.map((sum) => Math.floor(sum / group));
  const target = Math.floor(sums.reduce((a, b) => a + b, 0) / group);
  let missing = target - kvCaps.reduce((a, b) => a + b, 0);
  const byRemainder = sums
    .map((sum, index) => ({ index, remainder: sum % group }))
    .sort((a, b) => b.remainder - a.remainder || a.index - b.index);
  for (const { index } of byRemainder) {
    if (missing <= 0) break;
    kvCaps[index] += 1;
    missing -= 1;
  }

  const rows = (values: number[], width: number) =>
    Array.from({ length: layers }, (_, layer) => values.slice(layer * width, (layer + 1) * width));
  return { floor, pool, queryHeadCaps: rows(queryCaps, heads), kvHeadCaps: rows(kvCaps, nKvHeads) };
}
