import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { strategies, type Propose, type StrategyRow } from '../../src/strategies/index.ts';
import { makeDomain } from '../../src/strategies/domain.ts';
import { canonicalJson } from '../../src/sweep/hash.ts';
import { sample, type Bound } from '../../src/sweep/samplers.ts';

// Bounds of every kind a sweep file's sampler takes.
const boundArb: fc.Arbitrary<Bound> = fc.oneof(
  fc.tuple(fc.double({ min: -100, max: 100, noNaN: true }), fc.double({ min: 0.001, max: 50, noNaN: true })).map(([lo, w]) => [lo, lo + w] as [number, number]),
  fc.tuple(fc.double({ min: 1e-3, max: 10, noNaN: true }), fc.double({ min: 1.5, max: 1e4, noNaN: true })).map(([lo, r]) => ({ lo, hi: lo * r, scale: 'log' as const })),
  fc.tuple(fc.integer({ min: -20, max: 20 }), fc.integer({ min: 1, max: 40 })).map(([a, n]) => ({ int: [a, a + n] as [number, number] })),
  fc.uniqueArray(fc.oneof(fc.string({ maxLength: 3 }), fc.integer({ min: -5, max: 5 }), fc.boolean()), { minLength: 2, maxLength: 5, selector: v => canonicalJson(v) }).map(values => ({ values })),
);
const boundsArb = fc.dictionary(fc.constantFrom('a', 'b', 'mass', 'x_ctrl(1)'), boundArb, { minKeys: 1, maxKeys: 3 });

function inBounds(v: unknown, bound: Bound): boolean {
  if (Array.isArray(bound)) return typeof v === 'number' && v >= bound[0] && v <= bound[1];
  const b = bound as Exclude<Bound, readonly [number, number]>;
  if ('values' in b) return b.values.some(x => canonicalJson(x) === canonicalJson(v));
  if ('int' in b) return Number.isInteger(v) && (v as number) >= b.int[0] && (v as number) <= b.int[1];
  return typeof v === 'number' && v >= b.lo && v <= b.hi;
}

/** Rows from a random design over the bounds: some finished with a result, some failed or running. */
function rowsFor(bounds: Record<string, Bound>, n: number, seed: number, result: (p: Record<string, unknown>, i: number) => unknown): StrategyRow[] {
  return sample({ type: 'random', bounds, budget: Math.max(1, n), seed }).slice(0, n).map((p, i) => {
    const state = i % 7 === 3 ? 'FAILED' : i % 11 === 5 ? 'RUNNING' : 'COMPLETED';
    return { sweep: 's', key: String(i), state, exit_code: state === 'FAILED' ? 1 : 0, ...p, y: state === 'COMPLETED' ? result(p, i) : null };
  });
}

/** Checks one call; returns how many points it proposed. */
function checkProposals(propose: Propose, bounds: Record<string, Bound>, rows: StrategyRow[], batch: number, budgetLeft: number, shuffleSeed: number): number {
  const points = propose({ rows, round: 1, budgetLeft, batch });
  assert.ok(points.length <= Math.min(batch, budgetLeft));
  const names = Object.keys(bounds).sort();
  const domain = makeDomain(bounds, 'test');
  const taken = new Set(rows.map(r => domain.key(r)));
  const mine = new Set<string>();
  for (const p of points) {
    assert.deepEqual(Object.keys(p).sort(), names, 'only the strategy parameters');
    for (const n of names) assert.ok(inBounds(p[n], bounds[n]!), `${n} = ${JSON.stringify(p[n])} outside ${JSON.stringify(bounds[n])}`);
    const k = domain.key(p);
    assert.ok(!taken.has(k), `proposes an existing run: ${k}`);
    assert.ok(!mine.has(k), `proposes a point twice: ${k}`);
    mine.add(k);
  }
  // Deterministic, whatever the order of the rows.
  const shuffled = rows.map((r, i) => ({ r, o: (i * 2654435761 + shuffleSeed) % 4294967296 })).sort((a, b) => a.o - b.o).map(x => x.r);
  assert.deepEqual(propose({ rows: shuffled, round: 1, budgetLeft, batch }), points);
  return points.length;
}

test('boundary: proposals stay in bounds and domains, never repeat a run or themselves, are deterministic', () => {
  let calls = 0, proposing = 0;
  fc.assert(fc.property(boundsArb, fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 10 }), (bounds, n, seed, batch, budgetLeft) => {
    const propose = strategies.boundary({ result: 'y', bounds, seed });
    // A class that depends on the point (a boundary somewhere), or a constant one (none seen yet).
    const rows = rowsFor(bounds, n, seed, (p, i) => (seed % 3 === 0 ? true : canonicalJson(p).length % 2 === 0 || i % 5 === 0));
    calls++;
    if (checkProposals(propose, bounds, rows, batch, budgetLeft, seed) > 0) proposing++;
  }), { numRuns: 150 });
  assert.ok(proposing > calls / 2, `${proposing} of ${calls} calls proposed points`);
});

test('uncertainty: proposals stay in bounds and domains, never repeat a run or themselves, are deterministic', () => {
  let calls = 0, proposing = 0, fitted = 0;
  fc.assert(fc.property(boundsArb, fc.integer({ min: 0, max: 16 }), fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 1, max: 6 }), (bounds, n, seed, batch) => {
    const propose = strategies.uncertainty({ result: 'y', bounds, seed, candidates: 128 });
    const rows = rowsFor(bounds, n, seed, p => canonicalJson(p).length + Math.sin(seed));
    calls++;
    if (checkProposals(propose, bounds, rows, batch, 10, seed) > 0) proposing++;
    if (rows.filter(r => r.state === 'COMPLETED').length >= 2 * Object.keys(bounds).length + 2) fitted++;
  }), { numRuns: 40 });
  assert.ok(proposing > calls / 2 && fitted > calls / 4, `${proposing} of ${calls} calls proposed points, ${fitted} through the GP`);
});

test('domain: a point maps to the unit cube and back unchanged (ints and values exactly)', () => {
  fc.assert(fc.property(boundsArb, fc.integer({ min: 0, max: 1000 }), (bounds, seed) => {
    const domain = makeDomain(bounds, 'test');
    for (const p of sample({ type: 'random', bounds, budget: 20, seed })) {
      const u = domain.toUnit(p)!;
      assert.ok(u.every(x => x >= 0 && x <= 1));
      const back = domain.fromUnit(u);
      for (const n of domain.names) {
        const b = bounds[n]!;
        if (Array.isArray(b) || !('values' in (b as object) || 'int' in (b as object))) assert.ok(Math.abs((back[n] as number) - (p[n] as number)) <= 1e-9 * Math.max(1, Math.abs(p[n] as number)));
        else assert.equal(canonicalJson(back[n]), canonicalJson(p[n]));
      }
    }
  }), { numRuns: 200 });
});
