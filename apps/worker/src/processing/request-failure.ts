import { UnrecoverableError } from 'bullmq';
import type { RequestFailure } from '@headkv/queue';

/**
 * A server-side failure of one request with a code the error file keeps (engine out of memory,
 * engine error, quarantined). `retry` says whether another attempt may succeed: a retryable
 * failure spends one of the job's attempts (HEADKV_ATTEMPTS); the others fail the job at once.
 */
export function failRequest(code: string, message: string, retry: boolean): Error {
  const reason = JSON.stringify({ code, message } satisfies RequestFailure);
  return retry ? new Error(reason) : new UnrecoverableError(reason);
}
