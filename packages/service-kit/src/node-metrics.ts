import { collectDefaultMetrics, type Registry } from 'prom-client';

/**
 * Gauges prom-client names with `_total`, a counter's suffix, which `promtool check metrics` rejects.
 * Their values stay available: each is the sum over `type` of `nodejs_active_handles`,
 * `nodejs_active_requests` and `nodejs_active_resources`, which prom-client registers as well.
 */
const MISNAMED = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** prom-client's default Node metrics, without the misnamed ones (`sum by () (nodejs_active_handles)` replaces them). */
export function collectNodeMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of MISNAMED) registry.removeSingleMetric(name);
}
