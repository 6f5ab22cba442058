import type { BatchOutputLine } from '@headkv/api';
import type { RequestFailure, RequestJobResult, RequestRejection } from '@headkv/queue';

/** Output-file line of a request that completed. */
export function outputLine(requestId: string, customId: string, result: RequestJobResult): BatchOutputLine {
  return {
    id: requestId,
    custom_id: customId,
    response: { status_code: result.statusCode, request_id: requestId, body: result.body },
    error: null,
  };
}

/**
 * Error-file line of a request whose final attempt failed. A rejection by the model server (bad
 * request, unknown model, prompt too long) keeps its HTTP status and error body, as the API would
 * have answered it; a server-side failure the worker named (engine out of memory, engine error,
 * quarantined) keeps its code; any other failure becomes `request_failed` with BullMQ's reason.
 */
export function failureLine(requestId: string, customId: string, failedReason: string): BatchOutputLine {
  let parsed: Partial<RequestRejection & RequestFailure> | null = null;
  try {
    const value: unknown = JSON.parse(failedReason);
    if (typeof value === 'object' && value !== null)
      parsed = value as Partial<RequestRejection & RequestFailure>;
  } catch {
    parsed = null;
  }
  if (parsed !== null && typeof parsed.statusCode === 'number' && parsed.error) {
    return {
      id: requestId,
      custom_id: customId,
      response: {
        status_code: parsed.statusCode,
        request_id: requestId,
        body: { error: parsed.error },
      },
      error: null,
    };
  }
  if (parsed !== null && typeof parsed.code === 'string' && typeof parsed.message === 'string') {
    return errorLine(requestId, customId, parsed.code, parsed.message);
  }
  return errorLine(requestId, customId, 'request_failed', failedReason);
}

/** Error-file line of a request that never produced a result (invalid line, cancelled, expired). */
export function errorLine(
  requestId: string,
  customId: string | null,
  code: string,
  message: string,
): BatchOutputLine {
  return { id: requestId, custom_id: customId, response: null, error: { code, message } };
}
