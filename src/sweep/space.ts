// Point-list helpers for sweep files: plist, grid, zip, star and the value spaces linspace,
// logspace, intspace. Every helper returns a plain array (`Params[]` or `number[]`) and they
// compose: `points: grid(plist('a', linspace(0, 1, 5)), zip(plist('b', [1, 2]), plist('c', ['x', 'y'])))`.
// `expandPoints` evaluates the same helpers written as data, for YAML/JSON sweep files.
import { ConfigError } from '../errors.ts';
import { canonicalJson } from './hash.ts';
import { checkName, checkParamKeys, checkPlanMemory, type Params } from './points.ts';
import { isObject } from '../json.ts';

/** Largest list a helper builds (a guard against a typo exhausting memory; plans have maxPoints). */
export const MAX_LIST = 10_000_000;

const show = (v: unknown) => { try { return JSON.stringify(v) ?? String(v); } catch { return String(v); } };

/** One parameter over a list of values: `plist('a', [1, 2])` → `[{ a: 1 }, { a: 2 }]`. */
export function plist(name: string, values: readonly unknown[]): Params[] {
  return plistAt(name, values, `plist(${show(name)})`);
}

function plistAt(name: unknown, values: unknown, where: string): Params[] {
  if (typeof name !== 'string' || name.trim() === '') throw new ConfigError(`${where}: the parameter name must be a non-empty string, got ${show(name)}`);
  if (!Array.isArray(values)) throw new ConfigError(`${where}: expected a list of values, got ${show(values)}`);
  if (values.length === 0) throw new ConfigError(`${where}: the list of values is empty`, { hint: 'Give at least one value.' });
  checkName(name, where);
  return values.map(v => ({ [name]: v }));
}

/**
 * Cartesian product of point lists, the LAST list varying fastest (like `dimensions` and
 * RemoteExperiments' make_grid). Each point merges one point of every list; a parameter may appear
 * in one list only.
 */
export function grid(...lists: Params[][]): Params[] {
  return gridAt(lists, 'grid');
}

function gridAt(lists: unknown[], where: string): Params[] {
  const ls = checkLists(lists, where, 'grid');
  const total = ls.reduce((n, l) => n * l.length, 1);
  if (total > MAX_LIST) throw new ConfigError(`${where}: the product has ${total} points, more than ${MAX_LIST}`);
  checkPlanMemory(total, ls.reduce((n, l) => n + Object.keys(l[0]!).length, 0), where);
  const out: Params[] = new Array(total);
  const picks = new Array<Params>(ls.length);
  for (let i = 0; i < total; i++) {
    let rest = i;
    for (let a = ls.length - 1; a >= 0; a--) {
      const l = ls[a]!;
      picks[a] = l[rest % l.length]!;
      rest = Math.floor(rest / l.length);
    }
    out[i] = Object.assign({}, ...picks);
  }
  return out;
}

/** Lists varied together: point i merges point i of every list. Unequal lengths are an error. */
export function zip(...lists: Params[][]): Params[] {
  return zipAt(lists, 'zip');
}

function zipAt(lists: unknown[], where: string): Params[] {
  const ls = checkLists(lists, where, 'zip');
  const n = ls[0]!.length;
  if (ls.some(l => l.length !== n)) {
    throw new ConfigError(`${where}: the lists have different lengths (${ls.map(l => l.length).join(', ')})`, { hint: 'zip varies lists together and never truncates: give every list the same length, or use grid for the product.' });
  }
  return ls[0]!.map((_, i) => Object.assign({}, ...ls.map(l => l[i]!)));
}

/** Checks the arguments of grid/zip: non-empty lists of objects, no parameter in two lists. */
function checkLists(lists: unknown[], where: string, what: string): Params[][] {
  if (lists.length === 0) throw new ConfigError(`${where}: needs at least one list of points`);
  const owner = new Map<string, number>();
  return lists.map((l, a) => {
    const w = `${where}[${a}]`;
    const list = checkPointList(l, w);
    const keys = new Set<string>();
    for (const p of list) for (const k of Object.keys(p)) keys.add(k);
    for (const k of keys) {
      const other = owner.get(k);
      if (other !== undefined) throw new ConfigError(`${where}: parameter '${k}' is in lists ${other} and ${a}`, { hint: `Each parameter may come from one argument of ${what} only.` });
      owner.set(k, a);
    }
    return list;
  });
}

function checkPointList(l: unknown, where: string): Params[] {
  if (!Array.isArray(l)) throw new ConfigError(`${where}: expected a list of points (objects), got ${show(l)}`);
  if (l.length === 0) throw new ConfigError(`${where}: the list of points is empty`);
  l.forEach((p, i) => {
    if (!isObject(p)) throw new ConfigError(`${where}[${i}]: expected an object of parameter values, got ${show(p)}`);
    checkParamKeys(p, `${where}[${i}]`);
  });
  return l as Params[];
}

/**
 * One parameter at a time around a centre: the centre first (once), then for each parameter of
 * `vary` in order, one point per value with only that parameter changed. Values equal to the
 * centre's (same canonical JSON, so 1 and 1.0 are equal) are skipped, so the centre never repeats.
 * Every varied parameter must have a centre value.
 */
export function star(center: Params, vary: Record<string, readonly unknown[]>): Params[] {
  return starAt(center, vary, 'star');
}

function starAt(center: unknown, vary: unknown, where: string): Params[] {
  if (!isObject(center)) throw new ConfigError(`${where}.center: expected an object of parameter values, got ${show(center)}`);
  if (!isObject(vary)) throw new ConfigError(`${where}.vary: expected an object { param: [values...] }, got ${show(vary)}`);
  checkParamKeys(center, `${where}.center`);
  checkParamKeys(vary, `${where}.vary`);
  const names = Object.keys(vary);
  if (names.length === 0) throw new ConfigError(`${where}.vary: no parameters to vary`);
  const out: Params[] = [Object.assign({}, center)];
  for (const name of names) {
    const values = vary[name];
    if (!(name in center)) throw new ConfigError(`${where}.vary.${name}: '${name}' has no value in the centre`, { hint: `Add ${name} to the centre point.` });
    if (!Array.isArray(values)) throw new ConfigError(`${where}.vary.${name}: expected a list of values, got ${show(values)}`);
    if (values.length === 0) throw new ConfigError(`${where}.vary.${name}: the list of values is empty`);
    const c = canonicalJson(center[name]);
    for (const v of values) if (canonicalJson(v) !== c) out.push(Object.assign({}, center, { [name]: v }));
  }
  return out;
}

/** Rounds to 15 significant digits: removes binary noise like 0.30000000000000004. */
const tidy = (v: number) => Number(v.toPrecision(15));

/**
 * n evenly spaced numbers from lo to hi, both included (n = 1: [lo]). Interior values are rounded to
 * 15 significant digits, so linspace(0, 1, 11) gives 0.3, not 0.30000000000000004.
 */
export function linspace(lo: number, hi: number, n: number): number[] {
  return linspaceAt(lo, hi, n, `linspace(${lo}, ${hi}, ${n})`);
}

function linspaceAt(lo: unknown, hi: unknown, n: unknown, where: string): number[] {
  checkSpace(lo, hi, n, where);
  const a = lo as number, b = hi as number, m = n as number;
  return Array.from({ length: m }, (_, i) => (i === 0 ? a : i === m - 1 ? b : tidy(a + ((b - a) * i) / (m - 1))));
}

/**
 * n numbers from lo to hi (both included), evenly spaced on a log scale: lo and hi are the values
 * themselves, not exponents (numpy's geomspace, not numpy's logspace): logspace(1e-3, 1, 4) →
 * [0.001, 0.01, 0.1, 1]. Needs lo, hi > 0. Interior values are rounded to 15 significant digits.
 */
export function logspace(lo: number, hi: number, n: number): number[] {
  return logspaceAt(lo, hi, n, `logspace(${lo}, ${hi}, ${n})`);
}

function logspaceAt(lo: unknown, hi: unknown, n: unknown, where: string): number[] {
  checkSpace(lo, hi, n, where);
  const a = lo as number, b = hi as number, m = n as number;
  if (a <= 0 || b <= 0) throw new ConfigError(`${where}: a log scale needs lo > 0 and hi > 0`);
  return Array.from({ length: m }, (_, i) => (i === 0 ? a : i === m - 1 ? b : tidy(a * (b / a) ** (i / (m - 1)))));
}

function checkSpace(lo: unknown, hi: unknown, n: unknown, where: string): void {
  if (typeof lo !== 'number' || !Number.isFinite(lo)) throw new ConfigError(`${where}: lo must be a finite number`);
  if (typeof hi !== 'number' || !Number.isFinite(hi)) throw new ConfigError(`${where}: hi must be a finite number`);
  if (!Number.isSafeInteger(n) || (n as number) < 1) throw new ConfigError(`${where}: n must be a positive integer (how many values)`);
  if ((n as number) > MAX_LIST) throw new ConfigError(`${where}: n is more than ${MAX_LIST}`);
}

/**
 * Integers lo, lo+step, … up to hi inclusive (when a step lands on it). step defaults to 1 and may
 * be negative for a descending list (then lo ≥ hi).
 */
export function intspace(lo: number, hi: number, step = 1): number[] {
  return intspaceAt(lo, hi, step, `intspace(${lo}, ${hi}, ${step})`);
}

function intspaceAt(lo: unknown, hi: unknown, step: unknown, where: string): number[] {
  if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi)) throw new ConfigError(`${where}: lo and hi must be integers`);
  if (!Number.isSafeInteger(step) || step === 0) throw new ConfigError(`${where}: step must be a non-zero integer`);
  const a = lo as number, b = hi as number, s = step as number;
  if ((s > 0 && a > b) || (s < 0 && a < b)) throw new ConfigError(`${where}: lo (${a}) ${s > 0 ? '>' : '<'} hi (${b}) gives no values with step ${s}`);
  const n = Math.floor((b - a) / s) + 1;
  if (n > MAX_LIST) throw new ConfigError(`${where}: ${n} values, more than ${MAX_LIST}`);
  return Array.from({ length: n }, (_, i) => a + i * s);
}

// ---------------------------------------------------------------------------------------------
// The same helpers as data (YAML/JSON sweep files).

/**
 * A point list written as data, for YAML/JSON sweep files:
 * - a list of objects: the points themselves;
 * - `{ plist: { name: VALUES } }`, `{ grid: [LIST, ...] }`, `{ zip: [LIST, ...] }`,
 *   `{ star: { center: {...}, vary: { name: VALUES } } }`;
 * where VALUES is a list or `{ linspace: [lo, hi, n] }`, `{ logspace: [lo, hi, n] }`,
 * `{ intspace: [lo, hi] }` / `{ intspace: [lo, hi, step] }`.
 */
export type PointsSpec =
  | readonly Params[]
  | { plist: Record<string, ValuesSpec> }
  | { grid: readonly PointsSpec[] }
  | { zip: readonly PointsSpec[] }
  | { star: { center: Params; vary: Record<string, ValuesSpec> } };
export type ValuesSpec = readonly unknown[] | { linspace: readonly [number, number, number] } | { logspace: readonly [number, number, number] } | { intspace: readonly [number, number] | readonly [number, number, number] };

const POINT_OPS = ['plist', 'grid', 'zip', 'star'];

/** Evaluates a point list given as data (or already a list); errors name the path (`points.grid[1].plist`). */
export function expandPoints(spec: unknown, where = 'points'): Params[] {
  if (Array.isArray(spec)) return checkPointList(spec, where);
  const op = isObject(spec) ? Object.keys(spec) : [];
  if (!isObject(spec) || op.length !== 1 || !POINT_OPS.includes(op[0]!)) {
    throw new ConfigError(`${where}: expected a list of points or one of { ${POINT_OPS.join(' | ')} }, got ${show(spec)}`);
  }
  const w = `${where}.${op[0]}`;
  const arg = spec[op[0]!];
  switch (op[0]) {
    case 'plist': {
      if (!isObject(arg) || Object.keys(arg).length !== 1) throw new ConfigError(`${w}: expected { name: [values...] } with exactly one parameter`);
      const [name, values] = Object.entries(arg)[0]!;
      return plistAt(name, expandValues(values, `${w}.${name}`), `${w}.${name}`);
    }
    case 'grid':
    case 'zip': {
      if (!Array.isArray(arg)) throw new ConfigError(`${w}: expected a list of point lists`);
      const lists = arg.map((a, i) => expandPoints(a, `${w}[${i}]`));
      return op[0] === 'grid' ? gridAt(lists, w) : zipAt(lists, w);
    }
    default: {
      if (!isObject(arg)) throw new ConfigError(`${w}: expected { center: {...}, vary: { name: [values...] } }`);
      for (const k of Object.keys(arg)) if (k !== 'center' && k !== 'vary') throw new ConfigError(`${w}.${k}: unknown key; known: center, vary`);
      const vary = isObject(arg.vary) ? Object.fromEntries(Object.entries(arg.vary).map(([k, v]) => [k, expandValues(v, `${w}.vary.${k}`)])) : arg.vary;
      return starAt(arg.center, vary, w);
    }
  }
}

/** Evaluates a value list given as data: a list, or { linspace | logspace | intspace: [...] }. */
export function expandValues(spec: unknown, where: string): unknown[] {
  if (Array.isArray(spec)) return spec;
  const keys = isObject(spec) ? Object.keys(spec) : [];
  const op = keys[0];
  if (!isObject(spec) || keys.length !== 1 || !['linspace', 'logspace', 'intspace'].includes(op!)) {
    throw new ConfigError(`${where}: expected a list of values or one of { linspace: [lo, hi, n] | logspace: [lo, hi, n] | intspace: [lo, hi, step?] }, got ${show(spec)}`);
  }
  const args = spec[op!];
  const w = `${where}.${op}`;
  if (!Array.isArray(args) || args.length < (op === 'intspace' ? 2 : 3) || args.length > 3) {
    throw new ConfigError(`${w}: expected ${op === 'intspace' ? '[lo, hi] or [lo, hi, step]' : '[lo, hi, n]'}, got ${show(args)}`);
  }
  if (op === 'linspace') return linspaceAt(args[0], args[1], args[2], w);
  if (op === 'logspace') return logspaceAt(args[0], args[1], args[2], w);
  return intspaceAt(args[0], args[1], args[2] ?? 1, w);
}
