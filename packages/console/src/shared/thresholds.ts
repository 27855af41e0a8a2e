/** Threshold colours and value mappings, as Grafana's field config applies them. */

export interface ThresholdStep {
  readonly color: string;
  /** null for the base step (−∞). */
  readonly value: number | null;
}

export interface Thresholds {
  readonly mode?: 'absolute' | 'percentage';
  readonly steps: readonly ThresholdStep[];
}

export interface ValueMapping {
  readonly type: string;
  readonly options: Readonly<Record<string, { text?: string; color?: string; index?: number }>>;
}

/** Grafana's named colours (the classic palette). */
const NAMED: Readonly<Record<string, string>> = {
  green: '#73BF69',
  red: '#F2495C',
  yellow: '#FADE2A',
  orange: '#FF9830',
  purple: '#B877D9',
  blue: '#5794F2',
  text: '#CCCCDC',
  transparent: 'transparent',
};

export function resolveColor(color: string): string {
  return NAMED[color] ?? color;
}

/**
 * The step a value falls in: the last step whose value is at or below it (the base step's null is
 * −∞). Percentage mode places the value within [min, max] first.
 */
export function thresholdStep(
  value: number,
  thresholds: Thresholds | undefined,
  range: { min: number; max: number } = { min: 0, max: 100 },
): ThresholdStep | undefined {
  if (!thresholds || thresholds.steps.length === 0) return undefined;
  const v = thresholds.mode === 'percentage' ? ((value - range.min) / (range.max - range.min)) * 100 : value;
  let found = thresholds.steps[0];
  for (const step of thresholds.steps) {
    if (step.value === null || v >= step.value) found = step;
  }
  return found;
}

export function thresholdColor(value: number, thresholds: Thresholds | undefined): string | undefined {
  const step = thresholdStep(value, thresholds);
  return step ? resolveColor(step.color) : undefined;
}

/** A value mapping (`type: value`) for this exact value, if any. */
export function mapValue(
  value: number,
  mappings: readonly ValueMapping[] | undefined,
): { text?: string; color?: string } | undefined {
  for (const m of mappings ?? []) {
    if (m.type !== 'value') continue;
    const hit = m.options[String(value)];
    if (hit) return { text: hit.text, color: hit.color === undefined ? undefined : resolveColor(hit.color) };
  }
  return undefined;
}

/** The thresholds as horizontal bands [from, to) with their colours, for drawing under a time series. */
export function thresholdBands(
  thresholds: Thresholds | undefined,
): Array<{ from: number; to: number; color: string }> {
  if (!thresholds || thresholds.mode === 'percentage') return [];
  const steps = thresholds.steps;
  return steps.map((s, i) => ({
    from: s.value ?? -Infinity,
    to: steps[i + 1]?.value ?? Infinity,
    color: resolveColor(s.color),
  }));
}
