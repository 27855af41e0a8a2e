/** Grafana's reducers (`reduceOptions.calcs`, legend calcs) over one series' values; nulls are skipped. */

export type Reducer =
  'lastNotNull' | 'last' | 'firstNotNull' | 'first' | 'mean' | 'max' | 'min' | 'sum' | 'count';

export const REDUCER_LABELS: Readonly<Record<Reducer, string>> = {
  lastNotNull: 'Last *',
  last: 'Last',
  firstNotNull: 'First *',
  first: 'First',
  mean: 'Mean',
  max: 'Max',
  min: 'Min',
  sum: 'Total',
  count: 'Count',
};

export function reduce(values: ReadonlyArray<number | null>, reducer: string): number | null {
  const present = values.filter((v): v is number => v !== null && !Number.isNaN(v));
  switch (reducer) {
    case 'lastNotNull':
      return present.length > 0 ? present[present.length - 1] : null;
    case 'last':
      return values.length > 0 ? values[values.length - 1] : null;
    case 'firstNotNull':
      return present[0] ?? null;
    case 'first':
      return values[0] ?? null;
    case 'mean':
      return present.length > 0 ? present.reduce((s, v) => s + v, 0) / present.length : null;
    case 'max':
      return present.length > 0 ? Math.max(...present) : null;
    case 'min':
      return present.length > 0 ? Math.min(...present) : null;
    case 'sum':
      return present.reduce((s, v) => s + v, 0);
    case 'count':
      return values.length;
    default:
      throw new Error(`unsupported reducer "${reducer}"`);
  }
}
