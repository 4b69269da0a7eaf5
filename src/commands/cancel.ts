// rx cancel: one scancel (or shell-queue cancel) call for every selected job of a sweep.
import { ConfigError } from '../errors.ts';
import { repoContext } from '../git/repo.ts';
import { finished, refreshStates, selectSweeps, withLedger, withTarget } from '../remote/jobs.ts';
import { TERMINAL_STATES, type JobState } from '../remote/scheduler/types.ts';
import { makeOut, type Out } from '../ui.ts';

const CANCELLABLE: JobState[] = ['PENDING', 'RUNNING', 'SUSPENDED', 'REQUEUED', 'COMPLETING'];

export interface CancelOptions {
  cwd: string;
  sweep?: string;
  /** Only jobs in these states (default: every unfinished job). */
  states?: string[];
  json?: boolean;
  out?: Out;
}

export interface CancelResult {
  cancelled: { sweep: string; key: string; jobId: string; state: string }[];
}

export function parseStates(list: string[] | undefined): Set<string> {
  if (!list || list.length === 0) return new Set(CANCELLABLE);
  const states = list.flatMap(s => s.split(',')).map(s => s.trim().toUpperCase()).filter(Boolean);
  for (const s of states) {
    if (TERMINAL_STATES.has(s as JobState)) throw new ConfigError(`--state ${s}: a ${s} job has already ended and cannot be cancelled`);
    if (!CANCELLABLE.includes(s as JobState)) throw new ConfigError(`--state ${s}: unknown state`, { hint: `Use one or more of ${CANCELLABLE.join(', ')}.` });
  }
  return new Set(states);
}

export async function cancel(opts: CancelOptions): Promise<CancelResult> {
  const out = opts.out ?? makeOut({ json: opts.json });
  const wanted = parseStates(opts.states);
  const ctx = await repoContext(opts.cwd);
  const result: CancelResult = { cancelled: [] };
  for (const name of selectSweeps(ctx, opts.sweep)) {
    await withLedger(ctx, name, async ledger => {
      if (![...ledger.state().points.values()].some(p => p.jobs.length && !finished(p))) return;
      await withTarget(ctx, ledger.state(), async target => {
        await refreshStates(target, ledger); // cancel what is really in the asked states now
        const chosen = [...ledger.state().points.values()].filter(p => p.jobs.length && !finished(p) && wanted.has(p.status?.state ?? 'PENDING'));
        if (!chosen.length) return;
        await target.transport.exec(target.scheduler.cancelScript(chosen.map(p => p.jobs.at(-1)!.jobId)));
        for (const p of chosen) result.cancelled.push({ sweep: name, key: p.key, jobId: p.jobs.at(-1)!.jobId, state: p.status?.state ?? 'PENDING' });
        await refreshStates(target, ledger);
      });
    });
  }
  if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else out.info(result.cancelled.length ? `cancelled ${result.cancelled.length} jobs: ${result.cancelled.map(c => c.jobId).join(' ')}` : 'no job to cancel');
  return result;
}
