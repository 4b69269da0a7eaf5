// Tracks for the report: the x/y columns of one table output per run (e.g. star_age and log_L of
// LOGS/history.data), downsampled so that 10,000 runs × thousands of rows stay a page a browser
// draws at once. Pure.
import { ConfigError } from '../errors.ts';
import type { RunTable } from '../results/long-rows.ts';

/** Total points the page holds across all tracks; each run gets an equal share, within PER_RUN. */
export const TRACK_BUDGET = 200_000;
export const PER_RUN = { min: 25, max: 4000 } as const;

/** Points kept per run for `runs` tracks. */
export function perRunLimit(runs: number): number {
  return Math.max(PER_RUN.min, Math.min(PER_RUN.max, Math.floor(TRACK_BUDGET / Math.max(1, runs))));
}

/** The track columns: the ones asked for (must exist), else the first two numeric columns. */
export function trackColumns(t: Pick<RunTable, 'names' | 'columns'>, x?: string, y?: string): { x: string; y: string } {
  const numeric = t.names.filter(n => isNumericColumn(t.columns[n]!));
  for (const [flag, c] of [['--x', x], ['--y', y]] as const) {
    if (c !== undefined && !t.names.includes(c)) {
      throw new ConfigError(`${flag} ${c}: no such column in the table`, { hint: `Columns: ${t.names.slice(0, 30).join(', ')}${t.names.length > 30 ? ', …' : ''}` });
    }
  }
  const rest = numeric.filter(n => n !== x && n !== y);
  const cx = x ?? rest.shift();
  const cy = y ?? rest.shift();
  if (cx === undefined || cy === undefined) throw new ConfigError('the table has fewer than two numeric columns to draw tracks from', { hint: 'Name them with --x and --y.' });
  return { x: cx, y: cy };
}

function isNumericColumn(c: ArrayLike<unknown>): boolean {
  if (c instanceof Float64Array) return true;
  let seen = false;
  for (let i = 0; i < c.length; i++) {
    const v = c[i];
    if (v === null || v === undefined) continue;
    if (typeof v !== 'number') return false;
    seen = true;
  }
  return seen;
}

/**
 * Largest-Triangle-Three-Buckets (Steinarsson 2013): keeps the first and last point and, per bucket,
 * the point that spans the largest triangle with its neighbours — the shape of a track (turn-offs,
 * loops of an HR diagram) survives where taking every k-th row would cut corners. Points whose x or
 * y is not finite are dropped first. Returns indices into the input, increasing.
 */
export function lttb(xs: ArrayLike<number>, ys: ArrayLike<number>, limit: number): number[] {
  const idx: number[] = [];
  for (let i = 0; i < xs.length; i++) if (Number.isFinite(xs[i]) && Number.isFinite(ys[i])) idx.push(i);
  if (limit >= idx.length || limit < 3) return limit < 3 ? idx.slice(0, Math.max(0, limit)) : idx;
  const out = [idx[0]!];
  const every = (idx.length - 2) / (limit - 2);
  let a = 0; // position in idx of the last point kept
  for (let b = 0; b < limit - 2; b++) {
    const start = Math.floor(b * every) + 1;
    const end = Math.min(Math.floor((b + 1) * every) + 1, idx.length - 1);
    // The next bucket's mean is the third corner of the triangle.
    const nStart = end;
    const nEnd = Math.max(nStart + 1, Math.min(Math.floor((b + 2) * every) + 1, idx.length));
    let mx = 0, my = 0;
    for (let j = nStart; j < nEnd; j++) { mx += xs[idx[j]!]!; my += ys[idx[j]!]!; }
    const n = Math.max(1, nEnd - nStart);
    mx /= n; my /= n;
    const ax = xs[idx[a]!]!, ay = ys[idx[a]!]!;
    let best = start, area = -1;
    for (let j = start; j < end; j++) {
      const x = xs[idx[j]!]!, y = ys[idx[j]!]!;
      const s = Math.abs((ax - mx) * (y - ay) - (ax - x) * (my - ay));
      if (s > area) { area = s; best = j; }
    }
    out.push(idx[best]!);
    a = best;
  }
  out.push(idx[idx.length - 1]!);
  return out;
}

/** Six significant digits: what a plot can show, at a third of the JSON size of full doubles. */
export function short(v: number): number {
  return Number(v.toPrecision(6));
}

export interface Track {
  /** Row of the run in the report's table. */
  run: number;
  xs: number[];
  ys: number[];
  /** Rows of the run's table before downsampling. */
  rows: number;
}

/** One run's track: its x/y columns, downsampled to `limit` points. */
export function trackOf(run: number, t: RunTable, cols: { x: string; y: string }, limit: number): Track | undefined {
  const x = t.columns[cols.x], y = t.columns[cols.y];
  if (!x || !y) return undefined;
  const num = (c: ArrayLike<unknown>) => (c instanceof Float64Array ? c : Float64Array.from({ length: c.length }, (_, i) => (typeof c[i] === 'number' ? (c[i] as number) : NaN)));
  const xs = num(x), ys = num(y);
  const keep = lttb(xs, ys, limit);
  return { run, xs: keep.map(i => short(xs[i]!)), ys: keep.map(i => short(ys[i]!)), rows: t.length };
}
