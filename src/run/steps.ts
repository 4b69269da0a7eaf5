// The steps of one `rx run` round, each opening what it needs and closing it again, so at most one
// connection to the cluster is open at any time: submit (the path of rx submit), ask the scheduler
// (one status call), read the dataset rows (fetch + parse, as rx dataset), record a proposal.
import { ConnectionError, StateError } from '../errors.ts';
import type { RepoContext } from '../git/repo.ts';
import { now, sweepDir, type SweepState } from '../ledger/ledger.ts';
import { acquireLock } from '../ledger/lock.ts';
import type { ProposedPoint } from '../ledger/records.ts';
import { withLedger } from '../ledger/sweeps.ts';
import { hasLiveJobs, refreshStates, withTarget } from '../remote/jobs.ts';
import { makeDatasets } from '../results/collect.ts';
import { submitSweep, type SubmitResult } from '../submission/submit.ts';
import type { Out } from '../ui.ts';

/** The sweep's folded ledger as it is on disk now. */
export function readState(ctx: RepoContext, name: string): Promise<SweepState> {
  return withLedger(ctx, name, async l => l.state());
}

/** Submits what is due: the sweep file's points (and, adaptive, every recorded proposal) not submitted yet. */
export function submitDue(ctx: RepoContext, s: { cwd: string; file: string; out: Out }): Promise<SubmitResult> {
  return submitSweep(ctx, { cwd: s.cwd, sweep: s.file, proposed: true, out: s.out });
}

/** Connection failures in a row after which rx run gives up (a refused host key is not going away). */
export const MAX_CONNECTION_FAILURES = 5;

/**
 * Runs a step that connects to the cluster. A dropped or refused connection is reported and gives
 * `undefined` (the caller tries again at its next poll) until it has failed MAX_CONNECTION_FAILURES
 * times in a row; then its error is thrown.
 */
export class Reconnects {
  private failures = 0;
  constructor(private readonly warn: (m: string) => void) {}

  async attempt<T>(what: string, step: () => Promise<T>): Promise<T | undefined> {
    try {
      const r = await step();
      this.failures = 0;
      return r;
    } catch (e) {
      if (!(e instanceof ConnectionError) || ++this.failures >= MAX_CONNECTION_FAILURES) throw e;
      this.warn(`rx: ${what} failed (${e.message.split('\n')[0]}); trying again at the next poll (${this.failures} of ${MAX_CONNECTION_FAILURES - 1} retries)`);
      return undefined;
    }
  }
}

/** One status call for the sweep's live jobs (nothing when none is live). Says whether any state changed. */
export async function pollStates(ctx: RepoContext, name: string): Promise<boolean> {
  return withLedger(ctx, name, async ledger => {
    const before = ledger.state();
    if (!hasLiveJobs(before)) return false;
    const stamp = (st: SweepState) => JSON.stringify([...st.points.values()].map(p => p.status ?? null));
    await withTarget(ctx, before, t => refreshStates(t, ledger));
    return stamp(before) !== stamp(ledger.state());
  });
}

/** The sweep's dataset rows (states already fresh): its runs' outputs fetched and parsed, as rx dataset makes them. */
export async function datasetRows(ctx: RepoContext, name: string, cwd: string, warn: (m: string) => void): Promise<Record<string, unknown>[]> {
  const r = await makeDatasets(ctx, { cwd, sweep: name, noWrite: true, offline: true });
  for (const w of r.warnings) warn(`rx: ${name}: ${w}`);
  return r.datasets[name]?.rows ?? [];
}

/**
 * Appends round `round`'s proposal under the sweep's lock, before any of its points is planned, so
 * a crash from here on resumes with exactly these points. Refused when another rx run recorded that
 * round meanwhile (two drivers of one sweep would otherwise both spend the budget).
 */
export async function recordProposal(ctx: RepoContext, name: string, round: number, points: ProposedPoint[]): Promise<void> {
  const dir = sweepDir(ctx.rxDir, name);
  const release = acquireLock(dir, `sweep '${name}'`);
  try {
    await withLedger(ctx, name, async ledger => {
      if (ledger.state().proposals.length !== round) {
        throw new StateError(`sweep '${name}': round ${round} was proposed by another rx run meanwhile`, { hint: 'Drive a sweep with one rx run at a time; run it again to continue from the ledger.' });
      }
      ledger.append({ t: 'proposal', at: now(), round, points });
    });
  } finally {
    release();
  }
}
