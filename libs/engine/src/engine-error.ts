// engine-error.ts: the one error type of the engine library. `code` is the engine status name
// ('HKV_ERR_FORMAT', 'HKV_ERR_OUT_OF_MEMORY', ...) or one of this library's codes
// ('HKV_ADDON_MISSING', 'HKV_TOKENIZER', 'HKV_REQUEST', 'HKV_DISPOSED').
export class EngineError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EngineError';
    this.code = code;
  }

  // Wraps an error thrown by the addon: engine failures carry a `code`; the addon's argument
  // checks throw TypeError / RangeError; anything else is a bug.
  static from(error: unknown): EngineError {
    if (error instanceof EngineError) return error;
    if (error instanceof Error) {
      const code = (error as Error & { code?: unknown }).code;
      const fallback =
        error instanceof TypeError || error instanceof RangeError
          ? 'HKV_ERR_INVALID_ARGUMENT'
          : 'HKV_ERR_INTERNAL';
      return new EngineError(typeof code === 'string' ? code : fallback, error.message, { cause: error });
    }
    return new EngineError('HKV_ERR_INTERNAL', String(error));
  }
}
