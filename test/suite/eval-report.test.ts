// The eval summary: accuracy per method and kv_size, relative to full on the same cases, cache
// share from bytes, full-cache accuracy per task and length; the table and the SVG plot.
import * as assert from 'node:assert/strict';
import { test } from 'node:test';

import { EvalRecord, evalPlotSvg, formatEvalTable, summarizeEval } from '@headkv/suite';

function record(
  item: string,
  method: string,
  kvSize: number | null,
  score: number,
  bytesKept: number,
): EvalRecord {
  return {
    item,
    group: item.startsWith('a') ? 'task_a' : 'task_b',
    length: 1024,
    method,
    kvSize,
    score,
    prediction: '',
    answer: '',
    bytesFull: 1000,
    bytesKept,
  };
}

const records = [
  record('a1', 'full', null, 1, 1000),
  record('b1', 'full', null, 0.5, 1000),
  record('a1', 'snapkv', 16, 0, 20),
  record('b1', 'snapkv', 16, 0.5, 40),
  record('a1', 'headkv-r2', 16, 1, 30),
  record('b1', 'headkv-r2', 16, 0.5, 30),
];

test('summarizeEval: accuracy, relative to full, cache share, per-task and per-length cells', () => {
  const summary = summarizeEval(records);
  const snap = summary.configs.find((c) => c.method === 'snapkv');
  assert.ok(snap);
  assert.equal(snap.accuracy, 25);
  assert.ok(Math.abs((snap.relativeToFull as number) - 25 / 75) < 1e-12);
  assert.equal(snap.cacheShare, 0.03);
  assert.deepEqual(snap.byGroup, { task_a: 0, task_b: 50 });
  const r2 = summary.configs.find((c) => c.method === 'headkv-r2');
  assert.equal(r2?.relativeToFull, 1);
  assert.deepEqual(summary.fullByGroupAndLength, {
    task_a: { '1024': { cases: 1, accuracy: 100 } },
    task_b: { '1024': { cases: 1, accuracy: 50 } },
  });
});

test('the table and the plot show every method', () => {
  const summary = summarizeEval(records);
  const table = formatEvalTable(summary);
  assert.match(table, /full cache: 75\.0 accuracy over 2 cases/);
  assert.match(table, /snapkv\s+25\.0 \(33%, kept 3\.0%\)/);
  assert.match(table, /headkv-r2\s+75\.0 \(100%, kept 3\.0%\)/);
  const svg = evalPlotSvg(summary, 'a <title>');
  assert.ok(svg.startsWith('<svg'));
  assert.match(svg, /a &lt;title&gt;/);
  assert.equal((svg.match(/<polyline/g) ?? []).length, 2);
  assert.match(svg, /full \(75\.0\)/);
});
