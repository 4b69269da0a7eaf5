// `#SBATCH` directives of a batch script. sbatch reads them from the top of the script up to the
// first line that is neither blank nor a comment; later `#SBATCH` lines are ignored (as here).
import { asText, ParseError, type ParseOptions } from './errors.ts';

/** Short options and their long names (`-n` ≡ `--ntasks`). */
export const SBATCH_SHORT: Record<string, string> = {
  A: 'account', a: 'array', B: 'extra-node-info', b: 'begin', C: 'constraint', c: 'cpus-per-task', D: 'chdir', d: 'dependency',
  e: 'error', F: 'nodefile', G: 'gpus', H: 'hold', i: 'input', J: 'job-name', k: 'no-kill', L: 'licenses', M: 'clusters',
  m: 'distribution', N: 'nodes', n: 'ntasks', O: 'overcommit', o: 'output', p: 'partition', Q: 'quiet', q: 'qos',
  S: 'core-spec', s: 'oversubscribe', t: 'time', V: 'version', v: 'verbose', W: 'wait', w: 'nodelist', x: 'exclude',
};

/** `time`, `--time`, `-t`, `t` → `time`; `ntasks`, `-n`, `n` → `ntasks`. */
export function sbatchOptionName(key: string): string {
  const k = key.replace(/^-+/, '');
  return k.length === 1 && SBATCH_SHORT[k] ? SBATCH_SHORT[k]! : k.toLowerCase();
}

export interface SbatchOption {
  /** Long option name without dashes. */
  name: string;
  /** 1-based line; offsets of the option (from its dash) and of its value in the text (value: -1 for a flag). */
  line: number;
  optStart: number;
  optEnd: number;
  valueStart: number;
  valueEnd: number;
  /** `=` (`--time=1:00`), ' ' (`-t 1:00`, `--time 1:00`), '' (`-n4`), or null for a flag. */
  joiner: '=' | ' ' | '' | null;
  /** The value as sbatch reads it (quotes removed), or true for a flag. */
  value: string | true;
}

export interface SbatchScan {
  options: SbatchOption[];
  /** Offset just after the last directive line (or after the shebang), for insertions. */
  insertAt: number;
}

export function scanSbatch(text: string, file = 'run.sbatch'): SbatchScan {
  const options: SbatchOption[] = [];
  let off = 0;
  let line = 0;
  let insertAt = 0;
  while (off < text.length) {
    line++;
    const nl = text.indexOf('\n', off);
    const end = nl === -1 ? text.length : nl;
    const l = text.slice(off, end).replace(/\r$/, '');
    const next = nl === -1 ? text.length : nl + 1;
    if (line === 1 && l.startsWith('#!')) insertAt = next;
    const t = l.trim();
    if (t !== '' && !t.startsWith('#')) break;
    const m = /^#SBATCH\s+/.exec(l);
    if (m) {
      insertAt = next;
      scanDirective({ file, line, off, l, options }, m[0].length);
    }
    off = next;
  }
  return { options, insertAt };
}

/** One `#SBATCH` line: `l` (without its line break) starts at offset `off` of the text; its options go to `options`. */
interface DirectiveLine {
  file: string;
  line: number;
  off: number;
  l: string;
  options: SbatchOption[];
}

/** Reads the options of a directive line from `i` up to its end or a `#` comment. */
function scanDirective(d: DirectiveLine, i: number): void {
  const l = d.l;
  while (i < l.length) {
    while (i < l.length && /\s/.test(l[i]!)) i++;
    if (i >= l.length || l[i] === '#') break;
    i = scanOption(d, i);
  }
}

/** Reads the option starting at `start` (and its value, if any) into `d.options`; returns where the next one may start. */
function scanOption(d: DirectiveLine, start: number): number {
  const { file, line, off, l } = d;
  if (l[start] !== '-') throw new ParseError(file, line, start + 1, `expected an option (starting with '-') in the #SBATCH line, got '${l.slice(start).split(/\s/)[0]}'`);
  const { name, joiner, vs, j } = optionHead(d, start);
  if (vs === -1) {
    d.options.push({ name, line, optStart: off + start, optEnd: off + j, valueStart: -1, valueEnd: -1, joiner: null, value: true });
    return j;
  }
  let ve = vs;
  let value = '';
  let q: string | null = null;
  while (ve < l.length) {
    const c = l[ve]!;
    if (q) {
      if (c === q) q = null;
      else value += c;
    } else if (c === '"' || c === "'") q = c;
    else if (/\s/.test(c)) break;
    else value += c;
    ve++;
  }
  if (q) throw new ParseError(file, line, vs + 1, 'unterminated quote in the #SBATCH line');
  d.options.push({ name, line, optStart: off + start, optEnd: off + (joiner === '=' ? vs - 1 : j), valueStart: off + vs, valueEnd: off + ve, joiner, value });
  return ve;
}

/**
 * The option's long name, how its value is joined to it and where the value starts (`vs`, -1 for a
 * flag); `j` is the end of the option itself (for `-n4`, after the letter).
 */
function optionHead(d: DirectiveLine, start: number): { name: string; joiner: SbatchOption['joiner']; vs: number; j: number } {
  const l = d.l;
  let j = start;
  while (j < l.length && !/[\s=]/.test(l[j]!)) j++;
  const opt = l.slice(start, j);
  let name: string;
  let joiner: SbatchOption['joiner'] = null;
  let vs = -1;
  if (opt.startsWith('--')) {
    name = opt.slice(2).toLowerCase();
    if (l[j] === '=') {
      joiner = '=';
      vs = j + 1;
    }
  } else {
    const letter = opt[1];
    if (!letter) throw new ParseError(d.file, d.line, start + 1, "a lone '-' in the #SBATCH line");
    name = SBATCH_SHORT[letter] ?? letter;
    if (opt.length > 2) {
      joiner = '';
      vs = start + 2;
      j = start + 2;
    }
  }
  if (vs === -1) {
    // value in the next word, unless it is another option, a comment or the end (a flag)
    let k = j;
    while (k < l.length && /\s/.test(l[k]!)) k++;
    if (k < l.length && l[k] !== '-' && l[k] !== '#') {
      joiner = ' ';
      vs = k;
    }
  }
  return { name, joiner, vs, j };
}

/**
 * The `#SBATCH` directives of a batch script as a record of long option names (`-n 4` → `ntasks: '4'`,
 * `--exclusive` → `exclusive: true`). A repeated option: the last wins (as in sbatch), reported.
 */
export function sbatch(input: string | Uint8Array, opts: ParseOptions = {}): Record<string, string | true> {
  const text = asText(input);
  const file = opts.file ?? 'run.sbatch';
  const out: Record<string, string | true> = {};
  const seen = new Map<string, number>();
  for (const o of scanSbatch(text, file).options) {
    const prev = seen.get(o.name);
    if (prev !== undefined) opts.warn?.(`${file}:${o.line}: --${o.name} is given again (first on line ${prev}); the last one wins`);
    seen.set(o.name, o.line);
    Object.defineProperty(out, o.name, { value: o.value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}
