// answer-check.ts: whether a probe trial was answered correctly, so that only such trials count
// (HEADKV.md section 2): HeadKV-R uses ROUGE-1 recall > 0.5, HeadKV-R2 token F1 > 0.5.
import type { ProfileMethod } from './profile-schema';

function countTokens(tokens: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
  return counts;
}

function overlap(a: readonly string[], b: readonly string[]): number {
  const counts = countTokens(b);
  let common = 0;
  for (const t of a) {
    const left = counts.get(t) ?? 0;
    if (left > 0) {
      common++;
      counts.set(t, left - 1);
    }
  }
  return common;
}

// LongBench's normalize_answer: lower case, no punctuation, no articles, single spaces.
export function qaTokens(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g, '')
    .replace(/\b(a|an|the)\b/g, ' ')
    .split(/\s+/)
    .filter((t) => t !== '');
}

// rouge_score's tokenizer: lower case, every non-alphanumeric character separates tokens.
export function rougeTokens(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((t) => t !== '');
}

export function tokenF1(prediction: string, reference: string): number {
  const p = qaTokens(prediction);
  const r = qaTokens(reference);
  const common = overlap(p, r);
  if (common === 0) return 0;
  const precision = common / p.length;
  const recall = common / r.length;
  return (2 * precision * recall) / (precision + recall);
}

export function rouge1Recall(prediction: string, reference: string): number {
  const r = rougeTokens(reference);
  if (r.length === 0) return 0;
  return overlap(r, rougeTokens(prediction)) / r.length;
}

export function isAnswerCorrect(method: ProfileMethod, prediction: string, answer: string): boolean {
  return method === 'headkv-r' ? rouge1Recall(prediction, answer) > 0.5 : tokenF1(prediction, answer) > 0.5;
}
