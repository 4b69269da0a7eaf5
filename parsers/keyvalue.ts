// `key = value` / `key: value` files, with INI `[sections]` (keys become `section.key`), `#` and `;`
// comments (a whole line, or after a blank), `export KEY=value` lines as in shell env files.
// Values are typed: numbers, true/false, quoted strings unquoted ("…" with JSON escapes, '…' literal).
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
    const ci = inlineComment(line, vs);
    let ve = ci === -1 ? line.length : ci;
    while (ve > vs && /\s/.test(line[ve - 1]!)) ve--;
    const raw = line.slice(vs, ve);
    const q = raw[0] === '"' || raw[0] === "'" ? (raw[0] as '"' | "'") : null;
    if (q && (raw.length < 2 || raw[raw.length - 1] !== q)) throw new ParseError(file, lineNo, vs + 1, `unterminated ${q === '"' ? 'double' : 'single'}-quoted value`);
    entries.push({ line: lineNo, section, key: m[2]!, valueStart: off + vs, valueEnd: off + ve, quoted: q, raw });
    sectionEnds.set(section, Math.min(next, text.length));
    off = next;
  }
  return { entries, sectionEnds, separator: separator || ' = ' };
}

/** The typed value of an entry's raw text. */
export function kvValue(e: KvLine, file = 'config'): KeyValue {
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
