// Resubmitting failed experiments: each as a new attempt in its own run directory (same commit),
// through the same job submission as the first one. The ledger keeps every attempt's job id; the
// remote marker is per run dir and attempt, so a crash mid-way never gives a point two jobs.
import type { RepoContext } from '../git/repo.ts';
import { sweepDir } from '../ledger/ledger.ts';
import { acquireLock } from '../ledger/lock.ts';
import { finished, withLedger } from '../ledger/sweeps.ts';
import { refreshStates, withTarget } from '../remote/jobs.ts';
import type { JobState } from '../remote/scheduler/types.ts';
import type { Out } from '../ui.ts';
import { submitJobs } from './jobs.ts';

/** What --failed means: every way a job can end other than COMPLETED. */
export const RERUNNABLE: ReadonlySet<JobState> = new Set(['FAILED', 'TIMEOUT', 'CANCELLED', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED']);

export interface ResubmitResult {
  resubmitted: { sweep: string; key: string; previousJobId: string; previousState: string; jobId: string; attempt: number; dir: string }[];
  errors: { sweep: string; key: string; error: string }[];
}

/** Resubmits every finished, non-COMPLETED latest job of the named sweeps (one connection per sweep). */
export async function resubmitFailed(ctx: RepoContext, sweeps: string[], out: Out): Promise<ResubmitResult> {
  const result: ResubmitResult = { resubmitted: [], errors: [] };
  for (const name of sweeps) {
    const release = acquireLock(sweepDir(ctx.rxDir, name), `sweep '${name}'`);
    try {
      await withLedger(ctx, name, async ledger => {
        if (![...ledger.state().points.values()].some(p => p.jobs.length)) return;
        await withTarget(ctx, ledger.state(), async target => {
          await refreshStates(target, ledger);
          const again = [...ledger.state().points.values()].filter(p => finished(p) && RERUNNABLE.has(p.status!.state));
          if (!again.length) return;
          const sub = await submitJobs(target, ledger, ledger.state().sweep!.remote, again.map(p => ({ key: p.key, dir: p.dir!, sha: p.sha, attempt: p.jobs.at(-1)!.attempt + 1 })), { phase: 'resubmit', out, top: ctx.top });
          const byKey = new Map(again.map(p => [p.key, p]));
          for (const j of sub.jobs) {
            const p = byKey.get(j.key)!;
            result.resubmitted.push({ sweep: name, key: j.key, previousJobId: p.jobs.at(-1)!.jobId, previousState: p.status!.state, jobId: j.jobId, attempt: j.attempt, dir: p.dir! });
          }
          for (const e of sub.errors) result.errors.push({ sweep: name, ...e });
        });
      });
    } finally {
      release();
    }
  }
  return result;
}
