// What one experiment looks like to users (status, show, sweeps, dataset): derived from its ledger record.
import type { PointRecord } from './ledger.ts';
import type { JobStatus } from '../remote/scheduler/types.ts';

export interface ExperimentStatus {
  sweep: string;
  key: string;
  sha: string | null;
  dir: string | null;
  jobId: string | null;
  state: string;
  exitCode: number | null;
  attempts: number;
  params: Record<string, unknown>;
  varied: Record<string, unknown>;
  hash: string;
  reason?: string | null;
  start?: string | null;
  end?: string | null;
  elapsedSeconds?: number | null;
}

/** State of a point that has no job yet, from how far its submission got. */
function prejobState(p: PointRecord): string {
  const last = p.errors.at(-1);
  return last && last.phase !== 'limit' ? 'SUBMIT_FAILED' : 'UNSUBMITTED';
}

export function toStatus(sweep: string, p: PointRecord): ExperimentStatus {
  const job = p.jobs.at(-1);
  const s: JobStatus | undefined = p.status && job && p.status.jobId === job.jobId ? p.status : undefined;
  return {
    sweep, key: p.key, sha: p.sha ?? null, dir: p.dir ?? null, jobId: job?.jobId ?? null,
    state: job ? (s?.state ?? 'PENDING') : prejobState(p),
    exitCode: s?.exitCode ?? null, attempts: p.jobs.length, params: p.params, varied: p.varied, hash: p.hash,
    reason: s?.reason ?? (job ? null : p.errors.at(-1)?.message ?? null), start: s?.start ?? null, end: s?.end ?? null, elapsedSeconds: s?.elapsedSeconds ?? null,
  };
}
