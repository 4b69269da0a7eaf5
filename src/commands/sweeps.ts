// rx sweeps: every sweep of this repository with its point counts and job states.
import { repoContext } from '../git/repo.ts';
import { refreshStates, selectSweeps, withLedger, withTarget, finished } from '../remote/jobs.ts';
import { toStatus } from './status.ts';
import { makeOut, type Out } from '../ui.ts';

export interface SweepsOptions {
  cwd: string;
  json?: boolean;
  /** Ask the schedulers for fresh states (default: the states last seen, no connection). */
  refresh?: boolean;
  out?: Out;
}

export interface SweepSummary {
  sweep: string;
  remote: string | null;
  branch: string | null;
  base: string | null;
  points: number;
  submitted: number;
  /** Points the latest `rx submit` skipped as already submitted. */
  skippedLast: number;
  submissions: number;
  states: Record<string, number>;
  lastSubmitted: string | null;
}

export async function sweeps(opts: SweepsOptions): Promise<SweepSummary[]> {
  const out = opts.out ?? makeOut({ json: opts.json });
  const ctx = await repoContext(opts.cwd);
  const result: SweepSummary[] = [];
  for (const name of selectSweeps(ctx, undefined)) {
    await withLedger(ctx, name, async ledger => {
      if (opts.refresh && [...ledger.state().points.values()].some(p => p.jobs.length && !finished(p))) {
        await withTarget(ctx, ledger.state(), t => refreshStates(t, ledger));
      }
      const st = ledger.state();
      const states: Record<string, number> = {};
      for (const p of st.points.values()) {
        const s = toStatus(name, p).state;
        states[s] = (states[s] ?? 0) + 1;
      }
      const last = st.submissions.at(-1);
      result.push({
        sweep: name,
        remote: (st.sweep?.remote as { label?: string } | undefined)?.label ?? null,
        branch: st.sweep?.branch ?? null,
        base: st.sweep?.base ?? null,
        points: st.points.size,
        submitted: [...st.points.values()].filter(p => p.jobs.length).length,
        skippedLast: last?.skipped ?? 0,
        submissions: st.submissions.length,
        states,
        lastSubmitted: last?.at ?? null,
      });
    });
  }
  if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else if (!result.length) out.info('no sweeps yet: rx submit --sweep sweep.ts');
  else {
    const rows = [['SWEEP', 'POINTS', 'SUBMITTED', 'SKIPPED', 'REMOTE', 'LAST SUBMIT', 'STATES'], ...result.map(r => [
      r.sweep, String(r.points), String(r.submitted), String(r.skippedLast), r.remote ?? '-', r.lastSubmitted?.slice(0, 19).replace('T', ' ') ?? '-',
      Object.entries(r.states).map(([k, v]) => `${k} ${v}`).join(', '),
    ])];
    const w = rows[0]!.map((_, i) => Math.max(...rows.map(row => row[i]!.length)));
    rows.forEach((row, i) => { const line = row.map((c, j) => (j === row.length - 1 ? c : c.padEnd(w[j]!))).join('  '); out.info(i ? line : out.color.dim(line)); });
    if (!opts.refresh) out.info(out.color.dim('(states as last seen; --refresh asks the clusters)'));
  }
  return result;
}
