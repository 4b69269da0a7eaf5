// JSON files: each parameter is a path (`a.b.c`, `a.b[0]`) to a value that must exist (or, with
// `add: true`, is created in the deepest existing object). Only the characters of the values set
// change: the rest of the file keeps its formatting.
import { jsonTree, type JsonNode } from '../parsers/json.ts';
import { closest } from '../parsers/errors.ts';
import { PatchError, cachedScanner, type PatchOptions, type Values } from './errors.ts';
import { parsePath, type PathSegment } from './path.ts';

export type JsonPatchOptions = PatchOptions;

const tree = cachedScanner<JsonNode>(jsonTree);

/** A value as JSON text; non-finite numbers and undefined are refused. */
export function jsonLiteral(v: unknown, key: string, file?: string): string {
  const bad = (x: unknown): boolean =>
    x === undefined || typeof x === 'function' || typeof x === 'symbol' || typeof x === 'bigint' || (typeof x === 'number' && !Number.isFinite(x)) ||
    (Array.isArray(x) ? x.some(bad) : x !== null && typeof x === 'object' ? Object.values(x).some(bad) : false);
  if (bad(v)) throw new PatchError(`${key}: ${typeof v === 'number' ? v : 'the value'} cannot be written as JSON`, file, key);
  return JSON.stringify(v);
}

interface Found {
  node: JsonNode | null;
  /** Deepest existing container and the remaining path, when the path does not exist. */
  parent: JsonNode;
  rest: PathSegment[];
}

function find(root: JsonNode, path: PathSegment[]): Found {
  let node: JsonNode = root;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    let next: JsonNode | undefined;
    if (node.kind === 'object') {
      const k = String(seg);
      for (const e of node.entries) if (e.key === k) next = e.value; // the last duplicate wins, as in JSON.parse
    } else if (node.kind === 'array' && typeof seg === 'number') next = node.items[seg];
    if (!next) return { node: null, parent: node, rest: path.slice(i) };
    node = next;
  }
  return { node, parent: node, rest: [] };
}

function keysOf(n: JsonNode): string[] {
  return n.kind === 'object' ? n.entries.map(e => e.key) : n.kind === 'array' ? n.items.map((_, i) => String(i)) : [];
}

export function jsonHas(text: string, key: string, opts: JsonPatchOptions = {}): boolean {
  const file = opts.file ?? 'file.json';
  return find(tree(text, file), parsePath(key, file)).node !== null;
}

interface Edit {
  start: number;
  end: number;
  text: string;
  key: string;
}

export function json(text: string, values: Values, opts: JsonPatchOptions = {}): string {
  const file = opts.file ?? 'file.json';
  const root = tree(text, file);
  const edits: Edit[] = [];
  for (const [key, value] of Object.entries(values)) {
    const path = parsePath(key, file);
    const lit = jsonLiteral(value, key, file);
    const f = find(root, path);
    if (f.node) {
      edits.push({ start: f.node.start, end: f.node.end, text: lit, key });
      continue;
    }
    const p = f.parent;
    const seg = f.rest[0]!;
    if (opts.add && p.kind === 'object') {
      let v: unknown = value;
      for (const s of f.rest.slice(1).reverse()) v = { [String(s)]: v };
      const entry = `${JSON.stringify(String(seg))}: ${f.rest.length > 1 ? jsonLiteral(v, key, file) : lit}`;
      if (p.entries.length === 0) edits.push({ start: p.start + 1, end: p.start + 1, text: entry, key });
      else {
        const first = p.entries[0]!;
        const sep = text.slice(p.start + 1, first.keyStart);
        const last = p.entries[p.entries.length - 1]!;
        edits.push({ start: last.value.end, end: last.value.end, text: `,${sep.includes('\n') ? sep : ' '}${entry}`, key });
      }
      continue;
    }
    if (opts.add && p.kind === 'array' && seg === p.items.length && f.rest.length === 1) {
      const at = p.items.length ? p.items[p.items.length - 1]!.end : p.start + 1;
      edits.push({ start: at, end: at, text: p.items.length ? `, ${lit}` : lit, key });
      continue;
    }
    const where = path.slice(0, path.length - f.rest.length);
    const near = closest(String(seg), keysOf(p));
    const what = p.kind === 'scalar' ? `'${where.join('.')}' is not an object or array` : `'${String(seg)}' is not in ${where.length ? `'${where.join('.')}'` : 'the top level'}`;
    throw new PatchError(`key '${key}' is not set in ${file}: ${what}${near.length ? `; closest keys there: ${near.join(', ')}` : ''}`, file, key);
  }
  return applyEdits(text, edits, file);
}

/** Applies non-overlapping edits; overlapping ones (two parameters setting one value) are an error naming both. */
export function applyEdits(text: string, edits: Edit[], file: string): string {
  if (edits.length === 0) return text;
  const order = new Map(edits.map((e, i) => [e, i] as const));
  edits.sort((x, y) => x.start - y.start || x.end - y.end);
  let out = '';
  let pos = 0;
  for (const e of edits) {
    if (e.start < pos) {
      const both = edits.filter(o => o.start < Math.max(e.end, pos) && e.start < o.end && o.key !== e.key).concat(e).sort((x, y) => order.get(x)! - order.get(y)!);
      throw new PatchError(`'${both[0]!.key}' and '${both[both.length - 1]!.key}' set the same value (or one inside the other) in ${file}; give one`, file, e.key);
    }
    out += text.slice(pos, e.start) + e.text;
    pos = e.end;
  }
  return out + text.slice(pos);
}
