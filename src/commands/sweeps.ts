// rx sweeps: every sweep of this repository with its point counts and job states.
import { repoContext } from '../git/repo.ts';
import { refreshLive } from '../remote/jobs.ts';
import { forEachSweep, selectSweeps, withLedger } from '../ledger/sweeps.ts';
import { sweepSummary, type SweepSummary } from '../results/experiments.ts';
import { makeOut, type Out } from '../ui.ts';

export interface SweepsOptions {
  cwd: string;
  json?: boolean;
  /** Ask the schedulers for fresh states (default: the states last seen, no connection). */
  refresh?: boolean;
  out?: Out;
}

export type { SweepSummary };

export async function sweeps(opts: SweepsOptions): Promise<SweepSummary[]> {
  const out = opts.out ?? makeOut({ json: opts.json });
  const ctx = await repoContext(opts.cwd);
  const result: SweepSummary[] = [];
  // A damaged ledger is reported after the others are listed (exit code 5), not instead of them.
  await forEachSweep(selectSweeps(ctx, undefined), name => withLedger(ctx, name, async ledger => {
    if (opts.refresh) await refreshLive(ctx, ledger);
    result.push(sweepSummary(ledger.state()));
  }));
  if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else printSweeps(result, Boolean(opts.refresh), out);
  return result;
}

function printSweeps(result: SweepSummary[], refreshed: boolean, out: Out): void {
  if (!result.length) out.info('no sweeps yet: rx submit --sweep sweep.ts');
  else {
    const rows = [['SWEEP', 'POINTS', 'SUBMITTED', 'SKIPPED', 'REMOTE', 'LAST SUBMIT', 'STATES'], ...result.map(r => [
      r.sweep, r.superseded ? `${r.points} (+${r.superseded} older attempts)` : String(r.points), String(r.submitted), String(r.skippedLast), r.remote ?? '-', r.lastSubmitted?.slice(0, 19).replace('T', ' ') ?? '-',
      Object.entries(r.states).map(([k, v]) => `${k} ${v}`).join(', '),
    ])];
    const w = rows[0]!.map((_, i) => Math.max(...rows.map(row => row[i]!.length)));
    rows.forEach((row, i) => { const line = row.map((c, j) => (j === row.length - 1 ? c : c.padEnd(w[j]!))).join('  '); out.info(i ? line : out.color.dim(line)); });
    if (!refreshed) out.info(out.color.dim('(states as last seen; --refresh asks the clusters)'));
  }
}
