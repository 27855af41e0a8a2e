/** Parses a Kubernetes CPU quantity ("250m", "0.5", "2") into cores; undefined when it is not one. */
export function parseCpuQuantity(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value > 0 ? value : undefined;
  const match = /^(\d+(?:\.\d+)?)(m?)$/.exec(value.trim());
  if (!match) return undefined;
  const amount = Number(match[1]) / (match[2] === 'm' ? 1000 : 1);
  return amount > 0 ? amount : undefined;
}
