/**
 * Value formatting for the units the dashboards use, following Grafana's value formats
 * (packages/grafana-data/src/valueFormats): automatic decimals, `s` scaled to ms/min/hour…,
 * `percentunit` (0–1 as %), `short` (K, Mil, Bil…), `reqps`/`ops` (count units with K, M, B),
 * `none`, `dateTimeFromNow`.
 */

/** Grafana's automatic decimals (getDecimalsForValue): two or three significant digits, none for whole numbers. */
export function autoDecimals(value: number): number {
  if (value === 0 || !Number.isFinite(value) || Number.isInteger(value)) return 0;
  const log10 = Math.floor(Math.log10(Math.abs(value)));
  let dec = -log10 + 1;
  const norm = Math.abs(value) / 10 ** -dec;
  if (norm > 2.25) dec += 1;
  return Math.max(0, dec);
}

function fixed(value: number, decimals?: number): string {
  return value.toFixed(decimals ?? autoDecimals(value));
}

/** Divides by `factor` until below it, then appends that step's suffix. */
function scaled(value: number, factor: number, suffixes: readonly string[], decimals?: number): string {
  let v = value;
  let i = 0;
  while (Math.abs(v) >= factor && i < suffixes.length - 1) {
    v /= factor;
    i += 1;
  }
  return `${fixed(v, decimals)}${suffixes[i]}`;
}

function seconds(value: number, decimals?: number): string {
  const abs = Math.abs(value);
  if (abs === 0) return '0 s';
  if (abs < 0.000001) return `${fixed(value * 1e9, decimals)} ns`;
  if (abs < 0.001) return `${fixed(value * 1e6, decimals)} µs`;
  if (abs < 1) return `${fixed(value * 1000, decimals)} ms`;
  if (abs < 60) return `${fixed(value, decimals)} s`;
  if (abs < 3600) return `${fixed(value / 60, decimals)} min`;
  if (abs < 86_400) return `${fixed(value / 3600, decimals)} hour`;
  if (abs < 604_800) return `${fixed(value / 86_400, decimals)} day`;
  if (abs < 31_536_000) return `${fixed(value / 604_800, decimals)} week`;
  return `${fixed(value / 31_536_000, decimals)} year`;
}

function fromNow(epochMs: number, nowMs: number): string {
  const diff = Math.round((nowMs - epochMs) / 1000);
  const abs = Math.abs(diff);
  const [n, unit] =
    abs < 45
      ? [0, 'a few seconds']
      : abs < 3600
        ? [Math.round(abs / 60), 'minute']
        : abs < 86_400
          ? [Math.round(abs / 3600), 'hour']
          : [Math.round(abs / 86_400), 'day'];
  const text = n === 0 ? unit : `${n === 1 ? (unit === 'hour' ? 'an' : 'a') : n} ${unit}${n > 1 ? 's' : ''}`;
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}

/** The units this formatter knows; a panel with another unit shows plain numbers and says so. */
export const KNOWN_UNITS = [
  'none',
  'short',
  's',
  'ms',
  'percentunit',
  'percent',
  'reqps',
  'ops',
  'dateTimeFromNow',
];

export function formatValue(
  value: number | null | undefined,
  unit: string | undefined,
  options: { decimals?: number; nowMs?: number } = {},
): string {
  if (value === null || value === undefined || Number.isNaN(value)) return 'No data';
  const { decimals } = options;
  switch (unit ?? 'short') {
    case 'none':
      return fixed(value, decimals);
    case 's':
      return seconds(value, decimals);
    case 'ms':
      return seconds(value / 1000, decimals);
    case 'percentunit':
      return `${fixed(value * 100, decimals)}%`;
    case 'percent':
      return `${fixed(value, decimals)}%`;
    case 'reqps':
      return `${scaled(value, 1000, ['', 'K', 'M', 'B', 'T'], decimals)} req/s`;
    case 'ops':
      return `${scaled(value, 1000, ['', 'K', 'M', 'B', 'T'], decimals)} ops/s`;
    case 'dateTimeFromNow':
      return fromNow(value, options.nowMs ?? Date.now());
    case 'short':
    default:
      return scaled(value, 1000, ['', ' K', ' Mil', ' Bil', ' Tri'], decimals);
  }
}
