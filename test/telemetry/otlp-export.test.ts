// With OTEL_EXPORTER_OTLP_ENDPOINT set, spans are exported over OTLP/HTTP to that collector.
import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { startTracing, stopTracing, tracer } from '@headkv/telemetry';

test('spans reach the OTLP collector named by OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
  const received: Array<{ url: string; bytes: number }> = [];
  const collector = http.createServer((request, response) => {
    let bytes = 0;
    request.on('data', (chunk: Buffer) => (bytes += chunk.length));
    request.on('end', () => {
      received.push({ url: request.url ?? '', bytes });
      response.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  const { port } = collector.address() as AddressInfo;
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = `http://127.0.0.1:${port}`;
  try {
    startTracing('otlp-test');
    tracer('test').startActiveSpan('request', (span) => span.end());
    await stopTracing(); // flushes the batch processor
  } finally {
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    collector.close();
  }
  assert.equal(received.length, 1, JSON.stringify(received));
  assert.equal(received[0].url, '/v1/traces');
  assert.ok(received[0].bytes > 0);
});
