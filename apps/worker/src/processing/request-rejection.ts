import { UnrecoverableError } from 'bullmq';
import type { RequestRejection } from '@headkv/queue';

/**
 * A request the model server refuses (unknown model, prompt too long, bad options): retrying
 * cannot help, so the job fails at once, carrying the HTTP status and the OpenAI error object.
 */
export function rejectRequest(
  statusCode: number,
  message: string,
  param: string | null,
  code: string,
): UnrecoverableError {
  const rejection: RequestRejection = {
    statusCode,
    error: { message, type: 'invalid_request_error', param, code },
  };
  return new UnrecoverableError(JSON.stringify(rejection));
}
