// token-counter.ts: a fast, exact token counter for byte-level BPE tokenizers whose
// pre-tokenizer is one regex Split followed by ByteLevel (as in Llama 3 and the headkv-tiny
// model): BPE never merges across pre-tokens, so a text's count is the sum of its pre-tokens'
// counts, and each distinct pre-token is encoded once. Haystacks reuse few words, so counting an
// 8K-token prompt costs a regex scan instead of a full encode.
import * as fs from 'node:fs';

import { TokenCounter } from './context-builder';

interface PreTokenizerJson {
  type?: string;
  pretokenizers?: PreTokenizerJson[];
  pattern?: { Regex?: string };
  add_prefix_space?: boolean;
  use_regex?: boolean;
}

// The Split regex of a tokenizer.json, or undefined when the pre-tokenizer has another shape.
export function splitPatternOf(tokenizerJsonFile: string): RegExp | undefined {
  const json = JSON.parse(fs.readFileSync(tokenizerJsonFile, 'utf8')) as {
    normalizer?: unknown;
    pre_tokenizer?: PreTokenizerJson;
  };
  const pre = json.pre_tokenizer;
  if (json.normalizer != null || pre?.type !== 'Sequence' || pre.pretokenizers?.length !== 2)
    return undefined;
  const [split, byteLevel] = pre.pretokenizers;
  const source = split.type === 'Split' ? split.pattern?.Regex : undefined;
  if (
    source === undefined ||
    byteLevel.type !== 'ByteLevel' ||
    byteLevel.add_prefix_space ||
    byteLevel.use_regex
  ) {
    return undefined;
  }
  try {
    return new RegExp(source, 'gu');
  } catch {
    // Patterns with inline flags such as (?i:...) are not JavaScript regexes.
    return undefined;
  }
}

// Counts without special tokens. Falls back to encoding whole texts when the pattern is absent.
export function pretokenCounter(encode: (text: string) => number, pattern: RegExp | undefined): TokenCounter {
  if (pattern === undefined) return encode;
  const cache = new Map<string, number>();
  return (text: string) => {
    let total = 0;
    let covered = 0;
    for (const match of text.matchAll(pattern)) {
      if (match.index !== covered) return encode(text);
      covered += match[0].length;
      let count = cache.get(match[0]);
      if (count === undefined) {
        count = encode(match[0]);
        cache.set(match[0], count);
      }
      total += count;
    }
    return covered === text.length ? total : encode(text);
  };
}
