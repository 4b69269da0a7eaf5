// What the report page gets: the sweep's dataset (the same rows `rx dataset` writes) turned into
// columns with types, the varied parameters with their axes, the state map's layout (grid or
// scatter), the numeric results and, with --rows, the tracks. Pure: the page only draws.
import type { Dataset } from '../results/dataset.ts';
import type { Track } from './tracks.ts';

export type ValueType = 'number' | 'boolean' | 'string' | 'mixed' | 'empty';

/** A column's type from its values: null/undefined are no value; NaN and ±Infinity count as numbers. */
export function columnType(values: readonly unknown[]): ValueType {
  let t: ValueType = 'empty';
  for (const v of values) {
    if (v === null || v === undefined) continue;
    const k = typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'boolean' : 'string';
    if (t === 'empty') t = k;
    else if (t !== k) return 'mixed';
  }
  return t;
}

/** How a value reads on the page (lists and objects as JSON). */
export function valueText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export interface VariedParam {
  name: string;
  type: ValueType;
  /** category: placed by level; linear/log: by value (numbers only). */
  scale: 'category' | 'linear' | 'log';
  /** Distinct values as text, in axis order (numbers ascending, anything else in order of first appearance). */
  labels: string[];
  /** Per run, its value's index in `labels` (-1: no value). */
  codes: number[];
}

/** More levels than this and a parameter is drawn by value (a sampled sweep), not as grid cells. */
export const GRID_MAX_LEVELS = 60;

/** The parameters that take more than one value over the runs, with their levels. */
export function variedParams(names: string[], values: (name: string) => readonly unknown[]): VariedParam[] {
  const out: VariedParam[] = [];
  for (const name of names) {
    const vals = values(name);
    const texts = vals.map(valueText);
    const distinct = [...new Set(texts.filter((_, i) => vals[i] !== null && vals[i] !== undefined))];
    if (distinct.length < 2) continue;
    const type = columnType(vals);
    if (type === 'number') distinct.sort((a, b) => Number(a) - Number(b));
    const index = new Map(distinct.map((t, i) => [t, i]));
    const codes = vals.map((v, i) => (v === null || v === undefined ? -1 : index.get(texts[i]!)!));
    out.push({ name, type, scale: axisScale(type, vals, distinct.length), labels: distinct, codes });
  }
  return out;
}

/** Numbers with many levels by value (log when positive over three decades or more); the rest as categories. */
export function axisScale(type: ValueType, vals: readonly unknown[], levels: number): VariedParam['scale'] {
  if (type !== 'number' || levels <= GRID_MAX_LEVELS) return 'category';
  return valueScale(vals);
}

/** Numbers by value: log when all positive over three decades or more, else linear. */
export function valueScale(vals: readonly unknown[]): 'linear' | 'log' {
  const nums = vals.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const min = Math.min(...nums), max = Math.max(...nums);
  return min > 0 && max / min >= 1000 ? 'log' : 'linear';
}

export interface MapLayout {
  /** grid: a heat map of cells (runs sharing a cell split it); scatter: one dot per run at its values. */
  kind: 'grid' | 'scatter';
  /** The varied parameter on each axis; null: the run number (key). */
  x: string | null;
  y: string | null;
}

/** A grid has at most this many levels per parameter (beyond, cells would be under a pixel wide). */
export const GRID_MAX_CELLS_PER_AXIS = 1000;

/**
 * Grid when the runs fill at least half of the cartesian product of the varied parameters' levels
 * (a grid sweep, maybe with repeats or some points missing) — for a single parameter, only when it
 * has few levels (≤ GRID_MAX_LEVELS) — otherwise scatter (random, Latin hypercube, Sobol samples,
 * explicit point lists: n samples of two parameters fill about 1/n of their n × n levels). The
 * first two varied parameters (in the sweep's order) are the grid's axes; further ones split its
 * cells. A scatter puts the numeric parameters with most values on the axes.
 */
export function detectLayout(varied: VariedParam[], runs: number): MapLayout {
  if (varied.length === 0) return { kind: 'grid', x: null, y: null };
  const product = varied.reduce((p, v) => p * v.labels.length, 1);
  const combos = new Set<string>();
  for (let i = 0; i < runs; i++) combos.add(varied.map(v => v.codes[i]).join(','));
  const small = varied.every(v => v.labels.length <= GRID_MAX_CELLS_PER_AXIS) && (varied.length > 1 || varied[0]!.labels.length <= GRID_MAX_LEVELS);
  if (small && combos.size >= product / 2) return { kind: 'grid', x: varied[0]!.name, y: varied[1]?.name ?? null };
  // Sampled (many-valued) numbers first, then fewer-valued ones, then the rest; stable otherwise.
  const axes = [...varied.filter(v => v.type === 'number').sort((a, b) => b.labels.length - a.labels.length), ...varied.filter(v => v.type !== 'number')];
  return { kind: 'scatter', x: axes[0]!.name, y: axes[1]?.name ?? null };
}

/** Result columns a plot can show: numbers (a non-number here and there is skipped), at least one finite. */
export function numericResults(table: Dataset): string[] {
  return table.columns.filter(c => {
    if (table.kinds[c] !== 'result') return false;
    let finite = false;
    for (const r of table.rows) {
      const v = r[c];
      if (typeof v === 'number' && Number.isFinite(v)) finite = true;
    }
    return finite;
  });
}

export interface ReportMeta {
  sweep: string;
  base: string | null;
  branch: string | null;
  remote: string | null;
  made: string;
  rx: string;
  runs: number;
  counts: [string, number][];
}

export interface ReportTracks {
  file: string;
  x: string;
  y: string;
  /** Points kept per run at most, and how many runs were cut down to it. */
  limit: number;
  downsampled: number;
  /** Runs without the table. */
  missing: number;
  runs: Track[];
}

export interface ReportData {
  meta: ReportMeta;
  /** The columns the page shows, and per column one value per run (non-finite numbers as text). */
  columns: { name: string; kind: string; type: ValueType }[];
  data: unknown[][];
  /** The scheduler's reason per run (why pending, why failed), or null. */
  reasons: (string | null)[];
  varied: VariedParam[];
  /** Parameters with one value over all runs. */
  fixed: [string, string][];
  layout: MapLayout;
  results: string[];
  tracks?: ReportTracks;
}

/** Provenance the page leaves out of the table: the same for every run, so shown once in the header. */
const IN_HEADER = new Set(['sweep', 'base']);

/** Counts per state, most frequent first. */
export function stateCounts(states: readonly unknown[]): [string, number][] {
  const m = new Map<string, number>();
  for (const s of states) m.set(String(s), (m.get(String(s)) ?? 0) + 1);
  return [...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** The page's data from a sweep's dataset (rows in point order), its reasons and tracks. */
export function shapeReport(table: Dataset, meta: Omit<ReportMeta, 'runs' | 'counts'>, reasons: (string | null)[], tracks?: ReportTracks): ReportData {
  const col = (name: string) => table.rows.map(r => r[name]);
  const params = table.columns.filter(c => table.kinds[c] === 'param');
  const varied = variedParams(params, col);
  const isVaried = new Set(varied.map(v => v.name));
  const fixed = params.filter(p => !isVaried.has(p)).map(p => [p, valueText(table.rows.find(r => r[p] !== null && r[p] !== undefined)?.[p])] as [string, string]);
  const shown = table.columns.filter(c => !IN_HEADER.has(c) && (table.kinds[c] !== 'param' || isVaried.has(c)));
  const layout = detectLayout(varied, table.rows.length);
  // A grid is drawn by level everywhere (cells, and results against levels), a sampled sweep by value.
  for (const v of varied) v.scale = layout.kind === 'grid' || v.type !== 'number' ? 'category' : valueScale(col(v.name));
  const jsonSafe = (v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v === undefined ? null : v);
  return {
    meta: { ...meta, runs: table.rows.length, counts: stateCounts(col('state')) },
    columns: shown.map(name => ({ name, kind: table.kinds[name]!, type: columnType(col(name)) })),
    data: shown.map(name => table.rows.map(r => jsonSafe(r[name]))),
    reasons,
    varied,
    fixed,
    layout,
    results: numericResults(table),
    tracks,
  };
}
