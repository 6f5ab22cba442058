// probe-prompts.ts: the probe prompts of head-importance profiling (HEADKV.md section 2): a
// haystack with one needle, at `nLengths` context lengths (linspace over [0, maxLength]) x
// `nDepths` depths (linspace over 0..100%), each followed by the question. Lengths are in
// tokens of the model's tokenizer; `buffer` tokens of each length are left for the question
// and the answer, as the reference does. The haystack is cut and the needle inserted only at
// sentence ends (the reference snaps the insertion point back to the previous period).
import { HaystackGenerator } from './haystack';
import { ProbeNeedle, RETRIEVAL_NEEDLES, RETRIEVAL_REASONING_NEEDLES } from './needles';
import { ProfileError } from './profile-error';
import type { ProfileMethod } from './profile-schema';

// Tokens of `text` without special tokens, in the model's tokenizer.
export type TokenCounter = (text: string) => number;

export const DEFAULT_PROBE_LENGTHS = 5;
export const DEFAULT_PROBE_DEPTHS = 10;
export const DEFAULT_PROBE_BUFFER = 200;

export interface ProbeTrialOptions {
  method: ProfileMethod;
  maxLength: number;
  seed: number;
  needles?: readonly ProbeNeedle[];
  nLengths?: number;
  nDepths?: number;
  buffer?: number;
}

export interface ProbeTrial {
  needle: ProbeNeedle;
  contextLength: number;
  depthPercent: number;
  // The haystack sentences before the needle (the needle's sentence-end insertion point).
  sentencesBefore: number;
  prompt: string;
}

// numpy.round(numpy.linspace(start, stop, n)) as integers (round half to even).
function roundedLinspace(start: number, stop: number, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = n === 1 ? start : start + ((stop - start) * i) / (n - 1);
    const floor = Math.floor(x);
    const diff = x - floor;
    out.push(diff > 0.5 || (diff === 0.5 && floor % 2 !== 0) ? floor + 1 : floor);
  }
  return out;
}

export function probeLengths(maxLength: number, n = DEFAULT_PROBE_LENGTHS): number[] {
  return roundedLinspace(0, maxLength, n);
}

export function probeDepths(n = DEFAULT_PROBE_DEPTHS): number[] {
  return roundedLinspace(0, 100, n);
}

export function defaultNeedles(method: ProfileMethod): readonly ProbeNeedle[] {
  return method === 'headkv-r' ? RETRIEVAL_NEEDLES : RETRIEVAL_REASONING_NEEDLES;
}

export function probePromptText(context: string, question: string): string {
  return `${context}\n\nQuestion: ${question}\nAnswer:`;
}

function positiveInteger(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new ProfileError(`probe.${field}: must be a positive integer, got ${value}`);
  }
  return value;
}

export function buildProbeTrials(options: ProbeTrialOptions, countTokens: TokenCounter): ProbeTrial[] {
  const maxLength = positiveInteger(options.maxLength, 'max_length');
  const nLengths = positiveInteger(options.nLengths ?? DEFAULT_PROBE_LENGTHS, 'lengths');
  const nDepths = positiveInteger(options.nDepths ?? DEFAULT_PROBE_DEPTHS, 'depths');
  const buffer = options.buffer ?? DEFAULT_PROBE_BUFFER;
  if (!Number.isInteger(buffer) || buffer < 0) {
    throw new ProfileError(`probe.buffer: must be a non-negative integer, got ${buffer}`);
  }
  if (!Number.isInteger(options.seed) || options.seed < 0) {
    throw new ProfileError(`probe.seed: must be a non-negative integer, got ${options.seed}`);
  }
  const needles = options.needles ?? defaultNeedles(options.method);
  if (needles.length === 0) throw new ProfileError('probe.needles: at least one needle is needed');
  for (const needle of needles) {
    if (!needle.needle.includes(needle.answer)) {
      throw new ProfileError(`probe.needles: "${needle.id}": the answer is not a part of the needle text`);
    }
  }
  const lengths = probeLengths(maxLength, nLengths);
  const depths = probeDepths(nDepths);
  const trials: ProbeTrial[] = [];
  needles.forEach((needle, needleIndex) => {
    // One haystack per needle, as the reference uses one essay set per needle.
    const generator = new HaystackGenerator(options.seed * 1000 + needleIndex);
    const sentences: string[] = [];
    const cumulative = [0]; // cumulative[k]: tokens of the first k sentences
    const needleTokens = countTokens(needle.needle);
    const haystackBudget = (length: number) => Math.max(0, length - buffer - needleTokens);
    const longest = haystackBudget(maxLength);
    while (cumulative[cumulative.length - 1] <= longest) {
      const sentence = generator.nextSentence();
      sentences.push(sentence);
      cumulative.push(cumulative[cumulative.length - 1] + countTokens(sentence));
    }
    // Largest k with cumulative[k] <= limit.
    const sentencesWithin = (limit: number, upTo: number) => {
      let k = upTo;
      while (k > 0 && cumulative[k] > limit) k--;
      return k;
    };
    for (const contextLength of lengths) {
      const kept = sentencesWithin(haystackBudget(contextLength), sentences.length);
      for (const depthPercent of depths) {
        const point = Math.floor((cumulative[kept] * depthPercent) / 100);
        const before = sentencesWithin(point, kept);
        const context = [...sentences.slice(0, before), needle.needle, ...sentences.slice(before, kept)].join(
          ' ',
        );
        trials.push({
          needle,
          contextLength,
          depthPercent,
          sentencesBefore: before,
          prompt: probePromptText(context, needle.question),
        });
      }
    }
  });
  return trials;
}

// Token positions [begin, end) of `span` inside `prompt`: the first exact occurrence, else, as
// the reference does when tokenization differs in context, the window of the span's length
// sharing the most distinct tokens with it (the later window on ties).
export function locateSpan(
  prompt: ArrayLike<number>,
  span: ArrayLike<number>,
): { begin: number; end: number } {
  const n = prompt.length;
  const m = span.length;
  if (m === 0) throw new ProfileError('probe span: the answer text has no tokens');
  if (m > n) throw new ProfileError(`probe span: ${m} answer tokens do not fit a ${n}-token prompt`);
  for (let i = 0; i + m <= n; i++) {
    let j = 0;
    while (j < m && prompt[i + j] === span[j]) j++;
    if (j === m) return { begin: i, end: i + m };
  }
  const wanted = new Set(Array.from(span));
  let best = -1;
  let bestBegin = 0;
  for (let i = 0; i + m <= n; i++) {
    const window = new Set(Array.from({ length: m }, (_, j) => prompt[i + j]));
    let overlap = 0;
    for (const id of window) if (wanted.has(id)) overlap++;
    if (overlap >= best) {
      best = overlap;
      bestBegin = i;
    }
  }
  return { begin: bestBegin, end: bestBegin + m };
}
