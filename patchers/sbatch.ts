// `#SBATCH` directives of a batch script (`run.sbatch`), so resources can be swept: a parameter
// `time`, `--time` or `t` sets `#SBATCH --time=…` or `#SBATCH -t …`, keeping the form written.
// `true` keeps a flag (`--exclusive`), `false` removes the option. Values never break the line:
// a line break is refused, blanks are quoted.
import { scanSbatch, sbatchOptionName, type SbatchScan } from '../parsers/sbatch.ts';
import { closest } from '../parsers/errors.ts';
import { PatchError, cachedScanner, type PatchOptions, type Values } from './errors.ts';
import { applyEdits } from './json.ts';

export type SbatchPatchOptions = PatchOptions;

const scan = cachedScanner<SbatchScan>(scanSbatch);

/** A directive value as sbatch reads it: bare, or quoted when it holds blanks or quotes. */
export function sbatchLiteral(v: unknown, key: string, file?: string): string {
  let s: string;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new PatchError(`${key}: ${v} is not a valid #SBATCH value`, file, key);
    s = String(v);
  } else if (typeof v === 'string' || typeof v === 'bigint') s = String(v);
  else throw new PatchError(`${key}: cannot write ${v === null ? 'null' : typeof v} as an #SBATCH value (use a string or number; true/false for flags)`, file, key);
  if (s === '') throw new PatchError(`${key}: an #SBATCH value cannot be empty`, file, key);
  if (/[\r\n\0]/.test(s)) throw new PatchError(`${key}: an #SBATCH value cannot contain a line break (${JSON.stringify(s)})`, file, key);
  if (!/[\s"'#]/.test(s) && !s.startsWith('-')) return s;
  if (!s.includes('"')) return `"${s}"`;
  if (!s.includes("'")) return `'${s}'`;
  throw new PatchError(`${key}: an #SBATCH value cannot hold both kinds of quotes (${JSON.stringify(s)})`, file, key);
}

export function sbatchHas(text: string, key: string, opts: SbatchPatchOptions = {}): boolean {
  const name = sbatchOptionName(key);
  return scan(text, opts.file ?? 'run.sbatch').options.some(o => o.name === name);
}

export function sbatch(text: string, values: Values, opts: SbatchPatchOptions = {}): string {
  const file = opts.file ?? 'run.sbatch';
  const s = scan(text, file);
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const edits: { start: number; end: number; text: string; key: string }[] = [];
  const adds: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    const name = sbatchOptionName(key);
    const hits = s.options.filter(o => o.name === name);
    if (hits.length === 0) {
      if (!opts.add) {
        const near = closest(name, s.options.map(o => o.name));
        throw new PatchError(`option '${key}' (--${name}) is not set by an #SBATCH line in ${file}${near.length ? `; it sets: ${near.join(', ')}` : ''}`, file, key);
      }
      if (value === false) continue;
      adds.push(value === true ? `#SBATCH --${name}` : `#SBATCH --${name}=${sbatchLiteral(value, key, file)}`);
      continue;
    }
    for (const o of hits) {
      if (value === true) {
        if (o.joiner !== null) throw new PatchError(`${key}: --${name} takes a value in ${file}; give one instead of true`, file, key);
        continue;
      }
      if (value === false) {
        const end = o.valueEnd === -1 ? o.optEnd : o.valueEnd;
        const ls = text.lastIndexOf('\n', o.optStart - 1) + 1;
        const nl = text.indexOf('\n', end);
        const le = nl === -1 ? text.length : nl;
        const rest = (text.slice(ls, o.optStart).replace(/^#SBATCH\s*/, '') + text.slice(end, le)).trim();
        if (rest === '' || rest.startsWith('#')) edits.push({ start: ls, end: nl === -1 ? le : nl + 1, text: '', key });
        else {
          let st = o.optStart;
          while (st > ls && (text[st - 1] === ' ' || text[st - 1] === '\t')) st--;
          edits.push({ start: st, end, text: '', key });
        }
        continue;
      }
      const lit = sbatchLiteral(value, key, file);
      if (o.joiner === null) edits.push({ start: o.optEnd, end: o.optEnd, text: `${text[o.optStart + 1] === '-' ? '=' : ' '}${lit}`, key });
      else edits.push({ start: o.valueStart, end: o.valueEnd, text: lit, key });
    }
  }
  let out = applyEdits(text, edits, file);
  if (adds.length) {
    // after the last directive (or the shebang); offsets before it are unchanged by the edits above only if none precede it, so recompute
    const at = scanSbatch(out, file).insertAt;
    const pre = out.slice(0, at);
    out = pre + (pre === '' || pre.endsWith('\n') ? '' : eol) + adds.map(a => a + eol).join('') + out.slice(at);
  }
  return out;
}
