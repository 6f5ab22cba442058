// detokenizer.ts: streaming text from generated token ids. Text is released only once it is
// complete: a token that ends inside a multi-byte UTF-8 character decodes to U+FFFD, which is
// held back until the following tokens complete it. Decoding a short window that starts a few
// tokens back (the "prefix") keeps word-boundary spaces right for SentencePiece-style decoders,
// which drop the leading space of the first token they decode.
import type { Tokenizer } from './tokenizer';

const REPLACEMENT_CHARACTER = '\uFFFD';

export class IncrementalDetokenizer {
  private readonly ids: number[] = [];
  private prefixOffset = 0;
  private readOffset = 0;

  constructor(private readonly tokenizer: Tokenizer) {}

  // Adds one token; returns the text it completes ('' while a character is still incomplete).
  push(id: number): string {
    this.ids.push(id);
    const prefixText = this.decode(this.prefixOffset, this.readOffset);
    const fullText = this.decode(this.prefixOffset, this.ids.length);
    if (fullText.length <= prefixText.length || fullText.endsWith(REPLACEMENT_CHARACTER)) return '';
    this.prefixOffset = this.readOffset;
    this.readOffset = this.ids.length;
    return fullText.slice(prefixText.length);
  }

  // The text still held back when generation ends (an incomplete character stays as U+FFFD).
  flush(): string {
    const prefixText = this.decode(this.prefixOffset, this.readOffset);
    const fullText = this.decode(this.prefixOffset, this.ids.length);
    this.prefixOffset = this.readOffset = this.ids.length;
    return fullText.length > prefixText.length ? fullText.slice(prefixText.length) : '';
  }

  private decode(start: number, end: number): string {
    return this.tokenizer.decode(this.ids.slice(start, end), { skipSpecialTokens: true });
  }
}
