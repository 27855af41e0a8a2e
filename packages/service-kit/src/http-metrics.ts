import type { Request, RequestHandler } from 'express';
import { Histogram, type Registry } from 'prom-client';
import { perRegistry } from '@self-healing-shop/resilience';
import { sampledTraceId } from './tracing/trace-context.ts';

// `trace_id` is an exemplar label, never a series label (prom-client types both with one parameter).
type Label = 'method' | 'route' | 'status_code' | 'trace_id';
const requestDuration = perRegistry((registry) => {
  const histogram = new Histogram<Label>({
    name: 'http_server_request_duration_seconds',
    help: 'Duration of HTTP requests handled by this service.',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    // prom-client refuses exemplars on a registry whose default format is the Prometheus text (which
    // cannot show them); /metrics renders OpenMetrics on demand (metrics-endpoint.ts), so register by hand.
    registers: [],
    enableExemplars: true,
  });
  registry.registerMetric(histogram);
  return histogram;
});

/**
 * `http_server_request_duration_seconds{method,route,status_code}`: `route` is the Express route
 * pattern (`/orders/:id`), never the raw path, so the label set stays small. A request served inside a
 * sampled trace leaves an exemplar `{trace_id}` on its bucket (shown in OpenMetrics, metrics-endpoint.ts).
 */
/** The Express route pattern a request matched (`/orders/:id`, mounted routers included), if any. */
export function routeOf(req: Request): string | undefined {
  return req.route ? `${req.baseUrl}${String(req.route.path)}` : undefined;
}

export function httpMetrics(registry: Registry): RequestHandler {
  const h = requestDuration(registry);
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    // Read now, inside the request's span: 'finish' may run outside it.
    const traceId = sampledTraceId();
    res.once('finish', () => {
      const route = routeOf(req) ?? 'unmatched';
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      h.observe({
        labels: { method: req.method, route, status_code: String(res.statusCode) },
        value: seconds,
        ...(traceId ? { exemplarLabels: { trace_id: traceId } } : {}),
      });
    });
    next();
  };
}
