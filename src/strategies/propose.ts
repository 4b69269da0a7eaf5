// The contract between a strategy and the driver that runs it (`rx run`): what `propose` is given
// and returns, how many points it may return, and the batch that keeps every proposal new.
import { ConfigError } from '../errors.ts';
import type { Params } from '../sweep/points.ts';
import type { Domain } from './domain.ts';

/** A row of `rx dataset`: provenance (`state`, `exit_code`, …), parameters and results as columns. */
export type StrategyRow = Record<string, unknown>;

/** A result column's name, or a function of a row (which sees failed runs too). */
export type ResultSpec = string | ((row: StrategyRow) => unknown);

export interface ProposeContext {
  /** Every run so far, failed and unfinished ones included. */
  rows: readonly StrategyRow[];
  /** 0 for the first call of a sweep, then 1, 2, … */
  round: number;
  /** Points the driver may still run. */
  budgetLeft: number;
  /** Points wanted now. */
  batch: number;
}

/**
 * Proposes at most min(batch, budgetLeft) new points: objects holding only the strategy's
 * parameters, none equal to a row's or to another proposal. Fewer (or none) means nothing more is
 * worth running. Deterministic: the same rows (in any order) give the same points.
 */
export type Propose = (ctx: ProposeContext) => Params[];

/** How many points this call may return: min(batch, budgetLeft), both checked. */
export function slots(ctx: ProposeContext, where: string): number {
  const { batch, budgetLeft } = ctx;
  if (!Number.isSafeInteger(batch) || batch < 0) throw new ConfigError(`${where}: batch must be a non-negative integer, got ${String(batch)}`);
  if (!(budgetLeft >= 0)) throw new ConfigError(`${where}: budgetLeft must be a non-negative number, got ${String(budgetLeft)}`);
  if (!Array.isArray(ctx.rows)) throw new ConfigError(`${where}: rows must be a list of dataset rows`);
  return Math.max(0, Math.min(batch, Math.floor(budgetLeft)));
}

/** The points of one proposal: each new (not a row's, not proposed before), at most `size`. */
export class Batch {
  readonly points: Params[] = [];
  /** Unit coordinates of the accepted points (after snapping ints and values to their cells). */
  readonly units: number[][] = [];
  private readonly keys = new Set<string>();
  constructor(private readonly domain: Domain, private readonly taken: ReadonlySet<string>, readonly size: number) {}

  get full(): boolean { return this.points.length >= this.size; }

  /** Adds the point at unit coordinates `u` unless the batch is full or the point is not new. */
  offer(u: readonly number[]): boolean {
    if (this.full) return false;
    const p = this.domain.fromUnit(u);
    const k = this.domain.key(p);
    if (this.taken.has(k) || this.keys.has(k)) return false;
    this.keys.add(k);
    this.points.push(p);
    this.units.push(this.domain.toUnit(p)!);
    return true;
  }
}
