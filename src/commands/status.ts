// rx status: one connection per remote, one status script for all of a sweep's live jobs.
import { repoContext } from '../git/repo.ts';
import type { ExperimentStatus } from '../ledger/status.ts';
import { TERMINAL_STATES } from '../remote/scheduler/types.ts';
import { experimentStatuses } from '../remote/jobs.ts';
import { makeOut, type Out } from '../ui.ts';

export interface StatusOptions {
  cwd: string;
  sweep?: string;
  json?: boolean;
  /** Use the ledger's cached states only: no remote contact. */
  offline?: boolean;
  out?: Out;
}

export type { ExperimentStatus };

export async function status(opts: StatusOptions): Promise<ExperimentStatus[]> {
  const out = opts.out ?? makeOut({ json: opts.json });
  const ctx = await repoContext(opts.cwd);
  const result = await experimentStatuses(ctx, { sweep: opts.sweep, offline: opts.offline });
  if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else printStatus(result, out);
  return result;
}

function printStatus(rows: ExperimentStatus[], out: Out): void {
  if (rows.length === 0) {
    out.info('no experiments yet: rx submit --sweep sweep.ts');
    return;
  }
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
  const paint = (s: string) => (s === 'COMPLETED' ? out.color.green(s) : TERMINAL_STATES.has(s as never) || s.endsWith('FAILED') ? out.color.red(s) : out.color.yellow(s));
  out.info([...counts].map(([s, n]) => `${paint(s)} ${n}`).join('  '));
  const table = [['SWEEP', 'N', 'JOB', 'TRY', 'STATE', 'EXIT', 'PARAMS', 'DIR'], ...rows.map(r => [
    r.sweep, r.key, r.jobId ?? '-', String(r.attempts), r.state, r.exitCode === null ? '-' : String(r.exitCode),
    Object.entries(r.varied).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ') || '-',
    r.dir ? r.dir.split('/').pop()! : '-',
  ])];
  const widths = table[0]!.map((_, i) => Math.min(40, Math.max(...table.map(row => row[i]!.length))));
  for (const [i, row] of table.entries()) {
    const line = row.map((c, j) => (j === row.length - 1 ? c : c.padEnd(widths[j]!))).join('  ');
    out.info(i === 0 ? out.color.dim(line) : line.replace(row[4]!, paint(row[4]!)));
  }
}
