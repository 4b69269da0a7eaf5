// Planning a sweep's points: base_config overlaid with (dimensions | points) × sampler samples,
// hashed, de-duplicated and bounded by maxPoints. Pure: no I/O, no clock, no Math.random.
//
// Contract for the caller (rx submit / --extend / --dry-run):
// - `planPoints(def, { alreadySampled, extend })` plans sample indices 0 .. drawn-1 where
//   drawn = max(sampler.budget, alreadySampled) + extend. `alreadySampled` is `plan.sampler.drawn`
//   of the previous submission (store it in the ledger; 0 or absent on the first one).
//   - first submit: alreadySampled 0 → samples 0..budget-1;
//   - `--extend N`: samples 0..drawn+N-1, i.e. N new samples after everything drawn before;
//   - budget raised and re-submitted: samples 0..newBudget-1; the earlier ones have the same
//     parameters (the sequence does not depend on the budget, except LHS, see below), so
//     skipping points whose hash is already submitted submits exactly the difference;
//   - a plain re-submit after an extend (alreadySampled > budget) plans everything drawn so far,
//     so nothing is skipped from the plan and nothing new is submitted.
//   The plan always covers every point drawn so far: it is idempotent to submit it again.
// - The sampler's points are a prefix-stable sequence: a plan with more samples lists the points
//   of a plan with fewer samples first, in the same order (samples outer, grid points inner).
// - `plan.sampler.sequence` identifies the sequence (type, bounds, seed, scramble, LHS strata).
//   If it differs from the one stored in the ledger, earlier samples are not a prefix of this plan
//   (e.g. an LHS budget was changed): tell the user instead of silently mixing two designs.
// - Points with identical parameters (same hash) are kept once (the first); `duplicates` counts the
//   others. With discrete bounds ({ int }, { values }) samples can coincide, so a plan may have
//   fewer points than grid × drawn.
// - Errors are ConfigError with the offending key of the sweep file (`sampler.bounds.x`,
//   `points.grid[1]`, `maxPoints`, `--extend`); nothing is half-planned.
// - `planStream` is the same plan made one point at a time as it is read (memory: the hash set of
//   de-duplication only, none for a grid of distinct values); `planPoints` holds it as a list.
import { ConfigError } from '../errors.ts';
import { canonicalJson, gridHasher, pointMaker } from './hash.ts';
import { checkParamKeys, checkPlanMemory, dimensionAxes, dimensionEntries, eachGridPoint, gridIndices, gridPointMaker, gridSize, paramsMaker, type Axis, type DimensionPairs, type Params } from './points.ts';
import { validateSampler, sampleStream, samplerSequenceId, type SamplerSpec, type SamplerType } from './samplers.ts';
import { expandPoints, expandValues, type PointsSpec, type ValuesSpec } from './space.ts';
import { isObject } from '../json.ts';

export { validateSampler } from './samplers.ts';

/** Default `maxPoints`: a plan with more points is refused unless the sweep file raises it. */
export const DEFAULT_MAX_POINTS = 100_000;

/** The parts of a sweep file that define its points (other keys are ignored). */
export interface PlanDefinition {
  base_config?: Params;
  /**
   * RemoteExperiments-style grid: { param: [values], 'p,q': [[p1, q1], ...] }, last key fastest.
   * A value list may also be written as data: { linspace | logspace | intspace: [...] } (YAML).
   * Or a list of [name, values] pairs, varied in that order (for integer-like names such as '2').
   */
  dimensions?: Record<string, readonly unknown[] | ValuesSpec> | DimensionPairs;
  /** An explicit point list (from plist/grid/zip/star or written out), or the same as data (YAML). */
  points?: PointsSpec;
  /** Samples; combined with dimensions/points as a product (every grid point × every sample). */
  sampler?: SamplerSpec;
  /** Most points a plan may have (default 100 000). */
  maxPoints?: number;
}

export interface PlanOptions {
  /** `--extend N`: N more samples after everything drawn before. */
  extend?: number;
  /** Samples drawn by earlier submissions (`plan.sampler.drawn` stored in the ledger). */
  alreadySampled?: number;
}

export interface PointOrigin {
  /**
   * 'grid': point `index` of `dimensions` (or the base config alone, index 0);
   * 'list': point `index` of `points`;
   * 'sample': sample `index` of the sampler's sequence, combined with grid/list point `of` if any.
   */
  kind: 'grid' | 'list' | 'sample';
  index: number;
  of?: { kind: 'grid' | 'list'; index: number };
}

export interface PlannedPoint {
  /** The full config: base_config overlaid with the grid/list point and the sample. */
  params: Params;
  /** The values that vary: the grid/list point's and the sample's (not base_config). */
  varied: Params;
  /** paramHash(params). */
  hash: string;
  origin: PointOrigin;
}

export interface Plan {
  points: PlannedPoint[];
  /** Present when the sweep has a sampler. */
  sampler?: {
    type: SamplerType;
    budget: number;
    /** Samples planned (indices 0..drawn-1): store it and pass it back as `alreadySampled`. */
    drawn: number;
    /** Identity of the sequence: samplerSequenceId(sampler). */
    sequence: string;
  };
  /** Points dropped because an earlier point has the same parameters. */
  duplicates: number;
  /** Things worth telling the user that are not errors (one line each). */
  warnings: string[];
}


/**
 * A plan whose points are made one at a time as they are read (`points()`), never held: planning
 * memory is the de-duplication set of hashes alone (none for a grid of distinct values per axis),
 * whatever the number of points. Everything that can fail is checked before the first point.
 */
export interface PlanStream {
  /** Points the plan makes before duplicates are dropped. */
  size: number;
  /** Parameters per point (base_config's and the varied ones), for memory estimates. */
  parameters: number;
  sampler?: Plan['sampler'];
  /** Warnings known before the points are made (duplicates are counted as they are read). */
  warnings: string[];
  /** The points, in plan order; a point with the parameters of an earlier one is dropped. */
  points(): Generator<PlannedPoint>;
  /** Points dropped so far (all of them once `points()` has been read through). */
  readonly duplicates: number;
}

export function planStream(def: PlanDefinition, opts: PlanOptions = {}): PlanStream {
  const { base, maxPoints, extend, already } = checkInputs(def, opts);
  const g = gridPart(def, maxPoints);
  const warnings: string[] = [];
  const baseKeys = Object.keys(base).length;
  let sampled: ReturnType<typeof samplerPart> | undefined;
  if (def.sampler !== undefined) {
    sampled = samplerPart(def.sampler, g, already, extend, maxPoints, warnings);
  } else if (extend > 0) {
    throw new ConfigError('--extend: only a sweep with a sampler can be extended', { hint: 'Add points to the dimensions or points list and submit again instead.' });
  } else if (g.size > maxPoints) {
    throw tooMany(g.size, '', maxPoints);
  }
  const size = g.size * (sampled?.samplerInfo.drawn ?? 1);
  const parameters = baseKeys + g.parameters + (sampled?.parameters ?? 0);
  const state = { duplicates: 0 };
  return {
    size, parameters, warnings,
    ...(sampled ? { sampler: sampled.samplerInfo } : {}),
    points: () => eachPoint(base, g, sampled, g.distinct && !sampled, state),
    get duplicates() { return state.duplicates; },
  };
}

export function planPoints(def: PlanDefinition, opts: PlanOptions = {}): Plan {
  const s = planStream(def, opts);
  // Refused before anything is made: a plan held in memory that this process cannot hold.
  checkPlanMemory(s.size, s.parameters, '');
  const points: PlannedPoint[] = [];
  for (const p of s.points()) points.push(p);
  const { duplicates } = s;
  const warnings = [...s.warnings];
  if (duplicates > 0) warnings.push(`${duplicates} point${duplicates === 1 ? '' : 's'} had the same parameters as an earlier point and ${duplicates === 1 ? 'was' : 'were'} dropped`);
  return { points, ...(s.sampler ? { sampler: s.sampler } : {}), duplicates, warnings };
}

/** Validates base_config, maxPoints and the options (before anything is expanded). */
function checkInputs(def: PlanDefinition, opts: PlanOptions): { base: Params; maxPoints: number; extend: number; already: number } {
  const base = def.base_config ?? {};
  if (!isObject(base)) throw new ConfigError('base_config: expected an object of parameter values');
  checkParamKeys(base, 'base_config');
  const maxPoints = def.maxPoints ?? DEFAULT_MAX_POINTS;
  if (!Number.isSafeInteger(maxPoints) || maxPoints <= 0) throw new ConfigError(`maxPoints: expected a positive integer, got ${JSON.stringify(maxPoints)}`);
  const extend = opts.extend ?? 0;
  if (!Number.isSafeInteger(extend) || extend < 0) throw new ConfigError(`--extend: expected a positive integer (how many more samples), got ${extend}`);
  const already = opts.alreadySampled ?? 0;
  if (!Number.isSafeInteger(already) || already < 0) throw new RangeError(`planPoints: alreadySampled must be a non-negative integer, got ${already}`);
  if (def.points !== undefined && def.dimensions !== undefined) {
    throw new ConfigError('points: a sweep has either points or dimensions, not both', { hint: 'Put the dimensions into the point list, e.g. points: grid(plist(...), ...), or drop one of them.' });
  }
  return { base, maxPoints, extend, already };
}

const tooMany = (n: number, what: string, maxPoints: number) =>
  new ConfigError(`the sweep plans ${n} points${what}, more than maxPoints (${maxPoints})`, { hint: `If that is intended, raise the guard in the sweep file: maxPoints: ${n}` });

/**
 * The grid part: dimensions (axes, made point by point), a point list, or the base config alone
 * (`where` '', one empty point).
 */
interface GridPart {
  kind: 'grid' | 'list';
  where: string;
  size: number;
  /** Varied names per point (the most any point has). */
  parameters: number;
  axes?: Axis[];
  list?: Params[];
  /** Every point is distinct: no hash set is needed to find duplicates. */
  distinct: boolean;
  /** Every parameter name the grid varies. */
  names(): Set<string>;
}

function gridPart(def: PlanDefinition, maxPoints: number): GridPart {
  if (def.dimensions !== undefined) {
    const dims = def.dimensions as unknown;
    if (!isObject(dims) && !Array.isArray(dims)) throw new ConfigError('dimensions: expected an object { param: [values...] } or a list of [name, values] pairs');
    const pairs = Array.isArray(dims);
    const entries = dimensionEntries(dims).map(([k, v], d): [string, unknown] => [k, isObject(v) ? expandValues(v, pairs ? `dimensions[${d}] (${k})` : `dimensions.${k}`) : v]);
    const axes = dimensionAxes(entries, 'dimensions', pairs);
    const n = gridSize(axes);
    // Checked before anything is made: a huge grid is refused without being built.
    if (n > maxPoints) throw tooMany(n, ' (dimensions)', maxPoints);
    // Every axis's value tuples distinct (canonically; undefined and null count as one) → every
    // point of the product is distinct.
    const distinct = axes.every(a => new Set(a.values.map(t => canonicalJson(t))).size === a.values.length);
    const names = axes.flatMap(a => a.names);
    return { kind: 'grid', where: 'dimensions', size: n, parameters: names.length, axes, distinct, names: () => new Set(names) };
  }
  if (def.points !== undefined) {
    const list = expandPoints(def.points, 'points');
    if (list.length > maxPoints) throw tooMany(list.length, ' (points)', maxPoints);
    const names = () => new Set(list.flatMap(g => Object.keys(g)));
    return { kind: 'list', where: 'points', size: list.length, parameters: Object.keys(list[0] ?? {}).length, list, distinct: false, names };
  }
  return { kind: 'grid', where: '', size: 1, parameters: 0, list: [{}], distinct: true, names: () => new Set() };
}

/** The sampler's part: samples 0..drawn-1 (drawn = max(budget, already) + extend); warnings go to `warnings`. */
function samplerPart(sampler: SamplerSpec, g: GridPart, already: number, extend: number, maxPoints: number, warnings: string[]): { spec: SamplerSpec; parameters: number; samplerInfo: NonNullable<Plan['sampler']> } {
  const spec = validateSampler(sampler, 'sampler');
  if (g.where) {
    const gridKeys = g.names();
    for (const name of Object.keys(spec.bounds)) {
      if (gridKeys.has(name)) throw new ConfigError(`sampler.bounds.${name}: '${name}' is also varied by ${g.where}`, { hint: 'A parameter is either sampled or listed, not both.' });
    }
  }
  const drawn = Math.max(spec.budget, already) + extend;
  const n = g.size * drawn;
  if (n > maxPoints) throw tooMany(n, g.where ? ` (${g.size} ${g.where} points × ${drawn} samples)` : ` (${drawn} samples)`, maxPoints);
  if (spec.type === 'sobol' && drawn > 2 ** 32) throw new ConfigError(`sampler: a sobol sequence has at most 2^32 points, ${drawn} asked for`);
  const samplerInfo = { type: spec.type, budget: spec.budget, drawn, sequence: samplerSequenceId(spec) };
  if (spec.type === 'sobol' && !Number.isInteger(Math.log2(drawn))) {
    warnings.push(`sampler: Sobol points are evenly spread at powers of two; ${drawn} points is not one (${2 ** Math.floor(Math.log2(drawn))} or ${2 ** Math.ceil(Math.log2(drawn))} is)`);
  }
  if (spec.type === 'lhs' && drawn % spec.budget !== 0) {
    warnings.push(`sampler: Latin hypercube points come in blocks of budget = ${spec.budget}; the last block has ${drawn % spec.budget} of ${spec.budget} points, so it is not stratified until it is complete (extend by multiples of ${spec.budget})`);
  }
  return { spec, parameters: Object.keys(spec.bounds).length, samplerInfo };
}

/** The grid's varied values point by point: made from the axes, or the list's (copied: they may be the sweep file's own objects). */
function* gridPoints(g: GridPart): Generator<Params> {
  if (g.axes) yield* eachGridPoint(g.axes);
  else for (const p of g.list!) yield Object.assign({}, p);
}

/**
 * base_config overlaid with every grid point (× every sample, samples outer), hashed; a repeated
 * hash is dropped (dedup by hash only: the set holds just the hash strings, and is skipped when
 * the points are known to be distinct).
 */
function* eachPoint(base: Params, g: GridPart, sampled: { spec: SamplerSpec; samplerInfo: { drawn: number } } | undefined, distinct: boolean, state: { duplicates: number }): Generator<PlannedPoint> {
  const seen = distinct ? null : new Set<string>();
  state.duplicates = 0; // counted afresh by every read of the plan
  const make = pointMaker(base);
  const keep = (varied: Params, origin: PointOrigin, made = make(varied)): PlannedPoint | null => {
    if (seen) {
      if (seen.has(made.hash)) {
        state.duplicates++;
        return null;
      }
      seen.add(made.hash);
    }
    return { params: made.params, varied, hash: made.hash, origin };
  };
  if (!sampled && g.axes) {
    // A dimensions grid: every point has the same names, and its values come from the axes, so
    // the params layout and each value's piece of canonical JSON are made once, not per point.
    const variedOf = gridPointMaker(g.axes);
    const paramsOf = paramsMaker(base, g.axes.flatMap(a => a.names));
    const hashOf = gridHasher(base, g.axes);
    let i = 0;
    for (const idx of gridIndices(g.axes)) {
      const varied = variedOf(idx);
      const p = keep(varied, { kind: 'grid', index: i++ }, { params: paramsOf(varied), hash: hashOf(idx) });
      if (p) yield p;
    }
    return;
  }
  if (!sampled) {
    let i = 0;
    for (const varied of gridPoints(g)) {
      const p = keep(varied, { kind: g.kind, index: i++ });
      if (p) yield p;
    }
    return;
  }
  let s = 0;
  for (const smp of sampleStream(sampled.spec, { start: 0, count: sampled.samplerInfo.drawn })) {
    if (!g.where) {
      const p = keep(smp, { kind: 'sample', index: s++ });
      if (p) yield p;
      continue;
    }
    let i = 0;
    for (const gp of gridPoints(g)) {
      const p = keep(Object.assign(gp, smp), { kind: 'sample', index: s, of: { kind: g.kind, index: i++ } });
      if (p) yield p;
    }
    s++;
  }
}
