// Which sweeps a command acts on, and opening their ledgers.
import { ConfigError } from '../errors.ts';
import { Ledger, listSweeps, sweepDir, type PointRecord } from './ledger.ts';
import { TERMINAL_STATES } from '../remote/scheduler/types.ts';
import { validateSweepName } from '../sweep/names.ts';
import type { RepoContext } from '../git/repo.ts';

/** The sweeps a command acts on: the one named (which must exist), or all. */
export function selectSweeps(ctx: RepoContext, sweep: string | undefined): string[] {
  const all = listSweeps(ctx.rxDir);
  if (sweep === undefined) return all;
  validateSweepName(sweep, '--sweep');
  if (!all.includes(sweep)) throw new ConfigError(`no sweep named '${sweep}' in ${ctx.top}`, { hint: all.length ? `Known sweeps: ${all.join(', ')}` : 'Submit one first: rx submit --sweep sweep.ts' });
  return [sweep];
}

/** A point's latest job has a final state recorded. */
export function finished(p: PointRecord): boolean {
  const job = p.jobs.at(-1);
  return Boolean(job && p.status && p.status.jobId === job.jobId && TERMINAL_STATES.has(p.status.state));
}

/** Opens a sweep's ledger for the duration of `work`. */
export async function withLedger<T>(ctx: RepoContext, name: string, work: (l: Ledger) => Promise<T>): Promise<T> {
  const ledger = new Ledger(sweepDir(ctx.rxDir, name), name);
  try {
    return await work(ledger);
  } finally {
    ledger.close();
  }
}
