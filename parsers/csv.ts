// CSV and TSV through csv-parse: a header row, then records typed by cell (numbers, true/false,
// empty → null; a quoted cell always stays a string).
import { parse } from 'csv-parse/sync';
import { asText, ParseError, type ParseOptions } from './errors.ts';
import { plainNumber } from './keyvalue.ts';

export type CsvValue = string | number | boolean | null;

export interface CsvOptions extends ParseOptions {
  /** Field delimiter (default ',' for csv, tab for tsv). */
  delimiter?: string;
  /** The first row names the columns (default true); otherwise they are named 1, 2, 3, … */
  header?: boolean;
  /** Type the unquoted cells (default true); false keeps every cell a string. */
  cast?: boolean;
  /** Lines starting with this are comments (default: none). */
  comment?: string;
  /** Quote character, or false for none (default '"' for csv, none for tsv). */
  quote?: string | false;
}

export interface CsvTable {
  /** Column names in order. */
  names: string[];
  /** One record per row. */
  rows: Record<string, CsvValue>[];
}

function typedCell(v: string): CsvValue {
  if (v === '') return null;
  if (v === 'true' || v === 'TRUE' || v === 'True') return true;
  if (v === 'false' || v === 'FALSE' || v === 'False') return false;
  if (v === 'NaN' || v === 'nan') return NaN;
  if (/^[+-]?(inf|infinity)$/i.test(v)) return v.startsWith('-') ? -Infinity : Infinity;
  return plainNumber(v) ?? v;
}

function table(input: string | Uint8Array, opts: CsvOptions, tsv: boolean): CsvTable {
  const text = asText(input);
  const file = opts.file ?? (tsv ? 'file.tsv' : 'file.csv');
  const header = opts.header ?? true;
  const cast = opts.cast ?? true;
  let records: CsvValue[][];
  try {
    records = parse(text, {
      delimiter: opts.delimiter ?? (tsv ? '\t' : ','),
      quote: opts.quote === false ? null : (opts.quote ?? (tsv ? null : '"')),
      comment: opts.comment,
      skip_empty_lines: true,
      relax_column_count: false,
      cast: (value, ctx) => (!cast || ctx.quoting || (header && ctx.lines === 1) ? value : typedCell(value)),
    }) as CsvValue[][];
  } catch (e) {
    const err = e as { code?: string; lines?: number; index?: number; message: string };
    if (err.code?.startsWith('CSV_')) {
      const counts = /expect (\d+), got (\d+)/.exec(err.message);
      const field = counts ? Math.min(Number(counts[1]), Number(counts[2])) + 1 : (err.index ?? 0) + 1;
      throw new ParseError(file, err.lines ?? 0, field, `${err.message.replace(/\s+(?:on|at) line \d+\s*$/, '').replace(/ at line \d+/, '')} (field ${field})`);
    }
    throw e;
  }
  if (records.length === 0) return { names: [], rows: [] };
  const names = header ? records[0]!.map(String) : records[0]!.map((_, i) => String(i + 1));
  const seen = new Set<string>();
  names.forEach((n, i) => {
    if (seen.has(n)) throw new ParseError(file, 1, i + 1, `column name '${n}' appears twice in the header`);
    seen.add(n);
  });
  const rows = (header ? records.slice(1) : records).map(r => {
    const o: Record<string, CsvValue> = {};
    names.forEach((n, i) => Object.defineProperty(o, n, { value: r[i] ?? null, enumerable: true, writable: true, configurable: true }));
    return o;
  });
  return { names, rows };
}

/** Comma-separated values (csv-parse): `{ names, rows }` with typed cells. Errors give line and field number. */
export function csv(input: string | Uint8Array, opts: CsvOptions = {}): CsvTable {
  return table(input, opts, false);
}

/** Tab-separated values: as csv with a tab delimiter and no quoting. */
export function tsv(input: string | Uint8Array, opts: CsvOptions = {}): CsvTable {
  return table(input, opts, true);
}
