// Budget accounting of an adaptive sweep, from the ledger alone: how many points the initial design
// and the recorded proposals used, which round comes next, and which proposed points are new.
// Pure: a re-run after a crash computes the same numbers from the same ledger.
import { ConfigError } from '../errors.ts';
import type { ProposedPoint } from '../ledger/records.ts';
import type { SweepState } from '../ledger/ledger.ts';
import { checkValue } from '../sweep/definition.ts';
import { paramHash } from '../sweep/hash.ts';
import { checkParamKeys, type Params } from '../sweep/points.ts';
import { isObject } from '../json.ts';

export interface Accounting {
  /** Distinct points of the initial design and every recorded proposal. */
  used: number;
  left: number;
  /** The round the next `propose` call is: one per recorded proposal. */
  round: number;
  /** Every hash a proposal must not repeat: the design's, the proposals', the ledger's points'. */
  known: Set<string>;
}

/** The budget state of a sweep whose initial design has these hashes. */
export function account(budget: number, design: readonly string[], state: Pick<SweepState, 'proposals' | 'points'>): Accounting {
  const counted = new Set(design);
  for (const r of state.proposals) for (const p of r.points) counted.add(p.hash);
  const known = new Set(counted);
  for (const p of state.points.values()) known.add(p.hash);
  return { used: counted.size, left: Math.max(0, budget - counted.size), round: state.proposals.length, known };
}

export interface Accepted {
  points: ProposedPoint[];
  /** Proposed points equal to an earlier one (or to one earlier in the same proposal): skipped, no budget used. */
  duplicates: number;
  /** New points beyond min(batch, budget left): dropped. */
  over: number;
}

/**
 * The new points of one `propose` answer: each checked (plain parameter values), overlaid on the
 * base config, hashed; points whose hash is known (or repeated within the answer) are skipped
 * without using budget, and at most `slots` are kept.
 */
export function acceptProposal(answer: unknown, base: Params, known: ReadonlySet<string>, slots: number): Accepted {
  if (!Array.isArray(answer)) throw new ConfigError(`propose: expected a list of points ({ param: value } objects), got ${describe(answer)}`, { hint: 'Return [] when nothing more is worth running.' });
  const seen = new Set(known);
  const points: ProposedPoint[] = [];
  let duplicates = 0;
  let over = 0;
  answer.forEach((varied, i) => {
    const where = `propose: point ${i}`;
    if (!isObject(varied) || ![Object.prototype, null].includes(Object.getPrototypeOf(varied))) throw new ConfigError(`${where}: expected a { param: value } object, got ${describe(varied)}`);
    checkParamKeys(varied, where);
    for (const [k, v] of Object.entries(varied)) checkValue(v, `${where}, '${k}'`);
    const params = { ...base, ...varied };
    const hash = paramHash(params);
    if (seen.has(hash)) { duplicates++; return; }
    seen.add(hash);
    if (points.length >= slots) { over++; return; }
    points.push({ params, varied: { ...varied }, hash });
  });
  return { points, duplicates, over };
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? (v.constructor?.name ?? 'an object') : `${typeof v} ${JSON.stringify(v)}`;
}

/** Points one round may ask for: min(batch, budget left). */
export const roundSlots = (batch: number, left: number): number => Math.max(0, Math.min(batch, left));
