// Asking the scheduler about a sweep's jobs and recording the answers: shared by status, sweeps,
// cancel, resubmit and dataset. One connection per sweep's remote, one status script for all its live jobs.
import { ConfigError } from '../errors.ts';
import { latestPoints, now, type Ledger, type PointRecord, type SweepState } from '../ledger/ledger.ts';
import { cancelPointsScript, isPacked, jobOf, packedPointStatus, parseCancelMarks, parsePointRuns, pointRunsScript, type PointRun } from './scheduler/pack.ts';
import { finished, forEachSweep, selectSweeps, withLedger } from '../ledger/sweeps.ts';
import { toStatus, type ExperimentStatus } from '../ledger/status.ts';
import { openTarget, type Target } from './target.ts';
import type { RepoContext } from '../git/repo.ts';

/**
 * Opens the sweep's target, lets `work` use it (the connection is shared), and closes it.
 * The remote is the one recorded when the sweep was submitted.
 */
export async function withTarget<T>(ctx: RepoContext, state: SweepState, work: (t: Target) => Promise<T>): Promise<T> {
  if (!state.sweep) throw new ConfigError(`sweep '${state.name}' has no recorded submission`);
  const target = await openTarget(state.sweep.remote, ctx.top);
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
  const r = await target.transport.exec(target.scheduler.statusScript([...new Set(ids.map(jobOf))]));
  const found = target.scheduler.parseStatus(r.stdout);
  const runs = await packedRuns(target, live);
  const at = now();
  const nowSeconds = Math.floor(Date.now() / 1000);
  ledger.append(...live.flatMap(p => {
    const id = p.jobs.at(-1)!.jobId;
    // The status script worked but nothing knows the job: say so rather than show it pending forever.
    const s = isPacked(id) ? packedPointStatus(id, found.get(jobOf(id)), runs.get(p.key), nowSeconds)
      : found.get(id) ?? { jobId: id, state: 'UNKNOWN' as const, exitCode: null, reason: `the scheduler no longer knows job ${id} (finished long ago on a cluster without accounting, or purged)` };
    if (p.status && JSON.stringify(p.status) === JSON.stringify(s)) return [];
    return [{ t: 'state' as const, at, key: p.key, jobId: id, status: s }];
  }));
}


/** What packed points recorded in their run dirs (one script for all of them). */
async function packedRuns(target: Target, live: PointRecord[]): Promise<Map<string, PointRun>> {
  const packed = live.filter(p => p.dir && isPacked(p.jobs.at(-1)!.jobId));
  if (!packed.length) return new Map();
  const script = pointRunsScript(packed.map(p => ({ key: p.key, dir: p.dir!, jobId: p.jobs.at(-1)!.jobId })));
  return parsePointRuns((await target.transport.exec(script)).stdout);
}

/** Some point's latest job has no final state yet: only then is the scheduler worth asking. */
export function hasLiveJobs(state: SweepState): boolean {
  return [...state.points.values()].some(p => p.jobs.length && !finished(p));
}

/** Refreshes the sweep's job states if any is still live; no connection otherwise. */
export async function refreshLive(ctx: RepoContext, ledger: Ledger): Promise<void> {
  const state = ledger.state();
  if (hasLiveJobs(state)) await withTarget(ctx, state, target => refreshStates(target, ledger));
}

/**
 * Every experiment of the selected sweeps as users see it, each point by its latest attempt (with
 * `allAttempts`: every attempt); live states refreshed unless offline.
 */
export async function experimentStatuses(ctx: RepoContext, opts: { sweep?: string; offline?: boolean; allAttempts?: boolean }): Promise<ExperimentStatus[]> {
  const result: ExperimentStatus[] = [];
  // A damaged ledger is reported after the others are listed (exit code 5), not instead of them.
  await forEachSweep(selectSweeps(ctx, opts.sweep), name => withLedger(ctx, name, async ledger => {
    if (!opts.offline) await refreshLive(ctx, ledger);
    const state = ledger.state();
    for (const p of latestPoints(state, opts.allAttempts)) result.push(toStatus(name, p, state));
  }));
  return result;
}

export interface CancelledJob {
  sweep: string;
  key: string;
  jobId: string;
  state: string;
}

/**
 * Cancels the sweep's unfinished latest jobs whose state (refreshed first, so it is what the
 * scheduler says now) is in `states` (and, given `only`, whose point it names), in one remote
 * script with one cancel call; records the states afterwards. A packed point goes with its whole
 * pack job (one scancel) when every unfinished point of the pack is chosen; otherwise it alone is
 * marked and its pack's runner never starts it, or stops it, while the others run on.
 */
export async function cancelJobs(ctx: RepoContext, ledger: Ledger, states: ReadonlySet<string>, only?: ReadonlySet<string>): Promise<CancelledJob[]> {
  const cancelled: CancelledJob[] = [];
  if (!hasLiveJobs(ledger.state())) return cancelled;
  await withTarget(ctx, ledger.state(), async target => {
    await refreshStates(target, ledger);
    const live = [...ledger.state().points.values()].filter(p => p.jobs.length && !finished(p));
    const chosen = live.filter(p => states.has(p.status?.state ?? 'PENDING') && (!only || only.has(p.key)));
    if (!chosen.length) return;
    const { jobs, points } = cancelPlan(live, chosen);
    const script = points.length
      ? cancelPointsScript(points.flatMap(p => (p.dir ? [{ key: p.key, dir: p.dir, jobId: latestId(p) }] : [])), jobs.length ? target.scheduler.cancelScript(jobs) : null)
      : target.scheduler.cancelScript(jobs);
    const r = await target.transport.exec(script);
    const marked = parseCancelMarks(r.stdout);
    for (const p of chosen) {
      if (points.includes(p) && !marked.has(p.key)) continue; // no run dir to mark (gone): not cancelled
      cancelled.push({ sweep: ledger.name, key: p.key, jobId: latestId(p), state: p.status?.state ?? 'PENDING' });
    }
    await refreshStates(target, ledger);
  });
  return cancelled;
}

const latestId = (p: PointRecord) => p.jobs.at(-1)!.jobId;

/**
 * Pure: what to cancel for the chosen points among the live ones: whole jobs (a point's own, or a
 * pack job all of whose live points are chosen), and packed points to stop alone (the others).
 */
export function cancelPlan(live: readonly PointRecord[], chosen: readonly PointRecord[]): { jobs: string[]; points: PointRecord[] } {
  const picked = new Set(chosen);
  const packs = new Map<string, PointRecord[]>();
  for (const p of live) {
    if (!isPacked(latestId(p))) continue;
    const job = jobOf(latestId(p));
    packs.set(job, [...(packs.get(job) ?? []), p]);
  }
  const jobs = new Set(chosen.filter(p => !isPacked(latestId(p))).map(latestId));
  const points: PointRecord[] = [];
  for (const [job, members] of packs) {
    const mine = members.filter(m => picked.has(m));
    // Every live point of the pack chosen: the scheduler cancels the job (a queued pack never starts).
    if (mine.length === members.length) jobs.add(job);
    else points.push(...mine);
  }
  return { jobs: [...jobs], points };
}
