/** The error object OpenAI clients parse: {error: {message, type, param, code}}. */
export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** An error that maps onto one HTTP status and an OpenAI-style error body. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  toBody(): ErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }

  static invalidRequest(message: string, param: string | null = null, code: string | null = null): ApiError {
    return new ApiError(400, message, 'invalid_request_error', param, code);
  }

  static unauthorized(message: string): ApiError {
    return new ApiError(401, message, 'authentication_error', null, 'invalid_api_key');
  }

  static forbidden(message: string, code: string | null = null): ApiError {
    return new ApiError(403, message, 'permission_error', null, code);
  }

  static notFound(message: string, param: string | null = null): ApiError {
    return new ApiError(404, message, 'invalid_request_error', param, 'not_found');
  }

  static conflict(message: string, code: string | null = null): ApiError {
    return new ApiError(409, message, 'invalid_request_error', null, code);
  }

  static tooLarge(message: string, param: string | null = null): ApiError {
    return new ApiError(413, message, 'invalid_request_error', param, 'request_too_large');
  }

  static unprocessable(message: string, param: string | null = null, code: string | null = null): ApiError {
    return new ApiError(422, message, 'invalid_request_error', param, code);
  }

  static unavailable(message: string): ApiError {
    return new ApiError(503, message, 'server_error', null, 'service_unavailable');
  }

  static internal(message: string): ApiError {
    return new ApiError(500, message, 'server_error', null, null);
  }
}
