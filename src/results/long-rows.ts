// Long format (`rx dataset --rows <file>`): one row per row of a table output of each run (MESA
// history/profile, CSV/TSV) with the run's provenance and params. Written in two passes over the
// fetched files — the first finds the table columns and their types, the second streams rows out —
// so memory holds one run's table at a time, not the whole long table (1000 runs × 5000 MESA rows
// would not fit as row objects).
import { open, mkdir, rename, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { ParquetWriter, fileWriter, schemaFromColumnData } from 'hyparquet-writer';
import { ConfigError } from '../errors.ts';
import { parsers, parserFor, MesaData } from '../../parsers/index.ts';
import { uniqueName } from './columns.ts';
import { PROVENANCE, parquetType, cellText, parquetValue, type DatasetRun, type Format, type ParquetType } from './dataset.ts';

/** One run's table as columns. */
export interface RunTable {
  names: string[];
  columns: Record<string, ArrayLike<unknown>>;
  length: number;
  warnings: string[];
}

const TABLE_PARSERS = ['mesaHistory', 'mesaProfile', 'csv', 'tsv'] as const;

/** The table parser for a `--rows` file name; a file no table parser reads is a ConfigError. */
export function tableParser(file: string): (typeof TABLE_PARSERS)[number] {
  const p = parserFor(file);
  if (p && (TABLE_PARSERS as readonly string[]).includes(p)) return p as (typeof TABLE_PARSERS)[number];
  throw new ConfigError(`--rows ${file}: not a table output rx can read (${p ? `its parser, ${p}, gives no rows` : 'no parser for this file name'})`, {
    hint: 'Give a MESA history/profile file (history.data, profile<N>.data) or a .csv/.tsv file.',
  });
}

/** A parsed MESA file or CSV table as columns (CSV rows are turned around once). */
export function tableOf(parsed: unknown): RunTable {
  if (parsed instanceof MesaData) return { names: parsed.names, columns: parsed.columns, length: parsed.length, warnings: parsed.warnings };
  const t = parsed as { names: string[]; rows: Record<string, unknown>[] };
  const columns: Record<string, unknown[]> = {};
  for (const n of t.names) columns[n] = t.rows.map(r => r[n] ?? null);
  return { names: t.names, columns, length: t.rows.length, warnings: [] };
}

/** Reads and parses one run's copy of the table (`label` names it in errors). */
export async function readRunTable(path: string, label: string): Promise<RunTable> {
  const parser = tableParser(label);
  return tableOf((parsers[parser] as (t: Buffer, o: { file: string }) => unknown)(await readFile(path), { file: label }));
}

/** A run of the long table: its provenance and params, and a way to read its table (undefined: none fetched). */
export interface LongRun {
  run: DatasetRun;
  read: () => Promise<RunTable | undefined>;
}

export interface LongSchema {
  columns: string[];
  kinds: Record<string, 'provenance' | 'param' | 'row' | 'table'>;
  types: Record<string, ParquetType>;
  /** Output column → where its value comes from (a param name or a table column). */
  source: Record<string, string>;
}

/**
 * Columns: provenance, params (first appearance), `row` (0-based index in the run's table), then the
 * table's columns (first appearance over runs). A taken name gets `_` (psweep's rule, as in the
 * wide dataset). Types as the wide dataset's, the table's columns from every run's values.
 */
export function longSchema(runs: DatasetRun[], tables: { names: string[]; values: Map<string, unknown[]> }): LongSchema {
  const kinds: LongSchema['kinds'] = {};
  const source: Record<string, string> = {};
  const taken = new Set<string>([...PROVENANCE, 'row']);
  for (const c of PROVENANCE) kinds[c] = 'provenance';
  const add = (name: string, kind: 'param' | 'table', seen: Map<string, string>) => {
    if (seen.has(name)) return;
    const out = uniqueName(name, taken);
    taken.add(out);
    seen.set(name, out);
    kinds[out] = kind;
    source[out] = name;
  };
  const params = new Map<string, string>();
  for (const r of runs) for (const k of Object.keys(r.params)) add(k, 'param', params);
  kinds.row = 'row';
  const table = new Map<string, string>();
  for (const n of tables.names) add(n, 'table', table);
  const columns = [...PROVENANCE, ...params.values(), 'row', ...table.values()];
  const types: Record<string, ParquetType> = {};
  for (const c of columns) {
    types[c] = kinds[c] === 'provenance' ? parquetType([], c)
      : kinds[c] === 'row' ? 'INT32'
      : kinds[c] === 'param' ? parquetType(runs.map(r => r.params[source[c]!]))
      : parquetType(tables.values.get(source[c]!) ?? []);
  }
  return { columns, kinds, types, source };
}

/** A small sample of each table column's distinct kinds of value, enough to type it (pass 1). */
function noteTypes(t: RunTable, names: string[], values: Map<string, unknown[]>): void {
  for (const n of t.names) {
    if (!values.has(n)) { values.set(n, []); names.push(n); }
    const col = t.columns[n]!;
    if (col instanceof Float64Array) { if (col.length) values.get(n)!.push(0); continue; }
    const seen = values.get(n)!;
    const kinds = new Set(seen.map(v => typeof v));
    for (let i = 0; i < col.length; i++) {
      const v = col[i];
      if (v === null || v === undefined || kinds.has(typeof v)) continue;
      kinds.add(typeof v);
      seen.push(v);
    }
  }
}

export interface LongSummary {
  rows: number;
  columns: string[];
  /** Runs whose table was read. */
  runs: number;
  /** Runs without the file (not produced yet, no run directory) or whose file failed to parse, with why. */
  missing: { key: string; why: string }[];
}

/** Writes the long table atomically (temp file + rename). */
export async function writeLongDataset(runs: LongRun[], format: Format, file: string): Promise<LongSummary> {
  const names: string[] = [];
  const values = new Map<string, unknown[]>();
  const missing: LongSummary['missing'] = [];
  for (const r of runs) {
    const t = await readSafely(r, missing);
    if (t) noteTypes(t, names, values);
  }
  const schema = longSchema(runs.map(r => r.run), { names, values });
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.rx-tmp-${process.pid}`;
  const sink = format === 'parquet' ? parquetSink(tmp, schema) : await textSink(tmp, schema, format);
  let rows = 0;
  let read = 0;
  for (const r of runs) {
    // Pass 2 reads the files again: a file that vanished or changed since is reported, not guessed.
    const t = await readSafely(r, []);
    if (!t) continue;
    read++;
    rows += t.length;
    await sink.add(r.run, t);
  }
  await sink.close();
  await rename(tmp, file);
  return { rows, columns: schema.columns, runs: read, missing };
}

async function readSafely(r: LongRun, missing: LongSummary['missing']): Promise<RunTable | undefined> {
  try {
    const t = await r.read();
    if (!t) missing.push({ key: String(r.run.provenance.key), why: r.run.notes.join('; ') || 'not fetched' });
    return t;
  } catch (e) {
    missing.push({ key: String(r.run.provenance.key), why: (e as Error).message });
    return undefined;
  }
}

interface Sink {
  add(run: DatasetRun, t: RunTable): Promise<void>;
  close(): Promise<void>;
}

/** The value of output column `c` at table row `i` of a run. */
function valueAt(s: LongSchema, run: DatasetRun, t: RunTable, c: string, i: number): unknown {
  switch (s.kinds[c]) {
    case 'provenance': return run.provenance[c as (typeof PROVENANCE)[number]];
    case 'param': return run.params[s.source[c]!] ?? null;
    case 'row': return i;
    default: {
      const col = t.columns[s.source[c]!];
      return col ? (col[i] ?? null) : null;
    }
  }
}

/** CSV or JSON Lines, appended one run at a time. */
async function textSink(tmp: string, s: LongSchema, format: 'csv' | 'jsonl'): Promise<Sink> {
  const fh = await open(tmp, 'w');
  if (format === 'csv') await fh.write(stringify([s.columns]));
  const clean = (v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v);
  return {
    async add(run, t) {
      const lines: string[] = [];
      if (format === 'csv') {
        const rows: string[][] = [];
        for (let i = 0; i < t.length; i++) rows.push(s.columns.map(c => cellText(valueAt(s, run, t, c, i))));
        lines.push(stringify(rows));
      } else {
        for (let i = 0; i < t.length; i++) lines.push(JSON.stringify(Object.fromEntries(s.columns.map(c => [c, clean(valueAt(s, run, t, c, i))]))) + '\n');
      }
      await fh.write(lines.join(''));
    },
    close: () => fh.close(),
  };
}

/** Parquet: row groups of about ROW_GROUP rows, written as they fill. */
const ROW_GROUP = 100_000;

function parquetSink(tmp: string, s: LongSchema): Sink {
  const columnData = s.columns.map(name => ({ name, data: [] as unknown[], type: s.types[name]! }));
  const schema = schemaFromColumnData({ columnData: columnData.map(c => ({ ...c, data: [] })) });
  const writer = new ParquetWriter({ writer: fileWriter(tmp), schema, createdBy: 'rx (remote-experiments)' });
  let pending = 0;
  const flush = async () => {
    if (!pending) return;
    await writer.write({ columnData: columnData.map(c => ({ name: c.name, data: c.data as never })), rowGroupSize: pending });
    for (const c of columnData) c.data = [];
    pending = 0;
  };
  return {
    async add(run, t) {
      for (const c of columnData) for (let i = 0; i < t.length; i++) c.data.push(parquetValue(valueAt(s, run, t, c.name, i), c.type));
      pending += t.length;
      if (pending >= ROW_GROUP) await flush();
    },
    async close() {
      await flush();
      await writer.finish();
    },
  };
}
