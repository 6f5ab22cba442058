import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { NextFunction, Request, Response } from 'express';
import { tracer } from '@headkv/telemetry';

/** One server span per HTTP request; everything the request does (queueing included) runs inside it. */
export function httpTracing(request: Request, response: Response, next: NextFunction): void {
  const span = tracer('headkv-coordinator').startSpan(`HTTP ${request.method} ${request.path}`, {
    kind: SpanKind.SERVER,
    attributes: { 'http.method': request.method, 'http.target': request.path },
  });
  response.on('close', () => {
    span.setAttribute('http.status_code', response.statusCode);
    if (response.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
  context.with(trace.setSpan(context.active(), span), next);
}
