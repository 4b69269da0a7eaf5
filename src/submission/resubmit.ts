// Resubmitting failed experiments. Plainly: each as a new job in its own run directory (same
// commit), through the same job submission as the first one; the remote marker is per run dir and
// attempt, so a crash mid-way never gives a point two jobs. With --rebase: each failed point's
// commit is built again on the current tip of the sweep's branch, as a new point record that
// supersedes the failed one (same parameters, new commit and run directory), through the same
// phases as rx submit. Its record is in the ledger before any commit, and a point that already has
// a successor is never rebased again: a re-run after a crash finishes the successor instead.
import { existsSync } from 'node:fs';
import { ConfigError } from '../errors.ts';
import type { RepoContext } from '../git/repo.ts';
import { computeChanges, type PointToBuild } from '../git/commits.ts';
import { latestPoints, listSweeps, now, sweepDir, type EventOf, type Ledger, type PointRecord } from '../ledger/ledger.ts';
import { latestOf } from '../ledger/status.ts';
import { DEFAULT_LINK } from '../sweep/chains.ts';
import { sourceState } from './chains.ts';
import { acquireLock } from '../ledger/lock.ts';
import { hasFunction } from '../ledger/records.ts';
import { finished, withLedger } from '../ledger/sweeps.ts';
import { refreshStates, withTarget } from '../remote/jobs.ts';
import type { JobState } from '../remote/scheduler/types.ts';
import type { Target } from '../remote/target.ts';
import { loadSweepFile } from '../sweep/definition.ts';
import { validatePatcher, type FileChange, type PatcherSpec } from '../sweep/patch.ts';
import type { Out } from '../ui.ts';
import { PhaseClock } from './crash.ts';
import { branchTip, inputFiles, warnMovedOnResubmit, warnUncommitted } from './drift.ts';
import { submitJobs, type JobToSubmit } from './jobs.ts';
import { chained, cleanPhase, commitPhase, createPhase, dirsPhase, jobsPhase, pushPhase, type Chain, type SubmissionContext } from './phases.ts';
import { submissionContext } from './submit.ts';

/** What --failed means: every way a job can end other than COMPLETED. */
export const RERUNNABLE: ReadonlySet<JobState> = new Set(['FAILED', 'TIMEOUT', 'CANCELLED', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED']);

export interface Resubmitted {
  sweep: string;
  /** The point record that got the job: the failed one, or (rebased) its successor. */
  key: string;
  previousJobId: string;
  previousState: string;
  jobId: string;
  /** The run's number within the point's lineage (same-dir resubmits and rebased attempts). */
  attempt: number;
  dir: string;
  /** Built again on the branch's tip: the failed point this one supersedes, and the new commit and its base. */
  rebased: { supersedes: string; sha: string; base: string } | null;
  /** Why a point asked to be rebased was not (already on the tip): it was resubmitted in its run directory. */
  note?: string;
}

export interface ResubmitResult {
  resubmitted: Resubmitted[];
  errors: { sweep: string; key: string; error: string }[];
}

export interface ResubmitOptions {
  /** Build each failed point's commit again on the current tip of the sweep's branch. */
  rebase?: boolean;
  out: Out;
}

/** Resubmits every finished, non-COMPLETED latest attempt of the named sweeps (one connection per sweep). */
export async function resubmitFailed(ctx: RepoContext, sweeps: string[], opts: ResubmitOptions): Promise<ResubmitResult> {
  const result: ResubmitResult = { resubmitted: [], errors: [] };
  for (const name of sweeps) {
    const release = acquireLock(sweepDir(ctx.rxDir, name), `sweep '${name}'`);
    try {
      await withLedger(ctx, name, async ledger => {
        const st = ledger.state();
        if (!st.sweep || !([...st.points.values()].some(p => p.jobs.length) || unfinishedSuccessors(ledger).length)) return;
        await withTarget(ctx, st, async target => {
          await refreshStates(target, ledger);
          // Only latest attempts: a failure a rebased attempt replaced is not run again.
          const again = latestPoints(ledger.state()).filter(p => finished(p) && RERUNNABLE.has(p.status!.state));
          if (opts.rebase) await rebase(ctx, ledger, target, again, opts.out, result);
          else await plain(ctx, ledger, target, again, opts.out, result);
        });
      });
    } finally {
      release();
    }
    await resubmitChains(ctx, name, result, opts.out);
  }
  return result;
}

/**
 * `rx resubmit --failed` of a chain's source re-creates the chain: every sweep chained after it
 * (`after:`) resubmits, in its run directory, each point that ended without completing (its
 * source failed: DependencyNeverSatisfied / CANCELLED) and whose source point got a new job now,
 * waiting for that job. Sweeps chained after those follow in turn.
 */
async function resubmitChains(ctx: RepoContext, source: string, result: ResubmitResult, out: Out): Promise<void> {
  const fresh = new Set(result.resubmitted.filter(r => r.sweep === source).map(r => r.key));
  if (!fresh.size) return;
  for (const name of listSweeps(ctx.rxDir)) {
    if (name === source) continue;
    const release = acquireLock(sweepDir(ctx.rxDir, name), `sweep '${name}'`);
    let chained = false;
    try {
      await withLedger(ctx, name, async ledger => {
        const st = ledger.state();
        if ((st.sweep?.definition.after as { sweep?: unknown } | undefined)?.sweep !== source) return;
        chained = true;
        const src = sourceState(ctx.rxDir, ctx.top, { sweep: source }, st.sweep!.remote.label);
        const waits = (p: PointRecord) => { const o = p.from && src.points.get(p.from.key); return Boolean(o && fresh.has(latestOf(o, src).key)); };
        await withTarget(ctx, st, async target => {
          await refreshStates(target, ledger);
          const again = latestPoints(ledger.state()).filter(p => finished(p) && RERUNNABLE.has(p.status!.state) && waits(p));
          await plain(ctx, ledger, target, again, out, result, `chained after sweep '${source}': its source point was resubmitted`);
        });
      });
    } finally {
      release();
    }
    if (chained) await resubmitChains(ctx, name, result, out);
  }
}

/** The chain of a sweep submitted with `after:` (as recorded), for its jobs' dependencies and links. */
function recordedChain(ctx: RepoContext, sweep: EventOf<'sweep'>): Chain | undefined {
  const after = sweep.definition.after as { sweep: string; link?: string } | undefined;
  if (!after) return undefined;
  return { after: { sweep: after.sweep, link: after.link ?? DEFAULT_LINK }, source: sourceState(ctx.rxDir, ctx.top, after, sweep.remote.label) };
}

/** Successors (rebased attempts) an interrupted rx resubmit --failed --rebase left without a job. */
function unfinishedSuccessors(ledger: Ledger): PointRecord[] {
  return [...ledger.state().points.values()].filter(p => p.supersedes !== undefined && p.jobs.length === 0);
}

/** Each failed point as a new job in its own run directory (same commit). */
async function plain(ctx: RepoContext, ledger: Ledger, target: Target, again: PointRecord[], out: Out, result: ResubmitResult, note?: string): Promise<void> {
  const sweep = ledger.state().sweep!;
  // A run directory rx clean removed cannot run again in place: said, not tried.
  const cleaned = again.filter(p => p.dirRemoved || p.dirRemoving);
  if (cleaned.length) out.warn(`rx: ${ledger.name}: not resubmitting point${cleaned.length === 1 ? '' : 's'} ${cleaned.map(p => p.key).join(', ')}: rx clean removed ${cleaned.length === 1 ? 'its run directory' : 'their run directories'} (rx submit --repeat runs the same parameters again)`);
  again = again.filter(p => !p.dirRemoved && !p.dirRemoving);
  if (!note) await warnPlain(ctx, ledger, again, out);
  if (!again.length) return;
  let jobs: JobToSubmit[] = again.map(p => ({ key: p.key, dir: p.dir!, sha: p.sha, attempt: p.jobs.at(-1)!.attempt + 1 }));
  const chain = recordedChain(ctx, sweep);
  if (chain) jobs = await chained(ledger, target, jobs, chain, 'resubmit');
  const sub = await submitJobs(target, ledger, sweep.remote, jobs, { phase: 'resubmit', out, top: ctx.top });
  const byKey = new Map(again.map(p => [p.key, p]));
  for (const j of sub.jobs) {
    const p = byKey.get(j.key)!;
    result.resubmitted.push({ sweep: ledger.name, key: j.key, previousJobId: p.jobs.at(-1)!.jobId, previousState: p.status!.state, jobId: j.jobId, attempt: (p.attempt ?? p.jobs.length) + 1, dir: p.dir!, rebased: null, ...(note ? { note } : {}) });
  }
  for (const e of sub.errors) result.errors.push({ sweep: ledger.name, ...e });
}

/** Before a plain resubmit: the branch moved (the old commits run again), an unfinished rebase, uncommitted inputs. */
async function warnPlain(ctx: RepoContext, ledger: Ledger, again: PointRecord[], out: Out): Promise<void> {
  const sweep = ledger.state().sweep!;
  const pending = unfinishedSuccessors(ledger);
  if (pending.length) out.warn(`rx: ${ledger.name}: ${pending.length} rebased attempt(s) (point ${pending.map(p => p.key).join(', ')}) of an interrupted rx resubmit --failed --rebase have no job yet: run rx resubmit --failed --rebase --sweep ${ledger.name} to finish them`);
  if (!again.length) return;
  const tip = await branchTip(ctx.top, sweep.branch);
  if (tip) warnMovedOnResubmit({ sweep: ledger.name, branch: sweep.branch, tip, again, out });
  await warnUncommitted(ctx.top, ledger.name, sweep.branch, inputFiles(sweep.definition.patcher, sweep.remote.script), out, `rx resubmit --failed --rebase --sweep ${ledger.name}`);
}

/**
 * --rebase: failed points on an older base get a successor built on the branch's tip; points
 * already on the tip are resubmitted in their run directory (rebuilding them would make the same
 * tree again). Successors an interrupted run left unfinished are finished first, on their own base.
 */
async function rebase(ctx: RepoContext, ledger: Ledger, target: Target, again: PointRecord[], out: Out, result: ResubmitResult): Promise<void> {
  const sweep = ledger.state().sweep!;
  // The remote as recorded (its label too: run directories are checked against it).
  const c: SubmissionContext = { ...(await submissionContext(ctx.top, { name: ledger.name, branch: sweep.branch, remote: sweep.remote, out })), label: sweep.remote.label };
  const moved = again.filter(p => p.base !== c.base);
  const onTip = again.filter(p => p.base === c.base);
  const clock = new PhaseClock();
  if (moved.length || unfinishedSuccessors(ledger).length) {
    const patcher = await recordedPatcher(ctx, sweep);
    const fresh = successors(ledger, moved);
    // Validation pass: every patch applies to the new base before anything is recorded.
    const changes = await computeChanges(c.top, c.base, c.name, patcher, fresh);
    await warnUncommitted(c.top, c.name, sweep.branch, inputFiles(patcher, sweep.remote.script, changes), out);
    const at = now();
    ledger.append(...fresh.map(p => ({ t: 'point' as const, at, key: p.key, params: p.params, varied: p.varied, hash: p.hash, base: c.base, repeat: p.repeat, ...(p.from ? { from: p.from } : {}), supersedes: p.supersedes })));
    clock.end('plan');
    // This run's successors: the new ones and those an interrupted run left without a job.
    const pending = unfinishedSuccessors(ledger).map(p => p.key);
    await finishSuccessors(c, ledger, target, patcher, changes, clock, recordedChain(ctx, sweep));
    report(ledger, pending, result);
  }
  const note = `already on the tip of '${sweep.branch}' (${c.base.slice(0, 7)}): nothing to rebase, resubmitted in its run directory`;
  if (onTip.length) out.warn(`rx: ${ledger.name}: point ${onTip.map(p => p.key).join(', ')} ${note}`);
  await plain(ctx, ledger, target, onTip, out, result, note);
}

/** One successor per failed point, numbered after every point of the sweep: same parameters, new base. */
function successors(ledger: Ledger, moved: PointRecord[]): (PointToBuild & { supersedes: string })[] {
  let next = Math.max(0, ...[...ledger.state().points.keys()].map(Number)) + 1;
  return moved.map(p => ({ key: String(next++), params: p.params, varied: p.varied, hash: p.hash, repeat: p.repeat, ...(p.from ? { from: p.from } : {}), supersedes: p.key }));
}

/**
 * Builds every successor without a commit on the base its record names (an interrupted run's may be
 * older than this tip), then the phases of rx submit: push, run dir names, create, clean, jobs —
 * each doing what the ledger says is still to do.
 */
async function finishSuccessors(c: SubmissionContext, ledger: Ledger, target: Target, patcher: PatcherSpec, changes: Map<string, FileChange[]>, clock: PhaseClock, chain?: Chain): Promise<void> {
  const unbuilt = [...ledger.state().points.values()].filter(p => p.supersedes !== undefined && !p.sha);
  for (const base of new Set(unbuilt.map(p => p.base))) {
    const points: PointToBuild[] = unbuilt.filter(p => p.base === base).map(p => ({ key: p.key, params: p.params, varied: p.varied, hash: p.hash, repeat: p.repeat, ...(p.from ? { from: p.from } : {}) }));
    const missing = points.filter(p => !changes.has(p.key));
    const more = missing.length ? await computeChanges(c.top, base, c.name, patcher, missing) : new Map<string, FileChange[]>();
    await commitPhase({ ...c, base }, ledger, points, new Map([...changes, ...more]));
  }
  clock.end('commit');
  await pushPhase(c, ledger);
  clock.end('push');
  dirsPhase(c, ledger);
  clock.end('dirs');
  await createPhase(c, ledger, target);
  clock.end('create');
  await cleanPhase(c, ledger);
  clock.end('clean');
  await jobsPhase(c, ledger, target, chain);
  clock.end('submit');
}

/** What became of this run's successors: their jobs, or why they have none. */
function report(ledger: Ledger, keys: string[], result: ResubmitResult): void {
  const st = ledger.state();
  for (const key of keys) {
    const p = st.points.get(key)!;
    const old = st.points.get(p.supersedes!)!;
    const job = p.jobs.at(-1);
    const err = p.errors.at(-1);
    if (job) result.resubmitted.push({ sweep: ledger.name, key: p.key, previousJobId: old.jobs.at(-1)?.jobId ?? '-', previousState: old.status?.state ?? 'UNKNOWN', jobId: job.jobId, attempt: p.attempt ?? 1, dir: p.dir!, rebased: { supersedes: old.key, sha: p.sha!, base: p.base } });
    // A point held back by the cluster's submit limits is not an error: the next run submits it.
    else if (err && err.phase !== 'limit') result.errors.push({ sweep: ledger.name, key: p.key, error: err.message });
  }
}

/**
 * The sweep's patcher as recorded: plain JSON in the ledger, or, when it is (or holds) a function,
 * loaded again from the sweep file recorded at submit.
 */
async function recordedPatcher(ctx: RepoContext, sweep: EventOf<'sweep'>): Promise<PatcherSpec> {
  if (!hasFunction(sweep, 'patcher')) return validatePatcher(sweep.definition.patcher);
  if (!existsSync(sweep.file)) throw new ConfigError(`sweep '${sweep.name}' patches its files with a function from ${sweep.file}, which is gone`, { hint: 'Restore the sweep file at that path (rx resubmit --failed --rebase loads its patcher from there), or resubmit without --rebase.' });
  const raw = (await loadSweepFile(sweep.file, ctx.top)) as Record<string, unknown>;
  if (raw.name !== sweep.name) throw new ConfigError(`${sweep.file} now defines sweep '${String(raw.name)}', not '${sweep.name}'`, { hint: `Restore the sweep file of '${sweep.name}' at that path, or resubmit without --rebase.` });
  return validatePatcher(raw.patcher);
}
