// MESA inlists are Fortran namelists: `&group`, `key = value`, `/` closes the group, `!` comments.
// The patcher is content based (text in, text out) so commits can be built without a working tree.
// It edits exactly the characters of the values it sets: indentation, alignment, trailing comments
// and every other line stay byte for byte. It patches what a Fortran READ of the group uses: the
// first occurrence of a group (a repeated one is never read), and the assignment that wins within
// it (a later overlapping assignment of another key, e.g. `x(1:3) = …` after `x(2) = …`, makes the
// patch an error naming both lines rather than an edit Fortran would not see).
import { scanNamelist, normKey, designator, overlap, assignmentCoverage, type Designator, type NlAssignment, type NlGroup, type NlScan } from '../parsers/namelist.ts';
import { closest, lineFinder } from '../parsers/errors.ts';
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
  /** Assignments in the groups Fortran reads (first occurrences), by key. */
  byKey: Map<string, NlAssignment[]>;
  /** Assignments in repeated groups (never read), by key. */
  unread: Map<string, NlAssignment[]>;
  /** Read assignments by `group.variable`, in file order. */
  byBase: Map<string, NlAssignment[]>;
  /** First (read) occurrence of each group. */
  groups: Map<string, NlGroup>;
  lineOf: (offset: number) => number;
  /** Per `group.key` and number of values: the later assignment that overrides it, or null (computed once). */
  checked: Map<string, { b: NlAssignment; sure: boolean } | null>;
  coverage: Map<NlAssignment, boolean[]>;
}

const push = <K, V>(m: Map<K, V[]>, k: K, v: V) => {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
};

// Sweeps patch the same base text for every point: scan it once.
const prepare = cachedScanner<Prepared>((text, file) => {
  const scan = scanNamelist(text, file);
  const byKey = new Map<string, NlAssignment[]>();
  const unread = new Map<string, NlAssignment[]>();
  const byBase = new Map<string, NlAssignment[]>();
  for (const a of scan.assignments) {
    if (!a.read) {
      push(unread, a.key, a);
      continue;
    }
    push(byKey, a.key, a);
    push(byBase, `${a.group}.${designator(a.key).base}`, a);
  }
  const groups = new Map(scan.groups.filter(g => g.read).map(g => [g.name, g] as const));
  return { scan, byKey, unread, byBase, groups, lineOf: lineFinder(text), checked: new Map(), coverage: new Map() };
});

const coverageOf = (p: Prepared, a: NlAssignment): boolean[] => {
  let c = p.coverage.get(a);
  if (!c) p.coverage.set(a, (c = assignmentCoverage(p.scan.text, a)));
  return c;
};

/**
 * Why setting `key` (in `group`, to `n` values, at its last assignment `last`) would not be what
 * Fortran reads: a later assignment of the same variable that overlaps it ('' when there is none).
 */
function overridden(p: Prepared, group: string, key: string, n: number, last: NlAssignment, rawKey: string, file: string): string {
  const id = `${group}.${key}\0${n}`;
  let hit = p.checked.get(id);
  if (hit === undefined) {
    hit = null;
    const d = designator(key);
    const mine = new Array<boolean>(n).fill(true);
    for (const b of p.byBase.get(`${group}.${d.base}`) ?? []) {
      if (b.keyStart <= last.keyStart || b.key === key) continue;
      const o = overlap(d, mine, designator(b.key), coverageOf(p, b));
      if (o !== 'no') {
        hit = { b, sure: o === 'yes' };
        break;
      }
    }
    p.checked.set(id, hit);
  }
  if (!hit) return '';
  const { b, sure } = hit;
  return (
    `'${rawKey}' cannot be patched precisely in ${file}: '${b.key}' on line ${p.lineOf(b.keyStart)} comes after '${last.key}' on line ${p.lineOf(last.keyStart)} in &${group} and ` +
    (sure ? 'overrides it' : "may override it (whether they overlap depends on the array's bounds or shape)") +
    ` (within a namelist group the later assignment wins); patch '${b.key}' instead, or merge the two lines in the base file`
  );
}

/** For a key that is not set by itself: the read assignments of the same variable that may set it (for the error message). */
function setWithin(p: Prepared, group: string | null, d: Designator, n: number): NlAssignment[] {
  const out: NlAssignment[] = [];
  const mine = new Array<boolean>(n).fill(true);
  for (const [bk, list] of p.byBase) {
    if (!bk.endsWith(`.${d.base}`) || (group !== null && bk !== `${group}.${d.base}`)) continue;
    for (const b of list) if (overlap(d, mine, designator(b.key), coverageOf(p, b)) !== 'no') out.push(b);
  }
  return out;
}

/** `controls.x_ctrl(1)` → group `controls`, key `x_ctrl(1)`; `x_ctrl(1)` → no group. */
function splitKey(rawKey: string): { group: string | null; key: string; bare: string } {
  let k = splitCache.get(rawKey);
  if (k) return k;
  const dot = rawKey.indexOf('.');
  const paren = rawKey.indexOf('(');
  if (dot > 0 && (paren === -1 || dot < paren)) {
    const bare = rawKey.slice(dot + 1);
    k = { group: rawKey.slice(0, dot).trim().toLowerCase(), key: normKey(bare), bare: bare.trim() };
  } else k = { group: null, key: normKey(rawKey), bare: rawKey.trim() };
  // A sweep sets the same few keys at every point.
  if (splitCache.size >= 4096) splitCache.clear();
  splitCache.set(rawKey, k);
  return k;
}
const splitCache = new Map<string, { group: string | null; key: string; bare: string }>();

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
  const p = prepare(text, file);
  const { byKey, groups } = p;
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const edits: Edit[] = [];
  let order = 0;
  for (const [rawKey, value] of Object.entries(values)) {
    order++;
    const { group, key, bare } = splitKey(rawKey);
    const all = byKey.get(key) ?? [];
    const hits = group === null ? all : all.filter(a => a.group === group);
    const literal = fortranLiteral(value, { ...opts, file }, rawKey);
    const n = Array.isArray(value) ? value.length : 1;
    if (hits.length === 0) {
      const g = group === null ? undefined : groups.get(group);
      if (opts.add && g) {
        const ls = text.lastIndexOf('\n', g.end - 1) + 1;
        if (isBlank(text.slice(ls, g.end))) edits.push({ start: ls, end: ls, text: `    ${bare} = ${literal}${eol}`, key: rawKey });
        else edits.push({ start: g.end, end: g.end, text: ` ${bare} = ${literal} `, key: rawKey });
        continue;
      }
      throw new MesaPatchError(notSetMessage(p, rawKey, group, key, bare, n, file, opts.add === true), file, rawKey);
    }
    const hitGroups = [...new Set(hits.map(h => h.group))];
    if (hitGroups.length > 1) {
      throw new MesaPatchError(`key '${rawKey}' is set in several groups of ${file} (${hitGroups.map(g => '&' + g).join(', ')}); qualify it, e.g. '${hitGroups[0]}.${bare}'`, file, rawKey);
    }
    const why = overridden(p, hitGroups[0]!, key, n, hits[hits.length - 1]!, rawKey, file);
    if (why) throw new MesaPatchError(why, file, rawKey);
    // Every assignment of the key in the group is set (the last one is what Fortran reads).
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

/** The error for a key that no read assignment sets by itself: why (an unread repeated group, a slice or array that covers it, a typo). */
function notSetMessage(p: Prepared, rawKey: string, group: string | null, key: string, bare: string, n: number, file: string, add: boolean): string {
  if (group !== null && !p.groups.has(group)) return `there is no &${group} group in ${file}` + nearKeys(p, key);
  const where = `key '${rawKey}' is not set in ${file}${group !== null ? ` (group &${group})` : ''}`;
  const dead = (p.unread.get(key) ?? []).filter(a => group === null || a.group === group);
  if (dead.length) {
    const a = dead[0]!;
    const first = p.groups.get(a.group)!;
    return `${where}: it is only in a repeated &${a.group} group (line ${p.lineOf(a.keyStart)}), which MESA never reads: a namelist READ stops at the first &${a.group} (line ${p.lineOf(first.start)}); move it there${add ? `, or qualify it to add it there ('${a.group}.${bare}')` : ''}`;
  }
  const within = setWithin(p, group, designator(key), n);
  if (within.length) {
    const b = within[within.length - 1]!;
    return `${where} by itself: '${b.key}' on line ${p.lineOf(b.keyStart)} (&${b.group}) sets it, and rx does not patch one element of an array or slice assignment; set '${b.key}' whole, or with add: true add '${b.group}.${bare}' (inserted at the end of the group, so it wins)`;
  }
  return where + nearKeys(p, key) + (add && group === null ? `; to add it, qualify it with its group, e.g. 'controls.${bare}'` : '');
}

const nearKeys = (p: Prepared, key: string) => {
  const near = closest(key, p.byKey.keys());
  return near.length ? `; closest keys: ${near.join(', ')}` : '';
};

/** Whether `mesa(text, { [key]: … }, { add: true })` can insert the key: it is group-qualified and the group exists. */
export function mesaCanAdd(text: string, rawKey: string, opts: MesaPatchOptions = {}): boolean {
  const { group } = splitKey(rawKey);
  return group !== null && prepare(text, opts.file ?? 'inlist').groups.has(group);
}
