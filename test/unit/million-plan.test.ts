// A million points: planning a 100 × 100 × 100 grid holds only what each point needs (params,
// varied, hash, origin) — measured in a child process so the heap is its own; read one at a time
// (planStream) it holds nothing; and the streamed, per-axis-precomputed points are exactly those
// of the plain definitions (Object.assign({}, base, varied), paramHash of it, sample()).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { run } from '../../src/proc.ts';
import { planPoints, planStream, type PlanDefinition } from '../../src/sweep/plan.ts';
import { paramHash } from '../../src/sweep/hash.ts';
import { sample } from '../../src/sweep/samplers.ts';

const plan = new URL('../../src/sweep/plan.ts', import.meta.url).href;
const space = new URL('../../src/sweep/space.ts', import.meta.url).href;
const root = fileURLToPath(new URL('../..', import.meta.url));

test('planning 1 000 000 grid points keeps the heap under 500 MB (no per-point copies)', { timeout: 120_000 }, async () => {
  const script = `
    const { planPoints } = await import(${JSON.stringify(plan)});
    const { linspace } = await import(${JSON.stringify(space)});
    const t0 = performance.now();
    const p = planPoints({ base_config: { n: 30 }, maxPoints: 1_000_000, dimensions: { a: linspace(0, 1, 100), b: linspace(0, 2, 100), c: linspace(0, 3, 100) } });
    const seconds = (performance.now() - t0) / 1000;
    globalThis.gc();
    const heap = process.memoryUsage().heapUsed;
    const last = p.points.at(-1);
    console.log(JSON.stringify({ n: p.points.length, heap, seconds, last: { varied: last.varied, params: last.params }, shared: p.points[0].params === p.points[0].varied }));`;
  const r = await run([process.execPath, '--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, where: 'million plan' });
  const m = JSON.parse(r.stdout.trim().split('\n').pop()!) as { n: number; heap: number; seconds: number; last: { varied: object; params: object }; shared: boolean };
  assert.equal(m.n, 1_000_000);
  assert.deepEqual(m.last.varied, { a: 1, b: 2, c: 3 });
  assert.deepEqual(m.last.params, { n: 30, a: 1, b: 2, c: 3 });
  assert.equal(m.shared, false);
  assert.ok(m.heap <= 500 * 2 ** 20, `heap after planning ${(m.heap / 2 ** 20).toFixed(0)} MB (limit 500 MB, ${(m.heap / m.n).toFixed(0)} bytes per point)`);
});

test('a million points read one at a time from planStream fit in a 64 MB heap (nothing is held)', { timeout: 120_000 }, async () => {
  const script = `
    const { planStream } = await import(${JSON.stringify(plan)});
    const { linspace } = await import(${JSON.stringify(space)});
    const s = planStream({ base_config: { n: 30 }, maxPoints: 1_000_000, dimensions: { a: linspace(0, 1, 100), b: linspace(0, 2, 100), c: linspace(0, 3, 100) } });
    let n = 0, last;
    for (const p of s.points()) { n++; last = p; }
    console.log(JSON.stringify({ n, size: s.size, duplicates: s.duplicates, last: { params: last.params, hash: last.hash, origin: last.origin } }));`;
  const r = await run([process.execPath, '--max-old-space-size=64', '--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, where: 'million stream' });
  const m = JSON.parse(r.stdout.trim().split('\n').pop()!) as { n: number; size: number; duplicates: number; last: { params: Record<string, unknown>; hash: string; origin: unknown } };
  assert.equal(m.n, 1_000_000);
  assert.equal(m.size, 1_000_000);
  assert.equal(m.duplicates, 0);
  assert.deepEqual(m.last.params, { n: 30, a: 1, b: 2, c: 3 });
  assert.equal(m.last.hash, paramHash({ n: 30, a: 1, b: 2, c: 3 }));
  assert.deepEqual(m.last.origin, { kind: 'grid', index: 999_999 });
});

// Values that hash specially: nested objects, -0, null, undefined (dropped from the hash), strings vs numbers.
const value = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom(-0, 0.1, 1e-8, 1e21, null, undefined, 'x', '1', true), fc.record({ y: fc.integer({ min: 0, max: 2 }), x: fc.constantFrom('a', 'b') }), fc.array(fc.integer({ min: 0, max: 2 }), { maxLength: 2 }));
// Names that order specially: integer-like ones come first in an object whatever the order written.
const name = fc.constantFrom('a', 'b', 'z', 'm', '2', '10', 'é', 'a b', 'n');

test('a dimensions grid: each point is Object.assign({}, base, varied) (same key order), hashed as paramHash, in mixed-radix order', () => {
  fc.assert(fc.property(
    fc.dictionary(name, value, { maxKeys: 4 }),
    fc.uniqueArray(fc.tuple(name, fc.array(value, { minLength: 1, maxLength: 3 })), { selector: ([n]) => n, minLength: 1, maxLength: 3 }),
    (base, dims) => {
      const plan = planPoints({ base_config: base, dimensions: dims.map(([n, vs]) => [n, vs] as const) });
      // The reference: the plain definitions, written out here.
      const expected: Record<string, unknown>[] = [];
      const total = dims.reduce((k, [, vs]) => k * vs.length, 1);
      for (let i = 0; i < total; i++) {
        let rest = i;
        const picks = dims.map(() => undefined as unknown);
        for (let d = dims.length - 1; d >= 0; d--) {
          picks[d] = dims[d]![1][rest % dims[d]![1].length];
          rest = Math.floor(rest / dims[d]![1].length);
        }
        expected.push(Object.fromEntries(dims.map(([n], d) => [n, picks[d]])));
      }
      const seen = new Set<string>();
      const kept = expected.filter(v => {
        const h = paramHash(Object.assign({}, base, v));
        return seen.has(h) ? false : (seen.add(h), true);
      });
      assert.equal(plan.points.length, kept.length);
      assert.equal(plan.duplicates, expected.length - kept.length);
      plan.points.forEach((p, i) => {
        const params = Object.assign({}, base, kept[i]);
        assert.deepEqual(Object.entries(p.params), Object.entries(params));
        assert.deepEqual(Object.entries(p.varied), Object.entries(kept[i]!));
        assert.equal(p.hash, paramHash(params));
      });
    },
  ), { numRuns: 200 });
});

test('planStream gives the points of planPoints one at a time (grids, lists with duplicates, samples across draws, grid × samples)', () => {
  const defs: PlanDefinition[] = [
    { base_config: { n: 1 }, dimensions: { a: [1, 2, 1], b: ['x', 'y'] } },
    { base_config: { n: 1 }, points: [{ a: 1 }, { a: 2 }, { a: 1 }, { b: 3 }] },
    { base_config: { n: 1 } },
    { base_config: { n: 1 }, sampler: { type: 'lhs', seed: 3, budget: 9000, bounds: { x: [0, 1], k: { int: [1, 3] } } } },
    { base_config: { n: 1 }, sampler: { type: 'sobol', seed: 3, budget: 8192, bounds: { x: [0, 1], y: { lo: 1, hi: 10, scale: 'log' } } } },
    { base_config: { n: 1 }, dimensions: { a: [1, 2] }, sampler: { type: 'random', seed: 3, budget: 5000, bounds: { k: { values: ['p', 'q'] } } }, maxPoints: 20_000 },
  ];
  for (const def of defs) {
    const plan = planPoints(def, { extend: def.sampler ? 100 : 0 });
    const s = planStream(def, { extend: def.sampler ? 100 : 0 });
    const streamed = [...s.points()];
    assert.deepEqual(streamed, plan.points);
    assert.equal(s.duplicates, plan.duplicates);
    assert.deepEqual(s.sampler, plan.sampler);
    assert.ok(s.size >= streamed.length);
  }
  // Samples drawn in chunks are the sequence drawn at once.
  const lhs = defs[3]!.sampler!;
  assert.deepEqual(planPoints(defs[3]!).points.map(p => p.varied), sample(lhs, { count: 9000 }));
});
