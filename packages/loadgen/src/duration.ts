const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * The project's one duration parser (loadgen and chaos flags, experiment files): `500ms`, `10s`, `2m`,
 * `1h`, `1m30s`, `1.5s`, in milliseconds. A bare number is rejected: `10` could mean seconds or
 * milliseconds, so every duration names its unit.
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let match = part.exec(trimmed); match; match = part.exec(trimmed)) {
    total += Number(match[1]) * UNITS[match[2]!]!;
    consumed = part.lastIndex;
  }
  if (consumed === 0 || consumed !== trimmed.length) {
    const hint = /^\d+(\.\d+)?$/.test(trimmed) ? ' (a bare number has no unit)' : '';
    throw new RangeError(
      `invalid duration "${text}"${hint}: use a number with a unit, e.g. 500ms, 10s, 2m, 1m30s`,
    );
  }
  return Math.round(total);
}

/** 1234 → `1.23s`, 950 → `950ms`, 125000 → `2m5s`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return seconds ? `${minutes}m${seconds}s` : `${minutes}m`;
}
