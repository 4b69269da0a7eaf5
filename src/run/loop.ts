// `rx run`: drives sweeps to completion. Each round submits what is due (as rx submit does), waits
// with one status call per poll (backing off while nothing changes), and for an adaptive sweep
// reads the dataset rows and asks `propose` for the next points, recorded in the ledger before they
// are submitted. Everything it knows comes from the ledger, so kill -9 anywhere and a second rx run
// continue with no point run twice and none lost. Nested stages start when their source is done;
// chained sweeps (after:) are submitted right after each submission of their source, so their
// jobs wait in the scheduler, not in rx.
import { ConfigError } from '../errors.ts';
import type { RepoContext } from '../git/repo.ts';
import { latestPoints, listSweeps, type SweepState } from '../ledger/ledger.ts';
import { chainSources } from '../submission/chains.ts';
import { crashPoint } from '../submission/crash.ts';
import { checkSweep, loadSweepFile, planSweep, type CheckedSweep } from '../sweep/definition.ts';
import type { Out } from '../ui.ts';
import { nextDelay } from './backoff.ts';
import { acceptProposal, account, roundSlots, type Accounting } from './budget.ts';
import { stageOrder } from './order.ts';
import { countsOf, ended, Progress, stateOf, type Counts } from './progress.ts';
import { datasetRows, pollStates, readState, Reconnects, recordProposal, submitDue } from './steps.ts';
import { Stopper } from './stop.ts';

export interface RunOptions {
  cwd: string;
  /** Sweep files; stages (from:) are driven after the sweeps they come from. */
  sweeps: string[];
  /** Seconds between status calls while something changes (default 30). */
  poll?: number;
  out: Out;
}

/** Why a sweep's driving ended. */
export type EndReason = 'done' | 'budget' | 'exhausted';

export interface SweepSummary extends Counts {
  /** done: every point ended (not adaptive); budget: spent; exhausted: propose had nothing new. */
  reason: EndReason;
  rounds: number;
}

export interface RunSummary { sweeps: SweepSummary[] }

interface Driven { checked: CheckedSweep; file: string; name: string; from?: string; after?: string }

export async function runSweeps(ctx: RepoContext, opts: RunOptions): Promise<RunSummary> {
  const loaded: Driven[] = [];
  for (const file of opts.sweeps) {
    const checked = checkSweep(await loadSweepFile(file, opts.cwd), file);
    const { from, after } = checked.def;
    loaded.push({ checked, file, name: checked.def.name, ...(from ? { from: from.sweep } : {}), ...(after ? { after: after.sweep } : {}) });
  }
  const order = stageOrder(loaded);
  const stop = new Stopper();
  const progress = new Progress(opts.out);
  const run: Run = { ctx, cwd: opts.cwd, poll: opts.poll ?? 30, out: opts.out, stop, progress, net: new Reconnects(m => progress.warn(m)), driven: new Set(order.map(d => d.name)), chained: chainedSweeps(order), sourceMarks: new Map() };
  try {
    const sweeps: SweepSummary[] = [];
    for (const d of order) sweeps.push(await driveSweep(run, d));
    progress.clear();
    return { sweeps };
  } finally {
    progress.clear();
    stop.dispose();
  }
}

interface Run {
  ctx: RepoContext; cwd: string; poll: number; out: Out; stop: Stopper; progress: Progress; net: Reconnects;
  /** The sweeps of this rx run. */
  driven: Set<string>;
  /** For each source sweep, the sweeps of this run chained after it (after:), in driving order. */
  chained: Map<string, Driven[]>;
  /** For each chained sweep, its source's submitted points when it was last submitted (see sourceMark). */
  sourceMarks: Map<string, string>;
}

function chainedSweeps(order: Driven[]): Map<string, Driven[]> {
  const chained = new Map<string, Driven[]>();
  for (const d of order) if (d.after) chained.set(d.after, [...(chained.get(d.after) ?? []), d]);
  return chained;
}

/** Drives one sweep until it ends; a stage first waits for its source to end. */
async function driveSweep(run: Run, d: Driven): Promise<SweepSummary> {
  if (d.from) await waitForSource(run, d.from, d.name);
  if (d.after && !run.driven.has(d.after)) requireSource(run, d.after, d.name, 'after');
  const def = d.checked.def;
  const design = def.propose ? planSweep(d.checked).points.map(p => p.hash) : [];
  if (def.propose && new Set(design).size > def.budget!) throw new ConfigError(`budget: ${def.budget} is less than the ${new Set(design).size} points of the initial design`, { hint: 'Raise budget, or make the initial design smaller.' });
  run.progress.event('sweep', { sweep: d.name, file: d.file, adaptive: Boolean(def.propose) }, `${d.name}: driving ${def.propose ? `an adaptive sweep (budget ${def.budget}, batch ${def.batch})` : 'the sweep'} to completion`);
  let due = true;
  for (;;) {
    const acc = await waitRound(run, d, design, due);
    const state = acc.state;
    if (!def.propose) return summary(state, acc, 'done');
    if (acc.left <= 0) return summary(state, acc, 'budget');
    run.stop.check();
    const rows = await datasetRows(run.ctx, d.name, run.cwd, m => run.progress.warn(m));
    const answer = await def.propose({ rows, round: acc.round, budgetLeft: acc.left, batch: def.batch! });
    const got = acceptProposal(answer, def.base_config ?? {}, acc.known, roundSlots(def.batch!, acc.left));
    run.progress.event('proposal', { sweep: d.name, round: acc.round, points: got.points.map(p => p.varied), duplicates: got.duplicates, over: got.over }, `${d.name} round ${acc.round}: propose gave ${got.points.length} new point(s)${got.duplicates ? `, ${got.duplicates} already run (skipped)` : ''}${got.over ? `, ${got.over} over the batch or budget (dropped)` : ''}`);
    if (!got.points.length) return summary(state, acc, 'exhausted');
    await recordProposal(run.ctx, d.name, acc.round, got.points);
    crashPoint('proposal');
    due = true;
  }
}

type Round = Accounting & { state: SweepState };

/**
 * Submits what is due (when `due`, or when points still wait for a job), then polls until every
 * point has ended; returns the state and budget then.
 */
async function waitRound(run: Run, d: Driven, design: string[], due: boolean): Promise<Round> {
  let delay = run.poll;
  for (;;) {
    run.stop.check();
    let state = await readState(run.ctx, d.name);
    const mark = d.after ? sourceMark(await readState(run.ctx, d.after)) : undefined;
    if (due || needsSubmit(state) || (mark !== undefined && mark !== run.sourceMarks.get(d.name))) due = !(await submitWithChains(run, d, mark));
    else await submitChains(run, d.name);
    run.stop.check();
    let changed = due ? false : await run.net.attempt(`${d.name}: asking the cluster for job states`, () => pollStates(run.ctx, d.name)) ?? false;
    // The source's states too (nothing to ask when none of its jobs is live): when it is driven
    // elsewhere, or was resubmitted (rx resubmit --failed) after this run drove it to its end.
    if (d.after) changed = (await run.net.attempt(`${d.after}: asking the cluster for job states`, () => pollStates(run.ctx, d.after!)) ?? false) || changed;
    state = await readState(run.ctx, d.name);
    const acc = { ...account(d.checked.def.budget ?? 0, design, state), state };
    run.progress.counts(countsOf(state, acc.round, d.checked.def.propose ? acc.left : undefined));
    if (!due && latestPoints(state).every(p => ended(p, state)) && await sourceSettled(run, d)) return acc;
    delay = changed ? run.poll : nextDelay(delay, run.poll, false);
    await run.stop.sleep(delay);
  }
}

/**
 * Submits what is due for `d`, then for the sweeps of this run chained after it (and after those),
 * so a chained job is in the scheduler, waiting on its source job, right after that job is. Says
 * whether `d`'s submission got through (false: the connection dropped, try again at the next poll).
 * `sourceNow`: the source's mark the caller has just read (saves reading its ledger again).
 */
async function submitWithChains(run: Run, d: Driven, sourceNow?: string): Promise<boolean> {
  const mark = sourceNow ?? (d.after ? sourceMark(await readState(run.ctx, d.after)) : undefined);
  const r = await run.net.attempt(`${d.name}: submitting`, () => submitDue(run.ctx, { cwd: run.cwd, file: d.file, out: run.out }));
  if (!r) return false;
  if (mark !== undefined) run.sourceMarks.set(d.name, mark);
  if (r.submitted || r.failed) run.progress.event('submitted', { sweep: d.name, submitted: r.submitted, failed: r.failed, unsubmitted: r.unsubmitted }, `${d.name}: ${r.submitted} submitted${r.failed ? `, ${r.failed} failed to submit` : ''}${r.unsubmitted ? `, ${r.unsubmitted} held back by the cluster's limits` : ''}`);
  await submitChains(run, d.name);
  return true;
}

/** Submits the chained sweeps of this run whose source (`name`) has points they do not follow yet. */
async function submitChains(run: Run, name: string): Promise<void> {
  const chained = run.chained.get(name);
  if (!chained) return;
  const mark = sourceMark(await readState(run.ctx, name));
  for (const c of chained) if (mark !== run.sourceMarks.get(c.name)) await submitWithChains(run, c, mark);
}

/** Which of a source sweep's points a chain can follow now (latest attempts with a job): when it changes, chains are due. */
function sourceMark(source: SweepState): string {
  return chainSources(source).sources.map(s => s.key).join(' ');
}

/** A chained sweep is done only when its source is: no more source points (or attempts) will come. */
async function sourceSettled(run: Run, d: Driven): Promise<boolean> {
  if (!d.after) return true;
  const source = await readState(run.ctx, d.after);
  return latestPoints(source).every(p => ended(p, source)) && sourceMark(source) === run.sourceMarks.get(d.name);
}

/** Points the ledger holds that still need the submit path: proposed but not planned, or without a job. */
function needsSubmit(state: SweepState): boolean {
  const planned = new Set([...state.points.values()].map(p => p.hash));
  if (state.proposals.some(r => r.points.some(p => !planned.has(p.hash)))) return true;
  return latestPoints(state).some(p => stateOf(p, state) === 'UNSUBMITTED');
}

/** A source sweep neither driven by this run nor in the ledger: nothing to take points from. */
function requireSource(run: Run, source: string, stage: string, key: 'from' | 'after'): void {
  if (!listSweeps(run.ctx.rxDir).includes(source)) throw new ConfigError(`${key}.sweep: there is no sweep '${source}' in ${run.ctx.top}`, { hint: `Give its sweep file too: rx run --sweep <${source} file> --sweep <${stage} file>.` });
}

/** A stage's source driven elsewhere (or earlier): wait until each of its points has ended. */
async function waitForSource(run: Run, source: string, stage: string): Promise<void> {
  requireSource(run, source, stage, 'from');
  let delay = run.poll;
  for (;;) {
    run.stop.check();
    const changed = await run.net.attempt(`${source}: asking the cluster for job states`, () => pollStates(run.ctx, source)) ?? false;
    const state = await readState(run.ctx, source);
    if (latestPoints(state).every(p => ended(p, state))) return;
    run.progress.counts(countsOf(state, state.proposals.length));
    delay = changed ? run.poll : nextDelay(delay, run.poll, false);
    await run.stop.sleep(delay);
  }
}

function summary(state: SweepState, acc: Accounting, reason: EndReason): SweepSummary {
  const adaptive = state.sweep?.functions.includes('propose') ?? false;
  return { ...countsOf(state, acc.round, adaptive ? acc.left : undefined), reason, rounds: acc.round };
}
