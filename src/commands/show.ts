// rx show <sha|dir|job id|link name>: which point a commit, run directory, job or link is, its
// params, its patch, and the last lines of its Slurm output with the reason it ended.
import { repoContext } from '../git/repo.ts';
import type { ExperimentStatus } from '../ledger/status.ts';
import { toStatus } from '../ledger/status.ts';
import { withLedger } from '../ledger/sweeps.ts';
import { RxError } from '../errors.ts';
import { withTarget } from '../remote/jobs.ts';
import { logQueries, readLogs } from '../remote/logs.ts';
import { experimentDiff } from '../results/experiments.ts';
import { resolveExperiment, type Found } from '../results/lookup.ts';
import { runReason } from '../results/reason.ts';
import { makeOut, type Out } from '../ui.ts';

export interface ShowOptions {
  cwd: string;
  what: string;
  json?: boolean;
  /** Do not contact the target: no log lines. */
  offline?: boolean;
  /** Last lines of the Slurm output to show (default 10; 0: none, no connection). */
  tail?: number;
  out?: Out;
}

export interface ShowResult extends ExperimentStatus {
  base: string;
  diff: string;
  /** The end of the Slurm output (null: not read — offline, no job, or the target unreachable). */
  log: { path: string; lines: string[] }[] | null;
  /** Why the target could not be read, when it could not. */
  logError?: string;
}

export async function show(opts: ShowOptions): Promise<ShowResult> {
  const out = opts.out ?? makeOut({ json: opts.json });
  const ctx = await repoContext(opts.cwd);
  const found = resolveExperiment(ctx, opts.what, opts.cwd);
  const rec = toStatus(found.sweep, found.point);
  const res: ShowResult = { ...rec, base: found.point.base, diff: await experimentDiff(ctx, found.point.base, found.point.sha!), log: null };
  const lines = opts.tail ?? 10;
  if (!opts.offline && lines > 0 && found.point.dir && found.point.jobs.length) await addLog(ctx, found, lines, res);
  if (opts.json) process.stdout.write(JSON.stringify(res, null, 2) + '\n');
  else printShow(res, out);
  return res;
}

/** Reads the log tail over one connection; an unreachable target is noted, not fatal (show is about the commit). */
async function addLog(ctx: Awaited<ReturnType<typeof repoContext>>, found: Found, lines: number, res: ShowResult): Promise<void> {
  try {
    const files = await withLedger(ctx, found.sweep, ledger => withTarget(ctx, ledger.state(), async target => {
      const queries = await logQueries(ctx, found.state, [found.point]);
      return (await readLogs(target, queries, lines)).get(found.point.key)?.files ?? [];
    }));
    res.log = files.map(f => ({ path: f.path, lines: f.text.replace(/\n$/, '').split('\n') }));
    const reason = runReason({ state: res.state, exitCode: res.exitCode, signal: found.point.status?.signal ?? null }, files.length ? files.map(f => f.text).join('\n') : null);
    if (reason) res.reason = reason;
  } catch (e) {
    if (!(e instanceof RxError)) throw e;
    res.logError = e.message.split('\n')[0];
  }
}

function printShow(rec: ShowResult, out: Out): void {
  out.info(`sweep   ${rec.sweep} (point ${rec.key})`);
  out.info(`commit  ${rec.sha}`);
  out.info(`base    ${rec.base}`);
  out.info(`dir     ${rec.dir ?? '-'}`);
  out.info(`job     ${rec.jobId ?? '-'}  ${rec.state}${rec.exitCode === null ? '' : ` (exit ${rec.exitCode})`}${rec.attempts > 1 ? `  attempts ${rec.attempts}` : ''}`);
  if (rec.reason) out.info(`reason  ${rec.reason}`);
  out.info('params');
  for (const [k, v] of Object.entries(rec.params)) out.info(`  ${k} = ${JSON.stringify(v)}`);
  out.info('');
  out.info(rec.diff.trimEnd());
  if (rec.logError) out.info(out.color.yellow(`\n(log not read: ${rec.logError})`));
  for (const f of rec.log ?? []) {
    out.info('');
    out.info(out.color.dim(`==> ${f.path} (last ${f.lines.length} line${f.lines.length === 1 ? '' : 's'}) <==`));
    for (const l of f.lines) out.info(l);
  }
}
