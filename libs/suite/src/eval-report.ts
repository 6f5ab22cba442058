// eval-report.ts: what an eval run measured, summarized: accuracy per method and kv_size,
// relative to the full cache, the share of the cache kept, and the full cache's accuracy per
// group (task or LongBench dataset) and prompt length.
export interface EvalRecord {
  // The case (suite case id or LongBench file:line).
  item: string;
  // Task or dataset.
  group: string;
  // Requested prompt length (suite) or measured prompt tokens (LongBench).
  length: number;
  method: string;
  // null for the full cache.
  kvSize: number | null;
  // 0..1
  score: number;
  prediction: string;
  answer: string;
  bytesFull: number;
  bytesKept: number;
}

export interface ConfigSummary {
  method: string;
  kvSize: number | null;
  cases: number;
  // Mean score x 100.
  accuracy: number;
  // accuracy / full-cache accuracy on the same cases; null when full was not run or scored 0.
  relativeToFull: number | null;
  // Sum of bytes kept / sum of bytes a full cache holds, over the cases.
  cacheShare: number;
  byGroup: Record<string, number>;
}

export interface EvalSummary {
  configs: ConfigSummary[];
  // Full-cache accuracy (x 100) per group and length.
  fullByGroupAndLength: Record<string, Record<string, { cases: number; accuracy: number }>>;
}

const mean = (values: number[]): number =>
  values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
const keyOf = (method: string, kvSize: number | null): string => `${method}@${kvSize ?? 'full'}`;

export function summarizeEval(records: readonly EvalRecord[]): EvalSummary {
  const byConfig = new Map<string, EvalRecord[]>();
  for (const record of records) {
    const key = keyOf(record.method, record.kvSize);
    byConfig.set(key, [...(byConfig.get(key) ?? []), record]);
  }
  const full = records.filter((r) => r.method === 'full');
  const fullScore = new Map(full.map((r) => [r.item, r.score]));
  const configs: ConfigSummary[] = [];
  for (const group of byConfig.values()) {
    const { method, kvSize } = group[0];
    const accuracy = 100 * mean(group.map((r) => r.score));
    // Relative to full on the same cases, so that a partial run compares like with like.
    const paired = group.filter((r) => fullScore.has(r.item));
    const fullAccuracy = 100 * mean(paired.map((r) => fullScore.get(r.item) as number));
    const pairedAccuracy = 100 * mean(paired.map((r) => r.score));
    const groups = new Map<string, number[]>();
    for (const r of group) groups.set(r.group, [...(groups.get(r.group) ?? []), r.score]);
    configs.push({
      method,
      kvSize,
      cases: group.length,
      accuracy,
      relativeToFull: paired.length > 0 && fullAccuracy > 0 ? pairedAccuracy / fullAccuracy : null,
      cacheShare:
        group.reduce((a, r) => a + r.bytesKept, 0) /
        Math.max(
          1,
          group.reduce((a, r) => a + r.bytesFull, 0),
        ),
      byGroup: Object.fromEntries([...groups].map(([g, scores]) => [g, 100 * mean(scores)])),
    });
  }
  const fullByGroupAndLength: EvalSummary['fullByGroupAndLength'] = {};
  for (const r of full) {
    const cells = (fullByGroupAndLength[r.group] ??= {});
    const cell = (cells[String(r.length)] ??= { cases: 0, accuracy: 0 });
    cell.accuracy = (cell.accuracy * cell.cases + 100 * r.score) / (cell.cases + 1);
    cell.cases++;
  }
  return { configs, fullByGroupAndLength };
}

function pad(cells: string[][]): string {
  const widths = cells[0].map((_, c) => Math.max(...cells.map((row) => row[c].length)));
  return cells
    .map((row) =>
      row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '),
    )
    .join('\n');
}

const pct = (value: number): string => value.toFixed(1);

// Rows: methods; columns: kv sizes; cells: accuracy (relative to full, cache share).
export function formatEvalTable(summary: EvalSummary): string {
  const kvSizes = [
    ...new Set(summary.configs.filter((c) => c.kvSize !== null).map((c) => c.kvSize as number)),
  ].sort((a, b) => a - b);
  const methods = [...new Set(summary.configs.map((c) => c.method))];
  const lines: string[] = [];
  const full = summary.configs.find((c) => c.kvSize === null);
  if (full) lines.push(`full cache: ${pct(full.accuracy)} accuracy over ${full.cases} cases`);
  if (kvSizes.length > 0) {
    const rows: string[][] = [['method', ...kvSizes.map((k) => `kv_size ${k}`)]];
    for (const method of methods.filter((m) => m !== 'full')) {
      rows.push([
        method,
        ...kvSizes.map((k) => {
          const c = summary.configs.find((x) => x.method === method && x.kvSize === k);
          if (!c) return '-';
          const relative = c.relativeToFull === null ? '' : ` (${(100 * c.relativeToFull).toFixed(0)}%`;
          return `${pct(c.accuracy)}${relative}${relative ? ', ' : ' ('}kept ${(100 * c.cacheShare).toFixed(1)}%)`;
        }),
      ]);
    }
    lines.push('accuracy (relative to full, share of the cache kept)');
    lines.push(pad(rows));
  }
  const groups = Object.keys(summary.fullByGroupAndLength).sort();
  if (groups.length > 0) {
    const lengths = [...new Set(groups.flatMap((g) => Object.keys(summary.fullByGroupAndLength[g])))].sort(
      (a, b) => Number(a) - Number(b),
    );
    const rows: string[][] = [['full cache', ...lengths]];
    for (const g of groups)
      rows.push([
        g,
        ...lengths.map((l) => {
          const cell = summary.fullByGroupAndLength[g][l];
          return cell ? `${pct(cell.accuracy)} (${cell.cases})` : '-';
        }),
      ]);
    lines.push('full-cache accuracy by task and prompt length (cases)');
    lines.push(pad(rows));
  }
  return lines.join('\n');
}
