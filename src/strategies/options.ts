// Checks of a strategy's options; every error names the option (`strategies.boundary.tolerance`).
import { ConfigError } from '../errors.ts';
import { isObject } from '../json.ts';
import type { ResultSpec } from './propose.ts';

export function checkOptions(raw: unknown, known: readonly string[], where: string, example: string): Record<string, unknown> {
  if (!isObject(raw)) throw new ConfigError(`${where}: expected an options object like ${example}`);
  for (const k of Object.keys(raw)) if (!known.includes(k)) throw new ConfigError(`${where}.${k}: unknown option; known: ${known.join(', ')}`);
  return raw;
}

export function checkResult(v: unknown, where: string): ResultSpec {
  if ((typeof v === 'string' && v.trim() !== '') || typeof v === 'function') return v as ResultSpec;
  throw new ConfigError(`${where}.result: expected a result column name or a function of a row`, { hint: "E.g. result: 'engulfed' or result: row => row.state === 'COMPLETED' && row.engulfed." });
}

export function optionalNumber(v: unknown, where: string, check: (x: number) => boolean, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) throw new ConfigError(`${where}: expected ${what}, got ${String(v)}`);
  return v;
}

export function optionalInt(v: unknown, where: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  return optionalNumber(v, where, x => Number.isSafeInteger(x) && x >= min && x <= max, `an integer in ${min}..${max}`);
}

