// rx show <sha|dir>: which point a commit or run directory is, its params, and its patch.
import { repoContext } from '../git/repo.ts';
import type { ExperimentStatus } from '../ledger/status.ts';
import { experimentDiff, findExperiment } from '../results/experiments.ts';
import { makeOut, type Out } from '../ui.ts';

export interface ShowOptions {
  cwd: string;
  what: string;
  json?: boolean;
  out?: Out;
}

export interface ShowResult extends ExperimentStatus {
  base: string;
  diff: string;
}

export async function show(opts: ShowOptions): Promise<ShowResult> {
  const out = opts.out ?? makeOut({ json: opts.json });
  const ctx = await repoContext(opts.cwd);
  const { rec, base } = findExperiment(ctx, opts.what);
  const sha = rec.sha!;
  const res: ShowResult = { ...rec, base, diff: await experimentDiff(ctx, base, sha) };
  if (opts.json) process.stdout.write(JSON.stringify(res, null, 2) + '\n');
  else printShow(res, out);
  return res;
}

function printShow(rec: ShowResult, out: Out): void {
  out.info(`sweep   ${rec.sweep} (point ${rec.key})`);
  out.info(`commit  ${rec.sha}`);
  out.info(`base    ${rec.base}`);
  out.info(`dir     ${rec.dir ?? '-'}`);
  out.info(`job     ${rec.jobId ?? '-'}  ${rec.state}${rec.exitCode === null ? '' : ` (exit ${rec.exitCode})`}${rec.attempts > 1 ? `  attempts ${rec.attempts}` : ''}`);
  out.info('params');
  for (const [k, v] of Object.entries(rec.params)) out.info(`  ${k} = ${JSON.stringify(v)}`);
  out.info('');
  out.info(rec.diff.trimEnd());
}
