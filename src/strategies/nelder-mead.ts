// A small Nelder–Mead minimiser (no derivatives): enough for the handful of GP log-hyperparameters.
// No maintained L-BFGS exists for JavaScript (the npm packages are unmaintained or wrap a whole
// numerics library), and the marginal likelihood is cheap next to a cluster run. Deterministic:
// the same start and function give the same path.

export interface MinimiseOptions {
  /** Initial simplex: the start plus `step` along each axis. */
  step?: number;
  maxEvaluations?: number;
  /** Stop when the function values of the simplex differ by less than this. */
  tolerance?: number;
}

/** The point of smallest f found from `start`, and its value. */
export function nelderMead(f: (x: number[]) => number, start: readonly number[], o: MinimiseOptions = {}): { x: number[]; fx: number } {
  const n = start.length;
  const step = o.step ?? 1;
  const maxEval = o.maxEvaluations ?? 200 * n;
  const tol = o.tolerance ?? 1e-7;
  let evals = 0;
  const value = (x: number[]) => { evals++; const v = f(x); return Number.isNaN(v) ? Infinity : v; };
  const simplex = [start.slice()].concat(Array.from({ length: n }, (_, i) => start.map((x, j) => (i === j ? x + step : x))));
  const fs = simplex.map(value);
  const along = (c: number[], x: number[], t: number) => c.map((ci, i) => ci + t * (x[i]! - ci));
  while (evals < maxEval) {
    const order = fs.map((_, i) => i).sort((a, b) => fs[a]! - fs[b]! || a - b);
    const sorted = order.map(i => simplex[i]!), sortedF = order.map(i => fs[i]!);
    simplex.splice(0, n + 1, ...sorted);
    fs.splice(0, n + 1, ...sortedF);
    if (Math.abs(fs[n]! - fs[0]!) <= tol * (1 + Math.abs(fs[0]!))) break;
    const centroid = Array.from({ length: n }, (_, j) => simplex.slice(0, n).reduce((s, x) => s + x[j]!, 0) / n);
    const worst = simplex[n]!;
    const reflected = along(centroid, worst, -1), fr = value(reflected);
    if (fr < fs[0]!) {
      const expanded = along(centroid, worst, -2), fe = value(expanded);
      [simplex[n], fs[n]] = fe < fr ? [expanded, fe] : [reflected, fr];
    } else if (fr < fs[n - 1]!) {
      [simplex[n], fs[n]] = [reflected, fr];
    } else {
      const contracted = fr < fs[n]! ? along(centroid, worst, -0.5) : along(centroid, worst, 0.5);
      const fc = value(contracted);
      if (fc < Math.min(fr, fs[n]!)) {
        [simplex[n], fs[n]] = [contracted, fc];
      } else {
        for (let i = 1; i <= n; i++) {
          simplex[i] = along(simplex[0]!, simplex[i]!, 0.5);
          fs[i] = value(simplex[i]!);
        }
      }
    }
  }
  let best = 0;
  fs.forEach((v, i) => { if (v < fs[best]!) best = i; });
  return { x: simplex[best]!, fx: fs[best]! };
}
