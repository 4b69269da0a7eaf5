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
      const keys = Object.keys(v as object).filter(k => (v as Record<string, unknown>)[k] !== undefined).sort();
      return '{' + keys.map(k => JSON.stringify(k) + ':' + canonicalJson((v as Record<string, unknown>)[k])).join(',') + '}';
    }
    default:
      throw new TypeError(`cannot hash a ${typeof v} parameter value`);
  }
}

/** sha256 of the canonical JSON of the parameters, hex. */
export function paramHash(params: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(params)).digest('hex');
}
