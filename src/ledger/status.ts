// What one experiment looks like to users (status, show, sweeps, dataset): derived from its ledger record.
import type { PointRecord, SweepState } from './ledger.ts';
import type { JobStatus } from '../remote/scheduler/types.ts';

export interface ExperimentStatus {
  sweep: string;
  key: string;
  sha: string | null;
  dir: string | null;
  jobId: string | null;
  state: string;
  exitCode: number | null;
  /** How many runs the point has had: the `attempt` of its latest attempt. */
  attempts: number;
  /** This record's run number within the point's lineage (1-based; the latest attempt has the highest). */
  attempt: number;
  /** The earlier attempt this one replaces (`rx resubmit --failed --rebase`), and the later one replacing it. */
  supersedes: string | null;
  supersededBy: string | null;
  params: Record<string, unknown>;
  varied: Record<string, unknown>;
  hash: string;
  reason?: string | null;
  start?: string | null;
  end?: string | null;
  elapsedSeconds?: number | null;
  /** Present (true) once rx clean removed the run directory; the job's state is kept. */
  cleaned?: true;
}

/** State of a point that has no job yet, from how far its submission got. */
function prejobState(p: PointRecord): string {
  const last = p.errors.at(-1);
  return last && last.phase !== 'limit' ? 'SUBMIT_FAILED' : 'UNSUBMITTED';
}

/**
 * `state`, when given, is the sweep the record belongs to: `attempts` then counts the runs of the
 * point's latest attempt (an older attempt shown by --all-attempts says how many came after it).
 */
export function toStatus(sweep: string, p: PointRecord, state?: SweepState): ExperimentStatus {
  const job = p.jobs.at(-1);
  const s: JobStatus | undefined = p.status && job && p.status.jobId === job.jobId ? p.status : undefined;
  return {
    sweep, key: p.key, sha: p.sha ?? null, dir: p.dir ?? null, jobId: job?.jobId ?? null,
    state: job ? (s?.state ?? 'PENDING') : prejobState(p),
    exitCode: s?.exitCode ?? null, attempts: latestOf(p, state).attempt ?? p.jobs.length, attempt: p.attempt ?? p.jobs.length,
    supersedes: p.supersedes ?? null, supersededBy: p.supersededBy ?? null, params: p.params, varied: p.varied, hash: p.hash,
    reason: s?.reason ?? (job ? null : p.errors.at(-1)?.message ?? null), start: s?.start ?? null, end: s?.end ?? null, elapsedSeconds: s?.elapsedSeconds ?? null,
    ...(p.dirRemoved ? { cleaned: true as const } : {}),
  };
}

/** The latest attempt of the point `p` is an attempt of (`p` itself without the sweep's state). */
export function latestOf(p: PointRecord, state?: SweepState): PointRecord {
  let q = p;
  // Each point has at most one successor (the fold checks it), so the chain ends.
  for (let next = state && q.supersededBy !== undefined ? state.points.get(q.supersededBy) : undefined; next; next = next.supersededBy !== undefined ? state!.points.get(next.supersededBy) : undefined) q = next;
  return q;
}
