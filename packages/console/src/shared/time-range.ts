/** Grafana's relative time ranges (`now-30m` … `now`), refresh intervals and quick ranges. */
import { parseDurationMs } from './interval.ts';

export interface TimeRange {
  readonly from: string;
  readonly to: string;
}

/** Grafana's default time-picker refresh choices. */
export const REFRESH_INTERVALS = ['5s', '10s', '30s', '1m', '5m', '15m', '30m', '1h', '2h', '1d'] as const;

export const QUICK_RANGES: ReadonlyArray<{ from: string; to: string; display: string }> = [
  { from: 'now-5m', to: 'now', display: 'Last 5 minutes' },
  { from: 'now-15m', to: 'now', display: 'Last 15 minutes' },
  { from: 'now-30m', to: 'now', display: 'Last 30 minutes' },
  { from: 'now-1h', to: 'now', display: 'Last 1 hour' },
  { from: 'now-3h', to: 'now', display: 'Last 3 hours' },
  { from: 'now-6h', to: 'now', display: 'Last 6 hours' },
  { from: 'now-12h', to: 'now', display: 'Last 12 hours' },
  { from: 'now-24h', to: 'now', display: 'Last 24 hours' },
  { from: 'now-2d', to: 'now', display: 'Last 2 days' },
];

/**
 * Resolves `now`, `now-<duration>`, `now+<duration>`, epoch milliseconds or an ISO date to epoch ms.
 * (Grafana's rounding suffixes such as `now/d` are not used by the dashboards and are rejected.)
 */
export function resolveTime(text: string, nowMs: number): number {
  const t = text.trim();
  if (t === 'now') return nowMs;
  const rel = /^now([+-])(.+)$/.exec(t);
  if (rel) return nowMs + (rel[1] === '-' ? -1 : 1) * parseDurationMs(rel[2]);
  if (/^\d+$/.test(t)) return Number(t);
  const parsed = Date.parse(t);
  if (Number.isNaN(parsed))
    throw new Error(`"${text}" is not a time: expected now, now-30m, epoch ms or ISO 8601`);
  return parsed;
}

export function resolveRange(range: TimeRange, nowMs: number): { fromMs: number; toMs: number } {
  const fromMs = resolveTime(range.from, nowMs);
  const toMs = resolveTime(range.to, nowMs);
  if (!(toMs > fromMs)) throw new Error(`time range ${range.from} to ${range.to} is empty`);
  return { fromMs, toMs };
}

export function describeRange(range: TimeRange): string {
  return (
    QUICK_RANGES.find((q) => q.from === range.from && q.to === range.to)?.display ??
    `${range.from} to ${range.to}`
  );
}
