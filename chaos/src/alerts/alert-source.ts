import { httpSilenceApi, type SilenceApi } from './silences.ts';

/**
 * Where the chaos engine reads firing alerts: Alertmanager's API v2 (`GET /api/v2/alerts`), directly
 * (local runtime, `--alertmanager-url`) or through kube-apiserver's Service proxy (Kubernetes).
 */

/** One alert as Alertmanager's API v2 lists it; only the fields the engine reads. */
export interface FiringAlert {
  readonly fingerprint: string;
  readonly labels: Readonly<Record<string, string>>;
  /** ISO 8601: when Prometheus says it started firing. */
  readonly startsAt: string;
  /** `active`, or `suppressed` by a silence or an inhibition: it fired either way. */
  readonly status: { readonly state: string };
}

export interface AlertSource {
  /** Where the alerts come from, for the report (`Alertmanager at http://127.0.0.1:9093`). */
  readonly description: string;
  /** The alerts firing now (silenced and inhibited ones included). Rejects when unreachable. */
  firing(): Promise<FiringAlert[]>;
  /** The same Alertmanager's silences (a planned experiment silences the alerts it expects). */
  readonly silences?: SilenceApi;
}

/** Active alerts, silenced and inhibited ones too: a silence does not undo a firing. */
export const ALERTS_PATH = '/api/v2/alerts?active=true&silenced=true&inhibited=true';

const TIMEOUT_MS = 5_000;

/** Checks the shape of `GET /api/v2/alerts`, so a wrong URL (another server) is an error, not "no alert". */
export function parseAlerts(what: string, body: unknown): FiringAlert[] {
  if (!Array.isArray(body)) throw new Error(`${what} did not answer a list of alerts`);
  return body.map((item: unknown) => {
    const alert = item as Partial<FiringAlert> | null;
    if (!alert || typeof alert.fingerprint !== 'string' || typeof alert.labels !== 'object')
      throw new Error(`${what} answered something that is not an Alertmanager alert`);
    return alert as FiringAlert;
  });
}

/** Alertmanager reached over HTTP at its base URL (`http://127.0.0.1:9093`). */
export function httpAlertSource(baseUrl: string): AlertSource {
  const url = `${baseUrl.replace(/\/+$/, '')}${ALERTS_PATH}`;
  return {
    description: `Alertmanager at ${baseUrl}`,
    silences: httpSilenceApi(baseUrl),
    async firing() {
      let response: Response;
      try {
        response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
      } catch (error) {
        const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
        throw new Error(`Alertmanager at ${baseUrl} is not reachable (${cause})`, { cause: error });
      }
      const text = await response.text();
      if (!response.ok) throw new Error(`GET ${url} answered ${response.status}: ${text.slice(0, 200)}`);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new Error(`GET ${url} did not answer JSON: ${text.slice(0, 200)}`);
      }
      return parseAlerts(`GET ${url}`, body);
    },
  };
}
