// `key = value` / `key: value` files, with INI `[sections]` (keys become `section.key`), `#` and `;`
// comments (a whole line, or after a blank), and shell env files. Values are typed: numbers,
// true/false, quoted strings unquoted ("…" with JSON escapes, '…' literal).
// Shell lines — `export KEY=value`, and every line of a `.sh`/`.bash`/`.env` file — are read as bash
// reads a word: '…', "…", $'…' and backslash escapes, concatenated; `#` after a blank is a comment.
import { asText, ParseError, type ParseOptions } from './errors.ts';

export type KeyValue = string | number | boolean;

/** A number as written in a config file (no leading zeros, so `007` stays a string), or undefined. */
export function plainNumber(s: string): number | undefined {
  if (!/^[+-]?(?:0|[1-9]\d*|(?=\.\d))(?:\.\d*)?(?:[eE][+-]?\d+)?$/.test(s)) return undefined;
  const v = Number(s);
  // An integer too large for a double stays text unless the double prints back as written:
  // never a silently rounded number.
  if (/^[+-]?\d+$/.test(s) && !Number.isSafeInteger(v) && String(v) !== s.replace(/^\+/, '')) return undefined;
  return Number.isFinite(v) ? v : undefined;
}

/** Unquoted text → typed value: number, boolean, or the string itself. */
export function typedScalar(s: string): KeyValue {
  if (s === 'true' || s === 'True' || s === 'TRUE') return true;
  if (s === 'false' || s === 'False' || s === 'FALSE') return false;
  return plainNumber(s) ?? s;
}

export interface KvLine {
  /** 1-based line number, offset of the line in the text. */
  line: number;
  section: string | null;
  key: string;
  /** Offsets in the text: the value's characters (quotes included), and the end of the line's content before a comment. */
  valueStart: number;
  valueEnd: number;
  quoted: '"' | "'" | null;
  raw: string;
  /** A shell assignment (an `export` line, or any line of a shell file): the value is a shell word. */
  shell: boolean;
}

/** Files bash sources: every line is a shell assignment. */
export function isShellFile(file: string): boolean {
  const base = file.split('/').pop() ?? file;
  return /\.(sh|bash|env)$/.test(base) || base === '.env' || base.startsWith('.env.');
}

export interface KvScan {
  entries: KvLine[];
  /** Section name → offset just after its last entry line (or its header line), for insertions. */
  sectionEnds: Map<string | null, number>;
  /** The separator as written in the first entry (` = `, `=`, `: `), for insertions. */
  separator: string;
}

/** Finds where an inline comment starts (`#` or `;` after a blank, outside quotes), or -1. */
function inlineComment(s: string, from: number): number {
  let q: string | null = null;
  for (let i = from; i < s.length; i++) {
    const c = s[i]!;
    if (q) {
      if (c === '\\' && q === '"') i++;
      else if (c === q) q = null;
    } else if ((c === '"' || c === "'") && (i === from || /\s/.test(s[i - 1]!))) q = c;
    else if ((c === '#' || c === ';') && i > from && /\s/.test(s[i - 1]!)) return i;
  }
  return -1;
}

export function scanKeyValue(text: string, file = 'config'): KvScan {
  const entries: KvLine[] = [];
  const sectionEnds = new Map<string | null, number>();
  let separator = '';
  let section: string | null = null;
  let off = 0;
  let lineNo = 0;
  const shellFile = isShellFile(file);
  sectionEnds.set(null, 0);
  while (off <= text.length) {
    lineNo++;
    const nl = text.indexOf('\n', off);
    const end = nl === -1 ? text.length : nl;
    const line = text.slice(off, end).replace(/\r$/, '');
    const next = nl === -1 ? text.length + 1 : nl + 1;
    const t = line.trimStart();
    const ind = line.length - t.length;
    if (t === '' || t.startsWith('#') || t.startsWith(';')) {
      off = next;
      continue;
    }
    if (t.startsWith('[')) {
      const m = /^\[([^\]]*)\]\s*(?:[#;].*)?$/.exec(t);
      if (!m || m[1]!.trim() === '') throw new ParseError(file, lineNo, ind + 1, `malformed section header '${t}'`);
      section = m[1]!.trim();
      sectionEnds.set(section, Math.min(next, text.length));
      off = next;
      continue;
    }
    const m = /^(export\s+)?([^=:\s][^=:]*?)\s*([=:])\s*/.exec(t);
    if (!m) throw new ParseError(file, lineNo, ind + 1, `expected 'key = value', 'key: value' or '[section]', got '${t.length > 60 ? t.slice(0, 60) + '…' : t}'`);
    if (!separator) separator = t.slice(m[2]!.length + (m[1]?.length ?? 0), m[0].length);
    const vs = ind + m[0].length;
    if (m[1] !== undefined || shellFile) {
      const ve = shellWordEnd(line, vs, file, lineNo);
      entries.push({ line: lineNo, section, key: m[2]!, valueStart: off + vs, valueEnd: off + ve, quoted: null, raw: line.slice(vs, ve), shell: true });
      sectionEnds.set(section, Math.min(next, text.length));
      off = next;
      continue;
    }
    const ci = inlineComment(line, vs);
    let ve = ci === -1 ? line.length : ci;
    while (ve > vs && /\s/.test(line[ve - 1]!)) ve--;
    const raw = line.slice(vs, ve);
    const q = raw[0] === '"' || raw[0] === "'" ? (raw[0] as '"' | "'") : null;
    if (q && (raw.length < 2 || raw[raw.length - 1] !== q)) throw new ParseError(file, lineNo, vs + 1, `unterminated ${q === '"' ? 'double' : 'single'}-quoted value`);
    entries.push({ line: lineNo, section, key: m[2]!, valueStart: off + vs, valueEnd: off + ve, quoted: q, raw, shell: false });
    sectionEnds.set(section, Math.min(next, text.length));
    off = next;
  }
  return { entries, sectionEnds, separator: separator || ' = ' };
}

/** The typed value of an entry's raw text. */
export function kvValue(e: KvLine, file = 'config'): KeyValue {
  if (e.shell) return /['"\\$]/.test(e.raw) ? shellWord(e.raw) : typedScalar(e.raw);
  if (e.quoted === '"') {
    try {
      return JSON.parse(e.raw) as string;
    } catch {
      throw new ParseError(file, e.line, 1, `malformed double-quoted value ${e.raw}`);
    }
  }
  if (e.quoted === "'") return e.raw.slice(1, -1);
  return typedScalar(e.raw);
}

/**
 * Parses a key=value / INI file into a flat record (`section.key` inside a section). Duplicates:
 * the last wins, reported through `opts.warn`.
 */
export function keyvalue(input: string | Uint8Array, opts: ParseOptions = {}): Record<string, KeyValue> {
  const text = asText(input);
  const file = opts.file ?? 'config';
  const out: Record<string, KeyValue> = {};
  const seen = new Map<string, number>();
  for (const e of scanKeyValue(text, file).entries) {
    const k = e.section === null ? e.key : `${e.section}.${e.key}`;
    const prev = seen.get(k);
    if (prev !== undefined) opts.warn?.(`${file}:${e.line}: '${k}' is set again (first on line ${prev}); the last one wins`);
    seen.set(k, e.line);
    Object.defineProperty(out, k, { value: kvValue(e, file), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/**
 * The end of the shell word starting at `from` (quotes and escapes included): the first unquoted
 * blank or the end of the line. After the word only a `#` comment may follow.
 */
function shellWordEnd(line: string, from: number, file: string, lineNo: number): number {
  let i = from;
  while (i < line.length && !/\s/.test(line[i]!)) {
    const c = line[i]!;
    if (c === '\\') i += 2;
    else if (c === "'" || c === '"' || (c === '$' && line[i + 1] === "'")) i = quoteEnd(line, c === '$' ? i + 1 : i, c === "'" ? "'" : c === '"' ? '"' : '$', file, lineNo) + 1;
    else i++;
  }
  const end = Math.min(i, line.length);
  const rest = line.slice(end).trim();
  if (rest !== '' && !rest.startsWith('#')) throw new ParseError(file, lineNo, end + 1, `a shell assignment's value is one word: quote it ('${line.slice(from).trim()}')`);
  return end;
}

/** Offset of the quote closing the one at `open` ('…' has no escapes; "…" and $'…' do). */
function quoteEnd(line: string, open: number, kind: "'" | '"' | '$', file: string, lineNo: number): number {
  const q = line[open]!;
  for (let i = open + 1; i < line.length; i++) {
    if (line[i] === '\\' && kind !== "'") i++;
    else if (line[i] === q) return i;
  }
  throw new ParseError(file, lineNo, open + 1, `unterminated ${q === '"' ? 'double' : 'single'}-quoted value`);
}

const ANSI_C: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', e: '\x1b', E: '\x1b', f: '\f', v: '\v', '\\': '\\', "'": "'", '"': '"', '?': '?' };

/** The string bash makes of one word: quotes removed, escapes applied (no expansions). */
export function shellWord(raw: string): string {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === "'") {
      const j = raw.indexOf("'", i + 1);
      out += raw.slice(i + 1, j);
      i = j;
    } else if (c === '$' && raw[i + 1] === "'") {
      for (i += 2; raw[i] !== "'"; i++) {
        if (raw[i] !== '\\') { out += raw[i]; continue; }
        const e = raw[++i]!;
        const hex = e === 'x' ? /^[0-9a-fA-F]{1,2}/.exec(raw.slice(i + 1)) : null;
        if (hex) { out += String.fromCharCode(parseInt(hex[0], 16)); i += hex[0].length; } else out += ANSI_C[e] ?? '\\' + e;
      }
    } else if (c === '"') {
      for (i++; raw[i] !== '"'; i++) {
        if (raw[i] === '\\' && '$`"\\\n'.includes(raw[i + 1]!)) i++;
        out += raw[i];
      }
    } else if (c === '\\') out += raw[++i] ?? '';
    else out += c;
  }
  return out;
}
