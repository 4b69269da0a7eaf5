// Samplers: seeded random, Latin hypercube and scrambled Sobol points over parameter bounds.
//
// Every sampler defines an infinite, deterministic sequence of points: point i depends only on
// (type, bounds, seed, and for LHS the budget), never on how many points were asked for or where
// the request started, so `sample(spec, { start })` continues a sequence (rx submit --extend).
// Only integer arithmetic (Math.imul, shifts) and exactly representable divisions by powers of two
// produce the unit-cube coordinates, so they are bit-identical on every platform; mapping onto
// bounds adds one IEEE multiply-add (and Math.log/Math.exp for log-scale bounds).
import { ConfigError } from '../errors.ts';
import { paramHash } from './hash.ts';
import { checkParamKeys, checkPlanMemory, objectMaker, type Params } from './points.ts';
import { JOE_KUO_DIRECTIONS, SOBOL_MAX_DIMS } from './sobol-directions.ts';
import { isObject } from '../json.ts';

export type SamplerType = 'random' | 'lhs' | 'sobol';
export const SAMPLER_TYPES: readonly SamplerType[] = ['random', 'lhs', 'sobol'];

/**
 * Bounds of one sampled parameter:
 * - `[lo, hi]`: uniform on [lo, hi];
 * - `{ lo, hi, scale: 'log' }`: log-uniform on [lo, hi] (lo > 0); `scale: 'linear'` is `[lo, hi]`;
 * - `{ values: [...] }`: one of the values, each with the same probability (categorical);
 * - `{ int: [lo, hi] }`: an integer in lo..hi inclusive, each with the same probability.
 */
export type Bound =
  | readonly [number, number]
  | { lo: number; hi: number; scale?: 'linear' | 'log' }
  | { values: readonly unknown[] }
  | { int: readonly [number, number] };

export interface SamplerSpec {
  type: SamplerType;
  /** Parameter name → bound. Parameters are assigned to sampler dimensions in sorted name order. */
  bounds: Record<string, Bound>;
  /** Points planned by a plain submit (LHS: also the number of strata). A positive integer. */
  budget: number;
  /** Non-negative safe integer; default 0. */
  seed?: number;
  /** Sobol only: Owen-scramble the sequence (default true). `false` gives the textbook points. */
  scramble?: boolean;
}

/** A validated sampler: seed filled in (and scramble, for sobol). */
export type ValidSampler = SamplerSpec & { seed: number };

type NormBound =
  | { kind: 'linear'; lo: number; hi: number }
  | { kind: 'log'; lo: number; hi: number; llo: number; lhi: number }
  | { kind: 'values'; values: readonly unknown[] }
  | { kind: 'int'; lo: number; hi: number };

const SAMPLER_KEYS = ['type', 'bounds', 'budget', 'seed', 'scramble'];
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const show = (v: unknown) => { try { return JSON.stringify(v) ?? String(v); } catch { return String(v); } };

/** Checks a sampler from a sweep file; every error names the offending key (`sampler.bounds.x`). */
export function validateSampler(raw: unknown, where = 'sampler'): ValidSampler {
  return prepare(raw, where).spec;
}

interface Prepared { spec: ValidSampler; names: string[]; bounds: NormBound[] }

function prepare(raw: unknown, where: string): Prepared {
  const example = "{ type: 'sobol', bounds: { x: [0, 1] }, budget: 64, seed: 1 }";
  if (!isObject(raw)) throw new ConfigError(`${where}: expected an object like ${example}`);
  for (const k of Object.keys(raw)) if (!SAMPLER_KEYS.includes(k)) throw new ConfigError(`${where}.${k}: unknown option; known: ${SAMPLER_KEYS.join(', ')}`);
  const type = raw.type;
  if (typeof type !== 'string' || !(SAMPLER_TYPES as readonly string[]).includes(type)) {
    throw new ConfigError(`${where}.type: unknown sampler ${show(type)}; known: ${SAMPLER_TYPES.join(', ')}`);
  }
  const budget = raw.budget;
  if (!Number.isSafeInteger(budget) || (budget as number) <= 0) throw new ConfigError(`${where}.budget: expected a positive integer (how many points to sample), got ${show(budget)}`);
  const seed = raw.seed ?? 0;
  if (!Number.isSafeInteger(seed) || (seed as number) < 0) throw new ConfigError(`${where}.seed: expected a non-negative integer, got ${show(seed)}`);
  const scramble = raw.scramble ?? true;
  if (typeof scramble !== 'boolean') throw new ConfigError(`${where}.scramble: expected true or false`);
  if (type !== 'sobol' && raw.scramble !== undefined) throw new ConfigError(`${where}.scramble: only a sobol sampler is scrambled`);
  if (!isObject(raw.bounds)) throw new ConfigError(`${where}.bounds: expected an object { param: [lo, hi] | { lo, hi, scale: 'log' } | { values: [...] } | { int: [lo, hi] } }`);
  checkParamKeys(raw.bounds, `${where}.bounds`);
  const names = Object.keys(raw.bounds).sort();
  if (names.length === 0) throw new ConfigError(`${where}.bounds: no parameters to sample`, { hint: 'Give at least one parameter, e.g. bounds: { x: [0, 1] }.' });
  if (type === 'sobol' && names.length > SOBOL_MAX_DIMS) throw new ConfigError(`${where}.bounds: a sobol sampler supports at most ${SOBOL_MAX_DIMS} parameters, got ${names.length}`, { hint: "Use type: 'lhs' or 'random' for more parameters." });
  const bounds = names.map(n => normBound(raw.bounds as Record<string, unknown>, n, `${where}.bounds.${n}`));
  return { spec: { ...(raw as unknown as SamplerSpec), type: type as SamplerType, budget: budget as number, seed: seed as number, ...(type === 'sobol' ? { scramble } : {}) }, names, bounds };
}

function normBound(all: Record<string, unknown>, name: string, where: string): NormBound {
  const b = all[name];
  if (name.trim() === '') throw new ConfigError(`${where}: empty parameter name`);
  const pair = (v: unknown, what: string, int: boolean): [number, number] => {
    const ok = (x: unknown) => (int ? Number.isSafeInteger(x) : isNum(x));
    if (!Array.isArray(v) || v.length !== 2 || !ok(v[0]) || !ok(v[1])) throw new ConfigError(`${what}: expected [lo, hi] with two ${int ? 'integers' : 'finite numbers'}, got ${show(v)}`);
    if (v[0] > v[1]) throw new ConfigError(`${what}: lo (${v[0]}) > hi (${v[1]})`);
    return [v[0], v[1]];
  };
  if (Array.isArray(b)) {
    const [lo, hi] = pair(b, where, false);
    return { kind: 'linear', lo, hi };
  }
  if (!isObject(b)) throw new ConfigError(`${where}: expected [lo, hi], { lo, hi, scale: 'log' }, { values: [...] } or { int: [lo, hi] }, got ${show(b)}`);
  const keys = Object.keys(b);
  if ('values' in b) {
    if (keys.length !== 1) throw new ConfigError(`${where}: { values: [...] } takes no other keys`);
    if (!Array.isArray(b.values)) throw new ConfigError(`${where}.values: expected a list of values`);
    if (b.values.length === 0) throw new ConfigError(`${where}.values: the list of values is empty`);
    return { kind: 'values', values: b.values };
  }
  if ('int' in b) {
    if (keys.length !== 1) throw new ConfigError(`${where}: { int: [lo, hi] } takes no other keys`);
    const [lo, hi] = pair(b.int, `${where}.int`, true);
    return { kind: 'int', lo, hi };
  }
  for (const k of keys) if (!['lo', 'hi', 'scale'].includes(k)) throw new ConfigError(`${where}.${k}: unknown key; known: lo, hi, scale (or values, int)`);
  const [lo, hi] = pair([b.lo, b.hi], where, false);
  const scale = b.scale ?? 'linear';
  if (scale === 'linear') return { kind: 'linear', lo, hi };
  if (scale !== 'log') throw new ConfigError(`${where}.scale: expected 'log' or 'linear', got ${show(scale)}`);
  if (lo <= 0) throw new ConfigError(`${where}.lo: a log scale needs lo > 0, got ${lo}`);
  return { kind: 'log', lo, hi, llo: Math.log(lo), lhi: Math.log(hi) };
}

/**
 * Points `start .. start+count-1` of the sampler's sequence (default: 0 .. budget-1), each an object
 * { param: value } with the parameters in sorted name order.
 */
export function sample(spec: SamplerSpec, opts: { start?: number; count?: number } = {}): Params[] {
  const r = drawRange(spec, opts);
  checkPlanMemory(r.count, r.names.length, 'sample');
  return [...draw(r, Math.max(1, r.count))];
}

/**
 * The same points as sample(spec, opts), made `chunk` at a time as they are read: memory is one
 * chunk (and, for LHS, the current block's permutations), whatever the count. Checked when called.
 */
export function sampleStream(spec: SamplerSpec, opts: { start?: number; count?: number } = {}, chunk = 4096): Generator<Params> {
  return draw(drawRange(spec, opts), chunk);
}

type Range = Prepared & { start: number; count: number };

function drawRange(spec: SamplerSpec, opts: { start?: number; count?: number }): Range {
  const p = prepare(spec, 'sampler');
  const start = opts.start ?? 0;
  const count = opts.count ?? p.spec.budget;
  if (!Number.isSafeInteger(start) || start < 0) throw new RangeError(`sample: start must be a non-negative integer, got ${start}`);
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`sample: count must be a non-negative integer, got ${count}`);
  return { ...p, start, count };
}

function* draw({ spec: s, names, bounds, start, count }: Range, chunk: number): Generator<Params> {
  const seq: UnitSequence = { type: s.type, dims: names.length, seed: s.seed, budget: s.budget, scramble: s.scramble ?? true };
  const dims = names.length;
  const make = objectMaker(names);
  const block: LhsBlock = { block: -1, perms: [] };
  for (let at = start; at < start + count; at += chunk) {
    const n = Math.min(chunk, start + count - at);
    const u = unitSample(seq, at, n, block);
    for (let i = 0; i < n; i++) {
      const p = make();
      for (let d = 0; d < dims; d++) p[names[d]!] = mapBound(u[i * dims + d]!, bounds[d]!);
      yield p;
    }
  }
}

/**
 * Identifies a sampler's sequence: equal ids ⇔ the same points at the same indices. Bounds are
 * compared by meaning (`[0, 1]` = `{ lo: 0, hi: 1 }`), the budget only counts for LHS (its strata).
 * Store it with the number of points drawn to detect a sequence that changed between submissions.
 */
export function samplerSequenceId(spec: SamplerSpec): string {
  const { spec: s, names, bounds } = prepare(spec, 'sampler');
  const b = Object.fromEntries(names.map((n, d) => {
    const x = bounds[d]!;
    return [n, x.kind === 'values' ? { values: x.values } : { [x.kind]: [x.lo, x.hi] }];
  }));
  return paramHash({ type: s.type, seed: s.seed, bounds: b, ...(s.type === 'sobol' ? { scramble: s.scramble ?? true } : {}), ...(s.type === 'lhs' ? { strata: s.budget } : {}) });
}

/** Maps a unit coordinate u ∈ [0, 1) onto a bound. */
function mapBound(u: number, b: NormBound): unknown {
  switch (b.kind) {
    case 'linear': {
      const v = b.lo + u * (b.hi - b.lo);
      return v > b.hi ? b.hi : v;
    }
    case 'log': {
      const v = Math.exp(b.llo + u * (b.lhi - b.llo));
      return v < b.lo ? b.lo : v > b.hi ? b.hi : v;
    }
    case 'int': {
      const n = b.hi - b.lo + 1;
      return b.lo + Math.min(n - 1, Math.floor(u * n));
    }
    case 'values': {
      const n = b.values.length;
      return b.values[Math.min(n - 1, Math.floor(u * n))];
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Unit-cube sequences.

export interface UnitSequence {
  type: SamplerType;
  dims: number;
  seed: number;
  /** LHS: the number of strata (points per block). Ignored by random and sobol. */
  budget: number;
  /** Sobol only (default true). */
  scramble?: boolean;
}

/**
 * Points start..start+count-1 of a sequence in [0, 1)^dims, row-major (point i, dimension d at
 * `(i - start) * dims + d`).
 *
 * - random: point i's coordinates are successive outputs of sfc32 (Chris Doty-Humphrey's Small Fast
 *   Counting generator) seeded from MurmurHash3 of (seed, i), 53 bits each: an independent stream per
 *   point, so point i is computed without the points before it.
 * - lhs: points are grouped in blocks of `budget`; block b is a Latin hypercube: in each dimension d a
 *   pseudo-random permutation π(b, d) (Fisher–Yates driven by sfc32 seeded from (seed, b, d)) gives
 *   point b·budget + j the stratum π[j], and a jitter from the point's own stream places it inside
 *   [π[j]/budget, (π[j]+1)/budget). Each block hits every stratum of every dimension exactly once.
 * - sobol: Joe–Kuo direction numbers, gray-code order (point 0 is the origin unscrambled; the
 *   sequence equals scipy.stats.qmc.Sobol(scramble=False)), 32 bits, at most 2^32 points. Scrambled
 *   (default) with Owen's nested uniform scrambling: binary digit k of a coordinate is flipped by a
 *   random bit that depends on the seed, the dimension and the k preceding (unscrambled) digits; the
 *   random bits come from a hash of that tree node, so no table is stored and point i needs nothing
 *   but i. Digits 33–52, all zero before scrambling, become random bits depending on the 32 digits.
 *   Nested scrambling maps every base-2 elementary interval onto one of the same shape, so the
 *   (t, m, s)-net structure (stratification) of the unscrambled sequence is kept, and every point is
 *   uniform on [0, 1)^dims.
 */
export function unitSample(seq: UnitSequence, start: number, count: number, lhsBlock: LhsBlock = { block: -1, perms: [] }): Float64Array {
  const { dims, seed } = seq;
  const out = new Float64Array(count * dims);
  const seedLo = seed >>> 0;
  const seedHi = Math.floor(seed / 2 ** 32) >>> 0;
  if (seq.type === 'random') {
    const rng = new Sfc32();
    for (let i = 0; i < count; i++) {
      const idx = start + i;
      rng.seed(seedLo, seedHi, idx >>> 0, Math.floor(idx / 2 ** 32) >>> 0, TAG_RANDOM);
      for (let d = 0; d < dims; d++) out[i * dims + d] = rng.next53();
    }
  } else if (seq.type === 'lhs') {
    lhs(out, seq, seedLo, seedHi, start, count, lhsBlock);
  } else {
    if (start + count > 2 ** 32) throw new RangeError(`sobol: at most 2^32 points, asked for point ${start + count - 1}`);
    const V = sobolDirections(dims);
    const scramble = seq.scramble ?? true;
    const keys = new Uint32Array(dims * 2);
    for (let d = 0; d < dims; d++) {
      keys[2 * d] = murmur3([seedLo, seedHi, d], TAG_OWEN);
      keys[2 * d + 1] = murmur3([seedLo, seedHi, d], TAG_TAIL);
    }
    for (let i = 0; i < count; i++) {
      const idx = start + i;
      const g = (idx ^ (idx >>> 1)) >>> 0; // gray code of the index
      for (let d = 0; d < dims; d++) {
        const v = V[d]!;
        let x = 0;
        for (let k = 0, h = g; h !== 0; k++, h >>>= 1) if (h & 1) x ^= v[k]!;
        x >>>= 0;
        out[i * dims + d] = scramble
          ? (owenScramble(x, keys[2 * d]!) * 2 ** 20 + (fmix32(x ^ keys[2 * d + 1]!) >>> 12)) / 2 ** 52
          : x / 2 ** 32;
      }
    }
  }
  return out;
}

/** The LHS block whose permutations were drawn last: kept across the draws of one stream, so a block's are drawn once. */
export interface LhsBlock { block: number; perms: Uint32Array[] }

function lhs(out: Float64Array, seq: UnitSequence, seedLo: number, seedHi: number, start: number, count: number, cache: LhsBlock): void {
  const { dims, budget: B } = seq;
  if (!Number.isSafeInteger(B) || B <= 0) throw new RangeError(`lhs: budget must be a positive integer, got ${B}`);
  // The jitter inside a stratum keeps `bits` bits and stays half a unit away from both edges, so
  // (stratum + jitter) is exact and floor(u * B) === stratum survives the rounding of u = (…)/B.
  const L = Math.ceil(Math.log2(B));
  const bits = Math.max(1, Math.min(32, 50 - L));
  const rng = new Sfc32();
  const perms = cache.perms;
  for (let i = 0; i < count; i++) {
    const idx = start + i;
    const b = Math.floor(idx / B);
    if (b !== cache.block || perms.length !== dims) {
      cache.block = b;
      for (let d = 0; d < dims; d++) perms[d] = permutation(B, rng, seedLo, seedHi, b, d);
      perms.length = dims;
    }
    const j = idx - b * B;
    rng.seed(seedLo, seedHi, idx >>> 0, Math.floor(idx / 2 ** 32) >>> 0, TAG_LHS);
    for (let d = 0; d < dims; d++) {
      const jitter = ((rng.next32() >>> (32 - bits)) + 0.5) / 2 ** bits;
      out[i * dims + d] = (perms[d]![j]! + jitter) / B;
    }
  }
}

function permutation(n: number, rng: Sfc32, seedLo: number, seedHi: number, block: number, dim: number): Uint32Array {
  const p = new Uint32Array(n);
  for (let k = 0; k < n; k++) p[k] = k;
  rng.seed(seedLo, seedHi, block >>> 0, Math.floor(block / 2 ** 32) >>> 0, (TAG_PERM + dim) >>> 0);
  for (let k = n - 1; k > 0; k--) {
    const r = Math.floor(rng.next53() * (k + 1));
    const t = p[k]!;
    p[k] = p[r]!;
    p[r] = t;
  }
  return p;
}

// ---------------------------------------------------------------------------------------------
// Sobol direction numbers and Owen scrambling.

const directionCache: Uint32Array[] = [];

/** Direction numbers of the first `dims` dimensions: V[d][k] = m_{k+1} · 2^(31-k), k = 0..31. */
export function sobolDirections(dims: number): Uint32Array[] {
  if (dims > SOBOL_MAX_DIMS) throw new RangeError(`sobol: at most ${SOBOL_MAX_DIMS} dimensions`);
  for (let d = directionCache.length; d < dims; d++) {
    const v = new Uint32Array(32);
    if (d === 0) {
      for (let k = 0; k < 32; k++) v[k] = 0x80000000 >>> k;
    } else {
      const row = JOE_KUO_DIRECTIONS[d - 1]!;
      const s = row[0]!, a = row[1]!;
      for (let k = 0; k < 32; k++) {
        if (k < s) {
          v[k] = row[2 + k]! * 2 ** (31 - k);
        } else {
          let x = v[k - s]! ^ (v[k - s]! >>> s);
          for (let j = 1; j < s; j++) if ((a >>> (s - 1 - j)) & 1) x ^= v[k - j]!;
          v[k] = x >>> 0;
        }
      }
    }
    directionCache.push(v);
  }
  return directionCache.slice(0, dims);
}

/**
 * Owen's nested uniform scrambling of a 32-bit binary fraction: digit p (from the most significant)
 * is flipped by the random bit of tree node (p, first p digits), taken from a hash of the node.
 */
function owenScramble(x: number, key: number): number {
  let flips = 0;
  for (let p = 0; p < 32; p++) {
    const node = p === 0 ? 1 : ((x >>> (32 - p)) | (1 << p)) >>> 0;
    flips |= (fmix32(fmix32(node ^ key) + key) >>> 31) << (31 - p);
  }
  return (x ^ flips) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Hashing and the small PRNG.

const TAG_RANDOM = 0x52414e44; // 'RAND'
const TAG_LHS = 0x4c485321;
const TAG_PERM = 0x5045524d;
const TAG_OWEN = 0x4f57454e;
const TAG_TAIL = 0x5441494c;

/** MurmurHash3's 32-bit finalizer (a bijection with full avalanche). */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** MurmurHash3 (x86, 32-bit) of a list of 32-bit words. */
export function murmur3(words: readonly number[], seed: number): number {
  let h = seed | 0;
  for (const w of words) {
    let k = Math.imul(w | 0, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  return fmix32(h ^ (words.length * 4));
}

/** sfc32 (PractRand's Small Fast Counting generator, 32-bit), seeded from a hash of a key. */
class Sfc32 {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 1;

  seed(w0: number, w1: number, w2: number, w3: number, tag: number): void {
    const key = [w0, w1, w2, w3];
    this.a = murmur3(key, tag);
    this.b = murmur3(key, tag ^ 0x9e3779b9);
    this.c = murmur3(key, tag ^ 0x7f4a7c15);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.next32();
  }

  next32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A double in [0, 1) with 53 random bits. */
  next53(): number {
    return ((this.next32() >>> 5) * 67108864 + (this.next32() >>> 6)) / 9007199254740992;
  }
}
