import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import { planPoints, DEFAULT_MAX_POINTS, type PlanDefinition } from '../../src/sweep/plan.ts';
import { grid, plist, zip, star } from '../../src/sweep/space.ts';
import { sample, type SamplerSpec, type SamplerType } from '../../src/sweep/samplers.ts';
import { expandDimensions } from '../../src/sweep/points.ts';
import { paramHash } from '../../src/sweep/hash.ts';
import { ConfigError } from '../../src/errors.ts';

const configError = (re: RegExp) => (e: unknown) => e instanceof ConfigError && re.test(e.message);

test('dimensions: the same points as expandDimensions, hashed, origin grid', () => {
  const def = { base_config: { n: 30, z: 0.02 }, dimensions: { 'x_ctrl(1),saved_model_name': [[1, 'a'], [2, 'b']], initial_mass: [1, 2, 3] } };
  const plan = planPoints(def);
  assert.deepEqual(plan.points.map(p => ({ params: p.params, varied: p.varied })), expandDimensions(def.base_config, def.dimensions));
  plan.points.forEach((p, i) => {
    assert.equal(p.hash, paramHash(p.params));
    assert.deepEqual(p.origin, { kind: 'grid', index: i });
  });
  assert.equal(plan.sampler, undefined);
  assert.equal(plan.duplicates, 0);
  assert.deepEqual(plan.warnings, []);
});

test('dimensions may use value spaces written as data (YAML)', () => {
  const plan = planPoints(parseYaml('dimensions: { m: { logspace: [0.1, 10, 3] }, k: { intspace: [1, 2] }, x: [a] }'));
  assert.deepEqual(plan.points.map(p => p.varied), expandDimensions({}, { m: [0.1, 1, 10], k: [1, 2], x: ['a'] }).map(p => p.varied));
  assert.throws(() => planPoints({ dimensions: { m: { linspace: [0, 1, 0] } } }), configError(/^dimensions\.m\.linspace: n must be a positive integer/));
  assert.throws(() => planPoints({ dimensions: { m: { range: [0, 1] } } as never }), configError(/^dimensions\.m: expected a list of values or one of/));
});

test('neither dimensions, points nor sampler: one point, the base config', () => {
  const plan = planPoints({ base_config: { a: 1 } });
  assert.deepEqual(plan.points.map(p => [p.params, p.varied, p.origin]), [[{ a: 1 }, {}, { kind: 'grid', index: 0 }]]);
});

test('points: helpers or the same as data (YAML), overlaid on base_config, origin list', () => {
  const points = grid(plist('a', [1, 2]), zip(plist('b', ['x', 'y']), plist('c', [true, false])));
  const plan = planPoints({ base_config: { a: 0, d: 'base' }, points });
  assert.deepEqual(plan.points.map(p => p.params), points.map(p => ({ a: 0, d: 'base', ...p })));
  assert.deepEqual(plan.points.map(p => p.varied), points);
  plan.points.forEach((p, i) => assert.deepEqual(p.origin, { kind: 'list', index: i }));
  const yaml = parseYaml('points: { grid: [ { plist: { a: [1, 2] } }, { zip: [ { plist: { b: [x, y] } }, { plist: { c: [true, false] } } ] } ] }');
  assert.deepEqual(planPoints({ base_config: { a: 0, d: 'base' }, points: yaml.points }).points, plan.points);
  // star: the centre is one point, never repeated.
  assert.equal(planPoints({ points: star({ a: 1, b: 2 }, { a: [1, 2, 3], b: [2, 5] }) }).points.length, 4);
});

test('points and dimensions together are refused', () => {
  assert.throws(() => planPoints({ points: [{ a: 1 }], dimensions: { b: [1] } }), configError(/^points: a sweep has either points or dimensions, not both/));
});

test('dimension errors point at the key', () => {
  assert.throws(() => planPoints({ dimensions: { a: [] } }), configError(/^dimensions\.a: the list of values is empty/));
  assert.throws(() => planPoints({ dimensions: { a: [1], 'a,b': [[1, 2]] } }), configError(/^dimensions: parameter 'a' appears in two dimensions/));
  assert.throws(() => planPoints({ dimensions: 5 as never }), configError(/^dimensions: expected an object .* or a list of \[name, values\] pairs/));
  assert.throws(() => planPoints({ dimensions: [1] as never }), configError(/^dimensions\[0\]: expected a \[name, values\] pair/));
  assert.throws(() => planPoints({ base_config: [] as never }), configError(/^base_config: expected an object/));
  assert.throws(() => planPoints({ sampler: { type: 'grid' } as never }), configError(/^sampler\.type: unknown sampler "grid"/));
  assert.throws(() => planPoints({ sampler: { type: 'lhs', bounds: { x: [1, 0] }, budget: 4 } }), configError(/^sampler\.bounds\.x: lo \(1\) > hi \(0\)/));
  assert.throws(() => planPoints({ sampler: { type: 'lhs', bounds: { x: [0, 1] }, budget: 0 } }), configError(/^sampler\.budget/));
});

const sobol: SamplerSpec = { type: 'sobol', seed: 3, budget: 8, bounds: { x: [0, 1], m: { lo: 0.1, hi: 10, scale: 'log' } } };

test('sampler alone: samples 0..budget-1, origin sample, drawn = budget', () => {
  const plan = planPoints({ base_config: { n: 1 }, sampler: sobol });
  assert.deepEqual(plan.points.map(p => p.varied), sample(sobol));
  assert.deepEqual(plan.points.map(p => p.params), sample(sobol).map(s => ({ n: 1, ...s })));
  plan.points.forEach((p, i) => assert.deepEqual(p.origin, { kind: 'sample', index: i }));
  assert.equal(plan.sampler?.drawn, 8);
  assert.equal(plan.sampler?.budget, 8);
  assert.equal(plan.sampler?.type, 'sobol');
  assert.match(plan.sampler!.sequence, /^[0-9a-f]{64}$/);
});

test('grid × sampler: every grid point with every sample, samples outer and grid inner', () => {
  const plan = planPoints({ dimensions: { k: [1, 2, 3] }, sampler: sobol });
  const samples = sample(sobol);
  assert.equal(plan.points.length, 3 * 8);
  plan.points.forEach((p, i) => {
    const s = Math.floor(i / 3), g = i % 3;
    assert.deepEqual(p.varied, { k: g + 1, ...samples[s] });
    assert.deepEqual(p.origin, { kind: 'sample', index: s, of: { kind: 'grid', index: g } });
  });
  const withList = planPoints({ points: [{ k: 1 }, { k: 2 }], sampler: sobol });
  assert.deepEqual(withList.points[1]!.origin, { kind: 'sample', index: 0, of: { kind: 'list', index: 1 } });
  assert.throws(() => planPoints({ dimensions: { x: [1, 2] }, sampler: sobol }), configError(/^sampler\.bounds\.x: 'x' is also varied by dimensions/));
  assert.throws(() => planPoints({ points: [{ m: 1 }], sampler: sobol }), configError(/^sampler\.bounds\.m: 'm' is also varied by points/));
});

test('maxPoints: default 100 000, checked before anything is expanded, message says how to raise it', () => {
  assert.equal(DEFAULT_MAX_POINTS, 100_000);
  const big = { dimensions: { a: Array.from({ length: 400 }, (_, i) => i), b: Array.from({ length: 300 }, (_, i) => i) } };
  assert.throws(() => planPoints(big), (e: unknown) => e instanceof ConfigError && /plans 120000 points \(dimensions\), more than maxPoints \(100000\)/.test(e.message) && /maxPoints: 120000/.test(e.hint ?? ''));
  assert.throws(() => planPoints({ sampler: { ...sobol, budget: 100_001 } }), configError(/plans 100001 points \(100001 samples\), more than maxPoints/));
  assert.throws(() => planPoints({ dimensions: { k: [1, 2, 3] }, sampler: sobol, maxPoints: 20 }), configError(/plans 24 points \(3 dimensions points × 8 samples\), more than maxPoints \(20\)/));
  assert.throws(() => planPoints({ points: [{ a: 1 }, { a: 2 }, { a: 3 }], maxPoints: 2 }), configError(/plans 3 points \(points\)/));
  assert.throws(() => planPoints({ sampler: sobol, maxPoints: 10 }, { extend: 3 }), configError(/plans 11 points/));
  assert.equal(planPoints({ dimensions: { k: [1, 2, 3] }, sampler: sobol, maxPoints: 24 }).points.length, 24);
  assert.throws(() => planPoints({ maxPoints: 0 }), configError(/^maxPoints: expected a positive integer/));
  assert.throws(() => planPoints({ maxPoints: 1.5 }), configError(/^maxPoints/));
});

test('--extend: only with a sampler, a non-negative integer', () => {
  assert.throws(() => planPoints({ dimensions: { a: [1] } }, { extend: 2 }), configError(/^--extend: only a sweep with a sampler can be extended/));
  assert.throws(() => planPoints({ sampler: sobol }, { extend: -1 }), configError(/^--extend: expected a positive integer/));
  assert.throws(() => planPoints({ sampler: sobol }, { alreadySampled: 1.5 }), RangeError);
});

/** Submits like rx: plan, skip hashes already submitted, remember drawn. */
function simulate(def: PlanDefinition) {
  const submitted = new Set<string>();
  let alreadySampled = 0;
  return (extend?: number, patch: Partial<PlanDefinition> = {}) => {
    const plan = planPoints({ ...def, ...patch }, { extend, alreadySampled });
    const fresh = plan.points.filter(p => !submitted.has(p.hash));
    for (const p of fresh) submitted.add(p.hash);
    alreadySampled = plan.sampler!.drawn;
    return { plan, fresh };
  };
}

test('property: --extend N submits N new samples continuing the sequence, never a repeat; a plain re-submit submits nothing', () => {
  fc.assert(fc.property(fc.constantFrom<SamplerType>('random', 'lhs', 'sobol'), fc.integer({ min: 1, max: 20 }), fc.array(fc.integer({ min: 0, max: 15 }), { minLength: 1, maxLength: 4 }), fc.nat({ max: 2 ** 31 }), fc.integer({ min: 1, max: 3 }), (type, budget, extends_, seed, gridSize) => {
    const spec: SamplerSpec = { type, budget, seed, bounds: { x: [0, 1], y: { lo: 1, hi: 100, scale: 'log' } } };
    const submit = simulate({ base_config: { n: 1 }, dimensions: { g: Array.from({ length: gridSize }, (_, i) => i) }, sampler: spec });
    const first = submit();
    assert.equal(first.fresh.length, budget * gridSize);
    let drawn = budget;
    const seenSamples = new Set<number>(first.plan.points.map(p => p.origin.index));
    for (const n of extends_) {
      const { plan, fresh } = submit(n);
      assert.equal(fresh.length, n * gridSize, 'exactly N new samples per grid point');
      // The new points are the next sample indices, none seen before.
      const idx = [...new Set(fresh.map(p => p.origin.index))].sort((a, b) => a - b);
      assert.deepEqual(idx, Array.from({ length: n }, (_, i) => drawn + i));
      for (const i of idx) assert.ok(!seenSamples.has(i));
      idx.forEach(i => seenSamples.add(i));
      // The whole plan is the previous one followed by the new points (prefix-stable).
      assert.deepEqual(plan.points.slice(plan.points.length - fresh.length), fresh);
      drawn += n;
      assert.equal(plan.sampler!.drawn, drawn);
      assert.deepEqual(plan.points.map(p => p.varied.x).slice(0, gridSize * budget), first.plan.points.map(p => p.varied.x));
    }
    assert.equal(submit().fresh.length, 0, 're-submitting without --extend submits nothing');
  }), { numRuns: 80 });
});

test('raising budget and re-submitting submits the difference (random, sobol); the sequence id tells when LHS strata changed', () => {
  for (const type of ['random', 'sobol'] as const) {
    const spec: SamplerSpec = { type, budget: 10, seed: 4, bounds: { x: [0, 1] } };
    const submit = simulate({ sampler: spec });
    const a = submit();
    const b = submit(undefined, { sampler: { ...spec, budget: 25 } });
    assert.equal(b.fresh.length, 15, type);
    assert.deepEqual(b.fresh.map(p => p.origin.index), Array.from({ length: 15 }, (_, i) => 10 + i));
    assert.equal(a.plan.sampler!.sequence, b.plan.sampler!.sequence);
    // After an extend, raising the budget below what was drawn adds nothing; extend always goes past both.
    submit(5);
    assert.equal(submit(undefined, { sampler: { ...spec, budget: 28 } }).fresh.length, 0);
    assert.deepEqual(submit(3, { sampler: { ...spec, budget: 28 } }).fresh.map(p => p.origin.index), [30, 31, 32]);
  }
  const lhs: SamplerSpec = { type: 'lhs', budget: 10, seed: 4, bounds: { x: [0, 1] } };
  assert.notEqual(planPoints({ sampler: lhs }).sampler!.sequence, planPoints({ sampler: { ...lhs, budget: 20 } }).sampler!.sequence);
  // LHS --extend keeps the design: blocks of `budget` points, each a Latin hypercube.
  const ext = planPoints({ sampler: lhs }, { alreadySampled: 10, extend: 10 });
  assert.equal(ext.sampler!.sequence, planPoints({ sampler: lhs }).sampler!.sequence);
  for (const block of [0, 1]) assert.deepEqual(ext.points.slice(block * 10, block * 10 + 10).map(p => Math.floor((p.params.x as number) * 10)).sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('warnings: Sobol away from powers of two, an incomplete LHS block, duplicates', () => {
  assert.match(planPoints({ sampler: { ...sobol, budget: 100 } }).warnings.join('\n'), /100 points is not one \(64 or 128 is\)/);
  assert.deepEqual(planPoints({ sampler: sobol }).warnings, []);
  const lhs: SamplerSpec = { type: 'lhs', budget: 10, bounds: { x: [0, 1] } };
  assert.match(planPoints({ sampler: lhs }, { alreadySampled: 10, extend: 3 }).warnings.join('\n'), /last block has 3 of 10 points/);
  assert.deepEqual(planPoints({ sampler: lhs }, { alreadySampled: 10, extend: 10 }).warnings, []);
});

test('duplicate points are kept once and counted', () => {
  const plan = planPoints({ points: [{ a: 1 }, { a: 2 }, { a: 1.0 }, { a: 1 }] });
  assert.deepEqual(plan.points.map(p => p.params), [{ a: 1 }, { a: 2 }]);
  assert.deepEqual(plan.points.map(p => p.origin.index), [0, 1]);
  assert.equal(plan.duplicates, 2);
  assert.match(plan.warnings.join('\n'), /2 points had the same parameters as an earlier point and were dropped/);
  // Discrete bounds: 20 draws of 3 integers give 3 distinct points.
  const few = planPoints({ sampler: { type: 'random', budget: 20, bounds: { k: { int: [1, 3] } } } });
  assert.equal(few.points.length, 3);
  assert.equal(few.duplicates, 17);
  assert.equal(few.sampler!.drawn, 20);
});

test('hashes are stable across key order and 1 vs 1.0 (YAML and TypeScript sweep files agree)', () => {
  const a = planPoints(parseYaml(`
base_config: { tol: 1.0e-8, n: 30, output: { every: 10, dir: out } }
dimensions: { mass: [1.0, 2.5], z: [0.02] }
sampler: { type: lhs, budget: 4, seed: 9, bounds: { alpha: [1.0, 2.0], k: { int: [1, 5] } } }
`));
  const defB: PlanDefinition = {
    sampler: { seed: 9, bounds: { k: { int: [1, 5] }, alpha: [1, 2] }, budget: 4, type: 'lhs' },
    dimensions: { mass: [1, 2.5], z: [0.02] },
    base_config: { output: { dir: 'out', every: 10 }, n: 30, tol: 1e-8 },
  };
  const b = planPoints(defB);
  assert.equal(a.points.length, 8);
  assert.deepEqual(a.points.map(p => p.hash), b.points.map(p => p.hash));
  assert.equal(a.sampler!.sequence, b.sampler!.sequence);
  // Planning twice gives the same plan (no clock, no Math.random).
  assert.deepEqual(planPoints(defB), b);
});

test('baseHasher gives paramHash of base ∪ varied, byte for byte (undefined members, nesting, -0, non-finite, integer-like names)', async () => {
  const { baseHasher, paramHash } = await import('../../src/sweep/hash.ts');
  const bases: Record<string, unknown>[] = [{}, { a: 1, z: { y: 2, x: [1, 'b'] }, m: undefined }, { n: -0, s: 'x', 'é': 3, '2': 4 }];
  const varied: Record<string, unknown>[] = [{}, { a: 2 }, { a: undefined }, { m: 5, q: NaN, r: -0 }, { z: null, '10': 'x' }, { b: { c: 1 } }];
  for (const b of bases) {
    const h = baseHasher(b);
    for (let round = 0; round < 2; round++) for (const v of varied) assert.equal(h(v), paramHash(Object.assign({}, b, v)), JSON.stringify([b, v]));
  }
});
