// Which points a submission handles: new points (by parameter hash), duplicates to skip, and what
// an earlier interrupted submission left unfinished. Pure: reads the ledger state, writes nothing.
import type { PointRecord, SweepState } from '../ledger/ledger.ts';
import type { PointToBuild } from '../git/commits.ts';
import type { PlannedPoint } from '../sweep/plan.ts';
import type { StageOrigin } from '../sweep/stages.ts';

export type SweepPoint = PlannedPoint & { from?: StageOrigin };

export interface SkippedPoint {
  params: Record<string, unknown>;
  hash: string;
  /** The earlier point it duplicates. */
  key: string;
  /** A duplicate of an earlier point that this run finishes submitting (reported as that point, not as a skip). */
  resumed: boolean;
}

export interface SubmissionPlan {
  /** New points, numbered after every earlier one. */
  fresh: PointToBuild[];
  skipped: SkippedPoint[];
  /** Earlier points without a commit yet (an interrupted submission). */
  unbuilt: PointToBuild[];
  /** The points this run reports on: its new points and every earlier point still without a job. */
  wanted: Set<string>;
}

const toBuild = (p: PointRecord): PointToBuild => ({ key: p.key, params: p.params, varied: p.varied, hash: p.hash, repeat: p.repeat, ...(p.from ? { from: p.from } : {}) });

export function planSubmission(state: SweepState, points: SweepPoint[], repeat: boolean): SubmissionPlan {
  const seen = new Map<string, { count: number; key: string }>();
  let nextKey = 1;
  for (const p of state.points.values()) {
    // A rebased attempt (`supersedes`) is the same experiment again, not one more repeat of it.
    const s = seen.get(p.hash);
    seen.set(p.hash, { count: (s?.count ?? 0) + (p.supersedes ? 0 : 1), key: s?.key ?? p.key });
    nextKey = Math.max(nextKey, Number(p.key) + 1);
  }
  const fresh: PointToBuild[] = [];
  const skipped: SkippedPoint[] = [];
  for (const p of points) {
    const prev = seen.get(p.hash);
    if (!repeat && prev) {
      const earlier = state.points.get(prev.key);
      skipped.push({ params: p.params, hash: p.hash, key: prev.key, resumed: Boolean(earlier && earlier.jobs.length === 0) });
      continue;
    }
    const key = String(nextKey++);
    seen.set(p.hash, { count: (prev?.count ?? 0) + 1, key: prev?.key ?? key });
    fresh.push({ key, params: p.params, varied: p.varied, hash: p.hash, repeat: prev?.count ?? 0, ...(p.from ? { from: p.from } : {}) });
  }
  const all = [...state.points.values()];
  const wanted = new Set([...fresh.map(p => p.key), ...all.filter(p => p.jobs.length === 0).map(p => p.key)]);
  return { fresh, skipped, unbuilt: all.filter(p => !p.sha).map(toBuild), wanted };
}
