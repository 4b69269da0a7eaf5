// MESA history.data and profile*.data files:
//   line 1  header column numbers        line 5  column numbers
//   line 2  header names                 line 6  column names
//   line 3  header values ("strings")    line 7… one row per line
//   line 4  empty
// Parsed straight from the text, one pass, no per-field regex or split: the columns go into
// Float64Arrays. Fortran writes `1.2345678901234567-100` (no `E`) when the exponent has 3 digits,
// and `D` exponents are accepted too. A run still writing leaves a partial last row: it is ignored
// and reported, never read as a wrong number.
import { ParseError, closest, type ParseOptions } from './errors.ts';
import { fortranNumber } from './namelist.ts';

export interface MesaDataOptions extends ParseOptions {
  /** Values that mean "no value" (e.g. MESA's -99 for log10(0)): read as NaN. Default: none. */
  sentinels?: number[];
}

export type MesaHeaderValue = string | number;
export type MesaRow = Record<string, number>;

/** A parsed history or profile file. */
export class MesaData {
  constructor(
    /** File name used in messages. */
    readonly file: string,
    /** Header block (line 3): `version_number`, `star_age`, … typed (quoted strings unquoted). */
    readonly header: Record<string, MesaHeaderValue>,
    /** Column names in file order. */
    readonly names: string[],
    /** name → values, one per row. Integer columns hold exact integers. */
    readonly columns: Record<string, Float64Array>,
    /** name → 'integer' when every value is written as an integer, else 'real'. */
    readonly kinds: Record<string, 'integer' | 'real'>,
    /** Number of (complete) rows. */
    readonly length: number,
    /** True when a partial last row (a run still writing) was ignored. */
    readonly truncated: boolean,
    readonly warnings: string[],
  ) {}

  /** A column by name (exact, then case-insensitive); an unknown name is an error naming the closest ones. */
  column(name: string): Float64Array {
    const c = this.columns[name];
    if (c) return c;
    const lower = name.toLowerCase();
    const alt = this.names.filter(n => n.toLowerCase() === lower);
    if (alt.length === 1) return this.columns[alt[0]!]!;
    throw new Error(`${this.file}: no column '${name}'; closest: ${closest(name, this.names).join(', ')}`);
  }

  /** Row `i` as a record (negative counts from the end). */
  row(i: number): MesaRow {
    const k = i < 0 ? this.length + i : i;
    if (!(k >= 0 && k < this.length)) throw new RangeError(`${this.file}: row ${i} out of range (${this.length} rows)`);
    const r: MesaRow = {};
    for (const n of this.names) if (!(n in r)) r[n] = this.columns[n]![k]!;
    return r;
  }

  /** The last complete row. */
  last(): MesaRow {
    return this.row(-1);
  }

  /** Smallest value of a column (NaN ignored; NaN when there is none). */
  min(name: string): number {
    const c = this.column(name);
    let m = NaN;
    for (let i = 0; i < c.length; i++) if (!(c[i]! >= m)) m = Number.isNaN(c[i]!) ? m : c[i]!;
    return m;
  }

  /** Largest value of a column (NaN ignored; NaN when there is none). */
  max(name: string): number {
    const c = this.column(name);
    let m = NaN;
    for (let i = 0; i < c.length; i++) if (!(c[i]! <= m)) m = Number.isNaN(c[i]!) ? m : c[i]!;
    return m;
  }

  /**
   * The first row where a condition holds: a predicate over the row, or a column, an operator and a
   * value (`findRow('center_h1', '<', 1e-4)`, fast). Undefined when it never holds.
   */
  findRow(pred: (row: MesaRow, index: number) => boolean): { index: number; row: MesaRow } | undefined;
  findRow(column: string, op: '<' | '<=' | '>' | '>=' | '==' | '!=', value: number): { index: number; row: MesaRow } | undefined;
  findRow(a: string | ((row: MesaRow, index: number) => boolean), op?: string, value?: number): { index: number; row: MesaRow } | undefined {
    if (typeof a === 'function') {
      for (let i = 0; i < this.length; i++) {
        const r = this.row(i);
        if (a(r, i)) return { index: i, row: r };
      }
      return undefined;
    }
    const c = this.column(a);
    const v = value!;
    const test: Record<string, (x: number) => boolean> = { '<': x => x < v, '<=': x => x <= v, '>': x => x > v, '>=': x => x >= v, '==': x => x === v, '!=': x => x !== v };
    const t = test[op!];
    if (!t) throw new Error(`findRow: unknown operator '${op}'`);
    for (let i = 0; i < c.length; i++) if (t(c[i]!)) return { index: i, row: this.row(i) };
    return undefined;
  }

  /**
   * The rows a restarted run really followed: after a restart (or a retry) MESA appends rows whose
   * model_number goes back; this keeps, for each model number, the row written last.
   */
  withoutRestarts(column = 'model_number'): MesaData {
    const m = this.column(column);
    const keep: number[] = [];
    let floor = Infinity;
    for (let i = this.length - 1; i >= 0; i--) {
      if (m[i]! < floor) {
        keep.push(i);
        floor = m[i]!;
      }
    }
    if (keep.length === this.length) return this;
    keep.reverse();
    const columns: Record<string, Float64Array> = {};
    for (const n of Object.keys(this.columns)) {
      const src = this.columns[n]!;
      const dst = new Float64Array(keep.length);
      for (let i = 0; i < keep.length; i++) dst[i] = src[keep[i]!]!;
      columns[n] = dst;
    }
    return new MesaData(this.file, this.header, this.names, columns, this.kinds, keep.length, this.truncated, this.warnings);
  }
}

const SPECIAL: Record<string, number> = { nan: NaN, infinity: Infinity, '+infinity': Infinity, '-infinity': -Infinity, inf: Infinity, '+inf': Infinity, '-inf': -Infinity };

/** Splits one header line into fields (double- or single-quoted strings may contain blanks). */
function headerFields(line: string, file: string, lineNo: number): { text: string; col: number; quoted: boolean }[] {
  const out: { text: string; col: number; quoted: boolean }[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let s = '';
      for (;;) {
        if (j >= line.length) throw new ParseError(file, lineNo, i + 1, 'unterminated string');
        if (line[j] === c) {
          if (line[j + 1] === c) {
            s += c;
            j += 2;
            continue;
          }
          break;
        }
        s += line[j];
        j++;
      }
      out.push({ text: s, col: i + 1, quoted: true });
      i = j + 1;
      continue;
    }
    let j = i;
    while (j < line.length && line[j] !== ' ' && line[j] !== '\t' && line[j] !== '\r') j++;
    out.push({ text: line.slice(i, j), col: i + 1, quoted: false });
    i = j;
  }
  return out;
}

function headerNumber(f: { text: string; col: number }, file: string, line: number): number {
  const v = fortranNumber(f.text) ?? SPECIAL[f.text.toLowerCase()];
  if (v === undefined) throw new ParseError(file, line, f.col, `not a number: '${f.text}'`);
  return v;
}

/**
 * The file as bytes (scanned) and as a one-byte string with the same offsets (sliced for Number()).
 * A pure-ASCII string is used as it is; anything else goes through its UTF-8 bytes.
 */
function bytesOf(input: string | Uint8Array): { b: Uint8Array; chars: string } {
  if (typeof input === 'string') {
    const b = Buffer.from(input, 'utf8');
    return { b, chars: b.length === input.length ? input : b.toString('latin1') };
  }
  const b = Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  return { b, chars: b.toString('latin1') };
}

/** Lines 1–6 as text (UTF-8; a BOM is skipped), and the offset where the rows start. */
function headLines(b: Uint8Array, file: string): { head: string[]; dataStart: number } {
  const n = b.length;
  let p = n >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
  const head: string[] = [];
  while (head.length < 6) {
    if (p >= n) throw new ParseError(file, head.length + 1, 1, `the file ends in its header (line ${head.length + 1} of 6); a MESA history/profile file has a 6-line header`);
    const nl = b.indexOf(10, p);
    const e = nl === -1 ? n : nl;
    head.push(Buffer.from(b.buffer, b.byteOffset + p, e - p).toString('utf8'));
    p = nl === -1 ? n : nl + 1;
  }
  return { head, dataStart: p };
}

/** Column-number lines (1 and 5) must count 1, 2, 3, … */
function checkNumbering(nums: { text: string; col: number }[], file: string, lineNo: number, what: string): void {
  nums.forEach((f, i) => {
    if (f.text !== String(i + 1)) throw new ParseError(file, lineNo, f.col, `expected ${what} ${i + 1}, got '${f.text}'`);
  });
}

/** Lines 1–4: the header block, values typed (quoted strings unquoted). */
function headerBlock(head: string[], file: string): Record<string, MesaHeaderValue> {
  const hnums = headerFields(head[0]!, file, 1);
  const hnames = headerFields(head[1]!, file, 2);
  const hvals = headerFields(head[2]!, file, 3);
  if (hnames.length !== hnums.length) throw new ParseError(file, 2, 1, `${hnames.length} header names for ${hnums.length} header column numbers on line 1`);
  if (hvals.length !== hnames.length) throw new ParseError(file, 3, hvals[Math.min(hvals.length, hnames.length) - 1]?.col ?? 1, `${hvals.length} header values for ${hnames.length} header names`);
  checkNumbering(hnums, file, 1, 'header column number');
  const header: Record<string, MesaHeaderValue> = {};
  hnames.forEach((f, i) => {
    const v = hvals[i]!;
    header[f.text] = v.quoted ? v.text : headerNumber(v, file, 3);
  });
  if (head[3]!.trim() !== '') throw new ParseError(file, 4, 1, 'expected an empty line between the header and the columns');
  return header;
}

/** Lines 5–6: the column names. */
function columnNames(head: string[], file: string): string[] {
  const cnums = headerFields(head[4]!, file, 5);
  const names = headerFields(head[5]!, file, 6).map(f => f.text);
  if (names.length === 0) throw new ParseError(file, 6, 1, 'no column names');
  if (cnums.length !== names.length) throw new ParseError(file, 5, 1, `${cnums.length} column numbers for ${names.length} column names on line 6`);
  checkNumbering(cnums, file, 5, 'column number');
  return names;
}

/** The row scan's state, shared by its steps. */
interface RowScan {
  readonly b: Uint8Array;
  readonly chars: string;
  readonly n: number;
  readonly file: string;
  readonly names: string[];
  readonly warn: (m: string) => void;
  /** Next byte to read. */
  p: number;
  /** Line number of the row being read. */
  line: number;
  /** Complete rows stored so far. */
  rows: number;
  /** Rows the columns have room for. */
  cap: number;
  cols: Float64Array[];
  /** Per column: 1 while every value has been written as an integer. */
  isInt: Uint8Array;
  /** A partial last row (a run still writing) was ignored. */
  truncated: boolean;
  /** Columns already warned about asterisk-filled values (once per column). */
  oddWarned: Set<number>;
}

/** The state for scanning the rows, with a capacity guessed from the first row's length (rows are fixed-width). */
function startRowScan(b: Uint8Array, chars: string, dataStart: number, names: string[], file: string, warn: (m: string) => void): RowScan {
  const n = b.length;
  const firstNl = b.indexOf(10, dataStart);
  const firstLen = Math.max(1, (firstNl === -1 ? n : firstNl + 1) - dataStart);
  const cap = Math.ceil((n - dataStart) / firstLen) + 8;
  const cols = names.map(() => new Float64Array(cap));
  return { b, chars, n, file, names, warn, p: dataStart, line: 7, rows: 0, cap, cols, isInt: new Uint8Array(names.length).fill(1), truncated: false, oddWarned: new Set() };
}

function grow(s: RowScan): void {
  s.cap = Math.ceil(s.cap * 1.5) + 16;
  s.cols = s.cols.map(old => {
    const d = new Float64Array(s.cap);
    d.set(old);
    return d;
  });
}

/** Reads every row into s.cols; stops at the end of the file or at a partial last row. */
function scanRows(s: RowScan): void {
  while (s.p < s.n) {
    if (s.rows === s.cap) grow(s);
    if (!scanRow(s)) break;
  }
  if (s.truncated) s.warn(`${s.file}:${s.line}: the last row is incomplete (is the run still writing?); it was ignored`);
}

/**
 * One line: a row (stored at s.rows) or a blank line (skipped). False at the end of the file or a
 * partial last row. The hot loop: bytes are scanned with local variables, no per-field regex or slice
 * other than the token handed to Number().
 */
function scanRow(s: RowScan): boolean {
  const { b, chars, n, cols, isInt, rows } = s;
  const ncol = cols.length;
  const lineStart = s.p;
  let p = lineStart;
  let c = 0;
  for (let j = 0; j < ncol; j++) {
    // blanks before the value
    while (p < n && ((c = b[p]!) === 32 || c === 9 || c === 13)) p++;
    if (p >= n || c === 10) return lineEndsEarly(s, j, p, lineStart);
    const st = p;
    let plain = true; // digits, signs, '.', E: Number() reads it as it is
    let isInteger = true;
    let fix = false; // a D exponent, or an exponent without its letter (1.0-100)
    if (c === 45 || c === 43) p++;
    for (; p < n; p++) {
      c = b[p]!;
      if (c >= 48 && c <= 57) continue;
      if (c === 32 || c === 10 || c === 13 || c === 9) break;
      if (c === 46) isInteger = false;
      else if (c === 69 || c === 101) {
        isInteger = false;
        if (p + 1 < n && (b[p + 1] === 45 || b[p + 1] === 43)) p++;
      } else if (c === 45 || c === 43) {
        isInteger = false;
        fix = true;
      } else if (c === 68 || c === 100) {
        isInteger = false;
        fix = true;
        if (p + 1 < n && (b[p + 1] === 45 || b[p + 1] === 43)) p++;
      } else plain = false;
    }
    const tok = chars.slice(st, p);
    const v = plain ? (fix ? (fortranNumber(tok) ?? NaN) : Number(tok)) : oddValue(s, tok, j, st - lineStart + 1);
    if (v === undefined || (plain && v !== v)) {
      // A value cut off by the end of the file is a partial row; anywhere else, an error.
      if (p >= n) return truncate(s);
      throw new ParseError(s.file, s.line, st - lineStart + 1, `not a number: '${tok}' (column '${s.names[j]}')`);
    }
    if (plain) {
      if (isInteger && p - st > 15 && !Number.isSafeInteger(v)) throw new ParseError(s.file, s.line, st - lineStart + 1, `integer ${tok} is too large to be exact (column '${s.names[j]}')`);
    } else isInteger = false;
    if (!isInteger) isInt[j] = 0;
    cols[j]![rows] = v;
  }
  s.p = p;
  return rowEnd(s, lineStart);
}

/** A line with fewer values than columns: a blank line (skipped), a partial last row, or an error. */
function lineEndsEarly(s: RowScan, j: number, p: number, lineStart: number): boolean {
  if (p >= s.n) return j === 0 ? false : truncate(s);
  if (j === 0) {
    s.p = p + 1; // a blank line
    s.line++;
    return true;
  }
  throw new ParseError(s.file, s.line, p - lineStart + 1, `row has ${j} values, expected ${s.cols.length} (one per column)`);
}

function truncate(s: RowScan): false {
  s.truncated = true;
  return false;
}

/** After a row's last value: trailing blanks, then a newline (or the end of the file). Counts the row if it is complete. */
function rowEnd(s: RowScan, lineStart: number): boolean {
  const { b, n } = s;
  const endOfValues = s.p;
  let p = endOfValues;
  let c = 0;
  while (p < n && ((c = b[p]!) === 32 || c === 9 || c === 13)) p++;
  if (p >= n) {
    // No newline: complete only if the last value was followed by a blank (MESA pads every field).
    if (endOfValues === p) return truncate(s);
  } else if (c !== 10) {
    throw new ParseError(s.file, s.line, p - lineStart + 1, `row has more than ${s.cols.length} values (one per column)`);
  } else p++;
  s.p = p;
  s.rows++;
  s.line++;
  return true;
}

/** A token that is not a plain number: nan/inf, or Fortran's asterisks (NaN, with a warning); undefined for anything else. */
function oddValue(s: RowScan, tok: string, j: number, col: number): number | undefined {
  const sp = SPECIAL[tok.toLowerCase()];
  if (sp !== undefined) return sp;
  if (!/^[+-]?\*+$/.test(tok)) return undefined;
  // Fortran fills a field too narrow for its value with asterisks: there is no value.
  if (!s.oddWarned.has(j)) {
    s.oddWarned.add(j);
    s.warn(`${s.file}:${s.line}:${col}: '${tok}' (a value too wide for its field) in column '${s.names[j]}' read as NaN`);
  }
  return NaN;
}

/** The scanned columns by name, trimmed to the rows read, sentinels replaced by NaN, and typed. */
function finishColumns(s: RowScan, sentinels: number[]): { columns: Record<string, Float64Array>; kinds: Record<string, 'integer' | 'real'> } {
  const { names, rows, cap, cols, isInt } = s;
  const columns: Record<string, Float64Array> = {};
  const kinds: Record<string, 'integer' | 'real'> = {};
  names.forEach((name, j) => {
    if (name in columns) {
      s.warn(`${s.file}: column '${name}' appears more than once (columns ${names.indexOf(name) + 1} and ${j + 1}); the first is used`);
      return;
    }
    // A copy when much of the buffer is unused (the first row was longer than most), else a view.
    const col = cap > rows * 1.25 + 64 ? cols[j]!.slice(0, rows) : cols[j]!.subarray(0, rows);
    if (sentinels.length) for (let i = 0; i < rows; i++) if (sentinels.includes(col[i]!)) col[i] = NaN;
    columns[name] = col;
    kinds[name] = isInt[j] && rows > 0 ? 'integer' : 'real';
  });
  return { columns, kinds };
}

/** Parses a MESA history or profile file. */
export function mesaData(input: string | Uint8Array, opts: MesaDataOptions = {}, defaultName = 'history.data'): MesaData {
  const file = opts.file ?? defaultName;
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    opts.warn?.(m);
  };
  const { b, chars } = bytesOf(input);
  const { head, dataStart } = headLines(b, file);
  const header = headerBlock(head, file);
  const names = columnNames(head, file);
  const s = startRowScan(b, chars, dataStart, names, file, warn);
  scanRows(s);
  const { columns, kinds } = finishColumns(s, opts.sentinels ?? []);
  return new MesaData(file, header, names, columns, kinds, s.rows, s.truncated, warnings);
}

/** A MESA `history.data`. */
export function mesaHistory(input: string | Uint8Array, opts: MesaDataOptions = {}): MesaData {
  return mesaData(input, opts, 'history.data');
}

/** A MESA `profile<N>.data` (same layout as history.data: header block, then one row per zone). */
export function mesaProfile(input: string | Uint8Array, opts: MesaDataOptions = {}): MesaData {
  return mesaData(input, opts, 'profile.data');
}
