// A Gaussian-process surrogate: inputs in the unit cube, outputs standardised, an anisotropic
// Matérn-5/2 (or RBF) kernel with a signal variance and a noise term, hyperparameters by maximising
// the log marginal likelihood (Nelder–Mead over log-hyperparameters from a few fixed starts).
// Cholesky factorisations and solves are ml-matrix's.
import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { nelderMead } from './nelder-mead.ts';

export type Kernel = 'matern52' | 'rbf';

export interface GpHyper {
  /** Per-input length scales, in unit-cube coordinates. */
  lengthScales: number[];
  /** Signal and noise variances, in standardised output units. */
  signal: number;
  noise: number;
}

/** Predictions at a set of points, in standardised output units (latent: without the noise). */
export interface Posterior {
  mean: Float64Array;
  variance: Float64Array;
  /** Posterior covariance of points i and j of the set. */
  covariance(i: number, j: number): number;
}

export interface Gp {
  hyper: GpHyper;
  /** Output scale: a standardised value v is v · sd + mean in result units. */
  y: { mean: number; sd: number };
  posterior(points: readonly (readonly number[])[]): Posterior;
  /** Mean and variance in result units. */
  predict(points: readonly (readonly number[])[]): { mean: number[]; variance: number[] };
}

export interface FitOptions {
  kernel?: Kernel;
  /** Hyperparameters are fitted on at most this many rows (evenly spread through the given order). */
  maxFit?: number;
}

// Box of the log-hyperparameters (unit-cube inputs, standardised outputs).
const LOG_LENGTH: [number, number] = [Math.log(0.02), Math.log(20)];
const LOG_SIGNAL: [number, number] = [Math.log(0.05), Math.log(20)];
const LOG_NOISE: [number, number] = [Math.log(1e-8), Math.log(1)];
const JITTER = 1e-10;

/** Fits a GP to points X (unit cube) and values y (any finite numbers). Needs at least one point. */
export function fitGp(X: readonly (readonly number[])[], y: readonly number[], o: FitOptions = {}): Gp {
  if (X.length === 0 || X.length !== y.length) throw new RangeError('fitGp: need as many values as points, at least one');
  const kernel = o.kernel ?? 'matern52';
  const mean = y.reduce((s, v) => s + v, 0) / y.length;
  const sd = Math.sqrt(y.reduce((s, v) => s + (v - mean) ** 2, 0) / y.length) || 1;
  const ys = y.map(v => (v - mean) / sd);
  const hyper = fitHyper(X, ys, kernel, o.maxFit ?? 120);
  let chol = new CholeskyDecomposition(covariance(X, hyper, kernel));
  // Fitted on a subset, the noise may be too small for all rows (repeated points): raise it until K factors.
  while (!chol.isPositiveDefinite() && hyper.noise < 1) {
    hyper.noise *= 10;
    chol = new CholeskyDecomposition(covariance(X, hyper, kernel));
  }
  const alpha = chol.solve(Matrix.columnVector(ys)).getColumn(0);
  const posterior = (P: readonly (readonly number[])[]): Posterior => {
    const cross = new Matrix(X.length, P.length);
    for (let i = 0; i < X.length; i++) for (let j = 0; j < P.length; j++) cross.set(i, j, k(X[i]!, P[j]!, hyper, kernel));
    const w = chol.solve(cross); // K⁻¹ k(X, p) for every p
    const m = new Float64Array(P.length), v = new Float64Array(P.length);
    for (let j = 0; j < P.length; j++) {
      let mj = 0, vj = 0;
      for (let i = 0; i < X.length; i++) { mj += cross.get(i, j) * alpha[i]!; vj += cross.get(i, j) * w.get(i, j); }
      m[j] = mj;
      v[j] = Math.max(0, hyper.signal - vj);
    }
    const covariance = (i: number, j: number) => {
      let s = k(P[i]!, P[j]!, hyper, kernel);
      for (let r = 0; r < X.length; r++) s -= cross.get(r, i) * w.get(r, j);
      return s;
    };
    return { mean: m, variance: v, covariance };
  };
  const predict = (P: readonly (readonly number[])[]) => {
    const p = posterior(P);
    return { mean: Array.from(p.mean, x => x * sd + mean), variance: Array.from(p.variance, x => x * sd * sd) };
  };
  return { hyper, y: { mean, sd }, posterior, predict };
}

/** The kernel between two points. */
function k(a: readonly number[], b: readonly number[], h: GpHyper, kernel: Kernel): number {
  let r2 = 0;
  for (let d = 0; d < a.length; d++) r2 += ((a[d]! - b[d]!) / h.lengthScales[d]!) ** 2;
  if (kernel === 'rbf') return h.signal * Math.exp(-r2 / 2);
  const r = Math.sqrt(5 * r2);
  return h.signal * (1 + r + (r * r) / 3) * Math.exp(-r);
}

/** K + (noise + jitter)·I, exactly symmetric (ml-matrix's Cholesky checks symmetry exactly). */
function covariance(X: readonly (readonly number[])[], h: GpHyper, kernel: Kernel): Matrix {
  const n = X.length;
  const K = new Matrix(n, n);
  for (let i = 0; i < n; i++) {
    K.set(i, i, h.signal + h.noise + JITTER);
    for (let j = 0; j < i; j++) {
      const v = k(X[i]!, X[j]!, h, kernel);
      K.set(i, j, v);
      K.set(j, i, v);
    }
  }
  return K;
}

/** Minus the log marginal likelihood of standardised values (Infinity if K is not positive definite). */
export function negLogLikelihood(X: readonly (readonly number[])[], ys: readonly number[], h: GpHyper, kernel: Kernel): number {
  const chol = new CholeskyDecomposition(covariance(X, h, kernel));
  if (!chol.isPositiveDefinite()) return Infinity;
  const alpha = chol.solve(Matrix.columnVector(ys as number[])).getColumn(0);
  const L = chol.lowerTriangularMatrix;
  let fit = 0, logDet = 0;
  for (let i = 0; i < ys.length; i++) { fit += ys[i]! * alpha[i]!; logDet += Math.log(L.get(i, i)); }
  return 0.5 * fit + logDet + 0.5 * ys.length * Math.log(2 * Math.PI);
}

const clamp = (x: number, [lo, hi]: [number, number]) => Math.min(hi, Math.max(lo, x));

function unpack(theta: readonly number[], dims: number): GpHyper {
  return {
    lengthScales: theta.slice(0, dims).map(t => Math.exp(clamp(t, LOG_LENGTH))),
    signal: Math.exp(clamp(theta[dims]!, LOG_SIGNAL)),
    noise: Math.exp(clamp(theta[dims + 1]!, LOG_NOISE)),
  };
}

/** Distance of θ outside its box, squared: keeps the simplex from wandering where f is flat. */
function outside(theta: readonly number[], dims: number): number {
  const box = (i: number) => (i < dims ? LOG_LENGTH : i === dims ? LOG_SIGNAL : LOG_NOISE);
  return theta.reduce((s, t, i) => s + (t - clamp(t, box(i))) ** 2, 0);
}

/** Maximum likelihood from three fixed starts (short, medium, long length scales); the best wins. */
function fitHyper(X: readonly (readonly number[])[], ys: readonly number[], kernel: Kernel, maxFit: number): GpHyper {
  const dims = X[0]!.length;
  const idx = X.length <= maxFit ? X.map((_, i) => i) : Array.from({ length: maxFit }, (_, i) => Math.floor((i * X.length) / maxFit));
  const Xf = idx.map(i => X[i]!), yf = idx.map(i => ys[i]!);
  const f = (theta: number[]) => negLogLikelihood(Xf, yf, unpack(theta, dims), kernel) + 1e3 * outside(theta, dims);
  let best: { x: number[]; fx: number } | null = null;
  for (const [len, noise] of [[0.2, 1e-4], [0.5, 1e-3], [1.5, 1e-2]] as const) {
    const start = [...Array<number>(dims).fill(Math.log(len)), 0, Math.log(noise)];
    const r = nelderMead(f, start, { step: 1, maxEvaluations: 150 * (dims + 2) });
    if (best === null || r.fx < best.fx) best = r;
  }
  return unpack(best!.x, dims);
}
