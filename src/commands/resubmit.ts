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
  json?: boolean;
  out?: Out;
}

export async function resubmit(opts: ResubmitOptions): Promise<ResubmitResult> {
  if (!opts.failed) throw new ConfigError('--failed is required: rx resubmit --failed re-runs every failed, timed-out or cancelled experiment');
  const out = opts.out ?? makeOut({ json: opts.json });
  const ctx = await repoContext(opts.cwd);
  const result = await resubmitFailed(ctx, selectSweeps(ctx, opts.sweep), out);
  if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else {
    out.info(result.resubmitted.length ? `resubmitted ${result.resubmitted.length} experiments` : 'nothing failed: nothing to resubmit');
    for (const r of result.resubmitted) out.info(`  ${r.sweep} point ${r.key}: ${r.previousState} job ${r.previousJobId} → job ${r.jobId} (attempt ${r.attempt})`);
    for (const e of result.errors) out.warn(`  ${e.sweep} point ${e.key}: ${e.error}`);
  }
  return result;
}
