// Fortran namelist files (MESA inlists): `&group`, `key = value` assignments, `/` (or `&end`)
// closing the group, `!` comments. One scanner, working on character offsets of the whole text,
// serves both the parser (parsers.mesaInlist) and the patcher (patchers.mesa): the patcher
// replaces exactly the value's characters and nothing else.
//
// Semantics follow a Fortran READ of one namelist group, as MESA does it (checked against
// gfortran, test/fixtures/namelist/): the READ stops at the FIRST `&name` group, so a repeated
// group is never read; within the group assignments apply in order, element by element (a later
// one overrides an earlier one only where they overlap); a null value (`x = 1, , 3`, `x = , 2`,
// `3*`) leaves its element unchanged.
import { ParseError, errorAt, lineCol, lineFinder, asText, type ParseOptions } from './errors.ts';

/**
 * One value item of an assignment: a quoted string, a bare token (number, logical, r*c, r*), or a
 * null value (`null: true`; its range is the separator that ends it, `x = , 2` → the first `,`).
 */
export interface NlToken {
  start: number;
  end: number;
  quoted: boolean;
  null?: boolean;
}

export interface NlAssignment {
  /** Group name, lower case. */
  group: string;
  /** Normalised key: lower case, no blanks, e.g. `x_ctrl(1)`. */
  key: string;
  /** Offset of the key and of the character after `=`. */
  keyStart: number;
  eqEnd: number;
  tokens: NlToken[];
  /** False in a repeated group (`&controls` a second time), which a Fortran READ never reaches. */
  read: boolean;
}

export interface NlGroup {
  name: string;
  /** Offset of `&name`. */
  start: number;
  /** Offset of the closing `/` (or `&end`), and of the character after it. */
  end: number;
  endAfter: number;
  /** False for a repeated group: a namelist READ stops at the first `&name`, so only that one is read. */
  read: boolean;
}

export interface NlScan {
  text: string;
  groups: NlGroup[];
  assignments: NlAssignment[];
}

/**
 * A normalised key: lower case, no blanks, integer subscripts canonical (`X_Ctrl( 01 )` →
 * `x_ctrl(1)`, `x(+3)` → `x(3)`, `x(1:5:1)` → `x(1:5)`), so two spellings of one element are one key.
 */
export function normKey(k: string): string {
  const s = k.replace(/\s+/g, '').toLowerCase();
  return s.includes('(') ? s.replace(/\(([^()]*)\)/g, (_, inner: string) => `(${inner.split(',').map(normSub).join(',')})`) : s;
}

function normSub(s: string): string {
  const parts = s.split(':').map(normInt);
  if (parts.length === 3 && parts[2] === '1') parts.pop();
  return parts.join(':');
}

function normInt(s: string): string {
  const m = /^([+-]?)0*(\d+)$/.exec(s);
  return m ? (m[1] === '-' && m[2] !== '0' ? '-' : '') + m[2]! : s;
}

const isSpace = (c: number) => c === 32 || c === 9 || c === 13 || c === 12 || c === 11;
const isNameStart = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isNameChar = (c: number) => isNameStart(c) || (c >= 48 && c <= 57) || c === 37; /* % */

/** Scans a namelist file. Malformed structure (unterminated string or group, a value without a key) is a ParseError. */
export function scanNamelist(text: string, file = 'inlist'): NlScan {
  const groups: NlGroup[] = [];
  const assignments: NlAssignment[] = [];
  const n = text.length;
  let i = 0;
  let group: { name: string; start: number; read: boolean } | null = null;
  const seen = new Set<string>();
  let current: NlAssignment | null = null;
  // After `=` or a value separator (`,`): a `,` here ends a null value.
  let afterSep = false;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isSpace(c) || c === 10) {
      i++;
      continue;
    }
    if (c === 33 /* ! */) {
      i = lineEnd(text, i);
      continue;
    }
    if (!group) {
      // Outside a group Fortran ignores everything up to the next `&name`.
      if (c === 38 /* & */ || c === 36 /* $ */) {
        const j = nameEnd(text, i + 1);
        const name = groupName(text, i, j, file);
        group = { name, start: i, read: !seen.has(name) };
        seen.add(name);
        current = null;
        i = j;
      } else i = lineEnd(text, i);
      continue;
    }
    const after = groupEnd(text, i, c);
    if (after !== -1) {
      groups.push({ name: group.name, start: group.start, end: i, endAfter: after, read: group.read });
      group = null;
      current = null;
      i = after;
      continue;
    }
    if (c === 38 /* & */) throw errorAt(file, text, i, `&${group.name} is not closed with '/' before the next group`);
    if (c === 44 /* , */ || c === 59 /* ; */) {
      if (current && afterSep) current.tokens.push({ start: i, end: i + 1, quoted: false, null: true });
      afterSep = true;
      i++;
      continue;
    }
    const k = isNameStart(c) ? keyEnd(text, i) : -1;
    if (k !== -1) {
      const eq = skipBlanks(text, k);
      current = { group: group.name, key: normKey(text.slice(i, k)), keyStart: i, eqEnd: eq + 1, tokens: [], read: group.read };
      assignments.push(current);
      afterSep = true;
      i = eq + 1;
      continue;
    }
    // A value token: a quoted string, or a bare value (number, logical, r*c, …).
    const quoted = c === 39 /* ' */ || c === 34 /* " */;
    const j = quoted ? closingQuote(text, i, file) + 1 : bareValueEnd(text, i, c, file);
    if (!current) throw errorAt(file, text, i, quoted ? 'a value without a key (expected `name = value`)' : `a value without a key: '${text.slice(i, j)}' (expected \`name = value\`)`);
    current.tokens.push({ start: i, end: j, quoted });
    afterSep = false;
    i = j;
  }
  if (group) throw errorAt(file, text, group.start, `&${group.name} is not closed with '/'`);
  return { text, groups, assignments };
}

/** Offset of the line break ending the line of `i` (or the end of the text). */
function lineEnd(text: string, i: number): number {
  const nl = text.indexOf('\n', i);
  return nl === -1 ? text.length : nl;
}

/** Offset after the name characters starting at `i`. */
function nameEnd(text: string, i: number): number {
  const n = text.length;
  while (i < n && isNameChar(text.charCodeAt(i))) i++;
  return i;
}

/** Offset after the blanks (spaces and tabs only) starting at `i`. */
function skipBlanks(text: string, i: number): number {
  const n = text.length;
  while (i < n && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9)) i++;
  return i;
}

/** The name of the group opened by `&name` (`i` at `&`, `j` after the name), lower case. */
function groupName(text: string, i: number, j: number, file: string): string {
  const name = text.slice(i + 1, j).toLowerCase();
  if (name === '') throw errorAt(file, text, i, "'&' without a group name");
  if (name === 'end') throw errorAt(file, text, i, `'${text.slice(i, j)}' outside a group`);
  return name;
}

/** Inside a group: the offset after `/` or `&end` closing it at `i`, or -1. */
function groupEnd(text: string, i: number, c: number): number {
  if (c === 47 /* / */) return i + 1;
  if ((c === 38 || c === 36) && /^[&$]end\b/i.test(text.slice(i, i + 5))) return i + 4;
  return -1;
}

/**
 * A name at `i` followed by optional subscripts and `=` starts an assignment: the offset after the
 * key (before blanks and `=`), or -1 if it is a value (T, F, …).
 */
function keyEnd(text: string, i: number): number {
  let k = nameEnd(text, i + 1);
  for (;;) {
    const m = skipBlanks(text, k);
    const d = text.charCodeAt(m);
    if (d === 40 /* ( */) {
      const close = text.indexOf(')', m);
      const nl = text.indexOf('\n', m);
      if (close === -1 || (nl !== -1 && nl < close)) return -1;
      k = close + 1;
    } else if (d === 37 /* % */) {
      // a derived type component after a subscript: a(1)%b
      k = nameEnd(text, m + 1);
    } else return d === 61 /* = */ ? k : -1;
  }
}

/** The end of a bare value token: up to a blank, comma, slash or comment; a parenthesised (complex) value as one token. */
function bareValueEnd(text: string, i: number, c: number, file: string): number {
  const n = text.length;
  if (c === 40 /* ( */) {
    const close = text.indexOf(')', i);
    const nl = text.indexOf('\n', i);
    if (close === -1 || (nl !== -1 && nl < close)) throw errorAt(file, text, i, "unclosed '('");
    return close + 1;
  }
  let j = i;
  while (j < n) {
    const d = text.charCodeAt(j);
    if (isSpace(d) || d === 10 || d === 44 || d === 47 || d === 33 || d === 59 || d === 39 || d === 34) break;
    if (d === 61 /* = */) throw errorAt(file, text, j, `unexpected '=' (is '${text.slice(i, j)}' a key with a malformed name?)`);
    j++;
  }
  // A repeat count before a string, `3*'abc'`: the string belongs to the token.
  const q = text.charCodeAt(j);
  if (j > i && text.charCodeAt(j - 1) === 42 /* * */ && (q === 39 || q === 34)) j = closingQuote(text, j, file) + 1;
  return j;
}

/** Index of the quote closing the string that opens at `i` (a doubled quote is a literal one). */
function closingQuote(text: string, i: number, file: string): number {
  const q = text.charCodeAt(i);
  let j = i + 1;
  for (;;) {
    if (j >= text.length || text.charCodeAt(j) === 10) throw errorAt(file, text, i, 'unterminated string (a namelist string ends on the line it starts)');
    if (text.charCodeAt(j) === q) {
      if (text.charCodeAt(j + 1) === q) j += 2;
      else return j;
    } else j++;
  }
}

export type InlistValue = string | number | boolean | null | InlistValue[];

const REAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eEdDqQ][+-]?\d+|[+-]\d+)?$/;

/** Converts a Fortran number as written (`1d-12`, `1.0-100`, `2.`) to a JS number, or undefined. */
export function fortranNumber(s: string): number | undefined {
  if (!REAL.test(s)) return undefined;
  let t = s.replace(/[dDqQ]/, 'e');
  // `1.0-100`: a 3-digit exponent written without its letter.
  t = t.replace(/(\d|\.)([+-]\d+)$/, '$1e$2');
  const v = Number(t);
  return Number.isNaN(v) ? undefined : v;
}

function tokenValue(text: string, t: NlToken, file: string, warn: (m: string) => void): InlistValue[] {
  if (t.null) return [null];
  const raw = text.slice(t.start, t.end);
  if (t.quoted) {
    const q = raw[0]!;
    return [raw.slice(1, -1).split(q + q).join(q)];
  }
  const star = /^(\d+)\*(.*)$/s.exec(raw);
  if (star) {
    const r = Number(star[1]);
    const inner = star[2]!;
    const v: InlistValue = inner === '' ? null : tokenValue(text, { start: t.end - inner.length, end: t.end, quoted: inner[0] === "'" || inner[0] === '"' }, file, warn)[0]!;
    if (r > 100000) throw errorAt(file, text, t.start, `repeat count ${r} is too large`);
    return Array.from({ length: r }, () => v);
  }
  if (/^\.?[tf]/i.test(raw) && /^\.?(t|true|f|false)\.?$/i.test(raw)) return [/^\.?t/i.test(raw)];
  const num = fortranNumber(raw);
  if (num !== undefined && /^[+-]?\d+$/.test(raw) && !Number.isSafeInteger(num) && String(num) !== raw.replace(/^\+/, '')) throw errorAt(file, text, t.start, `integer ${raw} is too large to be read exactly`);
  if (num !== undefined) return [num];
  if (raw.startsWith('(')) throw errorAt(file, text, t.start, `complex value ${raw} is not supported`);
  if (/^[+-]?[\d.]/.test(raw)) throw errorAt(file, text, t.start, `malformed number '${raw}'`);
  const { line, column } = lineCol(text, t.start);
  warn(`${file}:${line}:${column}: unquoted string '${raw}' read as a string`);
  return [raw];
}

/** The values of one assignment, one per storage position from the designated element on; `null`: a null value (element left unchanged). */
export function assignmentValues(text: string, a: NlAssignment, file = 'inlist', warn: (m: string) => void = () => {}): InlistValue[] {
  const vals: InlistValue[] = [];
  for (const t of a.tokens) for (const v of tokenValue(text, t, file, warn)) vals.push(v);
  return vals;
}

const collapse = (vals: InlistValue[]): InlistValue => (vals.length === 0 ? null : vals.length === 1 ? vals[0]! : vals);

/** The typed value of one assignment: a scalar, or a list when several values are given (`null` where a value is null). */
export function assignmentValue(text: string, a: NlAssignment, file = 'inlist', warn: (m: string) => void = () => {}): InlistValue {
  return collapse(assignmentValues(text, a, file, warn));
}

/** Which storage positions an assignment sets (false: a null value), from its tokens alone. */
export function assignmentCoverage(text: string, a: NlAssignment): boolean[] {
  const out: boolean[] = [];
  for (const t of a.tokens) {
    if (t.null) out.push(false);
    else if (t.quoted) out.push(true);
    else {
      const star = /^(\d+)\*/.exec(text.slice(t.start, Math.min(t.end, t.start + 12)));
      if (!star) out.push(true);
      else for (let r = Math.min(Number(star[1]), 100000), set = t.end > t.start + star[0].length; r > 0; r--) out.push(set);
    }
  }
  return out;
}

// ───────────── designators: which elements an assignment sets, and whether two overlap ─────────────

/** One subscript: an integer (`lo`, not a range) or a triplet `lo:hi:st` (null where omitted). */
export interface Sub {
  lo: number | null;
  hi: number | null;
  st: number;
  range: boolean;
}

/** A normalised key split into its variable, its first subscript list (null: none) and the rest (`%b`, …). */
export interface Designator {
  base: string;
  /** One entry per subscript; null where it is not an integer or a triplet of integers. */
  subs: (Sub | null)[] | null;
  rest: string;
}

const intOrNull = (s: string | undefined): number | null | undefined => {
  if (s === undefined || s === '') return null;
  const v = /^[+-]?\d+$/.test(s) ? Number(s) : NaN;
  return Number.isSafeInteger(v) ? v : undefined;
};

function parseSub(s: string): Sub | null {
  const parts = s.split(':');
  if (parts.length > 3) return null;
  const [lo, hi, st] = [intOrNull(parts[0]), intOrNull(parts[1]), intOrNull(parts[2])];
  if (lo === undefined || hi === undefined || st === undefined) return null;
  if (parts.length === 1) return lo === null ? null : { lo, hi: lo, st: 1, range: false };
  if (st === 0) return null;
  return { lo, hi, st: st ?? 1, range: true };
}

export function designator(key: string): Designator {
  const m = /^([^(%]*)(?:\(([^()]*)\))?(.*)$/s.exec(key)!;
  return { base: m[1]!, subs: m[2] === undefined ? null : m[2].split(',').map(parseSub), rest: m[3]! };
}

/** The elements (as index keys, `7` or `1,2`) an assignment to `d` sets at its assigned positions, or null when that needs the array's bounds or shape. */
export function elementsSet(d: Designator, assigned: boolean[]): { keys: string[]; pos: number[]; rank: number } | null {
  if (d.subs === null || d.rest !== '' || d.subs.some(s => s === null)) return null;
  const subs = d.subs as Sub[];
  const keys: string[] = [];
  const pos: number[] = [];
  if (subs.length === 1) {
    const s = subs[0]!;
    if (s.lo === null) return null;
    const size = s.range && s.hi !== null ? Math.floor((s.hi - s.lo) / s.st) + 1 : Infinity;
    for (let p = 0; p < assigned.length && p < size; p++) {
      if (!assigned[p]) continue;
      keys.push(String(s.lo + p * s.st));
      pos.push(p);
    }
    return { keys, pos, rank: 1 };
  }
  // Several dimensions: only one element assigned one value is known without the shape.
  if (subs.some(s => s.range) || assigned.some((a, p) => a && p > 0)) return null;
  if (assigned[0]) {
    keys.push(subs.map(s => s.lo).join(','));
    pos.push(0);
  }
  return { keys, pos, rank: subs.length };
}

/** Whether assignments to `a` (positions `ca`) and `b` (positions `cb`) set a common element: yes, no, or maybe (it depends on bounds or shape). */
export function overlap(a: Designator, ca: boolean[], b: Designator, cb: boolean[]): 'yes' | 'no' | 'maybe' {
  if (a.base !== b.base || !ca.includes(true) || !cb.includes(true)) return 'no';
  const ea = elementsSet(a, ca);
  const eb = elementsSet(b, cb);
  if (ea && eb) {
    if (ea.rank !== eb.rank) return 'maybe';
    const s = new Set(ea.keys);
    return eb.keys.some(k => s.has(k)) ? 'yes' : 'no';
  }
  // Parts of derived-type elements (`a(1)%b`, `a(2)%b`): disjoint when the elements differ.
  if (a.rest !== '' && b.rest !== '' && a.subs && b.subs && a.subs.length === b.subs.length) {
    const el = (d: Designator) => (d.subs!.every(s => s && !s.range) ? d.subs!.map(s => s!.lo).join(',') : null);
    const [x, y] = [el(a), el(b)];
    if (x !== null && y !== null && x !== y) return 'no';
    const comp = (d: Designator) => /^%([a-z0-9_]+)/.exec(d.rest)?.[1];
    if (x !== null && x === y && comp(a) !== undefined && comp(b) !== undefined && comp(a) !== comp(b)) return 'no';
  }
  return 'maybe';
}

export interface NamelistDetails {
  /**
   * `group.key` → value, in file order, as a Fortran READ of each group leaves it: only the first
   * occurrence of a group is read; within it, a key set twice is merged element by element (the
   * later value wins where it is not null); where a later assignment of another key overlaps
   * (`x(1:3) = 1, 2, 3` after `x(2) = 9`), the earlier key's value shows what is read (`x(2)`: 2).
   * In a list, `null` marks a null value: that element is left unchanged (not set by this key).
   */
  values: Record<string, InlistValue>;
  /** Groups in file order (a group may occur more than once; only its first occurrence is read). */
  groups: string[];
  /** Keys assigned more than once in the group that is read, with the 1-based lines of every assignment. */
  duplicates: { key: string; lines: number[] }[];
  warnings: string[];
}

interface Entry {
  full: string;
  d: Designator;
  vals: InlistValue[];
  line: number;
  /** Index key → position in `vals`, for the elements this key sets (when known without bounds). */
  at: Map<string, number>;
}

/** Parses a namelist file with everything the short form (`mesaInlist`) leaves out. */
export function namelist(input: string | Uint8Array, opts: ParseOptions = {}): NamelistDetails {
  const text = asText(input);
  const file = opts.file ?? 'inlist';
  const warnings: string[] = [];
  const warn = (m: string) => {
    warnings.push(m);
    opts.warn?.(m);
  };
  const scan = scanNamelist(text, file);
  const lineOf = lineFinder(text);
  const firstAt = new Map<string, number>();
  for (const g of scan.groups) {
    if (g.read) firstAt.set(g.name, lineOf(g.start));
    else warn(`${file}:${lineOf(g.start)}: &${g.name} appears again (first at line ${firstAt.get(g.name)}); a namelist READ stops at the first &${g.name}, so MESA reads only that one and this one is ignored`);
  }
  const entries = new Map<string, Entry>();
  // Per `group.base`: entries by element set, and those whose elements are not known (whole arrays, …).
  const byBase = new Map<string, { byIndex: Map<string, Set<Entry>>; vague: Set<Entry>; all: Entry[] }>();
  const lines = new Map<string, number[]>();
  const elementwise = new Set<string>();
  const told = new Set<string>();
  const tell = (later: Entry, earlier: Entry, sure: boolean) => {
    const pair = `${earlier.full}\0${later.full}`;
    if (told.has(pair)) return;
    told.add(pair);
    warn(
      sure
        ? `${file}:${later.line}: '${later.full}' overrides '${earlier.full}' (line ${earlier.line}) where they overlap; the later assignment wins, as in MESA`
        : `${file}:${later.line}: '${later.full}' may override '${earlier.full}' (line ${earlier.line}): whether they overlap depends on the array's bounds or shape; both are reported as written`,
    );
  };
  for (const a of scan.assignments) {
    if (!a.read) continue;
    const full = `${a.group}.${a.key}`;
    const line = lineOf(a.keyStart);
    lines.set(full, [...(lines.get(full) ?? []), line]);
    const vals = assignmentValues(text, a, file, warn);
    const cov = vals.map(v => v !== null);
    if (vals.length !== 1 || vals[0] === null) elementwise.add(full);
    let e = entries.get(full);
    if (!e) {
      e = { full, d: designator(a.key), vals: [...vals], line, at: new Map() };
      entries.set(full, e);
    } else {
      e.line = line;
      vals.forEach((v, i) => {
        if (v !== null || i >= e!.vals.length) e!.vals[i] = v;
      });
    }
    const bk = `${a.group}.${e.d.base}`;
    let b = byBase.get(bk);
    if (!b) byBase.set(bk, (b = { byIndex: new Map(), vague: new Set(), all: [] }));
    if (!b.all.includes(e)) b.all.push(e);
    const set = elementsSet(e.d, cov);
    if (set) {
      set.keys.forEach((k, j) => {
        const others = b!.byIndex.get(k);
        if (others) {
          for (const o of others) {
            if (o === e) continue;
            o.vals[o.at.get(k)!] = vals[set.pos[j]!]!;
            tell(e!, o, true);
          }
        } else b!.byIndex.set(k, new Set());
        b!.byIndex.get(k)!.add(e!);
        e!.at.set(k, set.pos[j]!);
      });
      for (const o of b.vague) if (o !== e && overlap(o.d, o.vals.map(v => v !== null), e.d, cov) !== 'no') tell(e, o, false);
    } else {
      b.vague.add(e);
      for (const o of b.all) if (o !== e && overlap(o.d, o.vals.map(v => v !== null), e.d, cov) !== 'no') tell(e, o, false);
    }
  }
  const values: Record<string, InlistValue> = {};
  for (const [k, e] of entries) values[k] = collapse(e.vals);
  const duplicates = [...lines].filter(([, ls]) => ls.length > 1).map(([key, ls]) => ({ key, lines: ls }));
  for (const d of duplicates) warn(`${file}: '${d.key}' is set ${d.lines.length} times (lines ${d.lines.join(', ')}); the last one wins${elementwise.has(d.key) ? ' (element by element: a null or missing value keeps the earlier one)' : ''}, as in MESA`);
  return { values, groups: scan.groups.map(g => g.name), duplicates, warnings };
}

/**
 * A MESA inlist as a flat record: keys lower-cased and group-qualified (`controls.initial_mass`),
 * values typed (`.true.` → true, `1d-12` → 1e-12, quoted strings unquoted, several values → a list,
 * `null` for a null value). Read as MESA reads it: the first occurrence of a group only; within it
 * the later assignment wins (element by element). Duplicates and overrides are reported through `opts.warn`.
 */
export function mesaInlist(input: string | Uint8Array, opts: ParseOptions = {}): Record<string, InlistValue> {
  return namelist(input, opts).values;
}

export { ParseError };
