import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sample, unitSample, validateSampler, samplerSequenceId, sobolDirections, type SamplerSpec, type SamplerType } from '../../src/sweep/samplers.ts';
import { JOE_KUO_DIRECTIONS, SOBOL_MAX_DIMS } from '../../src/sweep/sobol-directions.ts';
import { ConfigError } from '../../src/errors.ts';

const configError = (re: RegExp) => (e: unknown) => e instanceof ConfigError && re.test(e.message);
const column = (u: Float64Array, dims: number, d: number) => Array.from({ length: u.length / dims }, (_, i) => u[i * dims + d]!);
const TYPES: SamplerType[] = ['random', 'lhs', 'sobol'];

// Published values: scipy.stats.qmc.Sobol(d, scramble=False) (Joe–Kuo new-joe-kuo-6.21201), the
// same as Joe & Kuo's own generator in gray-code order with the origin as point 0.
const SOBOL_DIM1 = [0, 0.5, 0.75, 0.25, 0.375, 0.875, 0.625, 0.125, 0.1875, 0.6875, 0.9375, 0.4375, 0.3125, 0.8125, 0.5625, 0.0625];
const SOBOL_DIM2 = [0, 0.5, 0.25, 0.75, 0.375, 0.875, 0.125, 0.625, 0.3125, 0.8125, 0.0625, 0.5625, 0.1875, 0.6875, 0.4375, 0.9375];
const SOBOL_DIM3 = [0, 0.5, 0.25, 0.75, 0.625, 0.125, 0.875, 0.375, 0.9375, 0.4375];

test('unscrambled Sobol: first points of dimensions 1–3 equal the published Joe–Kuo/scipy values', () => {
  const u = unitSample({ type: 'sobol', dims: 3, seed: 0, budget: 16, scramble: false }, 0, 16);
  assert.deepEqual(column(u, 3, 0), SOBOL_DIM1);
  assert.deepEqual(column(u, 3, 1), SOBOL_DIM2);
  assert.deepEqual(column(u, 3, 2).slice(0, 10), SOBOL_DIM3);
  // Through sample(): parameters take dimensions in sorted name order; [0, 1] bounds are the identity.
  const pts = sample({ type: 'sobol', scramble: false, budget: 8, bounds: { x3: [0, 1], x1: [0, 1], x2: [0, 1] } });
  assert.deepEqual(pts.map(p => [p.x1, p.x2, p.x3]), SOBOL_DIM1.slice(0, 8).map((v, i) => [v, SOBOL_DIM2[i], SOBOL_DIM3[i]]));
});

test('Joe–Kuo table: at least 21 dimensions, well-formed rows (m_k odd and < 2^k, a < 2^(s-1))', () => {
  assert.ok(SOBOL_MAX_DIMS >= 21);
  JOE_KUO_DIRECTIONS.forEach((row, i) => {
    const [s, a, ...m] = row as [number, number, ...number[]];
    assert.equal(m.length, s, `row for dimension ${i + 2}`);
    assert.ok(a < 2 ** Math.max(0, s - 1));
    m.forEach((mk, k) => assert.ok(mk % 2 === 1 && mk < 2 ** (k + 1), `dimension ${i + 2} m_${k + 1}`));
  });
  // Direction number k is m_{k+1}·2^(31-k) with m odd: each generator matrix is upper triangular with a
  // unit diagonal (which makes every dimension a (0,1)-sequence).
  for (const v of sobolDirections(SOBOL_MAX_DIMS)) v.forEach((x, k) => assert.ok(x % 2 ** (31 - k) === 0 && (x / 2 ** (31 - k)) % 2 === 1));
});

/** For each k ≤ maxK, the first 2^k values hit each interval [j/2^k, (j+1)/2^k) exactly once. */
function assertOnePerDyadicInterval(xs: number[], maxK: number, what: string) {
  for (let k = 0; k <= maxK; k++) {
    const n = 2 ** k;
    const hits = new Set(xs.slice(0, n).map(x => Math.floor(x * n)));
    assert.equal(hits.size, n, `${what}: first ${n} points`);
  }
}

test('Sobol, scrambled or not: in every one of the 32 dimensions the first 2^k points are stratified (k ≤ 10)', () => {
  for (const scramble of [false, true]) {
    const u = unitSample({ type: 'sobol', dims: SOBOL_MAX_DIMS, seed: 5, budget: 1024, scramble }, 0, 1024);
    for (let d = 0; d < SOBOL_MAX_DIMS; d++) assertOnePerDyadicInterval(column(u, SOBOL_MAX_DIMS, d), 10, `scramble ${scramble}, dimension ${d + 1}`);
  }
});

/** Points per elementary interval [a/2^i, (a+1)/2^i) × [b/2^j, (b+1)/2^j) with i + j = m, per shape (i, j). */
function boxCounts(xs: number[], ys: number[], m: number): number[][] {
  const shapes: number[][] = [];
  for (let i = 0; i <= m; i++) {
    const j = m - i;
    const counts = new Array<number>(2 ** m).fill(0);
    for (let p = 0; p < xs.length; p++) counts[Math.floor(xs[p]! * 2 ** i) * 2 ** j + Math.floor(ys[p]! * 2 ** j)]!++;
    shapes.push(counts);
  }
  return shapes;
}

test('scrambled Sobol: dimensions 1–2 of the first 2^m points form a (0, m, 2)-net — one point in every elementary interval', () => {
  for (const seed of [0, 1, 123456789]) {
    const u = unitSample({ type: 'sobol', dims: 2, seed, budget: 1024 }, 0, 1024);
    for (let m = 1; m <= 10; m++) {
      const n = 2 ** m;
      for (const counts of boxCounts(column(u, 2, 0).slice(0, n), column(u, 2, 1).slice(0, n), m)) assert.ok(counts.every(c => c === 1), `seed ${seed}, m ${m}`);
    }
  }
});

test('property: Owen scrambling keeps the net structure of any pair of dimensions (same counts per elementary interval shape)', () => {
  fc.assert(fc.property(fc.nat({ max: 2 ** 40 }), fc.integer({ min: 0, max: SOBOL_MAX_DIMS - 1 }), fc.integer({ min: 0, max: SOBOL_MAX_DIMS - 1 }), fc.integer({ min: 1, max: 8 }), (seed, d1, d2, m) => {
    fc.pre(d1 !== d2);
    const n = 2 ** m;
    const dims = Math.max(d1, d2) + 1;
    const plain = unitSample({ type: 'sobol', dims, seed, budget: n, scramble: false }, 0, n);
    const scrambled = unitSample({ type: 'sobol', dims, seed, budget: n }, 0, n);
    const profile = (u: Float64Array) => boxCounts(column(u, dims, d1), column(u, dims, d2), m).map(c => [...c].sort((a, b) => a - b).join(','));
    assert.deepEqual(profile(scrambled), profile(plain));
  }), { numRuns: 60 });
});

test('scrambled Sobol: each coordinate is uniform (mean ≈ 1/2, variance ≈ 1/12) and depends on the seed', () => {
  const n = 4096;
  const a = unitSample({ type: 'sobol', dims: 8, seed: 11, budget: n }, 0, n);
  const b = unitSample({ type: 'sobol', dims: 8, seed: 12, budget: n }, 0, n);
  for (let d = 0; d < 8; d++) {
    const xs = column(a, 8, d);
    const mean = xs.reduce((s, x) => s + x, 0) / n;
    const variance = xs.reduce((s, x) => s + (x - mean) ** 2, 0) / n;
    assert.ok(Math.abs(mean - 0.5) < 1e-3, `dimension ${d + 1}: mean ${mean}`);
    assert.ok(Math.abs(variance - 1 / 12) < 1e-3, `dimension ${d + 1}: variance ${variance}`);
    assert.ok(xs.every(x => x >= 0 && x < 1));
  }
  assert.notDeepEqual(Array.from(a.slice(0, 16)), Array.from(b.slice(0, 16)));
  // The scrambled origin is not the origin.
  assert.ok(a[0] !== 0 && a[1] !== 0);
});

test('golden values: the sequences never change silently (that would break --extend of existing sweeps)', () => {
  const golden: Record<SamplerType, number[]> = {
    random: [0.7066881556832928, 0.34349442192805035, 0.05077172868721325, 0.10623651402731249, 0.011840655414283141, 0.6334626423673011],
    lhs: [0.5040785399905872, 0.5538891160686035, 0.3478795839182567, 0.1319098346575629, 0.8195136206049938, 0.3678866469708737],
    sobol: [0.008308610214974976, 0.6751876471663119, 0.6606312973120092, 0.21645733975475046, 0.8066233669756606, 0.9333124737289102],
  };
  for (const type of TYPES) assert.deepEqual(Array.from(unitSample({ type, dims: 2, seed: 42, budget: 4 }, 0, 3)), golden[type], type);
  // Large seeds and indices (beyond 32 bits / 2^31) work.
  assert.deepEqual(Array.from(unitSample({ type: 'sobol', dims: 2, seed: 2 ** 40 + 3, budget: 4 }, 2 ** 31, 2)), [0.3496192944609444, 0.34002685590047355, 0.5421109801233699, 0.5701379384945926]);
});

test('property: every sampler is deterministic by seed and skip-able — point i does not depend on start/count', () => {
  fc.assert(fc.property(fc.constantFrom(...TYPES), fc.nat({ max: 2 ** 53 - 1 }), fc.integer({ min: 1, max: 50 }), fc.nat({ max: 120 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 6 }), (type, seed, budget, start, count, dims) => {
    const seq = { type, dims, seed, budget };
    const whole = unitSample(seq, 0, start + count);
    const part = unitSample(seq, start, count);
    assert.deepEqual(Array.from(part), Array.from(whole.slice(start * dims)));
    assert.deepEqual(Array.from(unitSample(seq, 0, start + count)), Array.from(whole));
    assert.ok(whole.every(x => x >= 0 && x < 1));
  }), { numRuns: 150 });
});

test('property: different seeds give different points', () => {
  fc.assert(fc.property(fc.constantFrom(...TYPES), fc.nat({ max: 2 ** 32 }), fc.nat({ max: 2 ** 32 }), (type, s1, s2) => {
    fc.pre(s1 !== s2);
    const a = unitSample({ type, dims: 3, seed: s1, budget: 8 }, 0, 8);
    const b = unitSample({ type, dims: 3, seed: s2, budget: 8 }, 0, 8);
    assert.notDeepEqual(Array.from(a), Array.from(b));
  }), { numRuns: 50 });
});

test('property: LHS — among points 0..budget-1 each of the budget strata is hit exactly once in every dimension, and so in every later block', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 5 }), fc.nat({ max: 2 ** 53 - 1 }), fc.nat({ max: 3 }), (B, dims, seed, block) => {
    const u = unitSample({ type: 'lhs', dims, seed, budget: B }, block * B, B);
    for (let d = 0; d < dims; d++) {
      const strata = column(u, dims, d).map(x => Math.floor(x * B));
      assert.deepEqual([...strata].sort((a, b) => a - b), Array.from({ length: B }, (_, j) => j), `dimension ${d}`);
    }
    // The same through bounds: { int: [0, B-1] } takes every integer once.
    const pts = sample({ type: 'lhs', budget: B, seed, bounds: { k: { int: [0, B - 1] } } }, { start: block * B });
    assert.deepEqual(pts.map(p => p.k as number).sort((a, b) => a - b), Array.from({ length: B }, (_, j) => j));
  }), { numRuns: 120 });
});

test('LHS: a large budget keeps exact strata; blocks beyond the budget are independent designs', () => {
  const B = 100_000;
  const u = unitSample({ type: 'lhs', dims: 2, seed: 3, budget: B }, 0, 2 * B);
  for (const block of [0, 1]) {
    for (let d = 0; d < 2; d++) {
      const seen = new Uint8Array(B);
      for (let i = block * B; i < (block + 1) * B; i++) seen[Math.floor(u[i * 2 + d]! * B)]!++;
      assert.ok(seen.every(c => c === 1), `block ${block}, dimension ${d}`);
    }
  }
  // Block 1 is not block 0 again.
  assert.notDeepEqual(Array.from(u.slice(0, 20)), Array.from(u.slice(2 * B, 2 * B + 20)));
});

test('random: uniform by a chi-square test (fixed seed), consecutive points uncorrelated', () => {
  const n = 20_000;
  const u = unitSample({ type: 'random', dims: 2, seed: 2024, budget: n }, 0, n);
  for (let d = 0; d < 2; d++) {
    const bins = new Array<number>(20).fill(0);
    for (const x of column(u, 2, d)) bins[Math.floor(x * 20)]!++;
    const chi2 = bins.reduce((s, c) => s + (c - n / 20) ** 2 / (n / 20), 0);
    assert.ok(chi2 < 43.8, `dimension ${d}: chi² ${chi2} (19 degrees of freedom, p = 0.001 at 43.8)`);
  }
  const xs = column(u, 2, 0);
  let cov = 0;
  for (let i = 1; i < n; i++) cov += (xs[i]! - 0.5) * (xs[i - 1]! - 0.5);
  assert.ok(Math.abs(cov / (n - 1) / (1 / 12)) < 0.03, 'lag-1 correlation');
});

test('bounds: linear, log-uniform, integers inclusive, categorical', () => {
  const n = 4096;
  const pts = sample({ type: 'sobol', budget: n, seed: 9, bounds: { x: [-2, 3], m: { lo: 0.01, hi: 100, scale: 'log' }, k: { int: [1, 4] }, c: { values: ['a', { b: 1 }, 3] }, same: [5, 5] } });
  assert.equal(pts.length, n);
  const count = (f: (p: Record<string, unknown>) => boolean) => pts.filter(f).length;
  assert.ok(pts.every(p => (p.x as number) >= -2 && (p.x as number) <= 3 && p.same === 5));
  assert.ok(pts.every(p => (p.m as number) >= 0.01 && (p.m as number) <= 100));
  // Log-uniform: a quarter of the points in each decade.
  for (const [lo, hi] of [[0.01, 0.1], [0.1, 1], [1, 10], [10, 100]]) assert.ok(Math.abs(count(p => (p.m as number) >= lo! && (p.m as number) < hi!) - n / 4) <= 2);
  for (const k of [1, 2, 3, 4]) assert.equal(count(p => p.k === k), n / 4);
  assert.ok(pts.every(p => Number.isInteger(p.k)));
  // Categorical: each value a third of the time (Sobol's 1-D stratification: within one point).
  for (const v of ['a', 3]) assert.ok(Math.abs(count(p => p.c === v) - n / 3) <= 1);
  assert.ok(Math.abs(count(p => typeof p.c === 'object') - n / 3) <= 1);
  // Keys come out in sorted order, whatever the order of bounds.
  assert.deepEqual(Object.keys(pts[0]!), ['c', 'k', 'm', 'same', 'x']);
});

test('validateSampler: errors name the offending key', () => {
  const ok: SamplerSpec = { type: 'sobol', bounds: { x: [0, 1] }, budget: 8, seed: 1 };
  const bad = (patch: Record<string, unknown>) => () => validateSampler({ ...ok, ...patch });
  assert.throws(bad({ type: 'halton' }), configError(/^sampler\.type: unknown sampler "halton"; known: random, lhs, sobol/));
  assert.throws(bad({ budget: 0 }), configError(/^sampler\.budget: expected a positive integer/));
  assert.throws(bad({ budget: -3 }), configError(/^sampler\.budget/));
  assert.throws(bad({ budget: 2.5 }), configError(/^sampler\.budget/));
  assert.throws(bad({ budget: undefined }), configError(/^sampler\.budget/));
  assert.throws(bad({ seed: -1 }), configError(/^sampler\.seed: expected a non-negative integer/));
  assert.throws(bad({ seed: 'abc' }), configError(/^sampler\.seed/));
  assert.throws(bad({ bounds: { x: [2, 1] } }), configError(/^sampler\.bounds\.x: lo \(2\) > hi \(1\)/));
  assert.throws(bad({ bounds: { x: { lo: 3, hi: 1, scale: 'log' } } }), configError(/^sampler\.bounds\.x: lo \(3\) > hi \(1\)/));
  assert.throws(bad({ bounds: { x: { lo: 0, hi: 1, scale: 'log' } } }), configError(/^sampler\.bounds\.x\.lo: a log scale needs lo > 0/));
  assert.throws(bad({ bounds: { x: { lo: 1, hi: 2, scale: 'ln' } } }), configError(/^sampler\.bounds\.x\.scale/));
  assert.throws(bad({ bounds: { x: { values: [] } } }), configError(/^sampler\.bounds\.x\.values: the list of values is empty/));
  assert.throws(bad({ bounds: { x: { int: [1.5, 3] } } }), configError(/^sampler\.bounds\.x\.int: expected \[lo, hi\] with two integers/));
  assert.throws(bad({ bounds: { x: { int: [5, 3] } } }), configError(/^sampler\.bounds\.x\.int: lo \(5\) > hi \(3\)/));
  assert.throws(bad({ bounds: { x: [0] } }), configError(/^sampler\.bounds\.x: expected \[lo, hi\]/));
  assert.throws(bad({ bounds: { x: 'wide' } }), configError(/^sampler\.bounds\.x: expected \[lo, hi\]/));
  assert.throws(bad({ bounds: {} }), configError(/^sampler\.bounds: no parameters/));
  assert.throws(bad({ bounds: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`p${i}`, [0, 1]])) }), configError(/^sampler\.bounds: a sobol sampler supports at most 32 parameters/));
  assert.throws(bad({ sampels: 3 }), configError(/^sampler\.sampels: unknown option/));
  assert.throws(() => validateSampler({ ...ok, type: 'lhs', scramble: false }), configError(/^sampler\.scramble: only a sobol sampler/));
  assert.throws(() => validateSampler(5), configError(/^sampler: expected an object/));
  assert.throws(() => validateSampler({ ...ok, budget: 0 }, 'sweep.sampler'), configError(/^sweep\.sampler\.budget/));
  assert.equal(validateSampler({ type: 'lhs', bounds: { x: [0, 1] }, budget: 3 }).seed, 0);
});

test('samplerSequenceId: by meaning, not by spelling; LHS strata count, other budgets do not', () => {
  const id = (s: Partial<SamplerSpec>) => samplerSequenceId({ type: 'sobol', budget: 8, bounds: { x: [0, 1], y: { int: [1, 3] } }, ...s } as SamplerSpec);
  assert.equal(id({}), id({ bounds: { y: { int: [1, 3] }, x: { lo: 0, hi: 1 } } }));
  assert.equal(id({}), id({ budget: 64 }));
  assert.equal(id({}), id({ seed: 0, scramble: true }));
  assert.notEqual(id({}), id({ seed: 1 }));
  assert.notEqual(id({}), id({ scramble: false }));
  assert.notEqual(id({}), id({ bounds: { x: [0, 2], y: { int: [1, 3] } } }));
  assert.notEqual(id({ type: 'lhs' }), id({ type: 'lhs', budget: 9 }));
  assert.equal(id({ type: 'random' }), id({ type: 'random', budget: 9 }));
});
