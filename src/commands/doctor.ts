// rx doctor: the sweep's ledger against the refs and the target; --rebuild appends what it lacks.
import { repoContext } from '../git/repo.ts';
import { doctorSweep, type DoctorResult } from '../submission/doctor.ts';
import { makeOut, type Out } from '../ui.ts';

export type { DoctorResult };

export interface DoctorOptions {
  cwd: string;
  sweep: string;
  rebuild?: boolean;
  json?: boolean;
  out?: Out;
}

export async function doctor(opts: DoctorOptions): Promise<DoctorResult> {
  const out = opts.out ?? makeOut({ json: opts.json });
  const ctx = await repoContext(opts.cwd);
  const r = await doctorSweep(ctx, { cwd: opts.cwd, sweep: opts.sweep, rebuild: opts.rebuild, out });
  if (opts.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
  else print(r, out, opts.rebuild);
  return r;
}

function print(r: DoctorResult, out: Out, rebuild: boolean | undefined): void {
  const b = out.color.bold;
  out.info(`${b('rx doctor')}: sweep ${b(r.sweep)} on ${r.remote}`);
  out.info(`  ledger:  ${r.ledger.exists ? `${r.ledger.points} points, ${r.ledger.dirs} with a run directory, ${r.ledger.jobs} with a job` : 'none (or empty)'}`);
  out.info(`  refs:    ${r.refs.local} refs/rx/${r.sweep}/* here, ${r.target.clone ? `${r.refs.clone} in the target's clone` : "no clone on the target"}`);
  out.info(`  target:  ${r.target.runDirs} run directories of this sweep in ${r.target.output}, ${r.target.markers} job-id markers, ${r.target.schedulerJobs} jobs known to the scheduler`);
  if (r.findings.length) {
    out.info('  found:');
    for (const f of r.findings) out.info(`    ${f.kind === 'recovered' || f.kind === 'adopted' ? '' : out.color.yellow(f.kind + ': ')}${f.message}`);
  }
  if (!r.records) out.info(out.color.green('  the ledger has everything the refs and the target show'));
  else if (r.rebuilt) out.info(out.color.green(`  rebuilt: appended ${r.records} records to the ledger (points ${[...r.recovered, ...r.adopted].join(', ') || '-'}); nothing was changed on the target`));
  else out.info(out.color.yellow(`  the ledger lacks ${r.records} records (points ${[...r.recovered, ...r.adopted].join(', ') || '-'}): rx doctor --sweep ${r.sweep} --rebuild appends them (rx submit would adopt them too)`));
  if (rebuild && !r.records) out.info('  nothing to rebuild');
}
