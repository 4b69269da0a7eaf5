// Points of a sweep: the cartesian product of its dimensions over the base config; the guards every
// way of building points shares: reserved parameter names and the memory a plan needs.
import { freemem } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { ConfigError } from '../errors.ts';

export type Params = Record<string, unknown>;

export interface Point {
  /** The point's full config: base_config overlaid with its dimension values. */
  params: Params;
  /** Only the values that vary between points (the dimensions), for names and tables. */
  varied: Params;
}

/**
 * `dimensions` as a list of `[name, values]` pairs: the order written, whatever the names (an
 * object lists integer-like keys such as "2" before all others, whatever the order written).
 */
export type DimensionPairs = readonly (readonly [string, unknown])[];

/**
 * The order in which a YAML/JSON sweep file wrote the keys of its `dimensions` mapping, attached to
 * the parsed object by the loader (a symbol: not a key, not stored, not hashed).
 */
export const WRITTEN_ORDER: unique symbol = Symbol('rx.writtenOrder');

// ---------------------------------------------------------------------------------------------
// Reserved names.

/**
 * Names JavaScript objects treat specially: assigning `__proto__` replaces the object's prototype
 * (so the parameter silently disappeared), and `constructor`/`prototype` shadow what code expects
 * to find on every object. None of them may name a parameter (or a key inside a parameter value).
 */
export const RESERVED_NAMES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export function reservedName(name: string, where: string): ConfigError {
  return new ConfigError(`${where}: '${name}' cannot be a parameter name (JavaScript objects treat __proto__, constructor and prototype specially)`, { hint: `Rename it, e.g. '${name.replace(/^_+|_+$/g, '')}_value', and use that name in your patcher.` });
}

/** Throws if `name` is reserved. */
export function checkName(name: string, where: string): void {
  if (RESERVED_NAMES.has(name)) throw reservedName(name, where);
}

/**
 * Checks an object of parameter values (base_config, a point, a star centre): no reserved key, and
 * no prototype but Object's (or none). A `__proto__: {...}` key in a TypeScript object literal sets
 * the prototype instead of making a key; that is refused here (`__proto__: 1` is ignored by
 * JavaScript itself before rx sees the object).
 */
export function checkParamKeys(obj: object, where: string): void {
  const proto = Object.getPrototypeOf(obj);
  if (proto !== Object.prototype && proto !== null) {
    throw new ConfigError(`${where}: the object has a prototype of its own (a \`__proto__: ...\` key in an object literal sets the prototype instead of making a parameter)`, { hint: "Don't use '__proto__' as a parameter name." });
  }
  for (const k in obj) if (RESERVED_NAMES.has(k) && Object.hasOwn(obj, k)) throw reservedName(k, where);
}

// ---------------------------------------------------------------------------------------------
// Dimensions.

/** Keys an object lists first, in ascending numeric order (ECMAScript array indices: 0 … 2³²−2). */
export function isIntegerLike(key: string): boolean {
  return /^(?:0|[1-9]\d{0,9})$/.test(key) && Number(key) < 2 ** 32 - 1;
}

/**
 * The dimensions as [key, values] pairs in the order written: a list of pairs as it is; an object
 * in its key order, which is the written order unless a key is integer-like. For such an object the
 * order written is known only if a YAML/JSON loader recorded it (WRITTEN_ORDER); otherwise it is
 * refused, naming the ordered form.
 */
export function dimensionEntries(dimensions: unknown, where = 'dimensions'): [string, unknown][] {
  if (Array.isArray(dimensions)) {
    return dimensions.map((pair: unknown, i) => {
      if (!Array.isArray(pair) || pair.length !== 2) throw new ConfigError(`${where}[${i}]: expected a [name, values] pair, got ${show(pair)}`, { hint: `e.g. ${where}: [['mass', [1, 2]], ['2', ['x', 'y']]]` });
      if (typeof pair[0] !== 'string') throw new ConfigError(`${where}[${i}]: the name must be a string, got ${show(pair[0])}`, { hint: `Quote it: ['${String(pair[0])}', ...].` });
      return [pair[0], pair[1]];
    });
  }
  if (dimensions === null || typeof dimensions !== 'object') throw new ConfigError(`${where}: expected an object { param: [values...] } or a list of [name, values] pairs`);
  checkParamKeys(dimensions, where);
  const entries = Object.entries(dimensions);
  const written = (dimensions as { [WRITTEN_ORDER]?: unknown })[WRITTEN_ORDER];
  if (Array.isArray(written) && written.length === entries.length) {
    const byKey = new Map(entries);
    if (written.every(k => typeof k === 'string' && byKey.has(k))) return written.map(k => [k, byKey.get(k)]);
  }
  const integer = entries.length > 1 ? entries.find(([k]) => isIntegerLike(k)) : undefined;
  if (integer) {
    throw new ConfigError(`${where}: the dimension name '${integer[0]}' looks like an integer; JavaScript objects list such keys first, so the dimensions would not vary in the order written (the last fastest)`, { hint: `Write the dimensions as a list of [name, values] pairs, in order, e.g. ${where}: [['b', [1, 2]], ['2', ['x', 'y']]] (a YAML or JSON sweep file keeps the written order by itself).` });
  }
  return entries;
}

/**
 * Expands `dimensions` like RemoteExperiments' make_grid: the last key varies fastest.
 * A key naming several parameters joined by commas takes a list of tuples, varied together.
 * `dimensions` is an object or a list of [name, values] pairs (see dimensionEntries).
 */
export function expandDimensions(base: Params, dimensions: Record<string, unknown> | DimensionPairs, where = 'dimensions'): Point[] {
  checkParamKeys(base, 'base_config');
  const axes = dimensionAxes(dimensionEntries(dimensions, where), where, Array.isArray(dimensions));
  checkPlanMemory(gridSize(axes), Object.keys(base).length + axes.reduce((n, a) => n + a.names.length, 0), where);
  return gridVaried(axes).map(varied => ({ params: Object.assign({}, base, varied), varied }));
}

export interface Axis { names: string[]; values: unknown[][] }

/**
 * The axes of a grid from its [key, values] entries: parameter names and value tuples, checked.
 * Errors name `where.key` (`where[i] (key)` for the list-of-pairs form).
 */
export function dimensionAxes(entries: [string, unknown][], where = 'dimensions', pairs = false): Axis[] {
  const seen = new Map<string, string>();
  return entries.map(([key, list], d) => {
    const at = pairs ? `${where}[${d}] (${key})` : `${where}.${key}`;
    const names = key.split(',').map(s => s.trim());
    if (names.some(n => n === '')) throw new ConfigError(`${at}: empty parameter name in the key`);
    for (const n of names) {
      checkName(n, where);
      const other = seen.get(n);
      if (other !== undefined) throw new ConfigError(`${where}: parameter '${n}' appears in two dimensions ('${other}' and '${key}')`, { hint: 'Each parameter may vary in one dimension only; join them with a comma to vary them together.' });
      seen.set(n, key);
    }
    if (!Array.isArray(list)) throw new ConfigError(`${at}: expected a list of values, got ${typeof list}`);
    if (list.length === 0) throw new ConfigError(`${at}: the list of values is empty`, { hint: 'Give at least one value or remove the dimension.' });
    const values = list.map((v, i) => {
      if (names.length === 1) return [v];
      if (!Array.isArray(v) || v.length !== names.length) {
        throw new ConfigError(`${at}[${i}]: expected a tuple of ${names.length} values (${names.join(', ')}), got ${JSON.stringify(v)}`);
      }
      return v as unknown[];
    });
    return { names, values };
  });
}

/** Number of points of a grid (the product of the axis lengths; 1 for no axis). */
export const gridSize = (axes: Axis[]) => axes.reduce((n, a) => n * a.values.length, 1);

/** The varied values of every grid point, the last axis fastest (mixed radix). Check the size first. */
export function gridVaried(axes: Axis[]): Params[] {
  return [...eachGridPoint(axes)];
}

/** The varied values of the grid's points one at a time, the last axis fastest (mixed radix). */
export function* eachGridPoint(axes: Axis[]): Generator<Params> {
  const make = gridPointMaker(axes);
  for (const idx of gridIndices(axes)) yield make(idx);
}

/**
 * The index of each axis's value for every grid point in turn, the last axis fastest: one array,
 * updated in place (read it before asking for the next point). Check the size first.
 */
export function* gridIndices(axes: Axis[]): Generator<readonly number[]> {
  const total = gridSize(axes);
  const idx: number[] = new Array<number>(axes.length).fill(0);
  for (let i = 0; i < total; i++) {
    if (i > 0) {
      for (let a = axes.length - 1; a >= 0; a--) {
        if (++idx[a]! < axes[a]!.values.length) break;
        idx[a] = 0;
      }
    }
    yield idx;
  }
}

/** The varied values of the grid point with the given value indices (a fresh object each time). */
export function gridPointMaker(axes: Axis[]): (idx: readonly number[]) => Params {
  const names = axes.flatMap(a => a.names);
  const make = objectMaker(names);
  // Values read from an array of doubles are boxed anew on every read; from a generic array each
  // read is the same value, so a million points share their numbers instead of holding copies.
  const tuples = axes.map(a => a.values.map(t => tagged(t)));
  return idx => {
    // Names are checked (never __proto__), so plain assignment sets own properties.
    const varied = make();
    let n = 0;
    for (let a = 0; a < tuples.length; a++) {
      const t = tuples[a]![idx[a]!]!;
      for (let j = 0; j < t.length; j++) varied[names[n++]!] = t[j];
    }
    return varied;
  };
}

/**
 * Object.assign({}, base, varied) for many points whose varied values have the given names: the
 * same keys in the same order, each object cloned from one template (see objectMaker).
 */
export function paramsMaker(base: Params, names: readonly string[]): (varied: Params) => Params {
  const template = Object.assign(objectMaker([...new Set([...Object.keys(base), ...names])])(), base);
  return varied => Object.assign({ ...template }, varied);
}

/** A copy of a list held as a generic (tagged) array, whatever its values. */
function tagged(values: readonly unknown[]): unknown[] {
  const out: unknown[] = new Array<unknown>(values.length).fill(null);
  for (let i = 0; i < values.length; i++) out[i] = values[i];
  return out;
}

/**
 * A maker of fresh objects with `keys` in that order, each set to 0 (placeholders the caller
 * overwrites). Each object is a clone of one template whose fields are generalized to hold any
 * value (a string, then a small integer): a point's object then has its properties in place (no
 * separate property store) and refers to its number values instead of boxing a copy of each.
 */
export function objectMaker(keys: readonly string[]): () => Params {
  const template = JSON.parse('{' + keys.map(k => JSON.stringify(k) + ':""').join(',') + '}') as Params;
  for (const k of keys) template[k] = 0;
  return () => ({ ...template });
}

const show = (v: unknown) => { try { return JSON.stringify(v) ?? String(v); } catch { return String(v); } };

// ---------------------------------------------------------------------------------------------
// Memory.

/**
 * Peak memory a planned point costs (its params and varied objects, origin, hash, de-duplication
 * entry), measured as peak RSS per point while planning 200 000 points (bench/points.ts measures
 * ≈ 950 B at 10 parameters): ≈ 600 B plus 20–60 B per parameter (more once an object has over ~20
 * keys). The estimate errs high: BYTES_PER_POINT + BYTES_PER_PARAMETER × parameters.
 */
export const BYTES_PER_POINT = 512;
export const BYTES_PER_PARAMETER = 64;

/** Estimated peak memory of planning `points` points of `parameters` parameters each. */
export function planningBytes(points: number, parameters: number): number {
  return points * (BYTES_PER_POINT + BYTES_PER_PARAMETER * parameters);
}

/**
 * Memory this process can still use: the smaller of what the V8 heap may still grow by (points
 * are heap objects; `--max-old-space-size` sets the limit) and the system's available memory
 * (process.availableMemory(): free memory, or the cgroup limit's remainder).
 */
export function availableMemory(): { bytes: number; heapLimit: number; heapFree: number; system: number } {
  const h = getHeapStatistics();
  const heapFree = Math.max(0, h.heap_size_limit - h.used_heap_size);
  const system = typeof process.availableMemory === 'function' ? process.availableMemory() : freemem();
  return { bytes: Math.min(heapFree, system), heapLimit: h.heap_size_limit, heapFree, system };
}

const size = (b: number) => {
  const [v, u] = b >= 2 ** 40 ? [b / 2 ** 40, 'TB'] : b >= 2 ** 30 ? [b / 2 ** 30, 'GB'] : [b / 2 ** 20, 'MB'];
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${u}`;
};

/**
 * Refuses, before anything is built, a plan (or point list) whose estimated memory exceeds what
 * this process can use, instead of letting Node die out of memory halfway (leaving locks behind).
 */
export function checkPlanMemory(points: number, parameters: number, where: string): void {
  const need = planningBytes(points, parameters);
  if (need < 64 * 2 ** 20) return; // small: never the problem, and no syscall
  const m = availableMemory();
  if (need <= m.bytes) return;
  throw new ConfigError(
    `${where ? where + ': ' : ''}planning ${points} points needs about ${size(need)} of memory; this rx process has about ${size(m.bytes)} (Node heap limit ${size(m.heapLimit)}, ${size(m.system)} of free system memory)`,
    { hint: `Plan fewer points (fewer values or samples, or split the sweep into several sweeps). If the machine has the memory, give Node a larger heap: NODE_OPTIONS=--max-old-space-size=${Math.ceil((need * 1.25) / 2 ** 20)} rx ...` },
  );
}
