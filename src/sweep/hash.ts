// The canonical parameter hash: identical parameters give the same hash whatever the key order.
import * as crypto from 'node:crypto';
import { paramsMaker, type Axis, type Params } from './points.ts';

/**
 * Canonical JSON: object keys sorted (by UTF-16 code units), no whitespace, numbers in JavaScript's
 * shortest round-trip form (so `1` and `1.0` — the same number once parsed — are identical, and
 * -0 is written as 0, as JSON.stringify writes it, so a value read back from the ledger hashes the
 * same), undefined object members dropped. Strings stay strings: `"1"` and `1` differ on purpose.
 *
 * Non-finite numbers, which JSON cannot hold, are the bare tokens NaN, Infinity and -Infinity: never
 * equal to the strings "NaN"… (always quoted) nor to null. The result is then not JSON, but only for
 * values that are not JSON anyway (sweep validation refuses non-finite parameter values); finite
 * values are written as before, so the hashes of existing points are unchanged.
 */
export function canonicalJson(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  switch (typeof v) {
    case 'number':
      if (!Number.isFinite(v)) return String(v);
      return Object.is(v, -0) ? '0' : JSON.stringify(v);
    case 'bigint':
      return v.toString();
    case 'boolean':
    case 'string':
      return JSON.stringify(v);
    case 'object': {
      if (Array.isArray(v)) return '[' + v.map(canonicalJson).join(',') + ']';
      // Loops, not filter/map/join: this runs once per point of a million-point plan.
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o).sort();
      let out = '{';
      for (const k of keys) {
        const x = o[k];
        if (x === undefined) continue;
        if (out.length > 1) out += ',';
        out += quotedKey(k) + ':' + (typeof x === 'number' && Number.isFinite(x) && !Object.is(x, -0) ? JSON.stringify(x) : canonicalJson(x));
      }
      return out + '}';
    }
    default:
      throw new TypeError(`cannot hash a ${typeof v} parameter value`);
  }
}

const quotedKeys = new Map<string, string>();
/** JSON.stringify of a parameter name, remembered (a plan has few names and many points). */
function quotedKey(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    q = JSON.stringify(k);
    if (quotedKeys.size < 10_000) quotedKeys.set(k, q);
  }
  return q;
}

// One-shot hashing (crypto.hash, Node ≥ 20.12) is ~3× faster than createHash().update().digest()
// for the short strings of a million-point plan.
const oneShot = (crypto as { hash?: (algo: string, data: string) => string }).hash;
const sha256 = (s: string): string => (oneShot ? oneShot('sha256', s) : crypto.createHash('sha256').update(s).digest('hex'));

/** sha256 of the canonical JSON of the parameters, hex. */
export function paramHash(params: Record<string, unknown>): string {
  return sha256(canonicalJson(params));
}

/**
 * What points with one set of varied names share: the base's `"k":value` pieces in sorted key
 * order (piece null: the point's own value, '' : an undefined base member, dropped), and a maker of
 * the params object (base keys, then the varied names Object.assign adds).
 */
interface Layout {
  pieces: { key: string; piece: string | null }[];
  params: (varied: Params) => Params;
}

/** `"k":value` in canonical JSON ('' for undefined: the member is dropped). */
const piece = (k: string, v: unknown) => (v === undefined ? '' : quotedKey(k) + ':' + canonicalJson(v));

function layouts(base: Record<string, unknown>): (varied: Record<string, unknown>) => Layout {
  const cache = new Map<string, Layout>();
  return varied => {
    const names = Object.keys(varied);
    const sig = names.join('\0');
    let layout = cache.get(sig);
    if (!layout) {
      const own = new Set(names);
      const keys = [...new Set([...Object.keys(base), ...names])].sort();
      const pieces = keys.map(k => ({ key: k, piece: own.has(k) ? null : piece(k, base[k]) }));
      layout = { pieces, params: paramsMaker(base, names) };
      if (cache.size < 64) cache.set(sig, layout);
    }
    return layout;
  };
}

/** The canonical JSON of base ∪ varied from a layout: only the varied values are written. */
function layoutJson(layout: Layout, varied: Record<string, unknown>): string {
  let out = '{';
  for (const { key, piece } of layout.pieces) {
    let part: string;
    if (piece !== null) part = piece;
    else {
      const x = varied[key];
      if (x === undefined) continue;
      part = quotedKey(key) + ':' + (typeof x === 'number' && Number.isFinite(x) && !Object.is(x, -0) ? JSON.stringify(x) : canonicalJson(x));
    }
    if (part === '') continue;
    if (out.length > 1) out += ',';
    out += part;
  }
  return out + '}';
}

/**
 * paramHash(Object.assign({}, base, varied)) for many points over one base: the base's values are
 * written once per set of varied names (their canonical JSON and the sorted key order are reused),
 * so each point costs only its varied values. Same result as paramHash, byte for byte.
 */
export function baseHasher(base: Record<string, unknown>): (varied: Record<string, unknown>) => string {
  const layoutOf = layouts(base);
  return varied => sha256(layoutJson(layoutOf(varied), varied));
}

/**
 * For many points over one base: each point's params (Object.assign({}, base, varied): same keys
 * in the same order) and paramHash(params). Params objects are cloned from one template per set of
 * varied names, so they hold their values in place (no per-point property store or number boxes).
 */
export function pointMaker(base: Record<string, unknown>): (varied: Record<string, unknown>) => { params: Params; hash: string } {
  const layoutOf = layouts(base);
  return varied => {
    const layout = layoutOf(varied);
    return { params: layout.params(varied), hash: sha256(layoutJson(layout, varied)) };
  };
}

/**
 * paramHash(base ∪ grid point) from the point's value indices (gridIndices): every `"name":value`
 * piece is written once per axis value, so a point costs the joining of its pieces and the sha256.
 */
export function gridHasher(base: Record<string, unknown>, axes: readonly Axis[]): (idx: readonly number[]) => string {
  const owner = new Map<string, [number, number]>();
  axes.forEach((a, ai) => a.names.forEach((n, j) => owner.set(n, [ai, j])));
  const keys = [...new Set([...Object.keys(base), ...owner.keys()])].sort();
  const slots = keys.map(k => owner.get(k) ?? piece(k, base[k]));
  const pieces = axes.map(a => a.values.map(t => a.names.map((n, j) => piece(n, t[j]))));
  return idx => {
    let out = '{';
    for (const s of slots) {
      const part = typeof s === 'string' ? s : pieces[s[0]]![idx[s[0]]!]![s[1]]!;
      if (part === '') continue;
      if (out.length > 1) out += ',';
      out += part;
    }
    return sha256(out + '}');
  };
}
