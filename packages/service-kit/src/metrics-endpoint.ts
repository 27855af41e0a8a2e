import type { RequestHandler } from 'express';
import { Registry, type Metric, type RegistryContentType } from 'prom-client';

const OPENMETRICS = 'application/openmetrics-text';
const PROMETHEUS_TEXT = 'text/plain';

/**
 * `GET /metrics`: the Prometheus text format by default (no Accept, `text/plain`, `*∕*`), OpenMetrics
 * when the scraper prefers it (Prometheus does: its Accept header puts `application/openmetrics-text`
 * first). Only OpenMetrics can carry exemplars, so the trace ids on the request-duration histogram are
 * in that format only.
 */
export function metricsEndpoint(registry: Registry): RequestHandler {
  return async (req, res) => {
    const openMetrics = prefersOpenMetrics(req.get('accept'));
    const format = openMetrics ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE;
    res
      .vary('Accept')
      .type(format)
      .send(await renderMetrics(registry, format));
  };
}

/** Whether an Accept header ranks OpenMetrics above the Prometheus text (ties go to the text). */
export function prefersOpenMetrics(accept: string | undefined): boolean {
  if (!accept) return false;
  let openMetrics = 0;
  let text = 0;
  for (const part of accept.split(',')) {
    const [type = '', ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2)) || 0;
    if (type === OPENMETRICS) openMetrics = Math.max(openMetrics, q);
    else if (type === PROMETHEUS_TEXT || type === 'text/*' || type === '*/*') text = Math.max(text, q);
  }
  return openMetrics > text;
}

/**
 * The registry's metrics in the given format. prom-client renders OpenMetrics only from a registry of
 * that type and renames counters in place while doing it (`x_total` → `x`), which would change the
 * Prometheus text rendered afterwards; so OpenMetrics is rendered from a throwaway registry of
 * per-scrape views of the metrics (objects whose prototype is the metric: the rename lands on the view).
 */
export async function renderMetrics(registry: Registry, format: RegistryContentType): Promise<string> {
  if (format === registry.contentType) return registry.metrics();
  const view = new Registry<RegistryContentType>();
  view.setContentType(format);
  for (const metric of registry.getMetricsAsArray()) view.registerMetric(Object.create(metric) as Metric);
  return view.metrics();
}
