// rx logs <sha|dir|job id|link name>: the end of a run's Slurm output (or another file of its run
// directory), read over one connection, with a one-line reason when one is recognisable.
import { repoContext } from '../git/repo.ts';
import { toStatus, type ExperimentStatus } from '../ledger/status.ts';
import { finished, withLedger } from '../ledger/sweeps.ts';
import { refreshStates, withTarget } from '../remote/jobs.ts';
import { logQueries, readLogs, type LogFile } from '../remote/logs.ts';
import { validateFetchPattern } from '../remote/rsync.ts';
import { resolveExperiment } from '../results/lookup.ts';
import { runReason } from '../results/reason.ts';
import { makeOut, type Out } from '../ui.ts';

export interface LogsOptions {
  cwd: string;
  what: string;
  /** How many last lines of each file (default 40). */
  tail?: number;
  /** A file (glob) in the run directory instead of the Slurm output, e.g. 'LOGS/*.log'. */
  file?: string;
  json?: boolean;
  out?: Out;
}

export interface LogsResult extends Pick<ExperimentStatus, 'sweep' | 'key' | 'sha' | 'dir' | 'jobId' | 'state' | 'exitCode'> {
  reason: string | null;
  /** The run directory is not on the target (purged, or not made yet). */
  dirMissing: boolean;
  files: { path: string; size: number; lines: string[] }[];
  /** Names looked for that matched nothing (yet). */
  notFound: string[];
}

export const DEFAULT_TAIL = 40;

export async function logs(opts: LogsOptions): Promise<LogsResult> {
  const out = opts.out ?? makeOut({ json: opts.json });
  const file = opts.file === undefined ? undefined : validateFetchPattern(opts.file, '--file');
  const ctx = await repoContext(opts.cwd);
  const found = resolveExperiment(ctx, opts.what, opts.cwd);
  const res = await withLedger(ctx, found.sweep, async ledger => {
    const base = ledger.state().points.get(found.point.key)!;
    if (!base.dir || !base.jobs.length) return logsResult(found.sweep, base, [], [], false);
    return withTarget(ctx, ledger.state(), async target => {
      if (!finished(base)) await refreshStates(target, ledger);
      const state = ledger.state();
      const p = state.points.get(found.point.key)!;
      const queries = await logQueries(ctx, state, [p], file);
      const got = (await readLogs(target, queries, opts.tail ?? DEFAULT_TAIL)).get(p.key);
      return logsResult(found.sweep, p, got?.files ?? [], got?.notFound ?? queries[0]?.patterns ?? [], got?.dirMissing ?? false);
    });
  });
  if (opts.json) process.stdout.write(JSON.stringify(res, null, 2) + '\n');
  else printLogs(res, out);
  return res;
}

function logsResult(sweep: string, p: Parameters<typeof toStatus>[1], files: LogFile[], notFound: string[], dirMissing: boolean): LogsResult {
  const s = toStatus(sweep, p);
  const tail = files.map(f => f.text).join('\n');
  return {
    sweep, key: p.key, sha: s.sha, dir: s.dir, jobId: s.jobId, state: s.state, exitCode: s.exitCode,
    reason: runReason({ state: s.state, exitCode: s.exitCode, signal: p.status?.signal ?? null }, files.length ? tail : null),
    dirMissing,
    files: files.map(f => ({ path: f.path, size: f.size, lines: f.text.replace(/\n$/, '').split('\n') })),
    notFound,
  };
}

function printLogs(r: LogsResult, out: Out): void {
  out.info(out.color.bold(`${r.sweep} point ${r.key}`) + `  job ${r.jobId ?? '-'}  ${r.state}${r.exitCode === null ? '' : ` (exit ${r.exitCode})`}`);
  if (r.reason) out.info(`reason: ${out.color.red(r.reason)}`);
  if (!r.jobId) out.info('no job yet: nothing to show');
  else if (r.dirMissing) out.info(out.color.yellow(`the run directory ${r.dir} is not on the target (purged?)`));
  for (const f of r.files) {
    out.info(out.color.dim(`==> ${f.path} (${f.size} bytes, last ${f.lines.length} line${f.lines.length === 1 ? '' : 's'}) <==`));
    for (const l of f.lines) out.info(l);
  }
  for (const n of r.notFound) out.info(out.color.yellow(`no ${n} in ${r.dir ?? 'the run directory'} (yet)`));
}
