import type { BatchOutputLine } from '@headkv/api';
import type { RequestJobResult, RequestRejection } from '@headkv/queue';

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
 * have answered it; any other failure becomes an error {code, message}.
 */
export function failureLine(requestId: string, customId: string, failedReason: string): BatchOutputLine {
  let rejection: RequestRejection | null = null;
  try {
    const parsed = JSON.parse(failedReason) as Partial<RequestRejection>;
    if (typeof parsed.statusCode === 'number' && parsed.error) rejection = parsed as RequestRejection;
  } catch {
    rejection = null;
  }
  if (rejection !== null) {
    return {
      id: requestId,
      custom_id: customId,
      response: {
        status_code: rejection.statusCode,
        request_id: requestId,
        body: { error: rejection.error },
      },
      error: null,
    };
  }
  return {
    id: requestId,
    custom_id: customId,
    response: null,
    error: { code: 'request_failed', message: failedReason },
  };
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
