import type { RequestHandler } from 'express';
import { Histogram, type Registry } from 'prom-client';

const histograms = new WeakMap<Registry, Histogram<'method' | 'route' | 'status_code'>>();

/**
 * `http_server_request_duration_seconds{method,route,status_code}`: `route` is the Express route
 * pattern (`/orders/:id`), never the raw path, so the label set stays small.
 */
export function httpMetrics(registry: Registry): RequestHandler {
  let histogram = histograms.get(registry);
  if (!histogram) {
    histogram = new Histogram({
      name: 'http_server_request_duration_seconds',
      help: 'Duration of HTTP requests handled by this service.',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    histograms.set(registry, histogram);
  }
  const h = histogram;
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      h.observe({ method: req.method, route, status_code: String(res.statusCode) }, seconds);
    });
    next();
  };
}
