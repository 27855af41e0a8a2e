/**
 * The fast burn-rate alert read through Prometheus's HTTP API (`GET /api/v1/alerts`): the rule's
 * alerts with their state (`pending`, `firing`). Prometheus, not Alertmanager: a silence or an
 * inhibition must not hide a deploy that burns the SLO.
 */
export const FAST_BURN_ALERT = 'OrderSLOErrorBudgetBurnFast';

export interface PrometheusAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly state: string;
  readonly activeAt?: string;
}

/** The alerts named `alertname` that Prometheus lists now (pending and firing). Rejects when unreachable. */
export async function alertsNamed(prometheusUrl: string, alertname: string): Promise<PrometheusAlert[]> {
  const url = `${prometheusUrl.replace(/\/+$/, '')}/api/v1/alerts`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  } catch (error) {
    const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
    throw new Error(`Prometheus at ${prometheusUrl} is not reachable (${cause})`, { cause: error });
  }
  const text = await response.text();
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}: ${text.slice(0, 200)}`);
  let body: { status?: string; data?: { alerts?: unknown } };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new Error(`GET ${url} did not answer JSON: ${text.slice(0, 200)}`);
  }
  if (body.status !== 'success' || !Array.isArray(body.data?.alerts))
    throw new Error(`GET ${url} did not answer Prometheus's alerts: ${text.slice(0, 200)}`);
  return (body.data.alerts as PrometheusAlert[]).filter((a) => a.labels?.['alertname'] === alertname);
}
