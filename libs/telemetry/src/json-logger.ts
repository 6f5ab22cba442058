import type { LoggerService, LogLevel } from '@nestjs/common';
import { redactSecrets } from './redact-secrets';
import { activeTraceId } from './tracing';

/**
 * Nest logger writing one JSON object per line, with the active trace id when there is one, and
 * bearer tokens and URL passwords masked (redactSecrets).
 */
export class JsonLogger implements LoggerService {
  constructor(
    private readonly service: string,
    private readonly out: NodeJS.WritableStream = process.stdout,
  ) {}

  private write(level: LogLevel, message: unknown, params: unknown[]): void {
    const context =
      params.length > 0 && typeof params[params.length - 1] === 'string'
        ? (params.pop() as string)
        : undefined;
    const record: Record<string, unknown> = {
      time: new Date().toISOString(),
      level,
      service: this.service,
      pid: process.pid,
      context,
      message: message instanceof Error ? message.message : message,
    };
    const traceId = activeTraceId();
    if (traceId) record.trace_id = traceId;
    if (params.length > 0) record.details = params.map((item) => (item instanceof Error ? item.stack : item));
    this.out.write(redactSecrets(JSON.stringify(record)) + '\n');
  }

  log(message: unknown, ...params: unknown[]): void {
    this.write('log', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('verbose', message, params);
  }
}
