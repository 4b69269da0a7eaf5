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

/** Parses a MESA history or profile file. */
export function mesaData(input: string | Uint8Array, opts: MesaDataOptions = {}, defaultName = 'history.data'): MesaData {
  const file = opts.file ?? defaultName;
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    opts.warn?.(m);
  };
  const { b, chars } = bytesOf(input);
  const n = b.length;

  // Lines 1–6 (UTF-8; a BOM is skipped).
  let p = n >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
  const head: string[] = [];
  while (head.length < 6) {
    if (p >= n) throw new ParseError(file, head.length + 1, 1, `the file ends in its header (line ${head.length + 1} of 6); a MESA history/profile file has a 6-line header`);
    const nl = b.indexOf(10, p);
    const e = nl === -1 ? n : nl;
    head.push(Buffer.from(b.buffer, b.byteOffset + p, e - p).toString('utf8'));
    p = nl === -1 ? n : nl + 1;
  }
  const hnums = headerFields(head[0]!, file, 1);
  const hnames = headerFields(head[1]!, file, 2);
  const hvals = headerFields(head[2]!, file, 3);
  if (hnames.length !== hnums.length) throw new ParseError(file, 2, 1, `${hnames.length} header names for ${hnums.length} header column numbers on line 1`);
  if (hvals.length !== hnames.length) throw new ParseError(file, 3, hvals[Math.min(hvals.length, hnames.length) - 1]?.col ?? 1, `${hvals.length} header values for ${hnames.length} header names`);
  hnums.forEach((f, i) => {
    if (f.text !== String(i + 1)) throw new ParseError(file, 1, f.col, `expected header column number ${i + 1}, got '${f.text}'`);
  });
  const header: Record<string, MesaHeaderValue> = {};
  hnames.forEach((f, i) => {
    const v = hvals[i]!;
    header[f.text] = v.quoted ? v.text : headerNumber(v, file, 3);
  });
  if (head[3]!.trim() !== '') throw new ParseError(file, 4, 1, 'expected an empty line between the header and the columns');
  const cnums = headerFields(head[4]!, file, 5);
  const cnameFields = headerFields(head[5]!, file, 6);
  const names = cnameFields.map(f => f.text);
  const ncol = names.length;
  if (ncol === 0) throw new ParseError(file, 6, 1, 'no column names');
  if (cnums.length !== ncol) throw new ParseError(file, 5, 1, `${cnums.length} column numbers for ${ncol} column names on line 6`);
  cnums.forEach((f, i) => {
    if (f.text !== String(i + 1)) throw new ParseError(file, 5, f.col, `expected column number ${i + 1}, got '${f.text}'`);
  });

  // Rows: capacity from the first row's length (fixed-width), grown when needed.
  const dataStart = p;
  const firstNl = b.indexOf(10, dataStart);
  const firstLen = Math.max(1, (firstNl === -1 ? n : firstNl + 1) - dataStart);
  let cap = Math.ceil((n - dataStart) / firstLen) + 8;
  let cols: Float64Array[] = names.map(() => new Float64Array(cap));
  const isInt = new Uint8Array(ncol).fill(1);
  const oddWarned = new Set<number>();
  let rows = 0;
  let line = 7;
  let truncated = false;
  let c = 0;

  outer: while (p < n) {
    const lineStart = p;
    if (rows === cap) {
      cap = Math.ceil(cap * 1.5) + 16;
      cols = cols.map(old => {
        const d = new Float64Array(cap);
        d.set(old);
        return d;
      });
    }
    for (let j = 0; j < ncol; j++) {
      // blanks before the value
      while (p < n && ((c = b[p]!) === 32 || c === 9 || c === 13)) p++;
      if (p >= n || c === 10) {
        if (j === 0) {
          if (p >= n) break outer;
          p++; // a blank line
          line++;
          continue outer;
        }
        if (p >= n) {
          truncated = true;
          break outer;
        }
        throw new ParseError(file, line, p - lineStart + 1, `row has ${j} values, expected ${ncol} (one per column)`);
      }
      const s = p;
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
      const tok = chars.slice(s, p);
      let v: number;
      if (plain) {
        v = fix ? (fortranNumber(tok) ?? NaN) : Number(tok);
        if (v !== v) {
          if (p >= n) {
            truncated = true;
            break outer;
          }
          throw new ParseError(file, line, s - lineStart + 1, `not a number: '${tok}' (column '${names[j]}')`);
        }
        if (isInteger && p - s > 15 && !Number.isSafeInteger(v)) throw new ParseError(file, line, s - lineStart + 1, `integer ${tok} is too large to be exact (column '${names[j]}')`);
      } else {
        const sp = SPECIAL[tok.toLowerCase()];
        if (sp !== undefined) v = sp;
        else if (/^[+-]?\*+$/.test(tok)) {
          // Fortran fills a field too narrow for its value with asterisks: there is no value.
          v = NaN;
          if (!oddWarned.has(j)) {
            oddWarned.add(j);
            warn(`${file}:${line}:${s - lineStart + 1}: '${tok}' (a value too wide for its field) in column '${names[j]}' read as NaN`);
          }
        } else {
          if (p >= n) {
            truncated = true;
            break outer;
          }
          throw new ParseError(file, line, s - lineStart + 1, `not a number: '${tok}' (column '${names[j]}')`);
        }
        isInteger = false;
      }
      if (!isInteger) isInt[j] = 0;
      cols[j]![rows] = v;
    }
    // End of the row: trailing blanks, then a newline.
    const endOfValues = p;
    while (p < n && ((c = b[p]!) === 32 || c === 9 || c === 13)) p++;
    if (p >= n) {
      // No newline: complete only if the last value was followed by a blank (MESA pads every field).
      if (endOfValues === p) {
        truncated = true;
        break;
      }
    } else if (c !== 10) {
      throw new ParseError(file, line, p - lineStart + 1, `row has more than ${ncol} values (one per column)`);
    } else p++;
    rows++;
    line++;
  }
  if (truncated) warn(`${file}:${line}: the last row is incomplete (is the run still writing?); it was ignored`);

  const columns: Record<string, Float64Array> = {};
  const kinds: Record<string, 'integer' | 'real'> = {};
  const sentinels = opts.sentinels ?? [];
  names.forEach((name, j) => {
    if (name in columns) {
      warn(`${file}: column '${name}' appears more than once (columns ${names.indexOf(name) + 1} and ${j + 1}); the first is used`);
      return;
    }
    const col = cap > rows * 1.25 + 64 ? cols[j]!.slice(0, rows) : cols[j]!.subarray(0, rows);
    if (sentinels.length) for (let i = 0; i < rows; i++) if (sentinels.includes(col[i]!)) col[i] = NaN;
    columns[name] = col;
    kinds[name] = isInt[j] && rows > 0 ? 'integer' : 'real';
  });
  return new MesaData(file, header, names, columns, kinds, rows, truncated, warnings);
}

/** A MESA `history.data`. */
export function mesaHistory(input: string | Uint8Array, opts: MesaDataOptions = {}): MesaData {
  return mesaData(input, opts, 'history.data');
}

/** A MESA `profile<N>.data` (same layout as history.data: header block, then one row per zone). */
export function mesaProfile(input: string | Uint8Array, opts: MesaDataOptions = {}): MesaData {
  return mesaData(input, opts, 'profile.data');
}
