import { Catch, HttpException, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { ApiError } from '@headkv/api';

/** Turns every error into an OpenAI-style {error: {message, type, param, code}} body. */
@Catch()
export class ApiErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const error = this.toApiError(exception);
    if (error.status >= 500)
      this.logger.error(
        exception instanceof Error ? (exception.stack ?? exception.message) : String(exception),
      );
    if (response.headersSent) {
      response.end();
      return;
    }
    response.status(error.status).json(error.toBody());
  }

  private toApiError(exception: unknown): ApiError {
    if (exception instanceof ApiError) return exception;
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const message = exception.message;
      if (status === 413) return ApiError.tooLarge(message);
      if (status === 404) return ApiError.notFound(message);
      if (status === 401) return ApiError.unauthorized(message);
      if (status < 500) return new ApiError(status, message, 'invalid_request_error');
      return new ApiError(status, message, 'server_error');
    }
    return ApiError.internal('The server had an error while processing your request');
  }
}
