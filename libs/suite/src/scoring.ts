// scoring.ts: answer scores. Normalization follows LongBench's normalize_answer (lower case,
// ASCII punctuation removed, the articles a/an/the removed, whitespace collapsed); qa_f1_score is
// LongBench's token F1 over the normalized words. ROUGE-L is the LCS F1 over lower-cased words
// (LongBench calls the `rouge` package; this is the same LCS statistic, computed here).
import { CaseMetric } from './tasks';

const ASCII_PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;

export function normalizeAnswer(text: string): string {
  return text
    .toLowerCase()
    .replace(ASCII_PUNCTUATION, '')
    .replace(/\b(a|an|the)\b/g, ' ')
    .split(/\s+/)
    .filter((word) => word.length > 0)
    .join(' ');
}

export function exactMatch(prediction: string, answer: string): number {
  return normalizeAnswer(prediction) === normalizeAnswer(answer) ? 1 : 0;
}

function f1OfTokens(prediction: string[], answer: string[]): number {
  const counts = new Map<string, number>();
  for (const token of answer) counts.set(token, (counts.get(token) ?? 0) + 1);
  let common = 0;
  for (const token of prediction) {
    const left = counts.get(token) ?? 0;
    if (left > 0) {
      common++;
      counts.set(token, left - 1);
    }
  }
  if (common === 0) return 0;
  const precision = common / prediction.length;
  const recall = common / answer.length;
  return (2 * precision * recall) / (precision + recall);
}

const words = (text: string): string[] => text.split(/\s+/).filter((word) => word.length > 0);

// LongBench's qa_f1_score.
export function qaF1Score(prediction: string, answer: string): number {
  return f1OfTokens(words(normalizeAnswer(prediction)), words(normalizeAnswer(answer)));
}

// Alias under the name the suite's reports use.
export const tokenF1 = qaF1Score;

function lcsLength(a: readonly string[], b: readonly string[]): number {
  let previous = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    const current = new Array<number>(b.length + 1).fill(0);
    for (let j = 1; j <= b.length; j++) {
      current[j] = a[i - 1] === b[j - 1] ? previous[j - 1] + 1 : Math.max(previous[j], current[j - 1]);
    }
    previous = current;
  }
  return previous[b.length];
}

export function rougeL(prediction: string, answer: string): number {
  const p = words(prediction.toLowerCase());
  const a = words(answer.toLowerCase());
  if (p.length === 0 || a.length === 0) return 0;
  const lcs = lcsLength(p, a);
  if (lcs === 0) return 0;
  const precision = lcs / p.length;
  const recall = lcs / a.length;
  return (2 * precision * recall) / (precision + recall);
}

// The generated text up to its first line break, as answers are one line.
export function answerLine(generated: string): string {
  return generated.replace(/^\s+/, '').split('\n')[0].trim();
}

export function scoreCase(metric: CaseMetric, prediction: string, answer: string): number {
  return metric === 'exact' ? exactMatch(prediction, answer) : rougeL(prediction, answer);
}
