// Points of a sweep: the cartesian product of its dimensions over the base config.
import { ConfigError } from '../errors.ts';

export type Params = Record<string, unknown>;

export interface Point {
  /** The point's full config: base_config overlaid with its dimension values. */
  params: Params;
  /** Only the values that vary between points (the dimensions), for names and tables. */
  varied: Params;
}

/**
 * Expands `dimensions` like RemoteExperiments' make_grid: the last key varies fastest.
 * A key naming several parameters joined by commas takes a list of tuples, varied together.
 */
export function expandDimensions(base: Params, dimensions: Record<string, unknown>, where = 'dimensions'): Point[] {
  const axes: { names: string[]; values: unknown[][] }[] = [];
  const seen = new Map<string, string>();
  for (const [key, list] of Object.entries(dimensions)) {
    const names = key.split(',').map(s => s.trim());
    if (names.some(n => n === '')) throw new ConfigError(`${where}.${key}: empty parameter name in the key`);
    for (const n of names) {
      const other = seen.get(n);
      if (other !== undefined) throw new ConfigError(`${where}: parameter '${n}' appears in two dimensions ('${other}' and '${key}')`, { hint: 'Each parameter may vary in one dimension only; join them with a comma to vary them together.' });
      seen.set(n, key);
    }
    if (!Array.isArray(list)) throw new ConfigError(`${where}.${key}: expected a list of values, got ${typeof list}`);
    if (list.length === 0) throw new ConfigError(`${where}.${key}: the list of values is empty`, { hint: 'Give at least one value or remove the dimension.' });
    const values = list.map((v, i) => {
      if (names.length === 1) return [v];
      if (!Array.isArray(v) || v.length !== names.length) {
        throw new ConfigError(`${where}.${key}[${i}]: expected a tuple of ${names.length} values (${names.join(', ')}), got ${JSON.stringify(v)}`);
      }
      return v as unknown[];
    });
    axes.push({ names, values });
  }
  const points: Point[] = [];
  const total = axes.reduce((n, a) => n * a.values.length, 1);
  for (let i = 0; i < total; i++) {
    let rest = i;
    const varied: Params = {};
    // Decompose i in mixed radix with the last axis least significant (fastest).
    const picks: unknown[][] = new Array(axes.length);
    for (let a = axes.length - 1; a >= 0; a--) {
      const axis = axes[a]!;
      picks[a] = axis.values[rest % axis.values.length]!;
      rest = Math.floor(rest / axis.values.length);
    }
    axes.forEach((axis, a) => axis.names.forEach((n, j) => (varied[n] = picks[a]![j])));
    points.push({ params: { ...base, ...varied }, varied });
  }
  return points;
}
