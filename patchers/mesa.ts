// MESA inlists are Fortran namelists: `&group`, `key = value` lines, `/` closes the group, `!` comments.
// The patcher is content based (text in, text out) so commits can be built without a working tree.

export interface MesaPatchOptions {
  /** File name used in error messages. */
  file?: string;
  /** Insert keys that are absent (needs a group-qualified key, `controls.x_ctrl(3)`). */
  add?: boolean;
  /** Write floating-point exponents with `d` (Fortran double) instead of `e`. */
  exponent?: 'e' | 'd';
}

export class MesaPatchError extends Error {}

interface Assignment {
  line: number;
  group: string;
  /** Normalised key: lower case, no blanks, e.g. `x_ctrl(1)`. */
  key: string;
  /** Offsets of the value text within the line. */
  valueStart: number;
  valueEnd: number;
}

const normKey = (k: string) => k.replace(/\s+/g, '').toLowerCase();

/** Index of the first `!` that starts a comment (outside quotes), or -1. */
function commentStart(line: string): number {
  let q: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (q) {
      if (c === q) q = null;
    } else if (c === '"' || c === "'") q = c;
    else if (c === '!') return i;
  }
  return -1;
}

function scan(lines: string[]): { assignments: Assignment[]; groupEnds: Map<string, number> } {
  const assignments: Assignment[] = [];
  const groupEnds = new Map<string, number>();
  let group = '';
  lines.forEach((raw, lineNo) => {
    const cs = commentStart(raw);
    const code = cs >= 0 ? raw.slice(0, cs) : raw;
    const g = /^\s*&(\w+)/.exec(code);
    if (g) {
      group = g[1]!.toLowerCase();
      return;
    }
    if (/^\s*\/\s*$/.test(code)) {
      if (group) groupEnds.set(group, lineNo);
      group = '';
      return;
    }
    const m = /^(\s*)([A-Za-z_][\w%]*\s*(?:\([^)]*\))?)\s*=\s*/.exec(code);
    if (!m || !group) return;
    const valueStart = m[0].length;
    let valueEnd = code.length;
    while (valueEnd > valueStart && /\s/.test(code[valueEnd - 1]!)) valueEnd--;
    assignments.push({ line: lineNo, group, key: normKey(m[2]!), valueStart, valueEnd });
  });
  return { assignments, groupEnds };
}

/** A value as a Fortran namelist literal. */
export function fortranLiteral(v: unknown, opts: MesaPatchOptions = {}, key = ''): string {
  if (typeof v === 'boolean') return v ? '.true.' : '.false.';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new MesaPatchError(`${key}: ${v} cannot be written in a Fortran namelist`);
    let s = String(v);
    if (opts.exponent === 'd') {
      if (/e/i.test(s)) s = s.replace(/e/i, 'd');
      else if (!Number.isInteger(v)) s += 'd0';
    }
    return s;
  }
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') {
    if (/[\r\n]/.test(v)) throw new MesaPatchError(`${key}: a namelist string cannot contain a line break (${JSON.stringify(v)})`);
    return "'" + v.replace(/'/g, "''") + "'";
  }
  if (Array.isArray(v)) return v.map(x => fortranLiteral(x, opts, key)).join(', ');
  throw new MesaPatchError(`${key}: cannot write ${v === null ? 'null' : typeof v} as a namelist value`);
}

function levenshtein(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length]!;
}

/**
 * Sets each key of `values` in the namelist text. Keys match exactly and case-insensitively
 * (`mass` never touches `initial_mass`); `group.key` picks one group when a key is in several;
 * commented-out lines are never activated; indentation and trailing comments are kept.
 */
export function mesa(text: string, values: Record<string, unknown>, opts: MesaPatchOptions = {}): string {
  const file = opts.file ?? 'inlist';
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(/\r?\n/);
  const { assignments, groupEnds } = scan(lines);
  const inserts = new Map<number, string[]>();
  for (const [rawKey, value] of Object.entries(values)) {
    const dot = rawKey.indexOf('.');
    const group = dot >= 0 && !rawKey.slice(0, dot).includes('(') ? rawKey.slice(0, dot).toLowerCase() : null;
    const key = normKey(group ? rawKey.slice(dot + 1) : rawKey);
    const hits = assignments.filter(a => a.key === key && (group === null || a.group === group));
    const literal = fortranLiteral(value, opts, rawKey);
    if (hits.length === 0) {
      if (opts.add && group && groupEnds.has(group)) {
        const at = groupEnds.get(group)!;
        inserts.set(at, [...(inserts.get(at) ?? []), `    ${rawKey.slice(dot + 1)} = ${literal}`]);
        continue;
      }
      const known = [...new Set(assignments.map(a => a.key))];
      const close = known.map(k => [k, levenshtein(key, k)] as const).sort((x, y) => x[1] - y[1]).slice(0, 3).map(x => x[0]);
      const why = group && !groupEnds.has(group) ? `there is no &${group} group in ${file}` : `key '${rawKey}' is not set in ${file}${group ? ` (group &${group})` : ''}`;
      throw new MesaPatchError(`${why}${close.length ? `; closest keys: ${close.join(', ')}` : ''}` + (opts.add && !group ? `; to add it, qualify it with its group, e.g. 'controls.${key}'` : ''));
    }
    const groups = [...new Set(hits.map(h => h.group))];
    if (groups.length > 1) {
      throw new MesaPatchError(`key '${rawKey}' is set in several groups of ${file} (${groups.map(g => '&' + g).join(', ')}); qualify it, e.g. '${groups[0]}.${key}'`);
    }
    for (const h of hits) {
      const line = lines[h.line]!;
      lines[h.line] = line.slice(0, h.valueStart) + literal + line.slice(h.valueEnd);
    }
  }
  if (inserts.size) {
    for (const at of [...inserts.keys()].sort((a, b) => b - a)) lines.splice(at, 0, ...inserts.get(at)!);
  }
  return lines.join(eol);
}
