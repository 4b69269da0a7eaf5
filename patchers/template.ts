// Text templates as in psweep (Python's string.Template): `$name` or `${name}` is replaced by the
// parameter's value, `$$` is a literal `$`. An unknown placeholder, or a `$` that starts none, is an
// error with its line and column.
import { closest, lineCol } from '../parsers/errors.ts';
import { PatchError, type PatchOptions, type Values } from './errors.ts';

export type TemplateOptions = Pick<PatchOptions, 'file'>;

type Segment = string | { name: string; at: number };

const cache = new Map<string, { segments: Segment[]; names: Set<string> }>();

function compile(text: string, file: string) {
  const hit = cache.get(text);
  if (hit) return hit;
  const segments: Segment[] = [];
  const names = new Set<string>();
  let lit = '';
  let i = 0;
  for (;;) {
    const d = text.indexOf('$', i);
    if (d === -1) {
      lit += text.slice(i);
      break;
    }
    lit += text.slice(i, d);
    const next = text[d + 1];
    if (next === '$') {
      lit += '$';
      i = d + 2;
      continue;
    }
    let name: string | undefined;
    let end = d + 1;
    if (next === '{') {
      const close = text.indexOf('}', d + 2);
      const nl = text.indexOf('\n', d + 2);
      if (close !== -1 && (nl === -1 || close < nl) && close > d + 2) {
        name = text.slice(d + 2, close).trim();
        end = close + 1;
      }
    } else {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(d + 1, d + 257));
      if (m) {
        name = m[0];
        end = d + 1 + name.length;
      }
    }
    if (!name) {
      const { line, column } = lineCol(text, d);
      throw new PatchError(`${file}:${line}:${column}: '$' starts no placeholder (write '$$' for a literal '$', '\${name}' or '$name' for a parameter)`, file);
    }
    if (lit) segments.push(lit);
    lit = '';
    segments.push({ name, at: d });
    names.add(name);
    i = end;
  }
  if (lit) segments.push(lit);
  const c = { segments, names };
  if (cache.size >= 16) cache.delete(cache.keys().next().value!);
  cache.set(text, c);
  return c;
}

/** How a value is written into a template: strings as they are, numbers as JavaScript writes them, the rest as JSON. */
export function templateValue(v: unknown, key: string, file?: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v === undefined || typeof v === 'function' || typeof v === 'symbol') throw new PatchError(`${key}: cannot write ${typeof v} into a template`, file, key);
  return JSON.stringify(v);
}

/** Placeholders the template uses. */
export function templatePlaceholders(text: string, opts: TemplateOptions = {}): Set<string> {
  return compile(text, opts.file ?? 'template').names;
}

export function templateHas(text: string, key: string, opts: TemplateOptions = {}): boolean {
  return compile(text, opts.file ?? 'template').names.has(key);
}

/** Fills every placeholder of the template; values the template does not use are ignored. */
export function template(text: string, values: Values, opts: TemplateOptions = {}): string {
  const file = opts.file ?? 'template';
  const { segments } = compile(text, file);
  let out = '';
  for (const s of segments) {
    if (typeof s === 'string') out += s;
    else if (Object.hasOwn(values, s.name)) out += templateValue(values[s.name], s.name, file);
    else {
      const { line, column } = lineCol(text, s.at);
      const near = closest(s.name, Object.keys(values));
      throw new PatchError(`${file}:${line}:${column}: placeholder '${s.name}' has no value${near.length ? `; parameters: ${near.join(', ')}${Object.keys(values).length > 3 ? ', …' : ''}` : ' (no parameters given)'}`, file, s.name);
    }
  }
  return out;
}
