// LongBench-format JSONL: parsing with errors that name the file, line and field; LongBench's
// per-dataset metric (best over the reference answers); the dataset prompts.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';

import {
  longBenchMetric,
  longBenchPrompt,
  parseLongBenchJsonl,
  readLongBenchJsonl,
  scoreLongBench,
} from '@headkv/suite';

const record = (fields: Record<string, unknown>): string =>
  JSON.stringify({
    input: 'Who?',
    context: 'Ann met Bob.',
    answers: ['Bob'],
    dataset: 'hotpotqa',
    ...fields,
  });

test('reads records and skips blank lines', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longbench-'));
  const file = path.join(dir, 'data.jsonl');
  fs.writeFileSync(file, `${record({})}\n\n${record({ dataset: 'gov_report', answers: ['A report.'] })}\n`);
  const records = readLongBenchJsonl(file);
  assert.equal(records.length, 2);
  assert.equal(records[1].line, 3);
  assert.equal(records[1].dataset, 'gov_report');
});

test('bad input is named by file, line and field', () => {
  assert.throws(() => parseLongBenchJsonl(`${record({})}\n{oops`, 'x.jsonl'), /x\.jsonl:2: not valid JSON/);
  assert.throws(
    () => parseLongBenchJsonl(record({ answers: 'Bob' }), 'x.jsonl'),
    /x\.jsonl:1: field 'answers' must be an array of strings/,
  );
  assert.throws(
    () => parseLongBenchJsonl(record({ context: 3 }), 'x.jsonl'),
    /field 'context' must be a string/,
  );
  assert.throws(
    () => parseLongBenchJsonl(record({ dataset: 'lcc' }), 'x.jsonl'),
    /'lcc' has no supported metric/,
  );
  assert.throws(() => parseLongBenchJsonl('\n', 'x.jsonl'), /x\.jsonl: no records/);
  assert.throws(() => readLongBenchJsonl(path.join(os.tmpdir(), 'no-such-file.jsonl')), /cannot read/);
});

test('metrics follow dataset2metric and take the best reference answer', () => {
  assert.equal(longBenchMetric('qasper'), 'qa_f1');
  assert.equal(longBenchMetric('qmsum'), 'rouge-l');
  assert.equal(scoreLongBench('hotpotqa', 'The Bob.', ['Alice', 'bob']), 1);
  assert.ok(Math.abs(scoreLongBench('musique', 'red car', ['red bus']) - 0.5) < 1e-12);
  // triviaqa: only the first line of the prediction counts.
  assert.equal(scoreLongBench('triviaqa', '\nParis\nand more text', ['Paris']), 1);
  assert.equal(scoreLongBench('gov_report', 'a b c d', ['a c d e']), 0.75);
});

test('prompts put context and input into the dataset template', () => {
  const [r] = parseLongBenchJsonl(record({ context: 'CTX $& text', input: 'Q?' }), 'x.jsonl');
  const prompt = longBenchPrompt(r);
  assert.ok(prompt.includes('CTX $& text'));
  assert.ok(prompt.endsWith('Question: Q?\nAnswer:'));
});
