// YAML files: each parameter is a path (`a.b.c`, `a.b[0]`) to an existing value, replaced in the
// text itself so comments, quoting and layout of everything else stay as they were. With
// `add: true`, missing keys are created through the yaml package's Document API (which may
// re-indent the file). Every patched text is parsed again and checked to hold the values set.
import { parseDocument, isMap, isSeq, isScalar, isAlias, type Document, type Node as YNode, type Scalar } from 'yaml';
import { closest } from '../parsers/errors.ts';
import { PatchError, type PatchOptions, type Values } from './errors.ts';
import { parsePath, type PathSegment } from './path.ts';
import { applyEdits } from './json.ts';

export type YamlPatchOptions = PatchOptions;

const cache = new Map<string, Document.Parsed>();
function parse(text: string, file: string): Document.Parsed {
  let d = cache.get(text);
  if (d) return d;
  d = parseDocument(text);
  const err = d.errors[0];
  if (err) {
    const lp = err.linePos?.[0];
    throw new PatchError(`cannot patch ${file}: ${file}:${lp?.line ?? 0}:${lp?.col ?? 0}: ${err.message.split('\n')[0]}`, file);
  }
  if (cache.size >= 16) cache.delete(cache.keys().next().value!);
  cache.set(text, d);
  return d;
}

const RESERVED = /^(?:true|false|null|yes|no|on|off|y|n|~)$/i;
const PLAIN_SAFE = /^[A-Za-z_/][A-Za-z0-9_./-]*$/;

/** A scalar value as YAML text, in the old node's quoting style where that style can hold it. */
function scalarText(v: unknown, oldType: Scalar.Type | undefined, key: string, file: string): string {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return '.nan';
    if (!Number.isFinite(v)) return v > 0 ? '.inf' : '-.inf';
    return Object.is(v, -0) ? '-0' : String(v);
  }
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'string') {
    const plainOk = PLAIN_SAFE.test(v) && !RESERVED.test(v) && !/^[-+]?[\d.]/.test(v) && !v.startsWith('-');
    if (oldType === 'QUOTE_SINGLE' && !/[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]/.test(v)) return `'${v.replace(/'/g, "''")}'`;
    if (plainOk && (oldType === 'PLAIN' || oldType === undefined)) return v;
    return JSON.stringify(v);
  }
  throw new PatchError(`${key}: cannot write ${typeof v} into ${file}`, file, key);
}

function collectionText(v: unknown, key: string, file: string): string {
  const bad = (x: unknown): boolean =>
    x === undefined || typeof x === 'function' || typeof x === 'symbol' || typeof x === 'bigint' || (typeof x === 'number' && !Number.isFinite(x)) ||
    (Array.isArray(x) ? x.some(bad) : x !== null && typeof x === 'object' ? Object.values(x).some(bad) : false);
  if (bad(v)) throw new PatchError(`${key}: a list or object holding a non-finite number or undefined cannot be written into ${file}`, file, key);
  return JSON.stringify(v); // JSON is YAML flow style
}

interface Found {
  node: YNode | null;
  /** Whether the path leads to a key that exists with an empty value (`key:`). */
  parent: YNode | null;
  rest: PathSegment[];
}

function find(doc: Document.Parsed, path: PathSegment[], key: string, file: string): Found {
  let node = doc.contents as YNode | null;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    if (isAlias(node)) throw new PatchError(`key '${key}' goes through an alias (*${node.source}) in ${file}; patch the anchored value instead`, file, key);
    let next: YNode | null | undefined;
    let found = false;
    if (isMap(node)) {
      for (const p of node.items) {
        const k = isScalar(p.key) ? p.key.value : p.key;
        if (String(k) === String(seg)) {
          next = p.value as YNode | null;
          found = true;
        }
      }
    } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
      next = node.items[seg] as YNode | null;
      found = true;
    }
    if (!found) return { node: null, parent: node, rest: path.slice(i) };
    if (next === null || next === undefined) {
      if (i === path.length - 1) return { node: null, parent: node, rest: [] }; // `key:` with no value
      return { node: null, parent: null, rest: path.slice(i + 1) };
    }
    node = next;
  }
  return { node, parent: null, rest: [] };
}

function keysOf(n: YNode | null): string[] {
  if (isMap(n)) return n.items.map(p => String(isScalar(p.key) ? p.key.value : p.key));
  if (isSeq(n)) return n.items.map((_, i) => String(i));
  return [];
}

export function yamlHas(text: string, key: string, opts: YamlPatchOptions = {}): boolean {
  const file = opts.file ?? 'file.yaml';
  const f = find(parse(text, file), parsePath(key, file), key, file);
  return f.node !== null || (f.rest.length === 0 && f.parent !== null);
}

const same = (a: unknown, b: unknown) => (typeof a === 'number' && typeof b === 'number' ? Object.is(a, b) || (a === b) : JSON.stringify(a) === JSON.stringify(b));

export function yaml(text: string, values: Values, opts: YamlPatchOptions = {}): string {
  const file = opts.file ?? 'file.yaml';
  const doc = parse(text, file);
  const edits: { start: number; end: number; text: string; key: string }[] = [];
  const adds: [PathSegment[], unknown][] = [];
  const paths: [string, PathSegment[], unknown][] = [];
  for (const [key, value] of Object.entries(values)) {
    const path = parsePath(key, file);
    paths.push([key, path, value]);
    const f = find(doc, path, key, file);
    const isColl = value !== null && typeof value === 'object';
    if (f.node) {
      const r = f.node.range;
      if (!r) throw new PatchError(`key '${key}': no source position in ${file}`, file, key);
      let end = r[1];
      while (end > r[0] && (text[end - 1] === '\n' || text[end - 1] === '\r')) end--;
      const lit = isColl ? collectionText(value, key, file) : scalarText(value, isScalar(f.node) ? (f.node.type as Scalar.Type | undefined) : undefined, key, file);
      edits.push({ start: r[0], end, text: r[0] === end && text[r[0] - 1] === ':' ? ' ' + lit : lit, key });
      continue;
    }
    if (f.rest.length === 0 && f.parent) {
      // `key:` with no value: write after the colon
      const p = isMap(f.parent) ? f.parent.items.filter(it => String(isScalar(it.key) ? it.key.value : it.key) === String(path[path.length - 1])).pop() : undefined;
      const kr = p && isScalar(p.key) ? p.key.range : undefined;
      if (kr) {
        const colon = text.indexOf(':', kr[1]);
        if (colon !== -1) {
          edits.push({ start: colon + 1, end: colon + 1, text: ' ' + (isColl ? collectionText(value, key, file) : scalarText(value, undefined, key, file)), key });
          continue;
        }
      }
    }
    if (opts.add) {
      if (isColl) collectionText(value, key, file);
      else scalarText(value, undefined, key, file);
      adds.push([path, value]);
      continue;
    }
    const where = path.slice(0, path.length - f.rest.length);
    const seg = f.rest[0];
    const near = closest(String(seg), keysOf(f.parent));
    throw new PatchError(
      `key '${key}' is not set in ${file}: '${String(seg)}' is not in ${where.length ? `'${where.join('.')}'` : 'the top level'}${near.length ? `; closest keys there: ${near.join(', ')}` : ''}`,
      file,
      key,
    );
  }
  let out = applyEdits(text, edits, file);
  if (adds.length) {
    const d = parseDocument(out);
    for (const [path, value] of adds) {
      try {
        d.setIn(path, value);
      } catch (e) {
        throw new PatchError(`cannot add '${path.join('.')}' to ${file}: ${(e as Error).message}`, file, path.join('.'));
      }
    }
    out = d.toString();
  }
  // The patched text must parse and hold exactly the values set.
  const check = parseDocument(out);
  if (check.errors.length) throw new PatchError(`patching ${file} produced invalid YAML (${check.errors[0]!.message.split('\n')[0]}); please report this`, file);
  for (const [key, path, value] of paths) {
    const got = check.getIn(path);
    const want = value;
    const gotJs = got !== null && typeof got === 'object' && 'toJSON' in (got as object) ? (got as { toJSON(): unknown }).toJSON() : got;
    if (!same(gotJs, want)) throw new PatchError(`patching ${file}: '${key}' reads back as ${JSON.stringify(gotJs)}, not ${JSON.stringify(want)}; please report this`, file, key);
  }
  return out;
}
