// longbench.ts: LongBench-format JSONL (one object a line with input, context, answers, dataset)
// and LongBench's per-dataset metrics, so that the same harness scores real checkpoints.
import * as fs from 'node:fs';

import { qaF1Score, rougeL } from './scoring';

export interface LongBenchRecord {
  input: string;
  context: string;
  answers: string[];
  dataset: string;
  // Line number in the file (1-based), for messages.
  line: number;
}

export type LongBenchMetric = 'qa_f1' | 'rouge-l';

// LongBench's dataset2metric for the English QA and summarization sets; other datasets use
// metrics (classification, counting, retrieval, code similarity) this harness does not implement.
const METRIC_OF_DATASET: Record<string, LongBenchMetric> = {
  narrativeqa: 'qa_f1',
  qasper: 'qa_f1',
  multifieldqa_en: 'qa_f1',
  hotpotqa: 'qa_f1',
  '2wikimqa': 'qa_f1',
  musique: 'qa_f1',
  triviaqa: 'qa_f1',
  gov_report: 'rouge-l',
  qmsum: 'rouge-l',
  multi_news: 'rouge-l',
  samsum: 'rouge-l',
};

// LongBench's English prompts for the six QA sets the paper averages.
const PROMPT_OF_DATASET: Record<string, string> = {
  narrativeqa:
    'You are given a story, which can be either a novel or a movie script, and a question. Answer the question asconcisely as you can, using a single phrase if possible. Do not provide any explanation.\n\nStory: {context}\n\nNow, answer the question based on the story asconcisely as you can, using a single phrase if possible. Do not provide any explanation.\n\nQuestion: {input}\n\nAnswer:',
  qasper:
    'You are given a scientific article and a question. Answer the question as concisely as you can, using a single phrase or sentence if possible. If the question cannot be answered based on the information in the article, write "unanswerable". If the question is a yes/no question, answer "yes", "no", or "unanswerable". Do not provide any explanation.\n\nArticle: {context}\n\n Answer the question based on the above article as concisely as you can, using a single phrase or sentence if possible. If the question cannot be answered based on the information in the article, write "unanswerable". If the question is a yes/no question, answer "yes", "no", or "unanswerable". Do not provide any explanation.\n\nQuestion: {input}\n\nAnswer:',
  multifieldqa_en:
    'Read the following text and answer briefly.\n\n{context}\n\nNow, answer the following question based on the above text, only give me the answer and do not output any other words.\n\nQuestion: {input}\nAnswer:',
  hotpotqa:
    'Answer the question based on the given passages. Only give me the answer and do not output any other words.\n\nThe following are given passages.\n{context}\n\nAnswer the question based on the given passages. Only give me the answer and do not output any other words.\n\nQuestion: {input}\nAnswer:',
  '2wikimqa':
    'Answer the question based on the given passages. Only give me the answer and do not output any other words.\n\nThe following are given passages.\n{context}\n\nAnswer the question based on the given passages. Only give me the answer and do not output any other words.\n\nQuestion: {input}\nAnswer:',
  musique:
    'Answer the question based on the given passages. Only give me the answer and do not output any other words.\n\nThe following are given passages.\n{context}\n\nAnswer the question based on the given passages. Only give me the answer and do not output any other words.\n\nQuestion: {input}\nAnswer:',
};

export function longBenchMetric(dataset: string): LongBenchMetric {
  const metric = METRIC_OF_DATASET[dataset];
  if (metric === undefined) {
    throw new Error(
      `LongBench dataset '${dataset}' has no supported metric (supported: ${Object.keys(METRIC_OF_DATASET).join(', ')})`,
    );
  }
  return metric;
}

// The prompt LongBench gives the model; datasets without a known prompt use the suite's own form.
export function longBenchPrompt(record: LongBenchRecord): string {
  const template = PROMPT_OF_DATASET[record.dataset] ?? '{context}\n\nQuestion: {input}\nAnswer:';
  return template.replace('{context}', () => record.context).replace('{input}', () => record.input);
}

// LongBench takes the best score over the reference answers.
export function scoreLongBench(dataset: string, prediction: string, answers: readonly string[]): number {
  const metric = longBenchMetric(dataset);
  // As LongBench does for triviaqa and samsum: only the first line of the prediction counts.
  const text =
    dataset === 'triviaqa' || dataset === 'samsum'
      ? prediction.replace(/^\n+/, '').split('\n')[0]
      : prediction;
  let best = 0;
  for (const answer of answers)
    best = Math.max(best, metric === 'qa_f1' ? qaF1Score(text, answer) : rougeL(text, answer));
  return best;
}

function field<T>(
  value: unknown,
  check: (v: unknown) => v is T,
  file: string,
  line: number,
  name: string,
  want: string,
): T {
  if (!check(value)) throw new Error(`${file}:${line}: field '${name}' must be ${want}`);
  return value;
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isStringArray = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((x) => typeof x === 'string');

export function parseLongBenchJsonl(text: string, file: string): LongBenchRecord[] {
  const records: LongBenchRecord[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw new Error(`${file}:${line}: not valid JSON (${(error as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      throw new Error(`${file}:${line}: expected a JSON object`);
    const object = value as Record<string, unknown>;
    const dataset = field(object.dataset, isString, file, line, 'dataset', 'a string');
    longBenchMetric(dataset);
    records.push({
      input: field(object.input, isString, file, line, 'input', 'a string'),
      context: field(object.context, isString, file, line, 'context', 'a string'),
      answers: field(object.answers, isStringArray, file, line, 'answers', 'an array of strings'),
      dataset,
      line,
    });
  });
  if (records.length === 0) throw new Error(`${file}: no records`);
  return records;
}

export function readLongBenchJsonl(file: string): LongBenchRecord[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`${file}: cannot read (${(error as Error).message})`);
  }
  return parseLongBenchJsonl(text, file);
}
