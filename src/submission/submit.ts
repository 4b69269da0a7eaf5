// A submission of a sweep file: sweep file → one commit per point → one push → one connection →
// run dirs → scheduler, with every step in the ledger before the next remote action. Re-running
// finishes an interrupted submission and never submits a point twice.
import { join, resolve } from 'node:path';
import { existsSync, rmdirSync } from 'node:fs';
import { ConfigError, StateError } from '../errors.ts';
import { git, verbs } from '../git/verbs.ts';
import { computeChanges } from '../git/commits.ts';
import { ensureExcluded, type RepoContext } from '../git/repo.ts';
import { checkSweep, loadSweepFile, planSweep, type CheckedSweep, type LoadedSweep } from '../sweep/definition.ts';
import { samplerSequenceId, validateSampler } from '../sweep/samplers.ts';
import { stagePoints } from '../sweep/stages.ts';
import { chainPoints, DEFAULT_LINK } from '../sweep/chains.ts';
import { chainSources, sourceState } from './chains.ts';
import { canonicalJson } from '../sweep/hash.ts';
import { Ledger, listSweeps, now, sweepDir, type EventOf, type SweepState } from '../ledger/ledger.ts';
import { acquireLock } from '../ledger/lock.ts';
import { storeDefinition } from '../ledger/records.ts';
import { latestOf } from '../ledger/status.ts';
import type { RemoteSpec } from '../remote/config.ts';
import type { FileChange } from '../sweep/patch.ts';
import { inputFiles, warnMovedOnSubmit, warnUncommitted } from './drift.ts';
import { openTarget, outputRoot, remoteLabel, type Target } from '../remote/target.ts';
import { stageRows } from '../results/stage-rows.ts';
import type { Out } from '../ui.ts';
import { PhaseClock } from './crash.ts';
import { planDryRun, type DryRunPlan } from './dry-run.ts';
import { planSubmission, type SubmissionPlan, type SweepPoint } from './plan.ts';
import { cleanPhase, commitPhase, createPhase, dirsPhase, jobsPhase, needsTarget, pushPhase, type Chain, type SubmissionContext } from './phases.ts';
import { applyReconciliation, gatherEvidence, reconcile, variedAgainst } from './reconcile.ts';

export interface SubmitOptions {
  cwd: string;
  sweep: string;
  /** Submit points whose parameters were already submitted again, as new experiments. */
  repeat?: boolean;
  /** Show the plan (points, hashes, skips, run dir names, diffs) and create nothing. */
  dryRun?: boolean;
  /** With dryRun: how many diffs to compute (default DEFAULT_DIFFS). */
  diffs?: number;
  /** Sampled sweeps: draw this many more samples of the same sequence. */
  extend?: number;
  /** Points whose run directory is blocked (something else in the way) get a fresh run directory name. */
  newDirs?: boolean;
  /** Seconds to wait for another process holding the target's run-directory lock (default 600). */
  lockTimeout?: number;
  /** Adaptive sweeps: also the points `rx run` proposed (recorded in the ledger); rx submit leaves them out. */
  proposed?: boolean;
  out: Out;
}

export interface SubmitRecord {
  sweep: string;
  key: string;
  params: Record<string, unknown>;
  hash: string;
  sha: string | null;
  dir: string | null;
  jobId: string | null;
  /** `unsubmitted`: held back by the cluster's submit limits; the next rx submit sends it. */
  status: 'submitted' | 'skipped' | 'failed' | 'unsubmitted';
  error?: string;
}

export interface SubmitResult {
  sweep: string;
  /** Where the runs went (the remote's label). */
  remote: string;
  submitted: number;
  skipped: number;
  failed: number;
  /** Points held back by the cluster's submit limits (the next rx submit sends them). */
  unsubmitted: number;
  records: SubmitRecord[];
  /** Milliseconds per phase: plan, commit, push, dirs, connect, create, clean, submit. */
  timings: Record<string, number>;
  /** Experiments found on the target that the ledger did not know (adopted, not submitted again). */
  recovered?: number;
  /** With dryRun: the plan, one entry per point of the sweep file (made as they are read). */
  plan?: DryRunPlan;
}

/** The sweep file, checked, with the facts of the repository it is submitted from. */
export interface Prepared { checked: CheckedSweep; c: SubmissionContext }

export async function prepare(ctx: RepoContext, opts: Pick<SubmitOptions, 'sweep' | 'cwd' | 'out'>): Promise<Prepared> {
  // Checked now; planned once the ledger says how many samples were drawn before.
  const checked = checkSweep(await loadSweepFile(opts.sweep, opts.cwd), opts.sweep);
  const c = await submissionContext(ctx.top, { name: checked.def.name, branch: checked.def.branch, remote: checked.remote, out: opts.out });
  return { checked, c };
}

/**
 * What the phases need to know about a sweep submitted from `top` on the current tip of `branch`
 * (which must hold the batch script), and where the cluster fetches the commits from. Shared by
 * rx submit and rx resubmit --failed --rebase.
 */
export async function submissionContext(top: string, s: { name: string; branch: string; remote: RemoteSpec; out: Out }): Promise<SubmissionContext> {
  const base = await git(top, verbs.resolveCommit(s.branch));
  if (!base) throw new ConfigError(`branch: '${s.branch}' is not a branch, tag or commit in ${top}`, { hint: 'Set branch to an existing branch (e.g. main), tag or commit sha.' });
  const [script] = await git(top, verbs.readBlobs([`${base}:${s.remote.script}`]));
  if (!script) throw new ConfigError(`remote.script: '${s.remote.script}' is not in the base commit ${base.slice(0, 12)} of '${s.branch}'`, { hint: 'Commit the batch script (e.g. run.sbatch) to the base branch, or set remote.script.' });
  const origin = await git(top, verbs.remoteUrl('origin'));
  const fetchUrl = s.remote.origin ?? origin;
  if (s.remote.host !== 'local' && !fetchUrl) {
    throw new ConfigError(`the repository ${top} has no 'origin' remote, so the cluster cannot fetch the experiment commits`, { hint: 'Add one (git remote add origin <url>) or set remote.origin to a URL the cluster can fetch from.' });
  }
  return {
    top, name: s.name, base, remote: s.remote, label: remoteLabel(s.remote),
    outputRoot: outputRoot(s.remote, top), origin: origin !== null, fetchUrl: fetchUrl ?? null, out: s.out,
  };
}

export async function submitSweep(ctx: RepoContext, opts: SubmitOptions): Promise<SubmitResult> {
  const { checked, c } = await prepare(ctx, opts);
  const dir = sweepDir(ctx.rxDir, c.name);
  // Lock before the ledger is read, so two submissions of one sweep plan one after the other.
  // A dry run only reads. Folders made for the lock are removed again if nothing was recorded.
  const made = [ctx.rxDir, join(ctx.rxDir, 'sweeps'), dir].filter(d => !existsSync(d));
  const release = opts.dryRun ? () => {} : acquireLock(dir, `sweep '${c.name}'`);
  const ledger = new Ledger(dir, c.name);
  try {
    return await submitLocked(ctx, opts, checked, c, ledger);
  } finally {
    ledger.close();
    release();
    if (!existsSync(ledger.file)) for (const d of made.reverse()) try { rmdirSync(d); } catch { /* not empty: keep */ }
  }
}

async function submitLocked(ctx: RepoContext, opts: SubmitOptions, checked: CheckedSweep, c: SubmissionContext, ledger: Ledger): Promise<SubmitResult> {
  const clock = new PhaseClock();
  let state = ledger.state();
  checkSameRemote(state, checked, c);
  const { repeat, extend } = heldBack(state, opts, c);
  const sweep = planSweep(checked, { extend, alreadySampled: alreadySampled(state, checked, c) });
  for (const w of sweep.plan.warnings) c.out.warn(`rx: ${c.name}: ${w}`);
  const { points, select } = await sweepPoints(ctx, opts, state, sweep, c);
  let plan = planSubmission(state, points, Boolean(repeat));
  checkUnbuiltBases(c, state, plan, sweep.def.branch);
  // Validation pass: every patch must apply before anything is written.
  let changes = await computeChanges(c.top, c.base, c.name, sweep.def.patcher, [...plan.unbuilt, ...plan.fresh]);
  await warnDrift(c, state, plan, sweep, opts, changes);
  if (opts.dryRun) return dryRun(c, state, plan, changes, clock, opts.diffs);

  await ensureExcluded(ctx);
  let target: Target | null = null;
  let recovered = 0;
  const blocked = new Set<string>();
  try {
    if (hasWork(state, plan)) {
      // The connection first: an unknown host key (or a key file OpenSSH would refuse) stops the
      // submission before anything is committed, pushed or recorded.
      target = await openTarget(c.remote, c.top, { checkIdentityFiles: true });
      clock.end('connect');
      // The ledger may be older than the target (restored from a backup, or deleted): what is there
      // is adopted before any new commit or run directory is planned, so nothing is made twice.
      const found = await reconcileWithTarget(c, ledger, state, sweep, target, points, opts, blocked);
      recovered = found.recovered;
      if (found.appended) {
        state = ledger.state();
        plan = planSubmission(state, points, Boolean(repeat));
        checkUnbuiltBases(c, state, plan, sweep.def.branch);
        changes = await computeChanges(c.top, c.base, c.name, sweep.def.patcher, [...plan.unbuilt, ...plan.fresh]);
      }
    }
    recordPlan(ledger, ledger.state(), sweep, c, opts, { points: points.length, plan, repeat: Boolean(repeat), select });
    clock.end('plan');
    await commitPhase(c, ledger, [...plan.unbuilt, ...plan.fresh], changes);
    clock.end('commit');
    await pushPhase(c, ledger);
    clock.end('push');
    dirsPhase(c, ledger, { newDirs: opts.newDirs, blocked });
    clock.end('dirs');
    if (needsTarget(ledger)) {
      target ??= await openTarget(c.remote, c.top, { checkIdentityFiles: true });
      await createPhase(c, ledger, target, { lockWait: opts.lockTimeout });
      clock.end('create');
      await cleanPhase(c, ledger);
      clock.end('clean');
      await jobsPhase(c, ledger, target, chainOf(ctx, sweep, c));
      clock.end('submit');
    }
    return { ...summary(c, ledger, plan, clock), recovered };
  } finally {
    await target?.close();
    clock.end('done');
  }
}

/**
 * Says what the runs will not contain: points skipped as already submitted on an older commit than
 * the branch's tip (each by its latest attempt), and uncommitted edits to the files the runs take
 * from the base commit.
 */
async function warnDrift(c: SubmissionContext, state: SweepState, plan: SubmissionPlan, sweep: LoadedSweep, opts: SubmitOptions, changes: Map<string, FileChange[]>): Promise<void> {
  const skipped = [...new Map(plan.skipped.map(s => state.points.get(s.key)).filter(p => p !== undefined).map(p => latestOf(p, state)).map(p => [p.key, p])).values()];
  warnMovedOnSubmit({ sweep: c.name, branch: sweep.def.branch, tip: c.base, sweepFile: opts.sweep, skipped, out: c.out });
  await warnUncommitted(c.top, c.name, sweep.def.branch, inputFiles(sweep.def.patcher, c.remote.script, changes), c.out);
}

/** Points planned by an interrupted submission must be finished on the base they were planned on. */
function checkUnbuiltBases(c: SubmissionContext, state: SweepState, plan: SubmissionPlan, branch: string): void {
  for (const p of plan.unbuilt) {
    const planned = state.points.get(p.key)!.base;
    if (planned !== c.base) {
      const rebased = state.points.get(p.key)!.supersedes;
      throw new StateError(`sweep '${c.name}': point ${p.key} was planned on base ${planned.slice(0, 12)} but '${branch}' is now ${c.base.slice(0, 12)}`, { hint: rebased ? 'It is a rebased attempt of an interrupted `rx resubmit --failed --rebase`: run that command again; it finishes the attempt on the base it recorded.' : 'Finish that submission by pointing branch at the old commit, or use a new sweep name.' });
    }
  }
}

/** Anything to do on the target: new points, or earlier ones without a job (or not cleaned up). */
function hasWork(state: SweepState, plan: SubmissionPlan): boolean {
  return plan.fresh.length > 0 || [...state.points.values()].some(p => p.jobs.length === 0 || !p.cleaned);
}

/**
 * Surveys the target (one script) and appends what the ledger lacks: run dirs, jobs and points it
 * does not know. Says whether it appended anything, and for how many points it recovered or
 * adopted a run dir or job.
 */
async function reconcileWithTarget(c: SubmissionContext, ledger: Ledger, state: SweepState, sweep: LoadedSweep, target: Target, points: SweepPoint[], opts: SubmitOptions, blocked: Set<string>): Promise<{ appended: boolean; recovered: number }> {
  const { survey, localRefs, localDocs } = await gatherEvidence(c.top, c.name, state, target, { outputRoot: c.outputRoot, complete: false, uncreated: opts.newDirs });
  const planned = new Map(points.map(p => [p.hash, p.varied]));
  const fallback = variedAgainst(sweep.def.base_config ?? {});
  const r = reconcile({
    sweep: c.name, state, survey, localRefs, localDocs, outputRoot: c.outputRoot, label: c.label, scheduler: target.scheduler, stateDir: target.stateDir,
    varied: d => planned.get(d.hash) ?? fallback(d),
    wanted: d => planned.has(d.hash),
  });
  // Blocked run dirs are reported by the create phase (and renamed with --new-dirs).
  for (const f of r.findings) if (f.kind !== 'adopted' && f.kind !== 'recovered' && f.kind !== 'blocked') c.out.warn(`rx: ${c.name}: ${f.message}`);
  for (const f of r.findings) if (f.kind === 'blocked' && f.key) blocked.add(f.key);
  if (!r.events.length) return { appended: false, recovered: 0 };
  // Run dir records need the sweep record (its output root) before them.
  const first = sweepRecord(state, sweep, c, opts.cwd);
  if (first) ledger.append(first);
  await applyReconciliation(c.top, c.name, ledger, r);
  const keys = [...new Set([...r.recovered, ...r.adopted])];
  if (keys.length) {
    const list = keys.length > 8 ? `${keys.slice(0, 8).join(', ')}, …` : keys.join(', ');
    const what = [r.recovered.length ? `recovered ${r.recovered.length} point(s) with their commits, run directories and jobs` : '', r.adopted.length ? `adopted ${r.adopted.length} existing run directory(ies) or job(s)` : ''].filter(Boolean).join(' and ');
    c.out.warn(`rx: ${c.name}: the ledger did not know what is on ${c.label} for ${keys.length} experiment(s) (an older or lost ledger?): ${what} (points ${list}); nothing is made or submitted twice`);
  }
  return { appended: true, recovered: keys.length };
}

/** A sweep stays on the cluster it was first submitted to; an unfinished submission keeps its paths. */
function checkSameRemote(state: SweepState, checked: CheckedSweep, c: SubmissionContext): void {
  const prev = state.sweep?.remote;
  if (!prev) return;
  if (prev.label !== c.label) throw new ConfigError(`sweep '${c.name}' was submitted to ${prev.label}; this sweep file sends it to ${c.label}`, { hint: 'Use a new sweep name for a different cluster.' });
  // An interrupted submission must finish where it started: its markers live next to its run dirs.
  const moved = (['output', 'repo', 'scheduler'] as const).find(k => (prev[k] ?? null) !== (checked.remote[k] ?? null));
  if (moved && [...state.points.values()].some(p => p.jobs.length === 0)) {
    throw new ConfigError(`sweep '${c.name}' has an unfinished submission made with remote.${moved} = ${JSON.stringify(prev[moved] ?? null)}; this sweep file says ${JSON.stringify(checked.remote[moved] ?? null)}`, { hint: `Finish it first with the old remote.${moved} (rx submit again), then change it.` });
  }
}

/**
 * Re-running the same command after a crash must finish that submission, not add to it: while
 * earlier points still have no job, --repeat and --extend wait for the next run.
 */
function heldBack(state: SweepState, opts: SubmitOptions, c: SubmissionContext): { repeat?: boolean; extend?: number } {
  const interrupted = [...state.points.values()].filter(p => p.jobs.length === 0).length;
  if (!interrupted || !(opts.repeat || opts.extend)) return { repeat: opts.repeat, extend: opts.extend };
  c.out.warn(`rx: ${c.name}: finishing an interrupted submission (${interrupted} points without a job) first; ${opts.repeat ? '--repeat' : '--extend'} was not applied: run the command again to apply it`);
  return {};
}

/** A sampled sweep continues its sequence: how many samples of the same sequence were drawn before. */
function alreadySampled(state: SweepState, checked: CheckedSweep, c: SubmissionContext): number {
  const last = state.submissions.findLast(x => x.sampler)?.sampler;
  if (!checked.def.sampler || !last) return 0;
  if (last.sequence === samplerSequenceId(validateSampler(checked.def.sampler))) return last.drawn;
  c.out.warn(`rx: ${c.name}: the sampler changed since the last submission (type, bounds, seed or LHS budget): earlier samples are not part of this plan; its points are new points`);
  return 0;
}

/** The sweep's points; for a nested stage, the earlier sweep's dataset rows × this sweep's own points. */
async function sweepPoints(ctx: RepoContext, opts: SubmitOptions, state: SweepState, sweep: LoadedSweep, c: SubmissionContext): Promise<{ points: SweepPoint[]; select?: [string, string][] }> {
  if (sweep.def.propose) return { points: adaptivePoints(state, sweep, c, Boolean(opts.proposed)) };
  if (sweep.def.after) return { points: afterPoints(ctx, sweep, c) };
  const from = sweep.def.from;
  if (!from) return { points: sweep.points };
  if (!listSweeps(ctx.rxDir).includes(from.sweep)) throw new ConfigError(`from.sweep: there is no sweep '${from.sweep}' in ${ctx.top}`, { hint: 'Submit the earlier stage first.' });
  const rows = await stageRows(ctx, { cwd: opts.cwd, sweep: from.sweep, offline: opts.dryRun, noFetch: opts.dryRun });
  const recorded = state.submissions.findLast(x => x.stage)?.stage?.select;
  const staged = stagePoints(from, rows, sweep.points, sweep.def.base_config ?? {}, recorded);
  if (staged.dropped) c.out.warn(`rx: ${c.name}: ${staged.dropped} row(s) of sweep '${from.sweep}' left out: a selected value is missing (no output, or a parse error) or not finite`);
  if (staged.points.length === 0) c.out.warn(`rx: ${c.name}: no row of sweep '${from.sweep}' matches from.where (${JSON.stringify(from.where ?? { state: 'COMPLETED' })}): nothing to submit yet`);
  return { points: staged.points, select: staged.select };
}

/** A chained sweep's points: every submitted point of the source sweep (its ledger) × own points. */
function afterPoints(ctx: RepoContext, sweep: LoadedSweep, c: SubmissionContext): SweepPoint[] {
  const after = sweep.def.after!;
  const { sources, waiting } = chainSources(sourceState(ctx.rxDir, ctx.top, after, c.label));
  if (waiting.length) c.out.warn(`rx: ${c.name}: ${waiting.length} point(s) of sweep '${after.sweep}' have no job yet (${waiting.slice(0, 8).join(', ')}${waiting.length > 8 ? ', …' : ''}): their chained points come with the next rx submit after they are submitted`);
  return chainPoints(after, sources, sweep.points, sweep.def.base_config ?? {});
}

/** The chain a sweep's jobs wait on (`after:`), read when they are submitted; undefined otherwise. */
function chainOf(ctx: RepoContext, sweep: LoadedSweep, c: SubmissionContext): Chain | undefined {
  const after = sweep.def.after;
  return after ? { after: { sweep: after.sweep, link: after.link ?? DEFAULT_LINK }, source: sourceState(ctx.rxDir, ctx.top, after, c.label) } : undefined;
}

/**
 * An adaptive sweep's points: its initial design, and (for `rx run`) every point a recorded
 * proposal added, with the parameters recorded (so an edited base_config never changes them).
 */
function adaptivePoints(state: SweepState, sweep: LoadedSweep, c: SubmissionContext, proposed: boolean): SweepPoint[] {
  if (!proposed) {
    c.out.warn(`rx: ${c.name}: an adaptive sweep (propose): rx submit submits only its initial design (${sweep.points.length} point(s)); rx run --sweep ${sweep.file} proposes and submits the rest`);
    return sweep.points;
  }
  const added = state.proposals.flatMap(r => r.points).map((p, index) => ({ ...p, origin: { kind: 'list' as const, index } }));
  return [...sweep.points, ...added];
}

async function dryRun(c: SubmissionContext, state: SweepState, plan: SubmissionPlan, changes: Awaited<ReturnType<typeof computeChanges>>, clock: PhaseClock, diffs?: number): Promise<SubmitResult> {
  const points = await planDryRun({
    repo: c.top, base: c.base, sweep: c.name, fresh: plan.fresh, changes, outputRoot: c.outputRoot,
    skipped: plan.skipped.map(s => { const p = state.points.get(s.key); return { ...s, varied: p?.varied ?? {}, dir: p?.dir ?? null, sha: p?.sha ?? null }; }),
    existingShas: [...state.points.values()].flatMap(p => (p.sha ? [p.sha] : [])),
  }, diffs);
  return { sweep: c.name, remote: c.label, submitted: 0, skipped: plan.skipped.length, failed: 0, unsubmitted: 0, records: [], timings: clock.ms, plan: points };
}

/** The sweep record, when the ledger has none or the definition or base changed; null otherwise. */
export function sweepRecord(state: SweepState, sweep: LoadedSweep, c: SubmissionContext, cwd: string): EventOf<'sweep'> | null {
  const stored = storeDefinition(sweep.def);
  const same = state.sweep && canonicalJson(state.sweep.definition) === canonicalJson(stored.definition) && canonicalJson(state.sweep.functions) === canonicalJson(stored.functions) && state.sweep.base === c.base;
  if (same) return null;
  return { t: 'sweep', at: now(), name: c.name, file: resolve(cwd, sweep.file), branch: sweep.def.branch, base: c.base, ...stored, remote: { ...sweep.remote, label: c.label } };
}

/** The sweep (when it changed), this submission, and its new points, before any commit is made. */
function recordPlan(ledger: Ledger, state: SweepState, sweep: LoadedSweep, c: SubmissionContext, opts: SubmitOptions, s: { points: number; plan: SubmissionPlan; repeat: boolean; select?: [string, string][] }): void {
  const at = now();
  const first = sweepRecord(state, sweep, c, opts.cwd);
  if (first) ledger.append(first);
  const sampler = sweep.plan.sampler ? { drawn: sweep.plan.sampler.drawn, sequence: sweep.plan.sampler.sequence } : undefined;
  ledger.append({ t: 'submission', at, points: s.points, fresh: s.plan.fresh.length, skipped: s.plan.skipped.length, repeat: s.repeat, ...(sampler ? { sampler } : {}), ...(s.select ? { stage: { select: s.select } } : {}) });
  ledger.append(...s.plan.fresh.map(p => ({ t: 'point' as const, at, key: p.key, params: p.params, varied: p.varied, hash: p.hash, base: c.base, repeat: p.repeat, ...(p.from ? { from: p.from } : {}) })));
}

/** One record per point this run handled (and per skipped duplicate). */
function summary(c: SubmissionContext, ledger: Ledger, plan: SubmissionPlan, clock: PhaseClock): SubmitResult {
  const st = ledger.state();
  const records: SubmitRecord[] = [];
  for (const p of st.points.values()) {
    if (!plan.wanted.has(p.key)) continue;
    const job = p.jobs.at(-1);
    const err = p.errors.at(-1);
    records.push({ sweep: c.name, key: p.key, params: p.params, hash: p.hash, sha: p.sha ?? null, dir: p.dir ?? null, jobId: job?.jobId ?? null, status: job ? 'submitted' : !err || err.phase === 'limit' ? 'unsubmitted' : 'failed', ...(job || !err ? {} : { error: err.message }) });
  }
  for (const s of plan.skipped.filter(s => !s.resumed)) {
    // Reported as its latest attempt (a rebased one replaces a failed one).
    const first = st.points.get(s.key);
    const p = first && latestOf(first, st);
    records.push({ sweep: c.name, key: p?.key ?? s.key, params: s.params, hash: s.hash, sha: p?.sha ?? null, dir: p?.dir ?? null, jobId: p?.jobs.at(-1)?.jobId ?? null, status: 'skipped' });
  }
  const count = (s: SubmitRecord['status']) => records.filter(r => r.status === s).length;
  return { sweep: c.name, remote: c.label, submitted: count('submitted'), skipped: count('skipped'), failed: count('failed'), unsubmitted: count('unsubmitted'), records, timings: clock.ms };
}

