import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { strategies, type Propose, type StrategyRow } from '../../src/strategies/index.ts';
import { sample } from '../../src/sweep/samplers.ts';
import { ConfigError } from '../../src/errors.ts';

type Outcome = (p: Record<string, unknown>) => StrategyRow;

/** Runs a strategy as the driver will: rounds of `batch` points until it proposes none or the budget is spent. */
function drive(propose: Propose, outcome: Outcome, budget: number, batch: number, rows: StrategyRow[] = []): { rows: StrategyRow[]; rounds: number[][] } {
  const rounds: number[][] = [];
  for (let round = 0; rows.length < budget; round++) {
    const points = propose({ rows, round, budgetLeft: budget - rows.length, batch });
    if (points.length === 0) break;
    assert.ok(points.length <= Math.min(batch, budget - rows.length));
    rounds.push(points.map(p => p.m as number));
    for (const p of points) rows.push({ sweep: 's', key: String(rows.length), state: 'COMPLETED', exit_code: 0, ...p, ...outcome(p) });
  }
  return { rows, rounds };
}

/** The tightest bracket [largest m of class false, smallest m of class true] of a step function rising at t. */
function bracket(rows: StrategyRow[], cls: (r: StrategyRow) => boolean): [number, number] {
  const lo = Math.max(...rows.filter(r => !cls(r)).map(r => r.m as number));
  const hi = Math.min(...rows.filter(r => cls(r)).map(r => r.m as number));
  return [lo, hi];
}

test('a step at 0.37 on [0, 1] is bracketed to ≤ 0.02 within 14 points, whatever the batch size (1–6)', () => {
  for (let batch = 1; batch <= 6; batch++) {
    const propose = strategies.boundary({ result: 'engulfed', bounds: { m: [0, 1] } });
    const { rows } = drive(propose, p => ({ engulfed: (p.m as number) > 0.37 }), 14, batch);
    assert.ok(rows.length <= 14);
    const [lo, hi] = bracket(rows, r => r.engulfed as boolean);
    assert.ok(lo <= 0.37 && 0.37 < hi, `batch ${batch}: [${lo}, ${hi}] holds 0.37`);
    assert.ok(hi - lo <= 0.02, `batch ${batch}: width ${hi - lo} after ${rows.length} points`);
  }
});

test('1-D guarantee: n0 evenly spread points, then every round shrinks the bracket by batch + 1 (at least halves it)', () => {
  fc.assert(fc.property(fc.double({ min: 0.001, max: 0.999, noNaN: true }), fc.integer({ min: 2, max: 5 }), fc.integer({ min: 1, max: 5 }), (t, batch, r) => {
    const propose = strategies.boundary({ result: 'y', bounds: { m: [10, 20] }, tolerance: 1e-9 });
    const { rows, rounds } = drive(propose, p => ({ y: (p.m as number) - 10 > 10 * t }), batch * (r + 1), batch);
    // The first round: batch points evenly spread, both ends included.
    const first = [...rounds[0]!].sort((p, q) => p - q);
    first.forEach((m, i) => assert.ok(Math.abs(m - (10 + (10 * i) / (batch - 1))) < 1e-12));
    assert.equal(rounds.length, r + 1);
    const [lo, hi] = bracket(rows, row => row.y as boolean);
    assert.ok(lo <= 10 + 10 * t && 10 + 10 * t < hi);
    const promised = 10 / (batch - 1) / 2 ** r;
    assert.ok(hi - lo <= promised * (1 + 1e-9), `width ${hi - lo} > ${promised}`);
    assert.ok(hi - lo <= (10 / (batch - 1) / (batch + 1) ** r) * (1 + 1e-9));
  }), { numRuns: 200 });
});

test('log-scale bounds bisect geometrically; a numeric result splits at its threshold', () => {
  const propose = strategies.boundary({ result: 'final_radius', threshold: 1, bounds: { m: { lo: 0.1, hi: 10, scale: 'log' } } });
  const { rows } = drive(propose, p => ({ final_radius: (p.m as number) > 2 ? 1.5 : 0.5 }), 10, 1);
  assert.deepEqual(rows.slice(0, 2).map(r => r.m), [0.1, 10]);
  assert.ok(Math.abs((rows[2]!.m as number) - 1) < 1e-12, 'the geometric midpoint');
  const [lo, hi] = bracket(rows, r => (r.final_radius as number) > 1);
  assert.ok(lo <= 2 && 2 < hi);
  // 8 bisections of log(100): the ratio hi/lo is 100^(1/256).
  assert.ok(Math.abs(Math.log(hi / lo) - Math.log(100) / 256) < 1e-9, `ratio ${hi / lo}`);
});

test('a failure class on request: a result function sees failed runs, a result column skips them', () => {
  // Engulfed above 0.37, but runs above 0.8 crash: the function makes a crash "not engulfed".
  const outcome = (p: Record<string, unknown>) => {
    const m = p.m as number;
    return m > 0.8 ? { state: 'FAILED', exit_code: 1, engulfed: null } : { engulfed: m > 0.37 };
  };
  const withFailures = strategies.boundary({ result: row => row.state === 'COMPLETED' && row.engulfed, bounds: { m: [0, 1] }, tolerance: 0.01 });
  const a = drive(withFailures, outcome, 40, 2).rows;
  const cls = (r: StrategyRow) => r.state === 'COMPLETED' && r.engulfed === true;
  const sorted = [...a].sort((p, q) => (p.m as number) - (q.m as number));
  const flips = sorted.slice(1).map((r, i) => [sorted[i]!.m as number, r.m as number, cls(sorted[i]!) !== cls(r)] as const).filter(f => f[2]);
  assert.equal(flips.length, 2, 'two boundaries: 0.37 and the crash at 0.8');
  const [first, second] = flips as [readonly [number, number, boolean], readonly [number, number, boolean]];
  assert.ok(first[0] <= 0.37 && 0.37 < first[1] && first[1] - first[0] <= 0.01, `[${first[0]}, ${first[1]}]`);
  assert.ok(second[0] <= 0.8 && 0.8 < second[1] && second[1] - second[0] <= 0.01, `[${second[0]}, ${second[1]}]`);
  // By column, failed rows have no class: only the boundary at 0.37 is refined; the crash region is left alone.
  const byColumn = strategies.boundary({ result: 'engulfed', bounds: { m: [0, 1] }, tolerance: 0.01 });
  const b = drive(byColumn, outcome, 40, 2).rows;
  const [lo, hi] = bracket(b.filter(r => r.state === 'COMPLETED'), r => r.engulfed as boolean);
  assert.ok(lo <= 0.37 && 0.37 < hi && hi - lo <= 0.01);
  assert.ok(b.filter(r => (r.m as number) > 0.8).length <= 2, 'no refinement around the crashes');
});

test('stops once bracketed below the tolerance, and at neighbouring integers of an int parameter', () => {
  const cont = strategies.boundary({ result: 'y', bounds: { m: [0, 1] }, tolerance: 0.05 });
  const a = drive(cont, p => ({ y: (p.m as number) > 0.37 }), 1000, 3);
  assert.ok(a.rows.length < 20, `stopped after ${a.rows.length} points`);
  const [lo, hi] = bracket(a.rows, r => r.y as boolean);
  assert.ok(hi - lo <= 0.05);

  const int = strategies.boundary({ result: 'y', bounds: { m: { int: [1, 1000] } } });
  const b = drive(int, p => ({ y: (p.m as number) >= 371 }), 1000, 2);
  const [ilo, ihi] = bracket(b.rows, r => r.y as boolean);
  assert.deepEqual([ilo, ihi], [370, 371]);
  assert.ok(b.rows.every(r => Number.isInteger(r.m)));
  assert.ok(b.rows.length <= 2 + 2 * 10, `${b.rows.length} points`);
  assert.deepEqual(int({ rows: b.rows, round: 99, budgetLeft: 10, batch: 2 }), []);
});

test('rows: order does not matter; running and failed rows are never proposed again; budgetLeft caps the batch', () => {
  const propose = strategies.boundary({ result: 'y', bounds: { m: [0, 1] } });
  const rows: StrategyRow[] = [
    { state: 'COMPLETED', m: 0, y: false }, { state: 'COMPLETED', m: 1, y: true },
    { state: 'RUNNING', m: 0.5, y: null }, { state: 'FAILED', m: 0.25, y: null },
  ];
  const a = propose({ rows, round: 1, budgetLeft: 10, batch: 4 });
  assert.deepEqual(a, [{ m: 0.2 }, { m: 0.4 }, { m: 0.6 }, { m: 0.8 }]);
  assert.deepEqual(propose({ rows: [...rows].reverse(), round: 1, budgetLeft: 10, batch: 4 }), a);
  // Bisection wants 0.5, which is running: nothing else is worth proposing with one point.
  assert.deepEqual(propose({ rows, round: 1, budgetLeft: 10, batch: 1 }), []);
  // Quarters: 0.25 failed (no class, but its point is taken), 0.5 is running.
  assert.deepEqual(propose({ rows, round: 1, budgetLeft: 10, batch: 3 }), [{ m: 0.75 }]);
  assert.equal(propose({ rows, round: 1, budgetLeft: 2, batch: 4 }).length, 2);
  assert.deepEqual(propose({ rows, round: 1, budgetLeft: 0, batch: 4 }), []);
  // CSV cells read back as text count the same.
  const text = rows.map(r => ({ ...r, m: String(r.m), y: r.y === null ? '' : String(r.y) }));
  assert.deepEqual(propose({ rows: text, round: 1, budgetLeft: 10, batch: 4 }), a);
});

test('option and result errors name what is wrong', () => {
  const err = (re: RegExp) => (e: unknown) => e instanceof ConfigError && re.test(e.message);
  assert.throws(() => strategies.boundary({ result: 'y', bounds: { m: [1, 0] } }), err(/strategies\.boundary\.bounds\.m: lo \(1\) > hi/));
  assert.throws(() => strategies.boundary({ result: '', bounds: { m: [0, 1] } }), err(/strategies\.boundary\.result/));
  assert.throws(() => strategies.boundary({ result: 'y', bounds: { m: [0, 1] }, tolerance: 2 }), err(/strategies\.boundary\.tolerance/));
  assert.throws(() => strategies.boundary({ result: 'y', bounds: { m: [0, 1] }, bisect: true } as never), err(/strategies\.boundary\.bisect: unknown option/));
  const numeric = strategies.boundary({ result: 'y', bounds: { m: [0, 1] } });
  assert.throws(() => numeric({ rows: [{ state: 'COMPLETED', m: 0, y: 3.5 }], round: 1, budgetLeft: 5, batch: 1 }), err(/threshold: the result is a number \(3\.5\)/));
});

// ---------------------------------------------------------------------------------------------
// Two parameters: a disc of radius 0.3 around (0.5, 0.5).

const inside = (p: Record<string, unknown>) => Math.hypot((p.x as number) - 0.5, (p.y as number) - 0.5) < 0.3;

/** Share of a test grid that the nearest run classifies wrongly. */
function nnError(rows: StrategyRow[]): number {
  let wrong = 0, total = 0;
  for (let i = 0; i < 50; i++) for (let j = 0; j < 50; j++) {
    const q = { x: (i + 0.5) / 50, y: (j + 0.5) / 50 };
    let best = rows[0]!, bd = Infinity;
    for (const r of rows) {
      const d = ((r.x as number) - q.x) ** 2 + ((r.y as number) - q.y) ** 2;
      if (d < bd) { bd = d; best = r; }
    }
    wrong += Number((best.inside as boolean) !== inside(q));
    total++;
  }
  return wrong / total;
}

const fromCircle = (rows: StrategyRow[]) => rows.reduce((s, r) => s + Math.abs(Math.hypot((r.x as number) - 0.5, (r.y as number) - 0.5) - 0.3), 0) / rows.length;

test('2-D: proposals follow the boundary of a disc; nearest-run classification beats Sobol points of the same budget', () => {
  const budget = 128;
  let ours = 0, theirs = 0;
  for (const seed of [1, 2, 3]) {
    const propose = strategies.boundary({ result: 'inside', bounds: { x: [0, 1], y: [0, 1] }, seed });
    const rows: StrategyRow[] = [];
    for (let round = 0; rows.length < budget; round++) {
      const points = propose({ rows, round, budgetLeft: budget - rows.length, batch: 8 });
      assert.ok(points.length > 0);
      for (const p of points) rows.push({ state: 'COMPLETED', ...p, inside: inside(p) });
    }
    const sobol = sample({ type: 'sobol', bounds: { x: [0, 1], y: [0, 1] }, budget, seed }).map(p => ({ ...p, inside: inside(p) }));
    assert.ok(fromCircle(rows.slice(64)) < fromCircle(sobol) / 2, `seed ${seed}: later points lie ${fromCircle(rows.slice(64))} from the circle on average, Sobol points ${fromCircle(sobol)}`);
    const [a, b] = [nnError(rows), nnError(sobol)];
    assert.ok(a < b, `seed ${seed}: misclassified ${a} vs Sobol ${b}`);
    ours += a;
    theirs += b;
  }
  assert.ok(ours < 0.75 * theirs, `mean misclassified ${ours / 3} vs Sobol ${theirs / 3}`);
});

test('2-D: a batch is spread along the boundary, never repeating a run or itself', () => {
  const propose = strategies.boundary({ result: 'inside', bounds: { x: [0, 1], y: [0, 1] }, seed: 4 });
  const rows: StrategyRow[] = sample({ type: 'sobol', bounds: { x: [0, 1], y: [0, 1] }, budget: 32, seed: 4 }).map(p => ({ state: 'COMPLETED', ...p, inside: inside(p) }));
  const batch = propose({ rows, round: 1, budgetLeft: 100, batch: 6 });
  assert.equal(batch.length, 6);
  const keys = new Set([...rows, ...batch].map(p => `${p.x},${p.y}`));
  assert.equal(keys.size, rows.length + batch.length);
  let minGap = Infinity;
  for (let i = 0; i < batch.length; i++) for (let j = 0; j < i; j++) minGap = Math.min(minGap, Math.hypot((batch[i]!.x as number) - (batch[j]!.x as number), (batch[i]!.y as number) - (batch[j]!.y as number)));
  assert.ok(minGap > 0.05, `closest two proposals ${minGap} apart`);
  // No boundary seen yet (all outside): space filling, farthest from the runs first.
  const allOut = rows.map(r => ({ ...r, inside: false }));
  const fill = propose({ rows: allOut, round: 1, budgetLeft: 10, batch: 4 });
  assert.equal(fill.length, 4);
});
