// Asking the scheduler about a sweep's jobs and recording the answers: shared by status, cancel
// and resubmit. One connection per sweep's remote, one status script for all its live jobs.
import { ConfigError } from '../errors.ts';
import { Ledger, listSweeps, now, sweepDir, type PointRecord, type SweepState } from '../ledger/ledger.ts';
import { openTarget, type RemoteSpec, type Target } from './target.ts';
import { TERMINAL_STATES } from './scheduler/types.ts';
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

/**
 * Opens the sweep's target, lets `work` use it (the connection is shared), and closes it.
 * The remote is the one recorded when the sweep was submitted.
 */
export async function withTarget<T>(ctx: RepoContext, state: SweepState, work: (t: Target) => Promise<T>): Promise<T> {
  if (!state.sweep) throw new ConfigError(`sweep '${state.name}' has no recorded submission`);
  const target = await openTarget(state.sweep.remote as RemoteSpec, ctx.top);
  try {
    return await work(target);
  } finally {
    await target.close();
  }
}

/** Asks the scheduler for every unfinished latest job of the sweep and appends what changed. */
export async function refreshStates(target: Target, ledger: Ledger): Promise<void> {
  const live = [...ledger.state().points.values()].filter(p => p.jobs.length && !finished(p));
  if (!live.length) return;
  const ids = live.map(p => p.jobs.at(-1)!.jobId);
  const r = await target.transport.exec(target.scheduler.statusScript(ids));
  const found = target.scheduler.parseStatus(r.stdout);
  const at = now();
  ledger.append(...live.flatMap(p => {
    const id = p.jobs.at(-1)!.jobId;
    // The status script worked but nothing knows the job: say so rather than show it pending forever.
    const s = found.get(id) ?? { jobId: id, state: 'UNKNOWN' as const, exitCode: null, reason: `the scheduler no longer knows job ${id} (finished long ago on a cluster without accounting, or purged)` };
    if (p.status && JSON.stringify(p.status) === JSON.stringify(s)) return [];
    return [{ t: 'state' as const, at, key: p.key, jobId: id, status: s }];
  }));
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
