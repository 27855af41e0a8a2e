// A stand-in replica for the trace tests, run by the real local runtime: at start it exports one span
// with the OpenTelemetry SDK configured only by the environment the runtime gives every replica
// (OTEL_EXPORTER_OTLP_ENDPOINT, to which the exporter appends /v1/traces, and OTEL_SERVICE_NAME), then
// serves /health and /ready.
import http from 'node:http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, detectResources, envDetector } from '@opentelemetry/resources';
import { SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';

const provider = new TracerProvider({
  resource: defaultResource().merge(detectResources({ detectors: [envDetector] })),
  spanProcessors: [new SimpleSpanProcessor({ exporter: new OTLPTraceExporter() })],
});
const span = provider.getTracer('trace-service').startSpan('replica started');
span.setAttribute('pod', process.env['POD_NAME'] ?? '');
span.end();
await provider.forceFlush();

const server = http.createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://fixture').pathname;
  if (path === '/health' || path === '/ready')
    return res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"healthy","checks":[]}');
  res.writeHead(404).end();
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
server.listen(Number(process.env['PORT'] ?? 0), process.env['HOST'] ?? '127.0.0.1');
