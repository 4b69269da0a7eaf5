// rx submit: the command. Submitting is src/submission/; this parses options and prints.
import { repoContext } from '../git/repo.ts';
import { submitSweep, type SubmitResult } from '../submission/submit.ts';
import type { PlannedPoint } from '../submission/dry-run.ts';
import { makeOut, type Out } from '../ui.ts';

export type { SubmitResult, SubmitRecord } from '../submission/submit.ts';

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
  /** Give points whose run directory is blocked (something else in the way) a fresh run directory. */
  newDirs?: boolean;
  /** Seconds to wait for another process holding the target's run-directory lock. */
  lockTimeout?: number;
  json?: boolean;
  out?: Out;
}

export async function submit(opts: SubmitOptions): Promise<SubmitResult> {
  const out = opts.out ?? makeOut({ json: opts.json });
  const t0 = performance.now();
  const ctx = await repoContext(opts.cwd);
  const res = await submitSweep(ctx, { cwd: opts.cwd, sweep: opts.sweep, repeat: opts.repeat, dryRun: opts.dryRun, extend: opts.extend, newDirs: opts.newDirs, lockTimeout: opts.lockTimeout, out });
  if (res.plan) {
    if (opts.json) process.stdout.write(JSON.stringify(res.plan, null, 2) + '\n');
    else printDryRun(res.sweep, res.plan, out, opts.limit);
    return res;
  }
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  out.info(`${out.color.bold(res.sweep)}: ${out.color.green(`${res.submitted} submitted`)}, ${res.skipped} skipped${res.recovered ? ` (${res.recovered} found on the target, not in the ledger)` : ''}${res.failed ? ', ' + out.color.red(`${res.failed} failed`) : ''} on ${res.remote} in ${secs} s`);
  for (const r of res.records.filter(r => r.status === 'failed')) out.warn(`  point ${r.key}: ${r.error ?? 'not submitted'}`);
  return res;
}

function printDryRun(sweep: string, plan: PlannedPoint[], out: Out, limit: number | undefined): void {
  const todo = plan.filter(p => !p.skipped);
  const resuming = plan.filter(p => p.resuming).length;
  out.info(`${out.color.bold('dry run')}: sweep ${sweep}: ${plan.length} points, ${out.color.green(`${todo.length} would be submitted`)}${resuming ? ` (${resuming} finishing an interrupted submission)` : ''}, ${plan.length - todo.length} skipped (already submitted). Nothing was created.`);
  for (const p of plan) {
    const params = Object.entries(p.varied).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ') || '(base config)';
    out.info(`  ${p.skipped ? out.color.dim('skip  ') : p.resuming ? 'resume' : 'new   '}  ${p.hash.slice(0, 12)}  ${p.dir ? p.dir.split('/').pop() : '-'}  ${params}`);
  }
  const fresh = plan.filter(p => p.diff !== null);
  const shown = limit === undefined ? fresh : fresh.slice(0, limit);
  for (const p of shown) {
    out.info('');
    out.info(out.color.bold(`point ${p.key} (${p.hash.slice(0, 12)})`));
    out.info(p.diff!.trimEnd());
  }
  if (shown.length < fresh.length) out.info(`\n(${fresh.length - shown.length} more diffs; --limit ${fresh.length} shows all)`);
}
