// The canonical parameter hash: identical parameters give the same hash whatever the key order.
import { createHash } from 'node:crypto';

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

/** sha256 of the canonical JSON of the parameters, hex. */
export function paramHash(params: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(params)).digest('hex');
}

/**
 * paramHash(Object.assign({}, base, varied)) for many points over one base: the base's values are
 * written once per set of varied names (their canonical JSON and the sorted key order are reused),
 * so each point costs only its varied values. Same result as paramHash, byte for byte.
 */
export function baseHasher(base: Record<string, unknown>): (varied: Record<string, unknown>) => string {
  const layouts = new Map<string, { key: string; piece: string | null }[]>();
  return varied => {
    const names = Object.keys(varied);
    const sig = names.join('\0');
    let layout = layouts.get(sig);
    if (!layout) {
      const own = new Set(names);
      const keys = [...new Set([...Object.keys(base), ...names])].sort();
      // piece: the base's `"k":value` (null: the point's own value, or undefined and dropped)
      layout = keys.map(k => ({ key: k, piece: own.has(k) ? null : base[k] === undefined ? '' : quotedKey(k) + ':' + canonicalJson(base[k]) }));
      if (layouts.size < 64) layouts.set(sig, layout);
    }
    let out = '{';
    for (const { key, piece } of layout) {
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
    return createHash('sha256').update(out + '}').digest('hex');
  };
}
