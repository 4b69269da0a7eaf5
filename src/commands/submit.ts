// rx submit: sweep file → one commit per point → one push → one connection → run dirs → scheduler,
// with every step in the ledger before the next remote action. Re-running finishes an interrupted
// submission and never submits a point twice.
import { join, resolve } from 'node:path';
import { existsSync, rmdirSync } from 'node:fs';
import { ConfigError, RxError, StateError } from '../errors.ts';
import { git, verbs } from '../git/verbs.ts';
import { checkSweep, loadSweepFile, planSweep, type LoadedSweep } from '../sweep/definition.ts';
import { samplerSequenceId, validateSampler } from '../sweep/samplers.ts';
import { repoContext, ensureExcluded, type RepoContext } from '../git/repo.ts';
import { Ledger, acquireLock, listSweeps, now, sweepDir, type LedgerEvent, type PointRecord } from '../ledger/ledger.ts';
import { buildCommits, computeChanges, refsFor, verifyAdoptable, type PointToBuild } from '../git/commits.ts';
import { runDirName, uniquePrefixes } from '../remote/rundir.ts';
import { openTarget, outputRoot, remoteLabel, type RemoteSpec, type Target } from '../remote/target.ts';
import { createDirsScript } from '../remote/scripts.ts';
import { parseSubmitLine } from '../remote/scheduler/types.ts';
import { canonicalJson } from '../sweep/hash.ts';
import { makeOut, type Out } from '../ui.ts';
import { planDryRun, printDryRun, type PlannedPoint as DryRunPoint } from './dry-run.ts';
import { dataset } from './dataset.ts';
import { stagePoints, type StageOrigin } from '../sweep/stages.ts';
import type { PlannedPoint } from '../sweep/plan.ts';

export interface SubmitOptions {
  cwd: string;
  sweep: string;
  /** Submit points whose parameters were already submitted again, as new experiments. */
  repeat?: boolean;
  /** Show the plan (points, hashes, skips, run dir names, diffs) and create nothing. */
  dryRun?: boolean;
  /** With dryRun: show at most this many diffs. */
  limit?: number;
  /** Sampled sweeps: draw this many more samples of the same sequence. */
  extend?: number;
  json?: boolean;
  out?: Out;
}

/**
 * Crash-test hook: with RX_CRASH_AFTER=<point> in the environment the process SIGKILLs itself there,
 * exactly as a power cut or kill -9 would. Points: plan, commit, push, dirs, create-1 (after the
 * first run directory), create, clean, submit-1 (after the first job id), submit.
 */
function crashPoint(name: string): void {
  if (process.env.RX_CRASH_AFTER === name) process.kill(process.pid, 'SIGKILL');
}

/** Milliseconds spent in each phase (for --json and the benchmark); each phase end is a crash point. */
class PhaseClock {
  readonly ms: Record<string, number> = {};
  private last = performance.now();
  end(name: string): void {
    const t = performance.now();
    this.ms[name] = (this.ms[name] ?? 0) + (t - this.last);
    this.last = t;
    crashPoint(name);
  }
}

export interface SubmitRecord {
  sweep: string;
  key: string;
  params: Record<string, unknown>;
  hash: string;
  sha: string | null;
  dir: string | null;
  jobId: string | null;
  status: 'submitted' | 'skipped' | 'failed';
  error?: string;
}

export interface SubmitResult {
  sweep: string;
  submitted: number;
  skipped: number;
  failed: number;
  records: SubmitRecord[];
  /** Milliseconds per phase: plan, commit, push, dirs, connect, create, clean, submit. */
  timings: Record<string, number>;
  /** With dryRun: the plan, one entry per point of the sweep file. */
  plan?: DryRunPoint[];
}

export async function submit(opts: SubmitOptions): Promise<SubmitResult> {
  const out = opts.out ?? makeOut({ json: opts.json });
  const clock = new PhaseClock();
  const ctx = await repoContext(opts.cwd);
  // Checked now; planned once the ledger says how many samples were drawn before.
  const checked = checkSweep(await loadSweepFile(opts.sweep, opts.cwd), opts.sweep);
  const name = checked.def.name;
  const resolved = await git(ctx.top, verbs.resolveCommit(checked.def.branch));
  if (!resolved) throw new ConfigError(`branch: '${checked.def.branch}' is not a branch, tag or commit in ${ctx.top}`, { hint: 'Set branch to an existing branch (e.g. main), tag or commit sha.' });
  const base: string = resolved;
  const [script] = await git(ctx.top, verbs.readBlobs([`${base}:${checked.remote.script}`]));
  if (!script) throw new ConfigError(`remote.script: '${checked.remote.script}' is not in the base commit ${base.slice(0, 12)} of '${checked.def.branch}'`, { hint: 'Commit the batch script (e.g. run.sbatch) to the base branch, or set remote.script.' });
  const origin = await git(ctx.top, verbs.remoteUrl('origin'));
  const fetchUrl = checked.remote.origin ?? origin;
  if (checked.remote.host !== 'local' && !fetchUrl) {
    throw new ConfigError(`the repository ${ctx.top} has no 'origin' remote, so the cluster cannot fetch the experiment commits`, { hint: 'Add one (git remote add origin <url>) or set remote.origin to a URL the cluster can fetch from.' });
  }
  const label = remoteLabel(checked.remote);

  const dir = sweepDir(ctx.rxDir, name);
  // Lock before the ledger is read, so two submissions of one sweep plan one after the other.
  // A dry run only reads. Folders made for the lock are removed again if nothing was recorded.
  const made = [ctx.rxDir, join(ctx.rxDir, 'sweeps'), dir].filter(d => !existsSync(d));
  const release = opts.dryRun ? () => {} : acquireLock(dir, `sweep '${name}'`);
  const ledger = new Ledger(dir, name);
  try {
    return await locked();
  } finally {
    ledger.close();
    release();
    if (!existsSync(ledger.file)) for (const d of made.reverse()) try { rmdirSync(d); } catch { /* not empty: keep */ }
  }

  async function locked(): Promise<SubmitResult> {
  let state = ledger.state();
  const prev = state.sweep?.remote as (RemoteSpec & { label?: string }) | undefined;
  if (prev?.label && prev.label !== label) {
    throw new ConfigError(`sweep '${name}' was submitted to ${prev.label}; this sweep file sends it to ${label}`, { hint: 'Use a new sweep name for a different cluster.' });
  }
  // An interrupted submission must finish where it started: its markers live next to its run dirs.
  const moved = prev && (['output', 'repo', 'scheduler'] as const).find(k => (prev[k] ?? null) !== (checked.remote[k] ?? null));
  if (moved && [...state.points.values()].some(p => p.jobs.length === 0)) {
    throw new ConfigError(`sweep '${name}' has an unfinished submission made with remote.${moved} = ${JSON.stringify(prev![moved] ?? null)}; this sweep file says ${JSON.stringify(checked.remote[moved] ?? null)}`, { hint: `Finish it first with the old remote.${moved} (rx submit again), then change it.` });
  }

  // Re-running the same command after a crash must finish that submission, not add to it:
  // while earlier points still have no job, --repeat and --extend wait for the next run.
  const interrupted = [...state.points.values()].filter(p => p.jobs.length === 0).length;
  let { repeat, extend } = opts;
  if (interrupted && (repeat || extend)) {
    out.warn(`rx: ${name}: finishing an interrupted submission (${interrupted} points without a job) first; ${repeat ? '--repeat' : '--extend'} was not applied: run the command again to apply it`);
    repeat = false;
    extend = undefined;
  }
  // A sampled sweep continues its sequence: plan every sample drawn so far (plus --extend).
  const lastSampled = state.submissions.findLast(x => x.sampler)?.sampler;
  let alreadySampled = 0;
  if (checked.def.sampler && lastSampled) {
    if (lastSampled.sequence === samplerSequenceId(validateSampler(checked.def.sampler))) alreadySampled = lastSampled.drawn;
    else out.warn(`rx: ${name}: the sampler changed since the last submission (type, bounds, seed or LHS budget): earlier samples are not part of this plan; its points are new points`);
  }
  const sweep = planSweep(checked, { extend, alreadySampled });
  for (const w of sweep.plan.warnings) out.warn(`rx: ${name}: ${w}`);
  // A nested stage: the earlier sweep's dataset rows × this sweep's own points.
  let points: (PlannedPoint & { from?: StageOrigin })[] = sweep.points;
  let stageSelect: [string, string][] | undefined;
  if (sweep.def.from) {
    const from = sweep.def.from;
    if (!listSweeps(ctx.rxDir).includes(from.sweep)) throw new ConfigError(`from.sweep: there is no sweep '${from.sweep}' in ${ctx.top}`, { hint: 'Submit the earlier stage first.' });
    const stage = await dataset({ cwd: opts.cwd, sweep: from.sweep, noWrite: true, offline: opts.dryRun, noFetch: opts.dryRun, out_: makeOut({ json: true }) });
    const recorded = state.submissions.findLast(x => x.stage)?.stage?.select;
    const staged = stagePoints(from, stage.datasets[from.sweep]!, sweep.points, sweep.def.base_config ?? {}, recorded);
    points = staged.points;
    stageSelect = staged.select;
    if (staged.dropped) out.warn(`rx: ${name}: ${staged.dropped} row(s) of sweep '${from.sweep}' left out: a selected value is missing (no output, or a parse error) or not finite`);
    if (points.length === 0) out.warn(`rx: ${name}: no row of sweep '${from.sweep}' matches from.where (${JSON.stringify(from.where ?? { state: 'COMPLETED' })}): nothing to submit yet`);
  }

  // Plan: new points (by hash), and everything an earlier interrupted run left unfinished.
  const seen = new Map<string, { count: number; key: string }>();
  let nextKey = 1;
  for (const p of state.points.values()) {
    const s = seen.get(p.hash);
    seen.set(p.hash, { count: (s?.count ?? 0) + 1, key: s?.key ?? p.key });
    nextKey = Math.max(nextKey, Number(p.key) + 1);
  }
  const fresh: PointToBuild[] = [];
  // `key` is the point it duplicates; `resumed` marks a duplicate of an earlier point that this run
  // finishes submitting (reported as that point, not as a skip).
  const skipped: { params: Record<string, unknown>; hash: string; key: string; resumed: boolean }[] = [];
  for (const p of points) {
    const hash = p.hash;
    const prev = seen.get(hash);
    if (!repeat && prev) {
      const earlier = state.points.get(prev.key);
      skipped.push({ params: p.params, hash, key: prev.key, resumed: Boolean(earlier && earlier.jobs.length === 0) });
      continue;
    }
    const key = String(nextKey++);
    seen.set(hash, { count: (prev?.count ?? 0) + 1, key: prev?.key ?? key });
    fresh.push({ key, params: p.params, varied: p.varied, hash, repeat: prev?.count ?? 0, ...(p.from ? { from: p.from } : {}) });
  }
  // This run reports on its new points and on every earlier point still without a job.
  const wanted = new Set([...fresh.map(p => p.key), ...[...state.points.values()].filter(p => p.jobs.length === 0).map(p => p.key)]);
  const unbuilt: PointToBuild[] = [...state.points.values()].filter(p => !p.sha).map(p => ({ key: p.key, params: p.params, varied: p.varied, hash: p.hash, repeat: p.repeat, ...(p.from ? { from: p.from } : {}) }));
  // Validation pass: every patch must apply before anything is written.
  const changes = await computeChanges(ctx.top, base, name, sweep.def.patcher, [...unbuilt.filter(p => state.points.get(p.key)!.base === base), ...fresh]);
  for (const p of unbuilt) {
    if (state.points.get(p.key)!.base !== base) throw new StateError(`sweep '${name}': point ${p.key} was planned on base ${state.points.get(p.key)!.base.slice(0, 12)} but '${sweep.def.branch}' is now ${base.slice(0, 12)}`, { hint: 'Finish that submission by pointing branch at the old commit, or use a new sweep name.' });
  }

  if (opts.dryRun) {
    const plan = await planDryRun({
      repo: ctx.top, base, sweep: name, fresh, changes, outputRoot: outputRoot(sweep.remote, ctx.top),
      skipped: skipped.map(s => { const p = state.points.get(s.key); return { ...s, varied: p?.varied ?? {}, dir: p?.dir ?? null, sha: p?.sha ?? null }; }),
      existingShas: [...state.points.values()].flatMap(p => (p.sha ? [p.sha] : [])),
    });
    if (opts.json) process.stdout.write(JSON.stringify(plan, null, 2) + '\n');
    else printDryRun(name, plan, out, opts.limit);
    return { sweep: name, submitted: 0, skipped: skipped.length, failed: 0, records: [], timings: clock.ms, plan };
  }

  await ensureExcluded(ctx);
  const t0 = performance.now();
  try {
    const at = now();
    const defJson = JSON.parse(JSON.stringify(sweep.def, (_k, v) => (typeof v === 'function' ? `[function ${v.name || 'anonymous'}]` : v)));
    if (!state.sweep || canonicalJson(state.sweep.definition) !== canonicalJson(defJson) || state.sweep.base !== base) {
      ledger.append({ t: 'sweep', at, name, file: resolve(opts.cwd, sweep.file), branch: sweep.def.branch, base, definition: defJson, remote: { ...sweep.remote, label } });
    }
    const sampler = sweep.plan.sampler ? { drawn: sweep.plan.sampler.drawn, sequence: sweep.plan.sampler.sequence } : undefined;
    ledger.append({ t: 'submission', at, points: points.length, fresh: fresh.length, skipped: skipped.length, repeat: Boolean(repeat), ...(sampler ? { sampler } : {}), ...(stageSelect ? { stage: { select: stageSelect } } : {}) });
    ledger.append(...fresh.map(p => ({ t: 'point' as const, at, key: p.key, params: p.params, varied: p.varied, hash: p.hash, base, repeat: p.repeat, ...(p.from ? { from: p.from } : {}) })));
    clock.end('plan');

    // Commits. A ref left by a crash after fast-import and before the ledger write is adopted.
    const toBuild = [...unbuilt, ...fresh];
    if (toBuild.length) {
      const existing = await git(ctx.top, verbs.forEachRef(`refs/rx/${name}/`));
      const adopt = toBuild.filter(p => existing.has(refsFor(name, p.key).ref));
      const build = toBuild.filter(p => !existing.has(refsFor(name, p.key).ref));
      await verifyAdoptable(ctx.top, name, base, adopt.map(p => ({ key: p.key, hash: p.hash, sha: existing.get(refsFor(name, p.key).ref)! })));
      const shas = await buildCommits(ctx.top, base, name, build, changes);
      for (const p of adopt) shas.set(p.key, existing.get(refsFor(name, p.key).ref)!);
      ledger.append(...toBuild.map(p => ({ t: 'commit' as const, at: now(), key: p.key, sha: shas.get(p.key)!, ...refsFor(name, p.key) })));
    }
    clock.end('commit');

    // One push of every temporary branch and permanent ref. Never forced.
    state = ledger.state();
    const unpushed = [...state.points.values()].filter(p => p.sha && !p.pushed);
    if (unpushed.length) {
      if (origin) {
        await git(ctx.top, verbs.push('origin', [`refs/heads/rx/${name}/*:refs/heads/rx/${name}/*`, `refs/rx/${name}/*:refs/rx/${name}/*`]));
      }
      ledger.append({ t: 'pushed', at: now(), keys: unpushed.map(p => p.key) });
    }
    clock.end('push');

    // Run directory names, decided (and recorded) before anything is created remotely.
    state = ledger.state();
    const noDir = [...state.points.values()].filter(p => p.pushed && !p.dir);
    if (noDir.length) {
      const prefixes = uniquePrefixes([...state.points.values()].map(p => p.sha!).filter(Boolean));
      const when = new Date();
      const root = outputRoot(sweep.remote, ctx.top);
      ledger.append(...noDir.map(p => ({ t: 'dir' as const, at: now(), key: p.key, dir: `${root}/${runDirName(name, when, prefixes.get(p.sha!)!)}`, remote: label })));
    }
    clock.end('dirs');

    state = ledger.state();
    const pending = [...state.points.values()].filter(p => p.dir && (!p.created || !p.cleaned || p.jobs.length === 0));
    if (pending.length) {
      const target = await openTarget(sweep.remote, ctx.top);
      clock.end('connect');
      try {
        await remotePhases(target, ledger, sweep, name, ctx, fetchUrl ?? null, origin !== null, out, clock);
      } finally {
        await target.close();
      }
    }
    return summary();
  } finally {
    clock.end('done');
  }

  function summary(): SubmitResult {
    const st = ledger.state();
    const records: SubmitRecord[] = [];
    for (const p of st.points.values()) {
      if (!wanted.has(p.key)) continue;
      const job = p.jobs.at(-1);
      const err = p.errors.at(-1);
      records.push({ sweep: name, key: p.key, params: p.params, hash: p.hash, sha: p.sha ?? null, dir: p.dir ?? null, jobId: job?.jobId ?? null, status: job ? 'submitted' : 'failed', ...(job || !err ? {} : { error: err.message }) });
    }
    for (const s of skipped.filter(s => !s.resumed)) records.push({ sweep: name, key: s.key, params: s.params, hash: s.hash, sha: st.points.get(s.key)?.sha ?? null, dir: st.points.get(s.key)?.dir ?? null, jobId: st.points.get(s.key)?.jobs.at(-1)?.jobId ?? null, status: 'skipped' });
    const res: SubmitResult = {
      sweep: name,
      submitted: records.filter(r => r.status === 'submitted').length,
      skipped: records.filter(r => r.status === 'skipped').length,
      failed: records.filter(r => r.status === 'failed').length,
      records,
      timings: clock.ms,
    };
    {
      const secs = ((performance.now() - t0) / 1000).toFixed(1);
      out.info(`${out.color.bold(name)}: ${out.color.green(`${res.submitted} submitted`)}, ${res.skipped} skipped${res.failed ? ', ' + out.color.red(`${res.failed} failed`) : ''} on ${label} in ${secs} s`);
      for (const r of records.filter(r => r.status === 'failed')) out.warn(`  point ${r.key}: ${r.error ?? 'not submitted'}`);
    }
    return res;
  }
  }
}

async function remotePhases(target: Target, ledger: Ledger, sweep: LoadedSweep, name: string, ctx: RepoContext, fetchUrl: string | null, pushed: boolean, out: Out, clock: PhaseClock): Promise<void> {
  let state = ledger.state();
  // Make the run directories (one script), recording each as it is reported.
  const toCreate = [...state.points.values()].filter(p => p.dir && !p.created);
  if (toCreate.length) {
    const bar = out.progress('creating run dirs', toCreate.length);
    const branches = [...state.points.values()].filter(p => p.pushed && !p.cleaned && p.branch).map(p => p.branch!);
    const script = createDirsScript({ repo: target.repo, fetchUrl: target.local ? null : fetchUrl, sweep: name, dirs: toCreate.map(p => ({ key: p.key, sha: p.sha!, dir: p.dir! })), stateDir: target.stateDir, script: sweep.remote.script, branches });
    const batch = new Batcher<string>(ledger, keys => [{ t: 'created', at: now(), keys }]);
    try {
      await target.transport.exec(script, {
        onLine: line => {
          const m = /^RXDIR (\S+)/.exec(line);
          if (m) {
            batch.add(m[1]!);
            bar.tick();
            if (process.env.RX_CRASH_AFTER === 'create-1') { batch.flush(); crashPoint('create-1'); }
          }
          const e = /^RXERR (\S+) (.*)$/.exec(line);
          if (e) ledger.append({ t: 'error', at: now(), key: e[1]!, phase: 'create', message: e[2]! });
        },
      });
    } finally {
      batch.flush();
      bar.stop();
    }
  }
  clock.end('create');

  // The temporary branches have served: delete them on origin and locally (the cluster clone's
  // were deleted by the script). Only refs rx created, named in the ledger.
  state = ledger.state();
  const toClean = [...state.points.values()].filter(p => p.created && !p.cleaned);
  if (toClean.length) {
    const branches = toClean.map(p => p.branch!);
    const left = new Set<string>();
    if (pushed) {
      for (let i = 0; i < branches.length; i += 500) {
        const chunk = branches.slice(i, i + 500);
        const r = await git(ctx.top, { ...verbs.push('origin', chunk.map(b => `:${b}`)), allowFailure: true });
        const deleted = deletedRefs(r.stdout);
        for (const b of chunk) if (!deleted.has(b)) left.add(b);
      }
      if (left.size) out.warn(`rx: ${name}: origin refused to delete ${left.size} temporary branches (${[...left].slice(0, 3).join(', ')}${left.size > 3 ? ', …' : ''}); the next rx submit tries again`);
    }
    const local = await git(ctx.top, verbs.forEachRef(`refs/heads/rx/${name}/`));
    const mine = new Set(branches);
    const dels = [...local.keys()].filter(r => mine.has(r)).map(r => `delete ${r} ${local.get(r)}`);
    if (dels.length) await git(ctx.top, verbs.updateRefs(dels));
    ledger.append({ t: 'cleaned', at: now(), keys: toClean.filter(p => !left.has(p.branch!)).map(p => p.key) });
  }
  clock.end('clean');

  // Submit every created, never-submitted point in one script; job ids are recorded as they come.
  state = ledger.state();
  const toSubmit = [...state.points.values()].filter(p => p.created && p.jobs.length === 0);
  if (toSubmit.length) {
    const bar = out.progress('submitting', toSubmit.length);
    const specs = toSubmit.map(p => ({ key: p.key, dir: p.dir!, script: sweep.remote.script, args: target.scheduler.name === 'slurm' ? sweep.remote.sbatchArgs ?? [] : [] }));
    const jobs = new Batcher<{ key: string; jobId: string }>(ledger, js => js.map(j => ({ t: 'job', at: now(), key: j.key, jobId: j.jobId, attempt: 1, scheduler: target.scheduler.name })));
    try {
      await target.transport.exec(target.scheduler.submitScript(specs, target.stateDir), {
        onLine: line => {
          const r = parseSubmitLine(line);
          if (!r) return;
          if ('jobId' in r) {
            jobs.add(r);
            bar.tick();
            if (process.env.RX_CRASH_AFTER === 'submit-1') { jobs.flush(); crashPoint('submit-1'); }
          } else ledger.append({ t: 'error', at: now(), key: r.key, phase: 'submit', message: r.error });
        },
      });
    } finally {
      jobs.flush();
      bar.stop();
    }
  }
  clock.end('submit');
}

/**
 * Groups items that arrive together (same I/O turn) into one ledger append, so one fsync covers
 * many lines; the remote marker files make the unflushed tail recoverable after a crash.
 */
class Batcher<T> {
  private items: T[] = [];
  private timer: NodeJS.Immediate | null = null;
  constructor(private ledger: Ledger, private make: (items: T[]) => LedgerEvent[]) {}
  add(item: T) {
    this.items.push(item);
    this.timer ??= setImmediate(() => this.flush());
  }
  flush() {
    if (this.timer) clearImmediate(this.timer);
    this.timer = null;
    if (this.items.length) this.ledger.append(...this.make(this.items.splice(0)));
  }
}

export type { PointRecord };
export { RxError };

/** Refs `git push --porcelain` reports deleted (`-`) or already absent/up to date (`=`). */
export function deletedRefs(porcelain: string): Set<string> {
  const out = new Set<string>();
  for (const line of porcelain.split('\n')) {
    const m = /^([-=])\t:?([^\t:]*):?(\S*)\t/.exec(line);
    if (m) out.add(m[3] || m[2]!);
  }
  return out;
}
