/**
 * The parts of Grafana's dashboard JSON model the console reads: panels laid out on the 24-column
 * grid, rows (collapsed rows keep their panels inside), targets, field config and templating.
 */
import type { Thresholds, ValueMapping } from './thresholds.ts';

export interface GridPos {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

export interface Target {
  readonly refId?: string;
  readonly expr?: string;
  readonly legendFormat?: string;
  readonly instant?: boolean;
  readonly range?: boolean;
  readonly interval?: string;
  readonly hide?: boolean;
}

export interface FieldOverride {
  readonly matcher: { readonly id: string; readonly options: string };
  readonly properties: ReadonlyArray<{ readonly id: string; readonly value: unknown }>;
}

export interface FieldConfig {
  readonly defaults?: {
    readonly unit?: string;
    readonly min?: number;
    readonly max?: number;
    readonly decimals?: number;
    readonly thresholds?: Thresholds;
    readonly mappings?: readonly ValueMapping[];
    readonly color?: { readonly mode?: string; readonly fixedColor?: string };
    readonly custom?: Readonly<Record<string, unknown>>;
  };
  readonly overrides?: readonly FieldOverride[];
}

export interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title?: string;
  readonly description?: string;
  readonly gridPos: GridPos;
  readonly collapsed?: boolean;
  readonly panels?: readonly Panel[];
  readonly targets?: readonly Target[];
  readonly fieldConfig?: FieldConfig;
  readonly options?: Readonly<Record<string, unknown>>;
  readonly interval?: string;
  readonly maxDataPoints?: number;
}

export interface TemplateVariable {
  readonly name: string;
  readonly label?: string;
  readonly type: string;
  readonly query?: string | { readonly query?: string };
  readonly definition?: string;
  readonly multi?: boolean;
  readonly includeAll?: boolean;
  readonly allValue?: string | null;
  readonly current?: { readonly value?: string | string[]; readonly text?: string | string[] };
  readonly sort?: number;
  readonly regex?: string;
  readonly hide?: number;
}

export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly description?: string;
  readonly refresh?: string;
  readonly time?: { readonly from: string; readonly to: string };
  readonly templating?: { readonly list: readonly TemplateVariable[] };
  readonly panels: readonly Panel[];
}

/** Panel types the console draws; any other type is shown as a panel saying so. */
export const SUPPORTED_PANEL_TYPES = [
  'timeseries',
  'stat',
  'gauge',
  'bargauge',
  'state-timeline',
  'row',
] as const;

export function isSupportedPanelType(type: string): boolean {
  return (SUPPORTED_PANEL_TYPES as readonly string[]).includes(type);
}

export interface LaidOutRow {
  /** null for panels above the first row. */
  readonly row: Panel | null;
  readonly panels: Panel[];
}

const byPosition = (a: Panel, b: Panel): number => a.gridPos.y - b.gridPos.y || a.gridPos.x - b.gridPos.x;

/** Groups the panels under their rows in grid order; a collapsed row's own `panels` are its content. */
export function layoutRows(dashboard: Pick<Dashboard, 'panels'>): LaidOutRow[] {
  const rows: LaidOutRow[] = [];
  let current: LaidOutRow = { row: null, panels: [] };
  for (const panel of [...dashboard.panels].sort(byPosition)) {
    if (panel.type === 'row') {
      if (current.row !== null || current.panels.length > 0) rows.push(current);
      current = { row: panel, panels: [...(panel.panels ?? [])].sort(byPosition) };
    } else {
      current.panels.push(panel);
    }
  }
  if (current.row !== null || current.panels.length > 0) rows.push(current);
  return rows;
}

/** The query of a `query` variable, whichever form the JSON holds. */
export function variableQuery(v: TemplateVariable): string {
  const q = typeof v.query === 'string' ? v.query : (v.query?.query ?? v.definition ?? '');
  if (q === '') throw new Error(`variable "${v.name}" has no query`);
  return q;
}

/** The property overrides that apply to a series name (`byName` exact, `byRegexp` unanchored, as Grafana matches). */
export function overridesFor(fieldConfig: FieldConfig | undefined, name: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const o of fieldConfig?.overrides ?? []) {
    const { id, options } = o.matcher;
    const hit =
      id === 'byName' ? name === options : id === 'byRegexp' ? new RegExp(options).test(name) : false;
    if (hit) for (const p of o.properties) out[p.id] = p.value;
  }
  return out;
}
