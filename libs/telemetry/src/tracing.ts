import { context, propagation, trace, type Context, type Tracer } from '@opentelemetry/api';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { Resource } from '@opentelemetry/resources';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';

export type TraceCarrier = Record<string, string>;

let provider: NodeTracerProvider | null = null;

/** The OTLP/HTTP exporter when the standard OpenTelemetry environment names a collector. */
function exporterFromEnv(env: NodeJS.ProcessEnv): SpanExporter | undefined {
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT && !env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return undefined;
  // The exporter reads the endpoint, headers and timeout from those same variables.
  return new OTLPTraceExporter();
}

/**
 * Registers the global tracer provider (AsyncLocalStorage context, W3C trace-context propagation).
 * Spans go to `exporter`; tests pass an InMemorySpanExporter and a synchronous processor. Without
 * one, spans go to the OTLP collector named by OTEL_EXPORTER_OTLP_ENDPOINT (or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) when set; otherwise spans are still created, so trace ids
 * reach the logs and the job data.
 */
export function startTracing(
  serviceName: string,
  exporter: SpanExporter | undefined = exporterFromEnv(process.env),
  synchronous = false,
): void {
  if (provider !== null) return;
  const processors = exporter
    ? [synchronous ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter)]
    : [];
  provider = new NodeTracerProvider({ resource: new Resource({ 'service.name': serviceName }) });
  for (const processor of processors) provider.addSpanProcessor(processor);
  provider.register();
}

export async function stopTracing(): Promise<void> {
  if (provider === null) return;
  await provider.shutdown();
  provider = null;
}

export function tracer(name: string): Tracer {
  return trace.getTracer(name);
}

/** The active trace context as a W3C carrier, to put into job data. */
export function currentTraceCarrier(): TraceCarrier {
  const carrier: TraceCarrier = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

/** The context a carrier describes, to parent the worker's spans on the HTTP request's span. */
export function contextFromCarrier(carrier: TraceCarrier | undefined): Context {
  return propagation.extract(context.active(), carrier ?? {});
}

/** The active trace id, or undefined outside a span. */
export function activeTraceId(): string | undefined {
  const span = trace.getSpan(context.active());
  const id = span?.spanContext().traceId;
  return id && id !== '00000000000000000000000000000000' ? id : undefined;
}
