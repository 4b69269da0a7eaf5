// Reading dataset rows: which rows count, their result, and their place in the unit cube.
import { isObject } from '../json.ts';
import { TERMINAL_STATES, type JobState } from '../remote/scheduler/types.ts';
import type { Domain } from './domain.ts';
import type { ResultSpec, StrategyRow } from './propose.ts';

/** A row whose result is known, placed in the unit cube. */
export interface Seen<T> { u: number[]; value: T; key: string }

/**
 * A row's raw result, or undefined when the row does not count: a column is read from COMPLETED
 * rows only; a function sees every finished row (any terminal state, or no `state` column) and
 * decides itself. Rows still pending or running never count.
 */
export function resultOf(result: ResultSpec, row: StrategyRow): unknown {
  const state = row.state;
  const has = state !== undefined && state !== null && state !== '';
  if (typeof result === 'string') return has && state !== 'COMPLETED' ? undefined : row[result];
  if (has && !TERMINAL_STATES.has(String(state) as JobState)) return undefined;
  return result(row);
}

/**
 * The keys of every row's point (so nothing is proposed twice) and the rows with a usable value
 * (`convert` gives null for none), in canonical order: sorted by key, so row order never matters.
 */
export function observe<T>(rows: readonly StrategyRow[], domain: Domain, result: ResultSpec, convert: (v: unknown) => T | null): { taken: Set<string>; seen: Seen<T>[] } {
  const taken = new Set<string>();
  const seen: Seen<T>[] = [];
  for (const row of rows) {
    if (!isObject(row)) continue;
    const key = domain.key(row);
    taken.add(key);
    const u = domain.toUnit(row);
    if (u === null) continue;
    const value = convert(resultOf(result, row));
    if (value !== null) seen.push({ u, value, key });
  }
  const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  seen.sort((a, b) => order(a.key, b.key) || order(String(a.value), String(b.value)));
  return { taken, seen };
}

