// context-builder.ts: a prompt of a given length in tokens: filler sentences with the task's
// needles inserted at sentence boundaries at their depths, then the question.
import { FillerGenerator } from './filler';

// Counts the tokens of a text as the model will see it (the caller decides about BOS).
export type TokenCounter = (text: string) => number;

export interface Needle {
  text: string;
  // 0 = the very start of the context, 1 = its end (just before the question).
  depth: number;
}

export interface BuiltPrompt {
  prompt: string;
  // Character offset of each needle inside prompt, in the order the needles were given.
  needleOffsets: number[];
  // Tokens of the whole prompt, measured with the counter.
  tokens: number;
}

export function promptText(context: string, question: string): string {
  return `${context}\n\nQuestion: ${question}\nAnswer:`;
}

function assemble(
  filler: string[],
  needles: readonly Needle[],
  cuts: number[],
): { context: string; offsets: number[] } {
  // cuts[i]: the number of filler sentences before needle i.
  const order = needles
    .map((_, i) => i)
    .sort((a, b) => cuts[a] - cuts[b] || needles[a].depth - needles[b].depth || a - b);
  const parts: string[] = [];
  const offsets = new Array<number>(needles.length);
  let length = 0;
  let next = 0;
  const push = (text: string): void => {
    if (parts.length > 0) length += 1;
    parts.push(text);
    length += text.length;
  };
  for (let s = 0; s <= filler.length; s++) {
    while (next < order.length && cuts[order[next]] === s) {
      offsets[order[next]] = length + (parts.length > 0 ? 1 : 0);
      push(needles[order[next]].text);
      next++;
    }
    if (s < filler.length) push(filler[s]);
  }
  return { context: parts.join(' '), offsets };
}

// Builds a prompt of at most targetTokens tokens (and within a sentence of it).
export function buildPrompt(
  targetTokens: number,
  needles: readonly Needle[],
  question: string,
  fillerSeed: number,
  countTokens: TokenCounter,
): BuiltPrompt {
  const fixed = countTokens(promptText(needles.map((n) => n.text).join(' '), question));
  if (fixed > targetTokens) {
    throw new Error(
      `a prompt of ${targetTokens} tokens cannot hold the question and needles (${fixed} tokens)`,
    );
  }
  const generator = new FillerGenerator(fillerSeed);
  const filler: string[] = [];
  const fillerTokens: number[] = [];
  let total = fixed;
  while (total < targetTokens) {
    const sentence = generator.nextSentence();
    const tokens = countTokens(` ${sentence}`);
    filler.push(sentence);
    fillerTokens.push(tokens);
    total += tokens;
  }
  for (;;) {
    // The needle at depth d goes after the filler sentence where d of the filler's tokens lie before it.
    const sum = fillerTokens.reduce((a, b) => a + b, 0);
    const cuts = needles.map((needle) => {
      if (!(needle.depth >= 0 && needle.depth <= 1))
        throw new Error(`needle depth ${needle.depth} is outside [0, 1]`);
      let before = 0;
      let s = 0;
      while (s < filler.length && before + fillerTokens[s] / 2 < needle.depth * sum)
        before += fillerTokens[s++];
      return s;
    });
    const { context, offsets } = assemble(filler, needles, cuts);
    const prompt = promptText(context, question);
    const tokens = countTokens(prompt);
    if (tokens <= targetTokens || filler.length === 0) return { prompt, needleOffsets: offsets, tokens };
    // Token counts are nearly additive; drop filler until the whole prompt fits.
    const excess = tokens - targetTokens;
    let dropped = 0;
    while (filler.length > 0 && dropped < excess) {
      filler.pop();
      dropped += fillerTokens.pop() as number;
    }
  }
}
