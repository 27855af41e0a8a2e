/**
 * Silences for a planned experiment (issue 14): before the fault, one Alertmanager silence per
 * expected alert (API v2 `POST /api/v2/silences`, matcher `alertname=<name>`, createdBy
 * `chaos-engine`, a comment naming the run), expired afterwards (`DELETE /api/v2/silence/{id}`),
 * also when the run fails or is interrupted. A silence only stops notifications: the alert still
 * fires and Alertmanager lists it as `suppressed`, which is what the alerts watch reads.
 *
 * The matcher is the alert's name alone: the alerts an experiment expects are often raised by
 * another service than the one it hits (a kill of inventory burns the *order* SLO), so a service
 * matcher would silence nothing. The silence ends by itself (`endsAt`) should the engine die.
 */
import { formatDuration } from '@self-healing-shop/loadgen';
import type { ExperimentAlerts } from '../experiment.ts';

export const SILENCE_CREATED_BY = 'chaos-engine';

/** The request of `POST /api/v2/silences`. */
export interface PostableSilence {
  readonly matchers: ReadonlyArray<{
    readonly name: string;
    readonly value: string;
    readonly isRegex: boolean;
    readonly isEqual: boolean;
  }>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly createdBy: string;
  readonly comment: string;
}

/** Alertmanager's silences API, over HTTP or through the API server's Service proxy. */
export interface SilenceApi {
  /** Resolves with the new silence's id. */
  create(silence: PostableSilence): Promise<string>;
  expire(id: string): Promise<void>;
}

/** One silence of the run, for the report. */
export interface SilenceRecord {
  readonly id: string;
  readonly alertname: string;
  readonly createdAt: string;
  endsAt: string;
  /** When the engine expired it, or why it could not. */
  expiredAt?: string;
  expireError?: string;
}

export interface SilencesResult {
  readonly silences: SilenceRecord[];
  /** Why some or all were not created (no Alertmanager, no silence API, an error). */
  readonly notCreated?: string;
}

/** A send function (method, path under Alertmanager's root, JSON body) → the answer's text. */
export type AlertmanagerSend = (method: string, path: string, body?: unknown) => Promise<string>;

/** The silences API over a send function; checks the answers' shapes. */
export function silenceApi(send: AlertmanagerSend): SilenceApi {
  return {
    async create(silence) {
      const text = await send('POST', '/api/v2/silences', silence);
      let id: unknown;
      try {
        id = (JSON.parse(text) as { silenceID?: unknown }).silenceID;
      } catch {
        // not JSON: reported below
      }
      if (typeof id !== 'string' || id === '')
        throw new Error(`POST /api/v2/silences did not answer a silenceID: ${text.slice(0, 200)}`);
      return id;
    },
    async expire(id) {
      await send('DELETE', `/api/v2/silence/${encodeURIComponent(id)}`);
    },
  };
}

/** Alertmanager at its base URL (`http://127.0.0.1:9093`). */
export function httpSilenceApi(baseUrl: string): SilenceApi {
  const root = baseUrl.replace(/\/+$/, '');
  return silenceApi(async (method, path, body) => {
    let response: Response;
    try {
      response = await fetch(`${root}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(5_000),
      });
    } catch (error) {
      const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
      throw new Error(`Alertmanager at ${baseUrl} is not reachable (${cause})`, { cause: error });
    }
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text.slice(0, 200)}`);
    return text;
  });
}

export interface SilenceDeps {
  readonly api: () => Promise<SilenceApi>;
  /** Names the run in the comment: experiment, seed, start time. */
  readonly run: string;
  /** How long the silences may last at most (they are expired earlier, when the run ends). */
  readonly maxMs: number;
  readonly now: () => number;
  readonly log: (type: string, message: string, data?: Record<string, unknown>) => void;
}

/** The silences of one run: created by `silenceExpected`, expired by `expire` (call it in a finally). */
export interface RunSilences {
  readonly result: SilencesResult;
  expire(): Promise<void>;
}

/** Creates a silence for each expected alert; failures are recorded, never thrown (the run goes on). */
export async function silenceExpected(alerts: ExperimentAlerts, deps: SilenceDeps): Promise<RunSilences> {
  const silences: SilenceRecord[] = [];
  let notCreated: string | undefined;
  let api: SilenceApi | undefined;
  if (alerts.expected.length > 0) {
    try {
      api = await deps.api();
    } catch (error) {
      notCreated = (error as Error).message;
    }
  }
  const startsAt = new Date(deps.now()).toISOString();
  const endsAt = new Date(deps.now() + deps.maxMs).toISOString();
  for (const alertname of api ? alerts.expected : []) {
    try {
      const id = await api!.create({
        matchers: [{ name: 'alertname', value: alertname, isRegex: false, isEqual: true }],
        startsAt,
        endsAt,
        createdBy: SILENCE_CREATED_BY,
        comment: `chaos run ${deps.run}: ${alertname} is expected to fire; expired when the run ends`,
      });
      silences.push({ id, alertname, createdAt: startsAt, endsAt });
    } catch (error) {
      notCreated = `silence of ${alertname} not created: ${(error as Error).message}`;
    }
  }
  if (silences.length > 0)
    deps.log(
      'alerts-silenced',
      `silenced ${silences.map((s) => `${s.alertname} (${s.id})`).join(', ')} for at most ${formatDuration(deps.maxMs)}`,
      { silences: silences.map((s) => s.id) },
    );
  if (notCreated) deps.log('alerts-not-silenced', `expected alerts not silenced: ${notCreated}`);
  const result: SilencesResult = { silences, ...(notCreated ? { notCreated } : {}) };
  let expiring: Promise<void> | undefined;
  return {
    result,
    expire() {
      expiring ??= (async () => {
        for (const silence of silences) {
          try {
            await api!.expire(silence.id);
            silence.expiredAt = new Date(deps.now()).toISOString();
            silence.endsAt = silence.expiredAt;
          } catch (error) {
            silence.expireError = (error as Error).message;
            deps.log(
              'silence-not-expired',
              `silence ${silence.id} (${silence.alertname}) not expired, it ends by itself at ${silence.endsAt}: ${silence.expireError}`,
            );
          }
        }
        if (silences.some((s) => s.expiredAt))
          deps.log(
            'alerts-unsilenced',
            `expired silences ${silences
              .filter((s) => s.expiredAt)
              .map((s) => s.id)
              .join(', ')}`,
          );
      })();
      return expiring;
    },
  };
}
