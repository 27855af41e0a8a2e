/** One alert as Alertmanager's API v2 (`GET /api/v2/alerts`) lists it; only the fields the runtime reads. */
export interface AlertmanagerAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** ISO 8601. */
  readonly startsAt: string;
  readonly status: { readonly state: 'active' | 'suppressed' | 'unprocessed' };
}

/** The alerts Alertmanager holds now (active, silenced and inhibited ones too: a silence says who watches it). */
export async function alertmanagerAlerts(alertmanagerUrl: string): Promise<AlertmanagerAlert[]> {
  const url = `${alertmanagerUrl.replace(/\/+$/, '')}/api/v2/alerts?active=true&silenced=true&inhibited=true`;
  const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as AlertmanagerAlert[];
}
