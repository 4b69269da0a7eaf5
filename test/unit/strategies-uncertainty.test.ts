import { test } from 'node:test';
import assert from 'node:assert/strict';
import { strategies, type StrategyRow } from '../../src/strategies/index.ts';
import { fitGp } from '../../src/strategies/gp.ts';
import { largestVariance } from '../../src/strategies/uncertainty.ts';
import { nelderMead } from '../../src/strategies/nelder-mead.ts';
import { sample } from '../../src/sweep/samplers.ts';
import { ConfigError } from '../../src/errors.ts';

const f = (x: number, y: number) => Math.sin(3 * x) + Math.cos(2 * y);
const bounds = { x: [0, 2] as [number, number], y: [0, 2] as [number, number] };
const heldOut = sample({ type: 'random', bounds, budget: 400, seed: 12345 });
const unit = (p: Record<string, unknown>) => [(p.x as number) / 2, (p.y as number) / 2];

/** Held-out RMSE of a GP fitted to the rows' z. */
function rmse(rows: StrategyRow[]): number {
  const gp = fitGp(rows.map(unit), rows.map(r => r.z as number));
  const { mean } = gp.predict(heldOut.map(unit));
  return Math.sqrt(heldOut.reduce((s, p, i) => s + (mean[i]! - f(p.x as number, p.y as number)) ** 2, 0) / heldOut.length);
}

test('active learning on sin(3x) + cos(2y): the error falls from 10 to 40 points and beats 40 random points (4 seeds)', () => {
  let active = 0, random = 0;
  for (const seed of [1, 2, 3, 4]) {
    const propose = strategies.uncertainty({ result: 'z', bounds, seed });
    const rows: StrategyRow[] = [];
    let at10 = NaN;
    for (let round = 0; rows.length < 40; round++) {
      const points = propose({ rows, round, budgetLeft: 40 - rows.length, batch: 5 });
      assert.equal(points.length, 5);
      for (const p of points) rows.push({ state: 'COMPLETED', ...p, z: f(p.x as number, p.y as number) });
      if (rows.length === 10) at10 = rmse(rows);
    }
    const at40 = rmse(rows);
    const rnd = rmse(sample({ type: 'random', bounds, budget: 40, seed }).map(p => ({ ...p, z: f(p.x as number, p.y as number) })));
    assert.ok(at40 < at10 / 5, `seed ${seed}: RMSE ${at40} after 40 points, ${at10} after 10`);
    active += at40;
    random += rnd;
  }
  assert.ok(active < random / 2, `mean RMSE ${active / 4} (active) vs ${random / 4} (random)`);
});

test('GP: maximum likelihood gives a long length scale to an input the function ignores, and interpolates', () => {
  const X = sample({ type: 'sobol', bounds: { a: [0, 1], b: [0, 1] }, budget: 32, seed: 7 }).map(p => [p.a as number, p.b as number]);
  const y = X.map(([a]) => Math.sin(6 * a!));
  const gp = fitGp(X, y);
  const [la, lb] = gp.hyper.lengthScales as [number, number];
  assert.ok(lb > 3 * la, `length scales ${la} (used) and ${lb} (ignored)`);
  const p = gp.predict([[0.3, 0.1], [0.3, 0.9]]);
  for (const m of p.mean) assert.ok(Math.abs(m - Math.sin(1.8)) < 0.05, `prediction ${m} vs ${Math.sin(1.8)}`);
  // At a training point the latent variance is about the fitted noise, far below the signal's.
  const at = gp.predict([X[0]!]);
  assert.ok(at.variance[0]! < 1e-2 * gp.hyper.signal * gp.y.sd ** 2);
});

test('batch selection: sequential variance updates spread a batch that the largest raw variances would bunch', () => {
  const X = [[0.5, 0.5], [0.45, 0.55], [0.55, 0.45]];
  const gp = fitGp(X, [1, 1.1, 0.9]);
  const pool = sample({ type: 'sobol', bounds: { a: [0, 1], b: [0, 1] }, budget: 512, seed: 3 }).map(p => [p.a as number, p.b as number]);
  const post = gp.posterior(pool);
  const minGap = (idx: number[]) => Math.min(...idx.flatMap((i, a) => idx.slice(a + 1).map(j => Math.hypot(pool[i]![0]! - pool[j]![0]!, pool[i]![1]! - pool[j]![1]!))));
  const picks = largestVariance(post, gp.hyper.noise, 8, 0);
  const raw = [...pool.keys()].sort((i, j) => post.variance[j]! - post.variance[i]! || i - j).slice(0, 8);
  assert.equal(new Set(picks).size, 8);
  assert.equal(picks[0], raw[0], 'the first pick is the largest variance');
  assert.ok(minGap(picks) > 2 * minGap(raw), `closest picks ${minGap(picks)} apart, raw top 8 ${minGap(raw)}`);
  // A floor above every variance: nothing is worth proposing.
  assert.deepEqual(largestVariance(post, gp.hyper.noise, 8, Math.max(...post.variance) + 1), []);
});

test('uncertainty: tolerance stops proposals once the surrogate is sure; failed rows and unknown results do not count', () => {
  const rows: StrategyRow[] = sample({ type: 'sobol', bounds, budget: 64, seed: 1 }).map(p => ({ state: 'COMPLETED', ...p, z: f(p.x as number, p.y as number) }));
  const loose = strategies.uncertainty({ result: 'z', bounds, tolerance: 0.5 });
  assert.deepEqual(loose({ rows, round: 3, budgetLeft: 10, batch: 4 }), []);
  const strict = strategies.uncertainty({ result: 'z', bounds });
  assert.equal(strict({ rows, round: 3, budgetLeft: 10, batch: 4 }).length, 4);
  // Fewer usable rows than `initial` (failed, NaN, pending): space filling away from every run.
  const few: StrategyRow[] = [
    { state: 'COMPLETED', x: 1, y: 1, z: 0.5 }, { state: 'FAILED', x: 0.5, y: 0.5, z: null },
    { state: 'COMPLETED', x: 1.5, y: 0.5, z: NaN }, { state: 'RUNNING', x: 0.2, y: 1.8, z: null },
  ];
  const next = strict({ rows: few, round: 1, budgetLeft: 10, batch: 3 });
  assert.equal(next.length, 3);
  for (const p of next) assert.ok(Math.hypot((p.x as number) - 1, (p.y as number) - 1) > 0.5, 'away from the one usable run');
});

test('uncertainty: option errors name the option', () => {
  const err = (re: RegExp) => (e: unknown) => e instanceof ConfigError && re.test(e.message);
  assert.throws(() => strategies.uncertainty({ result: 'z', bounds: {} }), err(/strategies\.uncertainty\.bounds: no parameters/));
  assert.throws(() => strategies.uncertainty({ result: 'z', bounds, kernel: 'cubic' as never }), err(/strategies\.uncertainty\.kernel/));
  assert.throws(() => strategies.uncertainty({ result: 'z', bounds, candidates: 0 }), err(/strategies\.uncertainty\.candidates/));
  const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`p${i}`, [0, 1] as [number, number]]));
  assert.throws(() => strategies.uncertainty({ result: 'z', bounds: many }), err(/at most 32 parameters/));
});

test('Nelder–Mead finds the minimum of the Rosenbrock function', () => {
  const rosen = ([a, b]: number[]) => (1 - a!) ** 2 + 100 * (b! - a! * a!) ** 2;
  const r = nelderMead(rosen, [-1.2, 1], { maxEvaluations: 2000, tolerance: 1e-14 });
  assert.ok(Math.abs(r.x[0]! - 1) < 1e-3 && Math.abs(r.x[1]! - 1) < 1e-3, `minimum at ${r.x}`);
});
