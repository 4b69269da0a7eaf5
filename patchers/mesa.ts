// MESA inlists are Fortran namelists: `&group`, `key = value`, `/` closes the group, `!` comments.
// The patcher is content based (text in, text out) so commits can be built without a working tree.
// It edits exactly the characters of the values it sets: indentation, alignment, trailing comments
// and every other line stay byte for byte.
import { scanNamelist, normKey, type NlAssignment, type NlGroup, type NlScan } from '../parsers/namelist.ts';
import { closest } from '../parsers/errors.ts';
import { PatchError, cachedScanner, type PatchOptions, type Values } from './errors.ts';

export interface MesaPatchOptions extends PatchOptions {
  /** File name used in error messages (default `inlist`). */
  file?: string;
  /** Insert keys that are absent (needs a group-qualified key, `controls.x_ctrl(3)`). */
  add?: boolean;
  /** Write floating-point exponents with `d` (Fortran double) instead of `e`. */
  exponent?: 'e' | 'd';
}

/** Kept for compatibility: the mesa patcher's errors (a PatchError). */
export class MesaPatchError extends PatchError {}

interface Prepared {
  scan: NlScan;
  byKey: Map<string, NlAssignment[]>;
  /** Last occurrence of each group. */
  groups: Map<string, NlGroup>;
}

// Sweeps patch the same base text for every point: scan it once.
const prepare = cachedScanner<Prepared>((text, file) => {
  const scan = scanNamelist(text, file);
  const byKey = new Map<string, NlAssignment[]>();
  for (const a of scan.assignments) {
    const l = byKey.get(a.key);
    if (l) l.push(a);
    else byKey.set(a.key, [a]);
  }
  return { scan, byKey, groups: new Map(scan.groups.map(g => [g.name, g] as const)) };
});

/** `controls.x_ctrl(1)` → group `controls`, key `x_ctrl(1)`; `x_ctrl(1)` → no group. */
function splitKey(rawKey: string): { group: string | null; key: string; bare: string } {
  const dot = rawKey.indexOf('.');
  const paren = rawKey.indexOf('(');
  if (dot > 0 && (paren === -1 || dot < paren)) {
    const bare = rawKey.slice(dot + 1);
    return { group: rawKey.slice(0, dot).trim().toLowerCase(), key: normKey(bare), bare: bare.trim() };
  }
  return { group: null, key: normKey(rawKey), bare: rawKey.trim() };
}

/** A value as a Fortran namelist literal. */
export function fortranLiteral(v: unknown, opts: MesaPatchOptions = {}, key = ''): string {
  if (typeof v === 'boolean') return v ? '.true.' : '.false.';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new MesaPatchError(`${key}: ${v} cannot be written in a Fortran namelist`, opts.file, key);
    let s = String(v);
    if (opts.exponent === 'd') {
      if (/e/i.test(s)) s = s.replace(/e/i, 'd');
      else if (!Number.isInteger(v)) s += 'd0';
    }
    return s;
  }
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') {
    if (/[\r\n]/.test(v)) throw new MesaPatchError(`${key}: a namelist string cannot contain a line break (${JSON.stringify(v)})`, opts.file, key);
    return "'" + v.replace(/'/g, "''") + "'";
  }
  if (Array.isArray(v)) {
    if (v.length === 0) throw new MesaPatchError(`${key}: an empty list cannot be written as a namelist value`, opts.file, key);
    return v.map(x => fortranLiteral(x, opts, key)).join(', ');
  }
  throw new MesaPatchError(`${key}: cannot write ${v === null ? 'null' : typeof v} as a namelist value`, opts.file, key);
}

/** Whether `mesa(text, { [key]: … })` finds the key in the file (ignoring `add`). */
export function mesaHas(text: string, rawKey: string, opts: MesaPatchOptions = {}): boolean {
  const { byKey } = prepare(text, opts.file ?? 'inlist');
  const { group, key } = splitKey(rawKey);
  const hits = byKey.get(key);
  return !!hits && (group === null || hits.some(h => h.group === group));
}

interface Edit {
  start: number;
  end: number;
  text: string;
  /** Which parameter made it, and its position in the values (for overlap messages). */
  key: string;
  order?: number;
}

const isBlank = (s: string) => /^[ \t\r]*$/.test(s);

/** Edits replacing an assignment's value (all its tokens, over several lines if it continues) with `literal`. */
function valueEdits(text: string, a: NlAssignment, literal: string, key: string): Edit[] {
  if (a.tokens.length === 0) {
    // `x =` with no value (a Fortran null value): write the literal after the `=`.
    let p = a.eqEnd;
    while (text[p] === ' ' || text[p] === '\t') p++;
    const after = p < text.length && text[p] !== '\n' && text[p] !== '\r' ? ' ' : '';
    return [{ start: p, end: p, text: (p === a.eqEnd ? ' ' : '') + literal + after, key }];
  }
  // Tokens grouped by physical line.
  const lines: { start: number; end: number }[] = [];
  for (const t of a.tokens) {
    const last = lines[lines.length - 1];
    if (last && text.indexOf('\n', last.end) >= t.start) last.end = t.end;
    else if (last && text.indexOf('\n', last.end) === -1) last.end = t.end;
    else lines.push({ start: t.start, end: t.end });
  }
  const multi = lines.length > 1;
  const edits: Edit[] = [];
  lines.forEach((l, i) => {
    let end = l.end;
    if (multi) {
      // a continued list: also drop the separator after the last value on the line
      const m = /^[ \t]*,/.exec(text.slice(end, end + 64));
      if (m) end += m[0].length;
    }
    if (i === 0) {
      edits.push({ start: l.start, end, text: literal, key });
      return;
    }
    const ls = text.lastIndexOf('\n', l.start - 1) + 1;
    const nl = text.indexOf('\n', end);
    const le = nl === -1 ? text.length : nl;
    if (isBlank(text.slice(ls, l.start)) && isBlank(text.slice(end, le))) edits.push({ start: ls, end: nl === -1 ? le : nl + 1, text: '', key });
    else edits.push({ start: l.start, end, text: '', key });
  });
  return edits;
}

/**
 * Sets each key of `values` in the namelist text. Keys match exactly and case-insensitively
 * (`mass` never touches `initial_mass`); `group.key` picks one group when a key is in several;
 * commented-out lines are never activated; indentation and trailing comments are kept.
 */
export function mesa(text: string, values: Values, opts: MesaPatchOptions = {}): string {
  const file = opts.file ?? 'inlist';
  const { byKey, groups } = prepare(text, file);
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const edits: Edit[] = [];
  let order = 0;
  for (const [rawKey, value] of Object.entries(values)) {
    order++;
    const { group, key, bare } = splitKey(rawKey);
    const all = byKey.get(key) ?? [];
    const hits = group === null ? all : all.filter(a => a.group === group);
    const literal = fortranLiteral(value, { ...opts, file }, rawKey);
    if (hits.length === 0) {
      const g = group === null ? undefined : groups.get(group);
      if (opts.add && g) {
        const ls = text.lastIndexOf('\n', g.end - 1) + 1;
        if (isBlank(text.slice(ls, g.end))) edits.push({ start: ls, end: ls, text: `    ${bare} = ${literal}${eol}`, key: rawKey });
        else edits.push({ start: g.end, end: g.end, text: ` ${bare} = ${literal} `, key: rawKey });
        continue;
      }
      const why = group !== null && !g ? `there is no &${group} group in ${file}` : `key '${rawKey}' is not set in ${file}${group !== null ? ` (group &${group})` : ''}`;
      const near = closest(key, byKey.keys());
      throw new MesaPatchError(
        `${why}${near.length ? `; closest keys: ${near.join(', ')}` : ''}` + (opts.add && group === null ? `; to add it, qualify it with its group, e.g. 'controls.${bare}'` : ''),
        file,
        rawKey,
      );
    }
    const hitGroups = [...new Set(hits.map(h => h.group))];
    if (hitGroups.length > 1) {
      throw new MesaPatchError(`key '${rawKey}' is set in several groups of ${file} (${hitGroups.map(g => '&' + g).join(', ')}); qualify it, e.g. '${hitGroups[0]}.${bare}'`, file, rawKey);
    }
    for (const h of hits) for (const e of valueEdits(text, h, literal, rawKey)) edits.push({ ...e, order });
  }
  if (edits.length === 0) return text;
  edits.sort((x, y) => x.start - y.start || x.end - y.end);
  let out = '';
  let pos = 0;
  for (const e of edits) {
    if (e.start < pos) {
      const both = edits.filter(o => o.start < Math.max(e.end, pos) && e.start < o.end).sort((x, y) => (x.order ?? 0) - (y.order ?? 0));
      throw new MesaPatchError(`'${both[0]!.key}' and '${both[both.length - 1]!.key}' set the same assignment in ${file}; give it once`, file, e.key);
    }
    out += text.slice(pos, e.start) + e.text;
    pos = e.end;
  }
  return out + text.slice(pos);
}

/** Whether `mesa(text, { [key]: … }, { add: true })` can insert the key: it is group-qualified and the group exists. */
export function mesaCanAdd(text: string, rawKey: string, opts: MesaPatchOptions = {}): boolean {
  const { group } = splitKey(rawKey);
  return group !== null && prepare(text, opts.file ?? 'inlist').groups.has(group);
}
