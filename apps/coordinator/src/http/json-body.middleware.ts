import express, { type NextFunction, type Request, type Response } from 'express';
import { ApiError } from '@headkv/api';

/**
 * JSON body parsing with a size limit; parser errors (too large, not JSON) are answered here as
 * OpenAI-style errors, because they happen before Nest's exception filters can see them.
 */
export function jsonBody(limitBytes: number) {
  const parse = express.json({ limit: limitBytes });
  return (request: Request, response: Response, next: NextFunction): void => {
    parse(request, response, (error?: unknown) => {
      if (!error) return next();
      const failure = error as { type?: string; message?: string };
      const apiError =
        failure.type === 'entity.too.large'
          ? ApiError.tooLarge(`Request body exceeds the limit of ${limitBytes} bytes`)
          : ApiError.invalidRequest(
              `Request body is not valid JSON: ${failure.message ?? 'parse error'}`,
              null,
              'invalid_json',
            );
      response.status(apiError.status).json(apiError.toBody());
    });
  };
}
