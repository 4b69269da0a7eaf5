// Per-run reduction of a parsed output file into a few result values (the dataset's columns).
// Built-in reducers work on tables (MESA history/profile, CSV/TSV); anything else is flattened.
import { ConfigError } from '../errors.ts';
import { uniqueName } from './columns.ts';
import { MesaData } from '../../parsers/mesa-data.ts';
import type { CsvTable } from '../../parsers/csv.ts';

export type Op = '<' | '<=' | '>' | '>=' | '==' | '!=';

/** A built-in reducer as data (usable from YAML), or a list of them (results merged). */
export type Reducer =
  | 'last'
  | { last: string[] }
  | { max: string[] }
  | { min: string[] }
  | { at: { where: string; columns: string[] } }
  | Reducer[];

export type ReduceFn = (parsed: unknown, ctx: { params: Record<string, unknown>; file: string }) => Record<string, unknown> | Promise<Record<string, unknown>>;

/** A table view over the parsers' results. */
interface Table {
  names: string[];
  length: number;
  value(row: number, col: string): unknown;
}

function asTable(parsed: unknown, file: string): Table | null {
  if (parsed instanceof MesaData) {
    return { names: parsed.names, length: parsed.length, value: (r, c) => parsed.column(c)[r] };
  }
  const t = parsed as CsvTable;
  if (t && Array.isArray(t.names) && Array.isArray(t.rows)) {
    return {
      names: t.names, length: t.rows.length,
      value: (r, c) => {
        if (!t.names.includes(c)) throw new Error(`${file}: no column '${c}' (columns: ${t.names.slice(0, 12).join(', ')}${t.names.length > 12 ? ', …' : ''})`);
        return t.rows[r]![c];
      },
    };
  }
  return null;
}

const WHERE = /^\s*([A-Za-z_][\w.()%-]*)\s*(<=|>=|==|!=|<|>)\s*(\S+)\s*$/;

export function parseWhere(s: string, where: string): { column: string; op: Op; value: number } {
  const m = WHERE.exec(s);
  const value = m ? Number(m[3]) : NaN;
  if (!m || !Number.isFinite(value)) throw new ConfigError(`${where}: expected '<column> <op> <number>' with op one of < <= > >= == !=, got ${JSON.stringify(s)}`);
  return { column: m[1]!, op: m[2] as Op, value };
}

const test = (a: number, op: Op, b: number) => (op === '<' ? a < b : op === '<=' ? a <= b : op === '>' ? a > b : op === '>=' ? a >= b : op === '==' ? a === b : a !== b);

/** Checks a reducer's shape (before anything runs), naming `where`. */
export function validateReducer(r: unknown, where: string): Reducer {
  if (r === 'last') return r;
  if (Array.isArray(r)) return r.map((x, i) => validateReducer(x, `${where}[${i}]`)) as Reducer;
  if (r && typeof r === 'object') {
    const keys = Object.keys(r);
    const k = keys[0];
    if (keys.length === 1 && (k === 'last' || k === 'max' || k === 'min')) {
      const cols = (r as Record<string, unknown>)[k];
      if (Array.isArray(cols) && cols.length && cols.every(c => typeof c === 'string')) return r as Reducer;
      throw new ConfigError(`${where}.${k}: expected a list of column names`);
    }
    if (keys.length === 1 && k === 'at') {
      const at = (r as { at: { where?: unknown; columns?: unknown } }).at;
      if (!at || typeof at.where !== 'string') throw new ConfigError(`${where}.at.where: expected a condition like 'center_h1 < 1e-4'`);
      parseWhere(at.where, `${where}.at.where`);
      if (!Array.isArray(at.columns) || !at.columns.every(c => typeof c === 'string')) throw new ConfigError(`${where}.at.columns: expected a list of column names`);
      return r as Reducer;
    }
  }
  throw new ConfigError(`${where}: unknown reducer ${JSON.stringify(r)}`, { hint: "Use 'last', { last: [cols] }, { max: [cols] }, { min: [cols] }, { at: { where: 'col < 1', columns: [cols] } }, a list of these, or a function." });
}

// Only numbers count: an empty CSV cell (null), a string or a boolean is no value, never 0 or 1.
const num = (v: unknown) => (typeof v === 'number' ? v : NaN);

/** Applies a built-in reducer. Result names: `col` (last), `col_max`, `col_min`, `col_at`. */
export function applyReducer(r: Reducer, parsed: unknown, file: string): Record<string, unknown> {
  if (Array.isArray(r)) {
    const out: Record<string, unknown> = {};
    for (const part of r.map(x => applyReducer(x, parsed, file))) {
      // e.g. { last: ['x'] } twice: nothing hides another.
      for (const [k, v] of Object.entries(part)) out[uniqueName(k, out)] = v;
    }
    return out;
  }
  const t = asTable(parsed, file);
  if (!t) throw new Error(`${file}: the built-in reducers need a table (mesaHistory, mesaProfile, csv, tsv); this parser gave ${typeof parsed}`);
  const out: Record<string, unknown> = {};
  if (r === 'last') {
    for (const c of t.names) out[c] = t.length ? t.value(t.length - 1, c) : null;
  } else if ('last' in r) {
    for (const c of r.last) out[c] = t.length ? t.value(t.length - 1, c) : null;
  } else if ('max' in r || 'min' in r) {
    const isMax = 'max' in r;
    for (const c of isMax ? r.max : r.min) {
      let best: number | null = null;
      for (let i = 0; i < t.length; i++) {
        const v = num(t.value(i, c));
        if (Number.isNaN(v)) continue;
        if (best === null || (isMax ? v > best : v < best)) best = v;
      }
      out[`${c}_${isMax ? 'max' : 'min'}`] = best;
    }
  } else {
    const w = parseWhere(r.at.where, 'reduce.at.where');
    let row = -1;
    for (let i = 0; i < t.length; i++) {
      const v = num(t.value(i, w.column));
      if (!Number.isNaN(v) && test(v, w.op, w.value)) { row = i; break; }
    }
    for (const c of r.at.columns) out[`${c}_at`] = row >= 0 ? t.value(row, c) : null;
  }
  return out;
}

/** Without a reducer: a table's last row; an object's top-level scalar fields; arrays as JSON. */
export function defaultReduce(parsed: unknown, file: string): Record<string, unknown> {
  if (asTable(parsed, file)) return applyReducer('last', parsed, file);
  if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(parsed)) out[k] = v !== null && typeof v === 'object' ? JSON.stringify(v) : v;
    return out;
  }
  return { value: parsed };
}
