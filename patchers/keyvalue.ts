// key=value / key: value / INI files. A parameter `key` sets `key` (outside sections, or in the one
// section that has it); `section.key` sets it in `[section]`. The separator, spacing, quoting style
// and trailing comments of the line are kept.
import { isShellFile, scanKeyValue, typedScalar, type KvLine, type KvScan } from '../parsers/keyvalue.ts';
import { closest } from '../parsers/errors.ts';
import { PatchError, cachedScanner, type PatchOptions, type Values } from './errors.ts';
import { applyEdits } from './json.ts';

export type KeyValuePatchOptions = PatchOptions;

const scan = cachedScanner<KvScan>(scanKeyValue);

/** A value as the parser reads it back: bare when unambiguous, else double-quoted with JSON escapes. */
export function kvLiteral(v: unknown, quoted: KvLine['quoted'], key: string, file?: string, shell = false): string {
  if (shell) return shellLiteral(v, key, file);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new PatchError(`${key}: ${v} cannot be written to ${file ?? 'the file'}`, file, key);
    return String(v);
  }
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v === 'string') {
    if (quoted === "'" && !/['\r\n]/.test(v)) return `'${v}'`;
    const bare = v !== '' && typedScalar(v) === v && v.trim() === v && !/[\r\n"'#;]|^[\[]/.test(v) && !/\s[#;]/.test(v);
    return bare && quoted === null ? v : JSON.stringify(v);
  }
  throw new PatchError(`${key}: cannot write ${v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v} as a key=value value`, file, key);
}

function hits(s: KvScan, key: string): KvLine[] {
  const full = s.entries.filter(e => (e.section === null ? e.key : `${e.section}.${e.key}`) === key);
  return full.length ? full : s.entries.filter(e => e.key === key);
}

export function keyvalueHas(text: string, key: string, opts: KeyValuePatchOptions = {}): boolean {
  return hits(scan(text, opts.file ?? 'config'), key).length > 0;
}

export function keyvalue(text: string, values: Values, opts: KeyValuePatchOptions = {}): string {
  const file = opts.file ?? 'config';
  const s = scan(text, file);
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const edits: { start: number; end: number; text: string; key: string }[] = [];
  const newSections = new Map<string, string[]>();
  for (const [key, value] of Object.entries(values)) {
    const h = hits(s, key);
    if (h.length) {
      const sections = [...new Set(h.map(e => e.section))];
      if (sections.length > 1) throw new PatchError(`key '${key}' is set in several sections of ${file} (${sections.map(x => (x === null ? '(top)' : `[${x}]`)).join(', ')}); qualify it, e.g. '${sections.find(x => x !== null)}.${key}'`, file, key);
      for (const e of h) edits.push({ start: e.valueStart, end: e.valueEnd, text: kvLiteral(value, e.quoted, key, file, e.shell), key });
      continue;
    }
    if (opts.add) {
      const lit = kvLiteral(value, null, key, file, isShellFile(file));
      const dot = key.indexOf('.');
      const sec = dot > 0 && s.sectionEnds.has(key.slice(0, dot)) ? key.slice(0, dot) : null;
      const bare = sec === null ? key : key.slice(dot + 1);
      if (sec === null && dot > 0 && s.sectionEnds.size > 1 && !s.entries.some(e => e.section === null && e.key.includes('.'))) {
        // `section.key` for a section that does not exist yet: append it
        const ns = key.slice(0, dot);
        newSections.set(ns, [...(newSections.get(ns) ?? []), `${key.slice(dot + 1)}${s.separator}${lit}`]);
        continue;
      }
      // after the section's last entry (top-level keys: after the last top-level entry, before the first section)
      let at = s.sectionEnds.get(sec) ?? text.length;
      if (sec === null && !s.entries.some(e => e.section === null)) at = 0;
      const needsEol = at > 0 && text[at - 1] !== '\n';
      edits.push({ start: at, end: at, text: `${needsEol ? eol : ''}${bare}${s.separator}${lit}${eol}`, key });
      continue;
    }
    const near = closest(key, s.entries.map(e => (e.section === null ? e.key : `${e.section}.${e.key}`)));
    throw new PatchError(`key '${key}' is not set in ${file}${near.length ? `; closest keys: ${near.join(', ')}` : ''}`, file, key);
  }
  let out = applyEdits(text, edits, file);
  for (const [sec, lines] of newSections) out += `${out === '' || out.endsWith('\n') ? '' : eol}${eol}[${sec}]${eol}${lines.join(eol)}${eol}`;
  return out;
}

/**
 * A value for a shell assignment (`export KEY=…`, `.sh`/`.env` files), written so that bash reads
 * back exactly the string: bare when it is plain, else in single quotes (a `'` as `'\\''`), or as
 * $'…' when it holds control characters such as a newline (which would otherwise end the line).
 */
export function shellLiteral(v: unknown, key: string, file?: string): string {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new PatchError(`${key}: ${v} cannot be written to ${file ?? 'the file'}`, file, key);
    return String(v);
  }
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v !== 'string') throw new PatchError(`${key}: cannot write ${v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v} as a shell value`, file, key);
  if (v.includes('\0')) throw new PatchError(`${key}: a shell variable cannot hold a NUL byte`, file, key);
  if (v !== '' && /^[A-Za-z0-9_\/.,:=@%+-]+$/.test(v) && typedScalar(v) === v) return v;
  if (!/[\x00-\x1f\x7f]/.test(v)) return "'" + v.replace(/'/g, "'\\''") + "'";
  return "$'" + v.replace(/[\\'\x00-\x1f\x7f]/g, c => (c === '\\' || c === "'" ? '\\' + c : '\\x' + c.charCodeAt(0).toString(16).padStart(2, '0'))) + "'";
}
