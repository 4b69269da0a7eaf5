// A strategy's parameter space: the sampler bounds of a sweep file, validated by the sampler's own
// validator, and a two-way map between parameter values and the unit cube in which the strategies
// measure distances (log-scale bounds are linear in log space there; an integer or one of `values`
// sits at the centre of its cell, so mapping back gives the same value).
import { ConfigError } from '../errors.ts';
import { canonicalJson } from '../sweep/hash.ts';
import type { Params } from '../sweep/points.ts';
import { validateSampler, type Bound, type SamplerType } from '../sweep/samplers.ts';

type Dim =
  | { name: string; kind: 'linear'; lo: number; hi: number }
  | { name: string; kind: 'log'; lo: number; hi: number; llo: number; lhi: number }
  | { name: string; kind: 'int'; lo: number; hi: number }
  | { name: string; kind: 'values'; values: readonly unknown[]; keys: Map<string, number> };

export interface Domain {
  /** Parameter names in sorted order (the order of the Sobol dimensions). */
  names: string[];
  bounds: Record<string, Bound>;
  /** How many values a parameter takes (int, values: midpoints snap to one), null for a continuum. */
  cells: (number | null)[];
  /** The point's unit-cube coordinates, or null when a parameter is missing or not in its domain. */
  toUnit(p: Record<string, unknown>): number[] | null;
  /** The parameter values at unit coordinates (clamped into the cube; ints and values snap to a cell). */
  fromUnit(u: readonly number[]): Params;
  /** Identity of a point's strategy parameters: equal keys ⇔ the same point (numbers compared as numbers). */
  key(p: Record<string, unknown>): string;
}

/**
 * Validates `bounds` as a sampler's (errors name `${where}.bounds.<param>`); `sampler` picks which
 * sampler's limits apply (sobol: at most 32 parameters).
 */
export function makeDomain(bounds: unknown, where: string, sampler: SamplerType = 'random'): Domain {
  if (bounds === undefined) throw new ConfigError(`${where}.bounds: missing`, { hint: "Give the parameters to explore, e.g. bounds: { x: [0, 1], mass: { lo: 0.1, hi: 10, scale: 'log' } }." });
  const spec = validateSampler({ type: sampler, bounds, budget: 1 }, where);
  const names = Object.keys(spec.bounds).sort();
  const dims = names.map(n => normDim(n, spec.bounds[n]!));
  return {
    names,
    bounds: spec.bounds,
    cells: dims.map(d => (d.kind === 'int' ? d.hi - d.lo + 1 : d.kind === 'values' ? d.values.length : null)),
    toUnit: p => {
      const u: number[] = [];
      for (const d of dims) {
        const x = unitOf(d, p[d.name]);
        if (x === null) return null;
        u.push(x);
      }
      return u;
    },
    fromUnit: u => Object.fromEntries(dims.map((d, i) => [d.name, valueAt(d, u[i]!)])),
    key: p => canonicalJson(dims.map(d => (d.kind === 'values' ? p[d.name] : finiteNumber(p[d.name]) ?? p[d.name]) ?? null)),
  };
}

function normDim(name: string, b: Bound): Dim {
  if (Array.isArray(b)) return { name, kind: 'linear', lo: b[0], hi: b[1] };
  const o = b as Exclude<Bound, readonly [number, number]>;
  if ('values' in o) return { name, kind: 'values', values: o.values, keys: new Map(o.values.map((v, i) => [canonicalJson(v), i])) };
  if ('int' in o) return { name, kind: 'int', lo: o.int[0], hi: o.int[1] };
  if (o.scale === 'log') return { name, kind: 'log', lo: o.lo, hi: o.hi, llo: Math.log(o.lo), lhi: Math.log(o.hi) };
  return { name, kind: 'linear', lo: o.lo, hi: o.hi };
}

/** A finite number, or a string holding one (a CSV cell); anything else is no number. */
export function finiteNumber(v: unknown): number | null {
  const x = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(x) ? x : null;
}

/** (x - lo) / (hi - lo), ½ for a bound of zero width. Values outside the bounds fall outside [0, 1]. */
const ratio = (x: number, lo: number, hi: number) => (hi > lo ? (x - lo) / (hi - lo) : 0.5);

function unitOf(d: Dim, v: unknown): number | null {
  if (d.kind === 'values') {
    const i = d.keys.get(canonicalJson(v ?? null));
    return i === undefined ? null : (i + 0.5) / d.values.length;
  }
  const x = finiteNumber(v);
  if (x === null) return null;
  switch (d.kind) {
    case 'linear': return ratio(x, d.lo, d.hi);
    case 'log': return x > 0 ? ratio(Math.log(x), d.llo, d.lhi) : null;
    case 'int': return (x - d.lo + 0.5) / (d.hi - d.lo + 1);
  }
}

function valueAt(d: Dim, u: number): unknown {
  const c = Math.min(1, Math.max(0, u));
  switch (d.kind) {
    case 'linear': return Math.min(d.hi, d.lo + c * (d.hi - d.lo));
    case 'log': return c === 0 ? d.lo : c === 1 ? d.hi : Math.min(d.hi, Math.max(d.lo, Math.exp(d.llo + c * (d.lhi - d.llo))));
    case 'int': {
      const n = d.hi - d.lo + 1;
      return d.lo + Math.min(n - 1, Math.floor(c * n));
    }
    case 'values': return d.values[Math.min(d.values.length - 1, Math.floor(c * d.values.length))];
  }
}
