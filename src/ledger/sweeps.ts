// Which sweeps a command acts on, opening their ledgers, and keeping one damaged ledger from hiding the others.
import { ConfigError } from '../errors.ts';
import { Ledger, LedgerDamage, listSweeps, sweepDir, type PointRecord } from './ledger.ts';
import { TERMINAL_STATES } from '../remote/scheduler/types.ts';
import { validateSweepName } from '../sweep/names.ts';
import type { RepoContext } from '../git/repo.ts';
import { makeOut } from '../ui.ts';

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

/**
 * Runs `work` for each sweep in turn, so that a sweep whose ledger cannot be used (LedgerDamage: a
 * damaged line, a record about a point never planned, a run directory outside its output root, a
 * newer format) does not hide the others: once the other sweeps are done, each damaged one is
 * reported on stderr with its file:line and what to do, and the command exits with 5 (after
 * printing what it has). If no sweep could be read, the error is thrown as usual.
 */
export async function forEachSweep(names: string[], work: (name: string) => Promise<void>): Promise<void> {
  const damaged: { name: string; error: LedgerDamage }[] = [];
  let read = 0;
  for (const name of names) {
    try {
      await work(name);
      read++;
    } catch (e) {
      if (!(e instanceof LedgerDamage)) throw e;
      damaged.push({ name, error: e });
    }
  }
  if (!damaged.length) return;
  const last = damaged.at(-1)!;
  const out = makeOut();
  for (const d of read ? damaged : damaged.slice(0, -1)) {
    out.warn(`rx: ${out.color.red(`sweep '${d.name}' left out: ${d.error.message}`)}`);
    if (d.error.hint) out.warn(`  ${d.error.hint}`);
  }
  if (!read) throw last.error;
  process.exitCode = last.error.exitCode;
}
