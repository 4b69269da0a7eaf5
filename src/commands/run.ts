// rx run: the command. Driving sweeps is src/run/; this parses options and prints the summary.
import { ConfigError } from '../errors.ts';
import { repoContext } from '../git/repo.ts';
import { runSweeps, type RunSummary } from '../run/loop.ts';
import { makeOut, type Out } from '../ui.ts';

export type { RunSummary, SweepSummary } from '../run/loop.ts';

export interface RunCommandOptions {
  cwd: string;
  sweeps: string[];
  /** Seconds between status calls (default 30). */
  poll?: number;
  json?: boolean;
  out?: Out;
}

const REASONS = { done: 'every point has ended', budget: 'the budget is spent', exhausted: 'propose has nothing new to run' } as const;

export async function run(opts: RunCommandOptions): Promise<RunSummary> {
  if (!opts.sweeps.length) throw new ConfigError('--sweep: give the sweep file to drive, e.g. rx run --sweep sweep.ts');
  if (opts.poll !== undefined && !(opts.poll >= 1)) throw new ConfigError(`--poll: expected seconds ≥ 1, got ${opts.poll}`);
  const out = opts.out ?? makeOut({ json: opts.json });
  const ctx = await repoContext(opts.cwd);
  const res = await runSweeps(ctx, { cwd: opts.cwd, sweeps: opts.sweeps, poll: opts.poll, out });
  if (opts.json) {
    process.stdout.write(JSON.stringify({ event: 'done', at: new Date().toISOString(), sweeps: res.sweeps }) + '\n');
    return res;
  }
  for (const s of res.sweeps) {
    const budget = s.budgetLeft === undefined ? '' : `, ${s.rounds} round(s) proposed, budget left ${s.budgetLeft}`;
    out.info(`${out.color.bold(s.sweep)}: ${s.points} points: ${out.color.green(`${s.completed} completed`)}${s.failed ? ', ' + out.color.red(`${s.failed} failed`) : ''}${budget} (${REASONS[s.reason]})`);
  }
  const failed = res.sweeps.filter(s => s.failed).map(s => s.sweep);
  // Where to look and how to rerun; a failed source's chains (after:) are re-created with it.
  for (const name of failed) out.info(`  ${name}: why: rx status --failed --sweep ${name}; rerun after a fix: rx resubmit --failed [--rebase] --sweep ${name}`);

  return res;
}
