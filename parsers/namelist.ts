// Fortran namelist files (MESA inlists): `&group`, `key = value` assignments, `/` (or `&end`)
// closing the group, `!` comments. One scanner, working on character offsets of the whole text,
// serves both the parser (parsers.mesaInlist) and the patcher (patchers.mesa): the patcher
// replaces exactly the value's characters and nothing else.
import { ParseError, errorAt, lineCol, lineFinder, asText, type ParseOptions } from './errors.ts';

/** One value item of an assignment: a quoted string, or a bare token (number, logical, r*c). */
export interface NlToken {
  start: number;
  end: number;
  quoted: boolean;
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
}

export interface NlGroup {
  name: string;
  /** Offset of `&name`. */
  start: number;
  /** Offset of the closing `/` (or `&end`), and of the character after it. */
  end: number;
  endAfter: number;
}

export interface NlScan {
  text: string;
  groups: NlGroup[];
  assignments: NlAssignment[];
}

export const normKey = (k: string) => k.replace(/\s+/g, '').toLowerCase();

const isSpace = (c: number) => c === 32 || c === 9 || c === 13 || c === 12 || c === 11;
const isNameStart = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isNameChar = (c: number) => isNameStart(c) || (c >= 48 && c <= 57) || c === 37; /* % */

/** Scans a namelist file. Malformed structure (unterminated string or group, a value without a key) is a ParseError. */
export function scanNamelist(text: string, file = 'inlist'): NlScan {
  const groups: NlGroup[] = [];
  const assignments: NlAssignment[] = [];
  const n = text.length;
  let i = 0;
  let group: { name: string; start: number } | null = null;
  let current: NlAssignment | null = null;
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
        group = { name: groupName(text, i, j, file), start: i };
        current = null;
        i = j;
      } else i = lineEnd(text, i);
      continue;
    }
    const after = groupEnd(text, i, c);
    if (after !== -1) {
      groups.push({ name: group.name, start: group.start, end: i, endAfter: after });
      group = null;
      current = null;
      i = after;
      continue;
    }
    if (c === 38 /* & */) throw errorAt(file, text, i, `&${group.name} is not closed with '/' before the next group`);
    if (c === 44 /* , */ || c === 59 /* ; */) {
      i++;
      continue;
    }
    const k = isNameStart(c) ? keyEnd(text, i) : -1;
    if (k !== -1) {
      const eq = skipBlanks(text, k);
      current = { group: group.name, key: normKey(text.slice(i, k)), keyStart: i, eqEnd: eq + 1, tokens: [] };
      assignments.push(current);
      i = eq + 1;
      continue;
    }
    // A value token: a quoted string, or a bare value (number, logical, r*c, …).
    const quoted = c === 39 /* ' */ || c === 34 /* " */;
    const j = quoted ? closingQuote(text, i, file) + 1 : bareValueEnd(text, i, c, file);
    if (!current) throw errorAt(file, text, i, quoted ? 'a value without a key (expected `name = value`)' : `a value without a key: '${text.slice(i, j)}' (expected \`name = value\`)`);
    current.tokens.push({ start: i, end: j, quoted });
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

/** The typed value of one assignment: a scalar, or a list when several values are given. */
export function assignmentValue(text: string, a: NlAssignment, file = 'inlist', warn: (m: string) => void = () => {}): InlistValue {
  const vals: InlistValue[] = [];
  for (const t of a.tokens) vals.push(...tokenValue(text, t, file, warn));
  return vals.length === 0 ? null : vals.length === 1 ? vals[0]! : vals;
}

export interface NamelistDetails {
  /** `group.key` → value, in file order; duplicates resolved as MESA does (the last one wins). */
  values: Record<string, InlistValue>;
  /** Groups in file order (a group may occur more than once). */
  groups: string[];
  /** Keys assigned more than once, with the 1-based lines of every assignment. */
  duplicates: { key: string; lines: number[] }[];
  warnings: string[];
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
  const values: Record<string, InlistValue> = {};
  const lines = new Map<string, number[]>();
  const lineOf = lineFinder(text);
  for (const a of scan.assignments) {
    const key = `${a.group}.${a.key}`;
    values[key] = assignmentValue(text, a, file, warn);
    const l = lineOf(a.keyStart);
    lines.set(key, [...(lines.get(key) ?? []), l]);
  }
  const duplicates = [...lines].filter(([, ls]) => ls.length > 1).map(([key, ls]) => ({ key, lines: ls }));
  for (const d of duplicates) warn(`${file}: '${d.key}' is set ${d.lines.length} times (lines ${d.lines.join(', ')}); the last one wins, as in MESA`);
  return { values, groups: scan.groups.map(g => g.name), duplicates, warnings };
}

/**
 * A MESA inlist as a flat record: keys lower-cased and group-qualified (`controls.initial_mass`),
 * values typed (`.true.` → true, `1d-12` → 1e-12, quoted strings unquoted, several values → a list).
 * Duplicates: the last wins (as MESA reads it); they are reported through `opts.warn`.
 */
export function mesaInlist(input: string | Uint8Array, opts: ParseOptions = {}): Record<string, InlistValue> {
  return namelist(input, opts).values;
}

export { ParseError };
