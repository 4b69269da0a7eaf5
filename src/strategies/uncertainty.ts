// strategies.uncertainty: active learning for a surrogate database. A GP is fitted to the finished
// runs and the batch is taken from a seeded Sobol candidate pool, largest predictive variance
// first; after each pick the variances are updated as if that point had been observed (they do not
// depend on its value), so a batch spreads out instead of piling up where the GP knows least.
import type { Bound } from '../sweep/samplers.ts';
import { finiteNumber, makeDomain } from './domain.ts';
import { fitGp, type Kernel, type Posterior } from './gp.ts';
import { checkOptions, checkResult, optionalInt, optionalNumber } from './options.ts';
import { candidatePool, spaceFill } from './pool.ts';
import { Batch, slots, type Propose, type ResultSpec } from './propose.ts';
import { observe } from './rows.ts';
import { ConfigError } from '../errors.ts';

export interface UncertaintyOptions {
  /** A numeric result column (read from COMPLETED rows) or a function of a row (null/undefined skips it). */
  result: ResultSpec;
  /** The parameters to vary, as a sampler's bounds (at most 32). */
  bounds: Record<string, Bound>;
  /** Size of the Sobol candidate pool the points are chosen from. Default 1024. */
  candidates?: number;
  /** Seed of the candidate pool. Default 0. */
  seed?: number;
  /** Default 'matern52'. */
  kernel?: Kernel;
  /** Runs with a result needed before the GP is used; until then the pool is filled space-first. Default 2·parameters + 2. */
  initial?: number;
  /** Stop once the largest predictive standard deviation (result units) is below this. Default 0 (never). */
  tolerance?: number;
}

const WHERE = 'strategies.uncertainty';
const KEYS = ['result', 'bounds', 'candidates', 'seed', 'kernel', 'initial', 'tolerance'];

export function uncertainty(options: UncertaintyOptions): Propose {
  const raw = checkOptions(options, KEYS, WHERE, "{ result: 'log_L', bounds: { mass: { lo: 0.5, hi: 20, scale: 'log' } } }");
  const result = checkResult(raw.result, WHERE);
  const domain = makeDomain(raw.bounds, WHERE, 'sobol');
  const candidates = optionalInt(raw.candidates, `${WHERE}.candidates`, 1, 1 << 16) ?? 1024;
  const seed = optionalInt(raw.seed, `${WHERE}.seed`, 0) ?? 0;
  const initial = optionalInt(raw.initial, `${WHERE}.initial`, 1) ?? 2 * domain.names.length + 2;
  const tolerance = optionalNumber(raw.tolerance, `${WHERE}.tolerance`, x => x >= 0, 'a non-negative number') ?? 0;
  if (raw.kernel !== undefined && raw.kernel !== 'matern52' && raw.kernel !== 'rbf') throw new ConfigError(`${WHERE}.kernel: expected 'matern52' or 'rbf', got ${String(raw.kernel)}`);
  const kernel = (raw.kernel ?? 'matern52') as Kernel;
  const pool = candidatePool(domain, seed, candidates);
  return ctx => {
    const size = slots(ctx, WHERE);
    if (size === 0) return [];
    const { taken, seen } = observe(ctx.rows, domain, result, finiteNumber);
    const batch = new Batch(domain, taken, size);
    const free = pool.filter(p => !taken.has(domain.key(p)));
    if (seen.length < initial) {
      spaceFill(batch, domain, free, seen.map(s => s.u));
      return batch.points;
    }
    const gp = fitGp(seen.map(s => s.u), seen.map(s => s.value), { kernel });
    const units = free.map(p => domain.toUnit(p)!);
    const minVariance = (tolerance / gp.y.sd) ** 2;
    for (const i of largestVariance(gp.posterior(units), gp.hyper.noise, size, minVariance)) batch.offer(units[i]!);
    return batch.points;
  };
}

/**
 * Up to `count` candidates, each of largest variance given the runs and the candidates picked
 * before it (sequential conditioning: a rank-one update of every variance per pick, with the
 * noise of an observation). Stops early when no variance is above `minVariance`.
 */
export function largestVariance(post: Posterior, noise: number, count: number, minVariance: number): number[] {
  const m = post.variance.length;
  const variance = Float64Array.from(post.variance);
  const factors: Float64Array[] = []; // factors[s][i]: covariance of i with pick s given the picks before s, over √(its variance + noise)
  const picks: number[] = [];
  while (picks.length < count) {
    let best = -1;
    for (let i = 0; i < m; i++) if (variance[i]! > minVariance && !picks.includes(i) && (best < 0 || variance[i]! > variance[best]!)) best = i;
    if (best < 0) break;
    const scale = Math.sqrt(variance[best]! + noise);
    const f = new Float64Array(m);
    for (let i = 0; i < m; i++) {
      let c = post.covariance(i, best);
      for (const g of factors) c -= g[i]! * g[best]!;
      f[i] = c / scale;
      variance[i] = Math.max(0, variance[i]! - f[i]! * f[i]!);
    }
    factors.push(f);
    picks.push(best);
  }
  return picks;
}
