// One table per sweep: a row per experiment with its parameters, its provenance and its parsed
// results; written as CSV, JSON Lines or Parquet. Pure apart from the writers.
import { writeFile, mkdir, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { uniqueName } from './columns.ts';

/** Provenance columns, always first, in this order (documented in the README). */
export const PROVENANCE = [
  'sweep', 'key', 'sha', 'base', 'dir', 'job_id', 'state', 'exit_code', 'attempts',
  'submitted_at', 'start', 'end', 'elapsed_s', 'attempt',
] as const;

export interface DatasetRun {
  /** `attempt`: the row's run number within its point's lineage (null when not given). */
  provenance: Record<Exclude<(typeof PROVENANCE)[number], 'attempt'>, unknown> & { attempt?: unknown };
  params: Record<string, unknown>;
  results: Record<string, unknown>;
  /** Why results are missing or partial (file not produced yet, parse error…). */
  notes: string[];
}

export interface Dataset {
  columns: string[];
  /** Where each column came from. */
  kinds: Record<string, 'provenance' | 'param' | 'result' | 'notes'>;
  rows: Record<string, unknown>[];
}

/**
 * Columns: provenance, then parameters (in order of first appearance), then results (likewise),
 * then `notes`. A parameter or result whose name is already taken (by provenance, `notes`, or a
 * parameter) gets `_` appended (psweep's rule), so no value ever hides another.
 */
export function buildDataset(runs: DatasetRun[]): Dataset {
  const kinds: Dataset['kinds'] = {};
  const taken = new Set<string>([...PROVENANCE, 'notes']);
  for (const c of PROVENANCE) kinds[c] = 'provenance';
  const rename = (kind: 'param' | 'result', map: Map<string, string>, name: string) => {
    let out = map.get(name);
    if (out === undefined) {
      out = uniqueName(name, taken);
      taken.add(out);
      map.set(name, out);
      kinds[out] = kind;
    }
    return out;
  };
  const paramNames = new Map<string, string>();
  const resultNames = new Map<string, string>();
  for (const r of runs) for (const k of Object.keys(r.params)) rename('param', paramNames, k);
  for (const r of runs) for (const k of Object.keys(r.results)) rename('result', resultNames, k);
  const notes = 'notes';
  kinds[notes] = 'notes';
  const columns = [...PROVENANCE, ...paramNames.values(), ...resultNames.values(), notes];
  const rows = runs.map(r => {
    const row: Record<string, unknown> = {};
    for (const c of columns) row[c] = null;
    Object.assign(row, r.provenance);
    for (const [k, v] of Object.entries(r.params)) row[paramNames.get(k)!] = v;
    for (const [k, v] of Object.entries(r.results)) row[resultNames.get(k)!] = v;
    row[notes] = r.notes.length ? r.notes.join('; ') : null;
    return row;
  });
  return { columns, kinds, rows };
}

/**
 * A time as ISO 8601 UTC (`2026-01-02T03:04:05.000Z`). A time without a zone (Slurm prints the
 * cluster's clock time without one) is read as UTC; anything unreadable is no time (null).
 */
export function isoUtc(t: unknown): string | null {
  if (typeof t !== 'string' || t.trim() === '') return null;
  const s = t.trim();
  const zoned = /T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(s);
  const d = new Date(zoned ? s : `${s}Z`);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** Job states after which a run never ran (or was stopped), whose exit code says nothing. */
const NO_EXIT_CODE = /^(CANCELLED|PENDING|UNSUBMITTED|SUBMIT_FAILED|UNKNOWN|REQUEUED|PREEMPTED)/;

/**
 * The exit code a dataset shows: empty for a cancelled run (Slurm reports 0 for a job cancelled
 * while pending, and the scancel signal's 0 for a running one) and for one that never started —
 * never a 0 that reads as success.
 */
export function exitCodeOf(state: string, exitCode: number | null | undefined, start: string | null | undefined): number | null {
  if (exitCode === null || exitCode === undefined || NO_EXIT_CODE.test(state)) return null;
  const ran = (start !== null && start !== undefined && start !== '') || /^(COMPLETED|FAILED|TIMEOUT|OUT_OF_MEMORY)/.test(state);
  return ran ? exitCode : null;
}

export const cellText = (v: unknown): string => {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
};

export function toCsv(d: Dataset): string {
  return stringify(d.rows.map(r => d.columns.map(c => cellText(r[c]))), { header: true, columns: d.columns });
}

export function toJsonLines(d: Dataset): string {
  const clean = (v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v);
  return d.rows.map(r => JSON.stringify(Object.fromEntries(d.columns.map(c => [c, clean(r[c])])))).join('\n') + (d.rows.length ? '\n' : '');
}

export type ParquetType = 'BOOLEAN' | 'INT32' | 'DOUBLE' | 'STRING' | 'TIMESTAMP';

/**
 * Provenance columns have fixed types, so a dataset's schema does not change as runs finish. Times
 * (ISO 8601 UTC text in CSV and JSON Lines) are Parquet TIMESTAMP (milliseconds, UTC).
 */
const PROVENANCE_TYPES: Partial<Record<string, ParquetType>> = {
  exit_code: 'INT32', attempts: 'INT32', attempt: 'INT32', elapsed_s: 'DOUBLE', submitted_at: 'TIMESTAMP', start: 'TIMESTAMP', end: 'TIMESTAMP',
};

/**
 * Parameter and result columns: BOOLEAN when every value is a boolean, DOUBLE when every value is a
 * number (integers too, so a column's type does not depend on which values a sweep happened to
 * have), else STRING (mixed columns as JSON text; a column with no value yet is STRING).
 */
export function parquetType(values: unknown[], column?: string): ParquetType {
  const fixed = column === undefined ? undefined : PROVENANCE_TYPES[column] ?? ((PROVENANCE as readonly string[]).includes(column) || column === 'notes' ? 'STRING' : undefined);
  if (fixed) return fixed;
  const present = values.filter(v => v !== null && v !== undefined);
  if (present.length === 0) return 'STRING';
  if (present.every(v => typeof v === 'boolean')) return 'BOOLEAN';
  if (present.every(v => typeof v === 'number')) return 'DOUBLE';
  return 'STRING';
}

/** A value as the column's Parquet type stores it (times as Dates; anything else in a STRING column as text). */
export function parquetValue(v: unknown, type: ParquetType): unknown {
  if (v === undefined || v === null) return null;
  if (type === 'STRING') return typeof v === 'string' ? v : cellText(v);
  if (type === 'TIMESTAMP') {
    const d = new Date(String(v));
    return Number.isNaN(d.getTime()) ? null : d;
  }
  return v;
}

export function toParquet(d: Dataset): Uint8Array {
  const columnData = d.columns.map(name => {
    const values = d.rows.map(r => r[name]);
    const type = parquetType(values, name);
    return { name, data: values.map(v => parquetValue(v, type)), type };
  });
  return new Uint8Array(parquetWriteBuffer({ columnData, createdBy: 'rx (remote-experiments)' }));
}

export type Format = 'csv' | 'jsonl' | 'parquet';

export const FORMATS: readonly Format[] = ['csv', 'jsonl', 'parquet'];

/** Writes atomically (temp file + rename), so a reader never sees half a dataset. */
export async function writeDataset(d: Dataset, format: Format, file: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const body = format === 'csv' ? toCsv(d) : format === 'jsonl' ? toJsonLines(d) : toParquet(d);
  const tmp = `${file}.rx-tmp-${process.pid}`;
  await writeFile(tmp, body);
  await rename(tmp, file);
}
