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
import { ConfigError } from '../errors.ts';
import { baseHasher, canonicalJson } from './hash.ts';
import { checkParamKeys, checkPlanMemory, dimensionAxes, dimensionEntries, gridSize, gridVaried, type DimensionPairs, type Params } from './points.ts';
import { validateSampler, sample, samplerSequenceId, type SamplerSpec, type SamplerType } from './samplers.ts';
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


export function planPoints(def: PlanDefinition, opts: PlanOptions = {}): Plan {
  const { base, maxPoints, extend, already } = checkInputs(def, opts);
  const { grid, gridKind, gridWhere, distinct } = gridPart(def, maxPoints, Object.keys(base).length);
  const warnings: string[] = [];
  let sampled: ReturnType<typeof samplerPart> | undefined;
  if (def.sampler !== undefined) {
    sampled = samplerPart(def.sampler, grid, gridWhere, already, extend, maxPoints, Object.keys(base).length, warnings);
  } else if (extend > 0) {
    throw new ConfigError('--extend: only a sweep with a sampler can be extended', { hint: 'Add points to the dimensions or points list and submit again instead.' });
  } else if (grid.length > maxPoints) {
    throw tooMany(grid.length, '', maxPoints);
  }
  const { points, duplicates } = collectPoints(base, grid, gridKind, gridWhere, sampled?.samples, distinct && !sampled);
  if (duplicates > 0) warnings.push(`${duplicates} point${duplicates === 1 ? '' : 's'} had the same parameters as an earlier point and ${duplicates === 1 ? 'was' : 'were'} dropped`);
  return { points, ...(sampled ? { sampler: sampled.samplerInfo } : {}), duplicates, warnings };
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

/** The grid part: dimensions, a point list, or the base config alone (`gridWhere` '', one empty point). */
function gridPart(def: PlanDefinition, maxPoints: number, baseKeys: number): { grid: Params[]; gridKind: 'grid' | 'list'; gridWhere: string; distinct: boolean } {
  if (def.dimensions !== undefined) {
    const dims = def.dimensions as unknown;
    if (!isObject(dims) && !Array.isArray(dims)) throw new ConfigError('dimensions: expected an object { param: [values...] } or a list of [name, values] pairs');
    const pairs = Array.isArray(dims);
    const entries = dimensionEntries(dims).map(([k, v], d): [string, unknown] => [k, isObject(v) ? expandValues(v, pairs ? `dimensions[${d}] (${k})` : `dimensions.${k}`) : v]);
    const axes = dimensionAxes(entries, 'dimensions', pairs);
    const n = gridSize(axes);
    // Checked before expanding: a huge grid is refused without being built.
    if (n > maxPoints) throw tooMany(n, ' (dimensions)', maxPoints);
    checkPlanMemory(n, baseKeys + axes.reduce((k, a) => k + a.names.length, 0), '');
    // Every axis's value tuples distinct (canonically; undefined and null count as one) → every
    // point of the product is distinct: no hash set is needed to find duplicates.
    const distinct = axes.every(a => new Set(a.values.map(t => canonicalJson(t))).size === a.values.length);
    return { grid: gridVaried(axes), gridKind: 'grid', gridWhere: 'dimensions', distinct };
  }
  if (def.points !== undefined) {
    const grid = expandPoints(def.points, 'points');
    if (grid.length > maxPoints) throw tooMany(grid.length, ' (points)', maxPoints);
    checkPlanMemory(grid.length, baseKeys + Object.keys(grid[0] ?? {}).length, '');
    return { grid, gridKind: 'list', gridWhere: 'points', distinct: false };
  }
  return { grid: [{}], gridKind: 'grid', gridWhere: '', distinct: true };
}

/** Draws samples 0..drawn-1 (drawn = max(budget, already) + extend); warnings go to `warnings`. */
function samplerPart(sampler: SamplerSpec, grid: Params[], gridWhere: string, already: number, extend: number, maxPoints: number, baseKeys: number, warnings: string[]): { samples: Params[]; samplerInfo: NonNullable<Plan['sampler']> } {
  const spec = validateSampler(sampler, 'sampler');
  if (gridWhere) {
    const gridKeys = new Set<string>();
    for (const g of grid) for (const k of Object.keys(g)) gridKeys.add(k);
    for (const name of Object.keys(spec.bounds)) {
      if (gridKeys.has(name)) throw new ConfigError(`sampler.bounds.${name}: '${name}' is also varied by ${gridWhere}`, { hint: 'A parameter is either sampled or listed, not both.' });
    }
  }
  const drawn = Math.max(spec.budget, already) + extend;
  const n = grid.length * drawn;
  if (n > maxPoints) throw tooMany(n, gridWhere ? ` (${grid.length} ${gridWhere} points × ${drawn} samples)` : ` (${drawn} samples)`, maxPoints);
  if (spec.type === 'sobol' && drawn > 2 ** 32) throw new ConfigError(`sampler: a sobol sequence has at most 2^32 points, ${drawn} asked for`);
  checkPlanMemory(n, baseKeys + Object.keys(grid[0] ?? {}).length + Object.keys(spec.bounds).length, '');
  const samples = sample(spec, { start: 0, count: drawn });
  const samplerInfo = { type: spec.type, budget: spec.budget, drawn, sequence: samplerSequenceId(spec) };
  if (spec.type === 'sobol' && !Number.isInteger(Math.log2(drawn))) {
    warnings.push(`sampler: Sobol points are evenly spread at powers of two; ${drawn} points is not one (${2 ** Math.floor(Math.log2(drawn))} or ${2 ** Math.ceil(Math.log2(drawn))} is)`);
  }
  if (spec.type === 'lhs' && drawn % spec.budget !== 0) {
    warnings.push(`sampler: Latin hypercube points come in blocks of budget = ${spec.budget}; the last block has ${drawn % spec.budget} of ${spec.budget} points, so it is not stratified until it is complete (extend by multiples of ${spec.budget})`);
  }
  return { samples, samplerInfo };
}

/** base_config overlaid with every grid point (× every sample, samples outer), hashed; a repeated hash is dropped. */
function collectPoints(base: Params, grid: Params[], gridKind: 'grid' | 'list', gridWhere: string, samples: Params[] | undefined, distinct: boolean): { points: PlannedPoint[]; duplicates: number } {
  const points: PlannedPoint[] = [];
  // Dedup by hash only: the set holds the hash strings the points hold anyway, and is skipped when
  // the points are known to be distinct (a grid of distinct values per axis).
  const seen = distinct ? null : new Set<string>();
  let duplicates = 0;
  const hashOf = baseHasher(base);
  const add = (varied: Params, origin: PointOrigin) => {
    // Object.assign, not spread: V8's two-source object spread is ~8× slower and bigger here.
    const params = Object.assign({}, base, varied);
    const hash = hashOf(varied);
    if (seen) {
      if (seen.has(hash)) {
        duplicates++;
        return;
      }
      seen.add(hash);
    }
    points.push({ params, varied, hash, origin });
  };
  if (samples) {
    for (let s = 0; s < samples.length; s++) {
      const smp = samples[s]!;
      if (gridWhere) grid.forEach((g, i) => add(Object.assign({}, g, smp), { kind: 'sample', index: s, of: { kind: gridKind, index: i } }));
      else add(smp, { kind: 'sample', index: s });
    }
  } else {
    // A dimensions grid's point objects are fresh (gridVaried): used as `varied` without a copy.
    // A point list may hold the sweep file's own objects: copied.
    for (let i = 0; i < grid.length; i++) add(gridKind === 'grid' ? grid[i]! : Object.assign({}, grid[i]), { kind: gridKind, index: i });
  }
  return { points, duplicates };
}
