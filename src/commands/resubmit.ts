// rx resubmit --failed: run failed/timed-out/cancelled experiments again (src/submission/resubmit.ts).
import { ConfigError } from '../errors.ts';
import { repoContext } from '../git/repo.ts';
import { selectSweeps } from '../ledger/sweeps.ts';
import { resubmitFailed, type ResubmitResult } from '../submission/resubmit.ts';
import { makeOut, type Out } from '../ui.ts';

export type { ResubmitResult } from '../submission/resubmit.ts';

export interface ResubmitOptions {
  cwd: string;
  sweep?: string;
  failed?: boolean;
  /** Build each failed point's commit again on the current tip of the sweep's branch. */
  rebase?: boolean;
  json?: boolean;
  out?: Out;
}

export async function resubmit(opts: ResubmitOptions): Promise<ResubmitResult> {
  if (!opts.failed) throw new ConfigError(`--failed is required: rx resubmit --failed${opts.rebase ? ' --rebase' : ''} re-runs every failed, timed-out or cancelled experiment`);
  const out = opts.out ?? makeOut({ json: opts.json });
  const ctx = await repoContext(opts.cwd);
  const result = await resubmitFailed(ctx, selectSweeps(ctx, opts.sweep), { rebase: opts.rebase, out });
  if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else {
    out.info(result.resubmitted.length ? `resubmitted ${result.resubmitted.length} experiments` : 'nothing failed: nothing to resubmit');
    for (const r of result.resubmitted) {
      out.info(r.rebased
        ? `  ${r.sweep} point ${r.rebased.supersedes}: ${r.previousState} job ${r.previousJobId} → point ${r.key} on ${r.rebased.base.slice(0, 7)} (commit ${r.rebased.sha.slice(0, 7)}), job ${r.jobId} (attempt ${r.attempt})`
        : `  ${r.sweep} point ${r.key}: ${r.previousState} job ${r.previousJobId} → job ${r.jobId} (attempt ${r.attempt}${r.note ? ', same commit' : ''})`);
    }
    for (const e of result.errors) out.warn(`  ${e.sweep} point ${e.key}: ${e.error}`);
  }
  return result;
}
