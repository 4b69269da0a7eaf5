// rx submit: the command. Submitting is src/submission/; this parses options and prints.
import { repoContext } from '../git/repo.ts';
import { submitSweep, type SubmitResult } from '../submission/submit.ts';
import { once } from 'node:events';
import { DEFAULT_DIFFS, type DryRunPlan } from '../submission/dry-run.ts';
import { makeOut, type Out } from '../ui.ts';

export type { SubmitResult, SubmitRecord } from '../submission/submit.ts';

export interface SubmitOptions {
  cwd: string;
  sweep: string;
  /** Submit points whose parameters were already submitted again, as new experiments. */
  repeat?: boolean;
  /** Show the plan (points, hashes, skips, run dir names, diffs) and create nothing. */
  dryRun?: boolean;
  /** With dryRun: compute and show at most this many diffs (default DEFAULT_DIFFS; 0: none). */
  limit?: number;
  /** With dryRun: one JSON object per line instead of one JSON array. */
  jsonl?: boolean;
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
  const res = await submitSweep(ctx, { cwd: opts.cwd, sweep: opts.sweep, repeat: opts.repeat, dryRun: opts.dryRun, diffs: opts.limit ?? DEFAULT_DIFFS, extend: opts.extend, newDirs: opts.newDirs, lockTimeout: opts.lockTimeout, out });
  if (res.plan) {
    if (opts.json || opts.jsonl) await writePlan(res.plan, opts.jsonl ? 'jsonl' : 'json');
    else printDryRun(res.sweep, res.plan, out);
    return res;
  }
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  out.info(`${out.color.bold(res.sweep)}: ${out.color.green(`${res.submitted} submitted`)}, ${res.skipped} skipped${res.recovered ? ` (${res.recovered} found on the target, not in the ledger)` : ''}${res.unsubmitted ? `, ${res.unsubmitted} unsubmitted (cluster submit limits: run rx submit again later)` : ''}${res.failed ? ', ' + out.color.red(`${res.failed} failed`) : ''} on ${res.remote} in ${secs} s`);
  for (const r of res.records.filter(r => r.status === 'failed')) out.warn(`  point ${r.key}: ${r.error ?? 'not submitted'}`);
  return res;
}

/**
 * Writes the plan as it is made, one point at a time (waiting for stdout to drain): `json` is one
 * JSON array with one point per line, `jsonl` one object per line. Never built as one string.
 */
export async function writePlan(plan: DryRunPlan, format: 'json' | 'jsonl', stream: NodeJS.WritableStream = process.stdout): Promise<void> {
  let buf = format === 'json' ? '[' : '';
  let first = true;
  for (const p of plan.points()) {
    buf += format === 'json' ? (first ? '\n' : ',\n') + JSON.stringify(p) : JSON.stringify(p) + '\n';
    first = false;
    if (buf.length >= 1 << 16) {
      const ok = stream.write(buf);
      buf = '';
      if (!ok) await once(stream, 'drain');
    }
  }
  if (format === 'json') buf += first ? ']\n' : '\n]\n';
  if (buf && !stream.write(buf)) await once(stream, 'drain');
}

function printDryRun(sweep: string, plan: DryRunPlan, out: Out): void {
  out.info(`${out.color.bold('dry run')}: sweep ${sweep}: ${plan.total} points, ${out.color.green(`${plan.fresh + plan.resuming} would be submitted`)}${plan.resuming ? ` (${plan.resuming} finishing an interrupted submission)` : ''}, ${plan.skipped} skipped (already submitted). Nothing was created.`);
  const withDiff: { key: string | null; hash: string; diff: string }[] = [];
  for (const p of plan.points()) {
    const params = Object.entries(p.varied).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ') || '(base config)';
    out.info(`  ${p.skipped ? out.color.dim('skip  ') : p.resuming ? 'resume' : 'new   '}  ${p.hash.slice(0, 12)}  ${p.dir ? p.dir.split('/').pop() : '-'}  ${params}`);
    const diff = p.diff;
    if (diff !== null) withDiff.push({ key: p.key, hash: p.hash, diff });
  }
  for (const p of withDiff) {
    out.info('');
    out.info(out.color.bold(`point ${p.key} (${p.hash.slice(0, 12)})`));
    out.info(p.diff.trimEnd());
  }
  if (plan.diffs < plan.fresh) out.info(`\n(${plan.fresh - plan.diffs} more diffs; --limit ${plan.fresh} shows all)`);
}
