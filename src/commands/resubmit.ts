// rx resubmit --failed: run failed/timed-out/cancelled experiments again as new jobs in their own
// run directory (same commit). The ledger keeps every attempt's job id. Idempotent like submit:
// the remote marker is per run dir and attempt, so a crash mid-way never gives a point two jobs.
import { ConfigError } from '../errors.ts';
import { repoContext } from '../git/repo.ts';
import { acquireLock, now, sweepDir } from '../ledger/ledger.ts';
import { finished, refreshStates, selectSweeps, withLedger, withTarget } from '../remote/jobs.ts';
import { parseSubmitLine, type JobState } from '../remote/scheduler/types.ts';
import { makeOut, type Out } from '../ui.ts';
import type { RemoteSpec } from '../remote/target.ts';

/** What --failed means: every way a job can end other than COMPLETED. */
export const RERUNNABLE: ReadonlySet<JobState> = new Set(['FAILED', 'TIMEOUT', 'CANCELLED', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED']);

export interface ResubmitOptions {
  cwd: string;
  sweep?: string;
  failed?: boolean;
  json?: boolean;
  out?: Out;
}

export interface ResubmitResult {
  resubmitted: { sweep: string; key: string; previousJobId: string; previousState: string; jobId: string; attempt: number; dir: string }[];
  errors: { sweep: string; key: string; error: string }[];
}

export async function resubmit(opts: ResubmitOptions): Promise<ResubmitResult> {
  if (!opts.failed) throw new ConfigError('rx resubmit needs --failed (re-run every failed, timed-out or cancelled experiment)');
  const out = opts.out ?? makeOut({ json: opts.json });
  const ctx = await repoContext(opts.cwd);
  const result: ResubmitResult = { resubmitted: [], errors: [] };
  for (const name of selectSweeps(ctx, opts.sweep)) {
    const release = acquireLock(sweepDir(ctx.rxDir, name), `sweep '${name}'`);
    try {
      await withLedger(ctx, name, async ledger => {
        if (![...ledger.state().points.values()].some(p => p.jobs.length)) return;
        await withTarget(ctx, ledger.state(), async target => {
          await refreshStates(target, ledger);
          const again = [...ledger.state().points.values()].filter(p => finished(p) && RERUNNABLE.has(p.status!.state));
          if (!again.length) return;
          const remote = ledger.state().sweep!.remote as RemoteSpec;
          const specs = again.map(p => ({
            key: p.key, dir: p.dir!, script: remote.script ?? 'run.sbatch',
            args: target.scheduler.name === 'slurm' ? remote.sbatchArgs ?? [] : [],
            attempt: p.jobs.at(-1)!.attempt + 1,
          }));
          const byKey = new Map(again.map(p => [p.key, p]));
          await target.transport.exec(target.scheduler.submitScript(specs, target.stateDir), {
            onLine: line => {
              const r = parseSubmitLine(line);
              if (!r) return;
              const p = byKey.get(r.key)!;
              if ('error' in r) {
                ledger.append({ t: 'error', at: now(), key: r.key, phase: 'resubmit', message: r.error });
                result.errors.push({ sweep: name, key: r.key, error: r.error });
                return;
              }
              const attempt = p.jobs.at(-1)!.attempt + 1;
              ledger.append({ t: 'job', at: now(), key: r.key, jobId: r.jobId, attempt, scheduler: target.scheduler.name });
              result.resubmitted.push({ sweep: name, key: r.key, previousJobId: p.jobs.at(-1)!.jobId, previousState: p.status!.state, jobId: r.jobId, attempt, dir: p.dir! });
            },
          });
        });
      });
    } finally {
      release();
    }
  }
  if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else {
    out.info(result.resubmitted.length ? `resubmitted ${result.resubmitted.length} experiments` : 'nothing failed: nothing to resubmit');
    for (const r of result.resubmitted) out.info(`  ${r.sweep} point ${r.key}: ${r.previousState} job ${r.previousJobId} → job ${r.jobId} (attempt ${r.attempt})`);
    for (const e of result.errors) out.warn(`  ${e.sweep} point ${e.key}: ${e.error}`);
  }
  return result;
}
