import type { ChatMessage, Engine, GenerateRequest, GenerateResult, Tokenizer } from '@headkv/engine';

/** Chunks smaller than this are too small to summarise usefully: the request is refused instead. */
const MIN_CHUNK_TOKENS = 32;
/** Re-encoding a decoded slice can merge or split tokens at its edges; chunks keep this slack. */
const CHUNK_SLACK_TOKENS = 8;
/** How much of the end of the long message (where the question usually is) the reduce step sees. */
const QUESTION_TAIL_TOKENS = 128;
/** Map-reduce levels: the first one over the document, one more over its summaries. */
const MAX_LEVELS = 2;

export interface MapReduceSettings {
  /** Longest prompt + completion in tokens. */
  contextLimit: number;
  /** Completion budget of each map (summary) generation. */
  summaryTokens: number;
}

/** Raised when even map-reduce cannot make the request fit; the caller turns it into a 400. */
export class MapReduceTooLongError extends Error {}

/** Generation options shared by every step (sampling, KV compression, cancellation). */
export type StepOptions = Omit<
  GenerateRequest,
  'messages' | 'prompt' | 'promptIds' | 'maxTokens' | 'onToken'
>;

export interface MapReduceOutcome {
  /**
   * The reduce step's text and finish reason; promptTokens, tokenIds, kv bytes and timings add
   * up all generations (maps and reduce), so that usage reports what the request really cost.
   */
  result: GenerateResult;
  chunks: number;
  levels: number;
  generations: number;
}

function mapMessages(context: ChatMessage[], part: number, parts: number, chunk: string): ChatMessage[] {
  return [
    ...context,
    {
      role: 'user',
      content:
        `Below is part ${part} of ${parts} of a long document. Summarise it, keeping every fact, ` +
        `name and number that a question about the document could need.\n\n${chunk}`,
    },
  ];
}

function reduceMessages(context: ChatMessage[], summaries: string[], questionTail: string): ChatMessage[] {
  const parts = summaries.map((summary, index) => `Part ${index + 1}: ${summary}`).join('\n\n');
  return [
    ...context,
    {
      role: 'user',
      content:
        `The request below was too long to read at once, so its document was summarised in ` +
        `${summaries.length} consecutive parts:\n\n${parts}\n\nUsing these summaries, answer the ` +
        `request, which ended with:\n\n${questionTail}`,
    },
  ];
}

function combine(results: GenerateResult[], final: GenerateResult): GenerateResult {
  const all = [...results, final];
  const sum = (pick: (result: GenerateResult) => number) =>
    all.reduce((total, result) => total + pick(result), 0);
  const cancelled = all.some((result) => result.finishReason === 'cancelled');
  const prefillMs = sum((result) => result.timings.prefillMs);
  const decodeMs = sum((result) => result.timings.decodeMs);
  const promptTokens = sum((result) => result.promptTokens);
  const tokenIds = all.flatMap((result) => result.tokenIds);
  return {
    tokenIds,
    text: final.text,
    promptTokens,
    finishReason: cancelled ? 'cancelled' : final.finishReason,
    kv: {
      method: final.kv.method,
      kvSize: final.kv.kvSize,
      bytesFull: sum((result) => result.kv.bytesFull),
      bytesKept: sum((result) => result.kv.bytesKept),
    },
    timings: {
      prefillMs,
      decodeMs,
      prefillTokensPerS: prefillMs > 0 ? (promptTokens * 1000) / prefillMs : 0,
      decodeTokensPerS: decodeMs > 0 ? (tokenIds.length * 1000) / decodeMs : 0,
    },
  };
}

/**
 * Map-reduce over a chat request whose prompt does not fit the context: the last message (the
 * long document) is cut into chunks that fit with the earlier messages and a summary budget; each
 * chunk is summarised by its own generation (all submitted at once, so the engine batches them
 * continuously); a final generation answers from the summaries and the end of the long message.
 * If the summaries together are still too long, they are map-reduced once more.
 */
export class MapReduce {
  constructor(
    private readonly engine: Engine,
    private readonly tokenizer: Tokenizer,
    private readonly settings: MapReduceSettings,
  ) {}

  /**
   * Whether the request could be map-reduced at all: its last message is the user's and at least
   * one chunk of MIN_CHUNK_TOKENS fits next to the other messages and the completion budgets.
   */
  splittable(messages: ChatMessage[], maxTokens: number): boolean {
    const last = messages[messages.length - 1];
    if (last === undefined || last.role !== 'user') return false;
    const context = messages.slice(0, -1);
    return (
      this.chunkBudget(context) >= MIN_CHUNK_TOKENS &&
      this.tokenizer.encodeChat(reduceMessages(context, [''], '')).length + maxTokens <
        this.settings.contextLimit
    );
  }

  async run(
    messages: ChatMessage[],
    maxTokens: number,
    options: StepOptions,
    onToken: GenerateRequest['onToken'],
  ): Promise<MapReduceOutcome> {
    const context = messages.slice(0, -1);
    const document = messages[messages.length - 1].content;
    const documentIds = this.tokenizer.encode(document, { addSpecialTokens: false });
    const questionTail = this.tokenizer.decode(documentIds.slice(-QUESTION_TAIL_TOKENS), {
      skipSpecialTokens: true,
    });
    const steps: GenerateResult[] = [];
    let text = document;
    let chunks = 0;
    for (let level = 1; level <= MAX_LEVELS; level++) {
      const pieces = this.split(context, text);
      if (level === 1) chunks = pieces.length;
      const summaries = await Promise.all(
        pieces.map((piece, index) =>
          this.engine.generate({
            ...options,
            messages: mapMessages(context, index + 1, pieces.length, piece),
            maxTokens: this.settings.summaryTokens,
          }),
        ),
      );
      steps.push(...summaries);
      if (summaries.some((summary) => summary.finishReason === 'cancelled')) {
        return {
          result: combine(steps.slice(0, -1), steps[steps.length - 1]),
          chunks,
          levels: level,
          generations: steps.length,
        };
      }
      const reduce = this.fittedReduce(
        context,
        summaries.map((summary) => summary.text),
        questionTail,
        maxTokens,
      );
      if (reduce !== undefined) {
        const final = await this.engine.generate({ ...options, messages: reduce, maxTokens, onToken });
        return { result: combine(steps, final), chunks, levels: level, generations: steps.length + 1 };
      }
      text = summaries.map((summary, index) => `Part ${index + 1}: ${summary.text}`).join('\n\n');
    }
    throw new MapReduceTooLongError(
      `map-reduce: after ${MAX_LEVELS} levels of summaries (${chunks} chunks) the combine step still ` +
        `does not fit the context of ${this.settings.contextLimit} tokens with max_tokens ${maxTokens}`,
    );
  }

  /** The reduce prompt, shortening the question tail if needed; undefined when it cannot fit. */
  private fittedReduce(
    context: ChatMessage[],
    summaries: string[],
    questionTail: string,
    maxTokens: number,
  ): ChatMessage[] | undefined {
    for (const tail of [questionTail, '']) {
      const messages = reduceMessages(context, summaries, tail);
      if (this.tokenizer.encodeChat(messages).length + maxTokens <= this.settings.contextLimit)
        return messages;
    }
    return undefined;
  }

  /** Room for document tokens in one map prompt. */
  private chunkBudget(context: ChatMessage[]): number {
    const overhead = this.tokenizer.encodeChat(mapMessages(context, 999, 999, '')).length;
    return this.settings.contextLimit - overhead - this.settings.summaryTokens - CHUNK_SLACK_TOKENS;
  }

  /** Consecutive chunks of `text`, each of which fits a map prompt (checked by encoding it). */
  private split(context: ChatMessage[], text: string): string[] {
    const budget = this.chunkBudget(context);
    if (budget < MIN_CHUNK_TOKENS) {
      throw new MapReduceTooLongError(
        `map-reduce: the messages before the last one leave ${Math.max(0, budget)} tokens per chunk ` +
          `(at least ${MIN_CHUNK_TOKENS} needed) in the context of ${this.settings.contextLimit} tokens`,
      );
    }
    const ids = this.tokenizer.encode(text, { addSpecialTokens: false });
    const chunks: string[] = [];
    for (let start = 0; start < ids.length;) {
      let end = Math.min(ids.length, start + budget);
      let chunk = this.tokenizer.decode(ids.slice(start, end), { skipSpecialTokens: true });
      while (!this.mapFits(context, chunk) && end - start > MIN_CHUNK_TOKENS) {
        end -= CHUNK_SLACK_TOKENS;
        chunk = this.tokenizer.decode(ids.slice(start, end), { skipSpecialTokens: true });
      }
      chunks.push(chunk);
      start = end;
    }
    return chunks;
  }

  private mapFits(context: ChatMessage[], chunk: string): boolean {
    const prompt = this.tokenizer.encodeChat(mapMessages(context, 999, 999, chunk)).length;
    return prompt + this.settings.summaryTokens <= this.settings.contextLimit;
  }
}
