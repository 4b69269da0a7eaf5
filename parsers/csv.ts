// CSV and TSV through csv-parse: a header row, then records typed by cell (numbers, true/false,
// empty → null; a quoted cell always stays a string).
//
// Speed: csv-parse computes a context object for every cell it hands to a `cast` callback, which
// made a cast callback ~10× slower than the parse itself. So csv-parse reads the bytes as plain
// strings (no callback) and the cells are typed afterwards with a char-code scan for the usual
// case, a plain decimal number. Typing afterwards must still know which cells were quoted; it need
// not ask csv-parse when no cell whose text would be typed can have been quoted (no quote in the
// input, or no such text between two quotes: see quotedLookalikes). Otherwise, and for the header
// row (whose typing depends on its line), the old cast callback runs: same rules, exactly.
import { isUtf8 } from 'node:buffer';
import { parse, type Options } from 'csv-parse/sync';
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

const NOT_DECIMAL = 0;
const INTEGER = 1;
const REAL = 2;

const isDigit = (c: number) => c >= 48 && c <= 57;

/** Whether `v` matches plainNumber's pattern `[+-]?(0|[1-9]\d*|(?=\.\d))(\.\d*)?([eE][+-]?\d+)?`, and how. */
function decimalKind(v: string): number {
  const n = v.length;
  let i = 0;
  let c = v.charCodeAt(0);
  if (c === 43 || c === 45) c = v.charCodeAt(++i); // + -
  if (c === 48) i++; // a lone leading 0
  else if (c >= 49 && c <= 57) while (i < n && isDigit(v.charCodeAt(i))) i++;
  else if (!(c === 46 && isDigit(v.charCodeAt(i + 1)))) return NOT_DECIMAL; // '.5' but not '.'
  let kind = INTEGER;
  if (v.charCodeAt(i) === 46) {
    kind = REAL;
    i++;
    while (i < n && isDigit(v.charCodeAt(i))) i++;
  }
  c = v.charCodeAt(i);
  if (c === 101 || c === 69) { // e E
    kind = REAL;
    c = v.charCodeAt(++i);
    if (c === 43 || c === 45) c = v.charCodeAt(++i);
    if (!isDigit(c)) return NOT_DECIMAL;
    while (i < n && isDigit(v.charCodeAt(i))) i++;
  }
  return i === n ? kind : NOT_DECIMAL;
}

/** typedCell, with plainNumber's checks done by hand for a plain decimal number (the usual cell). */
function typedFast(v: string): CsvValue {
  const kind = decimalKind(v);
  if (kind === NOT_DECIMAL) return typedCell(v);
  const x = Number(v);
  // plainNumber: an integer a double cannot hold exactly stays text unless it prints back as written.
  if (kind === INTEGER && !Number.isSafeInteger(x) && String(x) !== (v.charCodeAt(0) === 43 ? v.slice(1) : v)) return v;
  return Number.isFinite(x) ? x : v;
}

/** The bytes csv-parse would get from `asText(input)`, without decoding a Buffer that is already valid UTF-8. */
function utf8Bytes(input: string | Uint8Array): Buffer {
  if (typeof input !== 'string') {
    const b = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
    if (isUtf8(b)) return b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? b.subarray(3) : b;
  }
  return Buffer.from(asText(input));
}

/** csv-parse, its errors as ParseErrors with the line and the field number. */
function parseRecords<T>(bytes: Buffer, options: Options, file: string): T[][] {
  try {
    return parse(bytes, options) as T[][];
  } catch (e) {
    const err = e as { code?: string; lines?: number; index?: number; message: string };
    if (err.code?.startsWith('CSV_')) {
      const counts = /expect (\d+), got (\d+)/.exec(err.message);
      const field = counts ? Math.min(Number(counts[1]), Number(counts[2])) + 1 : (err.index ?? 0) + 1;
      throw new ParseError(file, err.lines ?? 0, field, `${err.message.replace(/\s+(?:on|at) line \d+\s*$/, '').replace(/ at line \d+/, '')} (field ${field})`);
    }
    throw e;
  }
}

/** Records typed cell by cell as csv-parse reads them: a quoted cell, or one on line 1 of a header, stays a string. */
function castRecords(bytes: Buffer, options: Options, header: boolean, file: string): CsvValue[][] {
  return parseRecords<CsvValue>(bytes, {
    ...options,
    cast: (value, ctx) => (ctx.quoting || (header && ctx.lines === 1) ? value : typedCell(value)),
  }, file);
}

/**
 * Every text found between two consecutive quote characters that would be typed if unquoted. A cell
 * whose text is not among them was not quoted: a quoted cell with such a text (no quote in it, hence
 * no escape either) is written exactly quote + text + quote. null: the input holds no quote, nothing
 * was quoted; undefined: can't tell this way (a quote of several characters, or one that is not
 * csv-parse's escape `"` while a `"` is in the input: an escape drops out of the cell's text).
 */
function quotedLookalikes(bytes: Buffer, quote: string | null): Set<string> | null | undefined {
  if (quote === null || quote === '' || !bytes.includes(quote)) return null;
  if (quote.length !== 1 || (quote !== '"' && bytes.includes(0x22))) return undefined;
  const text = bytes.toString('utf8');
  const found = new Set<string>();
  for (let i = text.indexOf(quote), k = text.indexOf(quote, i + 1); k !== -1; i = k, k = text.indexOf(quote, k + 1)) {
    const inside = text.slice(i + 1, k);
    if (typeof typedFast(inside) !== 'string') found.add(inside);
  }
  return found;
}

/** Row objects from records; `type` gives a cell's value, or undefined to give up (then undefined). */
function buildRows<T>(names: string[], records: T[][], from: number, type: (cell: T) => CsvValue | undefined): Record<string, CsvValue>[] | undefined {
  // Assignment is much faster than defineProperty and the same for every name but `__proto__`.
  const define = names.includes('__proto__');
  const width = names.length;
  const rows: Record<string, CsvValue>[] = new Array(records.length - from);
  for (let i = from; i < records.length; i++) {
    const r = records[i]!;
    const o: Record<string, CsvValue> = {};
    for (let j = 0; j < width; j++) {
      const v = type(r[j] as T);
      if (v === undefined) return undefined;
      if (define) Object.defineProperty(o, names[j]!, { value: v, enumerable: true, writable: true, configurable: true });
      else o[names[j]!] = v;
    }
    rows[i - from] = o;
  }
  return rows;
}

function checkNames(names: string[], file: string): void {
  const seen = new Set<string>();
  names.forEach((n, i) => {
    if (seen.has(n)) throw new ParseError(file, 1, i + 1, `column name '${n}' appears twice in the header`);
    seen.add(n);
  });
}

function table(input: string | Uint8Array, opts: CsvOptions, tsv: boolean): CsvTable {
  const file = opts.file ?? (tsv ? 'file.tsv' : 'file.csv');
  const header = opts.header ?? true;
  const cast = opts.cast ?? true;
  const quote = opts.quote === false ? null : (opts.quote ?? (tsv ? null : '"'));
  const bytes = utf8Bytes(input);
  const options: Options = { delimiter: opts.delimiter ?? (tsv ? '\t' : ','), quote, comment: opts.comment, skip_empty_lines: true, relax_column_count: false };
  const records = parseRecords<string>(bytes, options, file);
  if (records.length === 0) return { names: [], rows: [] };
  // The header's cells are typed unless on line 1 (after blank or comment lines they are): csv-parse
  // reads the first record again with the cast callback, which knows the line.
  const names = !header ? records[0]!.map((_, i) => String(i + 1))
    : cast ? castRecords(bytes, { ...options, to: 1 }, header, file)[0]!.map(String)
    : records[0]!;
  checkNames(names, file);
  const from = header ? 1 : 0;
  if (!cast) return { names, rows: buildRows(names, records, from, v => v)! };
  const lookalikes = quotedLookalikes(bytes, quote);
  const rows = lookalikes === undefined ? undefined
    : lookalikes === null || lookalikes.size === 0 ? buildRows(names, records, from, typedFast)
    : buildRows(names, records, from, v => {
      const x = typedFast(v);
      return typeof x === 'string' || !lookalikes.has(v) ? x : undefined;
    });
  return { names, rows: rows ?? buildRows(names, castRecords(bytes, options, header, file), from, v => v ?? null)! };
}

/** Comma-separated values (csv-parse): `{ names, rows }` with typed cells. Errors give line and field number. */
export function csv(input: string | Uint8Array, opts: CsvOptions = {}): CsvTable {
  return table(input, opts, false);
}

/** Tab-separated values: as csv with a tab delimiter and no quoting. */
export function tsv(input: string | Uint8Array, opts: CsvOptions = {}): CsvTable {
  return table(input, opts, true);
}
