// strategies.boundary: where does a result change class? Classes are a boolean result, or a number
// above/below `threshold`. Proposals go between neighbouring runs of different class, measured in
// the unit cube of the bounds (log-scale bounds bisect geometrically).
//
// 1-D guarantee: the first round spreads `batch` points evenly over the bounds, both ends included
// (n0 = batch ≥ 2). Every later round gives every bracket (neighbours of different class) at least
// one evenly spaced point while batch ≥ the number of brackets (spare points go to the widest
// brackets), so each bracket is at least halved: after r rounds it is at most
// (hi - lo) / (n0 - 1) / 2^r wide, and with one bracket and batch b, (hi - lo) / (b - 1) / (b + 1)^r.
// A class region narrower than the initial spacing can be missed.
import { ConfigError } from '../errors.ts';
import type { Params } from '../sweep/points.ts';
import type { Bound } from '../sweep/samplers.ts';
import { finiteNumber, makeDomain, type Domain } from './domain.ts';
import { checkOptions, checkResult, optionalInt, optionalNumber } from './options.ts';
import { candidatePool, spaceFill, sqDist } from './pool.ts';
import { Batch, slots, type Propose, type ResultSpec } from './propose.ts';
import { observe, type Seen } from './rows.ts';

export interface BoundaryOptions {
  /** A result column (read from COMPLETED rows) or a function of a row (sees failed rows too; null/undefined skips the row). */
  result: ResultSpec;
  /** The parameters to vary, as a sampler's bounds. */
  bounds: Record<string, Bound>;
  /** A numeric result's class is `result > threshold`. Needed for numbers, not for booleans. */
  threshold?: number;
  /** Stop refining a bracket (an edge in n-D) shorter than this fraction of the bounds' range. Default 1e-3. */
  tolerance?: number;
  /** n-D: how many nearest neighbours of each run are looked at for a different class. Default max(4, 2·parameters). */
  neighbours?: number;
  /** Seed of the Sobol points of the first round and of exploration in n-D. Default 0. */
  seed?: number;
}

const WHERE = 'strategies.boundary';
const KEYS = ['result', 'bounds', 'threshold', 'tolerance', 'neighbours', 'seed'];

export function boundary(options: BoundaryOptions): Propose {
  const raw = checkOptions(options, KEYS, WHERE, "{ result: 'engulfed', bounds: { mass: [0.5, 3] } }");
  const result = checkResult(raw.result, WHERE);
  const domain = makeDomain(raw.bounds, WHERE);
  const threshold = optionalNumber(raw.threshold, `${WHERE}.threshold`, () => true, 'a finite number');
  const tolerance = optionalNumber(raw.tolerance, `${WHERE}.tolerance`, x => x > 0 && x < 1, 'a fraction of the range in (0, 1)') ?? 1e-3;
  const neighbours = optionalInt(raw.neighbours, `${WHERE}.neighbours`, 1) ?? Math.max(4, 2 * domain.names.length);
  const seed = optionalInt(raw.seed, `${WHERE}.seed`, 0) ?? 0;
  const classOf = (v: unknown) => toClass(v, threshold);
  let candidates: Params[] | undefined;
  const pool = () => (candidates ??= candidatePool(domain, seed, 1024));
  return ctx => {
    const size = slots(ctx, WHERE);
    if (size === 0) return [];
    const { taken, seen } = observe(ctx.rows, domain, result, classOf);
    const batch = new Batch(domain, taken, size);
    if (domain.names.length === 1) propose1d(seen, batch, Math.max(tolerance, cellWidth(domain)));
    else proposeNd(seen, batch, domain, pool, { tolerance, neighbours, seed });
    return batch.points;
  };
}

/** The class of a result value: a boolean, or a number compared with the threshold; null: no class. */
function toClass(v: unknown, threshold: number | undefined): boolean | null {
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'false') return v === 'true';
  if (v === null || v === undefined || v === '') return null;
  const x = finiteNumber(v);
  if (x === null) {
    if (typeof v === 'number') return null; // NaN, ±Infinity: no usable result
    throw new ConfigError(`${WHERE}.result: expected a boolean or a number, got ${JSON.stringify(v)}`, { hint: "Return true/false from a result function, e.g. result: row => row.outcome === 'engulfed'." });
  }
  if (threshold === undefined) throw new ConfigError(`${WHERE}.threshold: the result is a number (${x}); give a threshold to split it into two classes`, { hint: 'E.g. threshold: 0.5 (a class is result > threshold).' });
  return x > threshold;
}

/** A bracket between neighbouring ints (or values) is as narrow as it gets: one cell. */
const cellWidth = (d: Domain) => (d.cells[0] ? (1 + 1e-9) / d.cells[0] : 0);

// ---------------------------------------------------------------------------------------------
// One parameter: brackets, or (no boundary seen yet) the widest gaps.

interface Interval { a: number; b: number }

function propose1d(seen: Seen<boolean>[], batch: Batch, minWidth: number): void {
  const groups = groupByPosition(seen);
  const classes = new Set(seen.map(s => s.value));
  if (classes.size === 2) {
    const brackets: Interval[] = [];
    for (let i = 0; i + 1 < groups.length; i++) {
      const g = groups[i]!, h = groups[i + 1]!;
      // A position with both classes (repeated runs) is a boundary found exactly: nothing to bracket.
      if (g.classes.size === 1 && h.classes.size === 1 && !sameSet(g.classes, h.classes) && h.x - g.x > minWidth) brackets.push({ a: g.x, b: h.x });
    }
    split(brackets, batch);
    return;
  }
  // No boundary yet: both ends first, then the widest gaps (the first round: `batch` points evenly spread).
  const xs = groups.map(g => g.x);
  for (const end of [0, 1]) {
    if (xs.includes(end)) continue;
    batch.offer([end]); // already taken by a run without a class (failed): then just a gap's end
    xs.push(end);
  }
  xs.sort((p, q) => p - q);
  const gaps: Interval[] = [];
  for (let i = 0; i + 1 < xs.length; i++) if (xs[i + 1]! - xs[i]! > minWidth) gaps.push({ a: xs[i]!, b: xs[i + 1]! });
  split(gaps, batch);
}

function groupByPosition(seen: Seen<boolean>[]): { x: number; classes: Set<boolean> }[] {
  const sorted = [...seen].sort((p, q) => p.u[0]! - q.u[0]!);
  const out: { x: number; classes: Set<boolean> }[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && last.x === s.u[0]) last.classes.add(s.value);
    else out.push({ x: s.u[0]!, classes: new Set([s.value]) });
  }
  return out;
}

const sameSet = (a: Set<boolean>, b: Set<boolean>) => a.size === b.size && [...a].every(x => b.has(x));

/**
 * Spends the batch on intervals: one point each, widest first, then each spare point to the
 * interval that would stay widest (width / (points + 1)); points evenly spaced inside each.
 */
function split(intervals: Interval[], batch: Batch): void {
  const left = batch.size - batch.points.length;
  if (left <= 0 || intervals.length === 0) return;
  const order = [...intervals].sort((p, q) => (q.b - q.a) - (p.b - p.a) || p.a - q.a);
  const chosen = order.slice(0, left);
  const counts = chosen.map(() => 1);
  for (let spare = left - chosen.length; spare > 0; spare--) {
    let best = 0;
    chosen.forEach((iv, i) => { if ((iv.b - iv.a) / (counts[i]! + 1) > (chosen[best]!.b - chosen[best]!.a) / (counts[best]! + 1)) best = i; });
    counts[best]!++;
  }
  chosen.forEach((iv, i) => {
    const m = counts[i]!;
    for (let j = 1; j <= m; j++) batch.offer([iv.a + ((iv.b - iv.a) * j) / (m + 1)]);
  });
}

// ---------------------------------------------------------------------------------------------
// Several parameters: the widest mixed cells. A candidate (a point of the Sobol pool, or the
// midpoint of a mixed edge between near neighbours) lies in a mixed cell when its k nearest runs
// are not all of one class; the widest is the one farthest from its nearest run. The batch is
// picked greedily, each pick counting as a run for the distances of the next, so it spreads out.
// Refinement stops where every mixed candidate is within tolerance/2 of a run (an edge shorter
// than the tolerance). Pool points cover the whole boundary; edge midpoints refine below the
// pool's spacing.

interface NdOptions { tolerance: number; neighbours: number; seed: number }

function proposeNd(seen: Seen<boolean>[], batch: Batch, domain: Domain, pool: () => Params[], o: NdOptions): void {
  const classes = new Set(seen.map(s => s.value));
  if (classes.size < 2) {
    // No boundary seen yet: fill the space (the first round: the first Sobol points).
    spaceFill(batch, domain, pool(), seen.map(s => s.u));
    return;
  }
  const candidates = pool().map(p => domain.toUnit(p)!);
  for (const e of mixedEdges(seen, o.neighbours)) candidates.push(seen[e.i]!.u.map((x, d) => (x + seen[e.j]!.u[d]!) / 2));
  // Squared distance to the nearest run, for candidates in a mixed cell only (else 0: never picked).
  const gap = candidates.map(u => mixedGap(u, seen, o.neighbours));
  const floor = (o.tolerance / 2) ** 2;
  while (!batch.full) {
    let best = -1;
    gap.forEach((g, i) => { if (g >= floor && g > 0 && (best < 0 || g > gap[best]!)) best = i; });
    if (best < 0) return;
    const u = candidates[best]!;
    gap[best] = 0;
    if (!batch.offer(u)) continue;
    const v = batch.units[batch.units.length - 1]!;
    gap.forEach((g, i) => { if (g > 0) gap[i] = Math.min(g, sqDist(candidates[i]!, v)); });
  }
}

/** Squared distance from u to its nearest run if its k nearest runs are of both classes, else 0. */
function mixedGap(u: readonly number[], seen: readonly Seen<boolean>[], k: number): number {
  const near = seen.map((s, i) => ({ i, d2: sqDist(u, s.u) })).sort((p, q) => p.d2 - q.d2 || p.i - q.i).slice(0, k);
  const first = seen[near[0]!.i]!.value;
  return near.some(x => seen[x.i]!.value !== first) ? near[0]!.d2 : 0;
}

interface Edge { i: number; j: number; len: number }

/**
 * Pairs of runs of different class among each run's k nearest neighbours (if there are none,
 * each run with its nearest run of the other class), longest first, ties in canonical row order.
 */
export function mixedEdges(seen: readonly Seen<boolean>[], k: number): Edge[] {
  const n = seen.length;
  const found = new Map<number, Edge>();
  const add = (i: number, j: number, d2: number) => {
    const [p, q] = i < j ? [i, j] : [j, i];
    found.set(p * n + q, { i: p, j: q, len: Math.sqrt(d2) });
  };
  const nearest: { j: number; d2: number }[][] = [];
  for (let i = 0; i < n; i++) {
    const others: { j: number; d2: number }[] = [];
    for (let j = 0; j < n; j++) if (j !== i) others.push({ j, d2: sqDist(seen[i]!.u, seen[j]!.u) });
    others.sort((p, q) => p.d2 - q.d2 || p.j - q.j);
    nearest.push(others);
    for (const { j, d2 } of others.slice(0, k)) if (seen[j]!.value !== seen[i]!.value) add(i, j, d2);
  }
  if (found.size === 0) {
    nearest.forEach((others, i) => {
      const o = others.find(x => seen[x.j]!.value !== seen[i]!.value);
      if (o) add(i, o.j, o.d2);
    });
  }
  return [...found.values()].sort((p, q) => q.len - p.len || p.i - q.i || p.j - q.j);
}
