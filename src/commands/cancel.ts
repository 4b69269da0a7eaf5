// rx cancel: one scancel (or shell-queue cancel) call for every selected job of a sweep.
import { ConfigError } from '../errors.ts';
import { repoContext } from '../git/repo.ts';
import { cancelJobs, type CancelledJob } from '../remote/jobs.ts';
import { selectSweeps, withLedger } from '../ledger/sweeps.ts';
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
  cancelled: CancelledJob[];
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
    result.cancelled.push(...(await withLedger(ctx, name, ledger => cancelJobs(ctx, ledger, wanted))));
  }
  if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else out.info(result.cancelled.length ? `cancelled ${result.cancelled.length} jobs: ${result.cancelled.map(c => c.jobId).join(' ')}` : 'no job to cancel');
  return result;
}
