import type { RuntimeEvent } from '../control-plane/event-log.ts';

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const COLOURS = [36, 32, 33, 35, 34, 96, 92, 93, 95, 94];
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name', 'v']);

export function colour(text: string, code: number, enabled: boolean): string {
  return enabled ? `\u001b[${code}m${text}\u001b[0m` : text;
}

/** A stable colour per name (replica, service). */
export function colourFor(name: string): number {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return COLOURS[hash % COLOURS.length]!;
}

export function clock(time: number | string | Date): string {
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? String(time) : date.toISOString().slice(11, 23);
}

function value(v: unknown): string {
  if (typeof v === 'string') return /\s/.test(v) ? JSON.stringify(v) : v;
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/** The time of a pino JSON line (for merging), or undefined for other text. */
export function lineTime(line: string): number | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const time = (JSON.parse(line) as { time?: unknown }).time;
    return typeof time === 'number' ? time : typeof time === 'string' ? Date.parse(time) : undefined;
  } catch {
    return undefined;
  }
}

/** A pino JSON line as `12:00:01.123 INFO  message key=value`; other lines as they are. */
export function prettyLine(line: string, colours: boolean): string {
  if (!line.startsWith('{')) return line;
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const level =
    typeof entry['level'] === 'number'
      ? (LEVELS[entry['level']] ?? String(entry['level']))
      : String(entry['level'] ?? '').toUpperCase();
  const levelText = level.padEnd(5);
  const levelColoured =
    level === 'ERROR' || level === 'FATAL'
      ? colour(levelText, 31, colours)
      : level === 'WARN'
        ? colour(levelText, 33, colours)
        : levelText;
  const fields = Object.entries(entry)
    .filter(([key]) => !HIDDEN.has(key))
    .map(([key, v]) => `${key}=${value(v)}`)
    .join(' ');
  const time = entry['time'] === undefined ? '' : `${clock(entry['time'] as number)} `;
  return `${time}${levelColoured} ${String(entry['msg'] ?? '')}${fields ? ` ${colour(fields, 90, colours)}` : ''}`;
}

/** One runtime event as a line of the live view. */
export function eventLine(event: RuntimeEvent, colours: boolean): string {
  const type = event.type.padEnd(8);
  const typeColour =
    event.type === 'ready' ? 32 : ['killed', 'exited', 'backoff', 'unready'].includes(event.type) ? 31 : 36;
  const subject = event.replica ?? event.service;
  return `${clock(event.at)} ${colour(type, typeColour, colours)} ${colour(subject, colourFor(event.service), colours)}${event.reason ? `  ${event.reason}` : ''}`;
}

export function age(iso: string | null, now = Date.now()): string {
  if (!iso) return '-';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes}m${seconds % 60 ? `${seconds % 60}s` : ''}`;
  const hours = Math.floor(minutes / 60);
  return hours < 48 ? `${hours}h${minutes % 60}m` : `${Math.floor(hours / 24)}d${hours % 24}h`;
}
