// Submitting jobs for run directories that exist: one scheduler script for all of them, each job
// id recorded in the ledger as it arrives. Used for first submissions and for resubmissions.
import { now, type Ledger } from '../ledger/ledger.ts';
import { Batcher } from '../ledger/batch.ts';
import { parseSubmitLine } from '../remote/scheduler/types.ts';
import { limitRefusal, limitsScript, parseBudget, qosOf, type SubmitBudget } from '../remote/scheduler/slurm-limits.ts';
import type { Target } from '../remote/target.ts';
import type { RemoteSpec } from '../remote/config.ts';
import type { Out } from '../ui.ts';
import { crashArmed, crashPoint } from './crash.ts';
import { planUnits, type Unit, type Units } from './units.ts';

export interface JobToSubmit {
  key: string;
  dir: string;
  /** The point's commit: its batch script decides which points share a job array or a pack. */
  sha?: string;
  /** 1 for a first submission; the scheduler's marker file is per run dir and attempt. */
  attempt: number;
  /** A chained point (`after:`): the job that must end successfully before this one starts. */
  after?: string;
}

export interface SubmittedJobs {
  jobs: { key: string; jobId: string; attempt: number }[];
  errors: { key: string; error: string }[];
  /** Points left for a later submit: over the cluster's submit limits (UNSUBMITTED, not failed). */
  deferred: { keys: string[]; why: string } | null;
}

type Job = SubmittedJobs['jobs'][number];

/**
 * Runs the scheduler's submit script for `points` over the target's one connection, as many jobs as
 * the cluster's submit limits allow. Every job id and every refusal goes to the ledger (`job` /
 * `error` with `phase`; a limit refusal with phase `limit`) before this returns.
 */
export async function submitJobs(target: Target, ledger: Ledger, remote: RemoteSpec, points: JobToSubmit[], opts: { phase: string; out: Out; top: string }): Promise<SubmittedJobs> {
  const result: SubmittedJobs = { jobs: [], errors: [], deferred: null };
  if (!points.length) return result;
  const attempts = new Map(points.map(p => [p.key, p.attempt]));
  const units = await planUnits(target, remote, points, opts.top);
  const batch = new Batcher<Job>(ledger, js => js.map(j => ({ t: 'job', at: now(), key: j.key, jobId: j.jobId, attempt: j.attempt, scheduler: target.scheduler.name })));
  const fail = (key: string, message: string) => {
    const limit = limitRefusal(message);
    ledger.append({ t: 'error', at: now(), key, phase: limit ? 'limit' : opts.phase, message });
    if (!limit) result.errors.push({ key, error: message });
    else result.deferred = { keys: [...(result.deferred?.keys ?? []), key], why: `sbatch refused: ${message}` };
  };
  for (const e of units.errors) fail(e.key, e.error);
  for (const k of units.known) { batch.add(k); result.jobs.push(k); }
  const budget = target.scheduler.name === 'slurm' ? await submitBudget(target, [...units.directives, ...remote.sbatchArgs ?? []]) : { jobs: Infinity, why: null };
  const deferred = fitBudget(units, budget.jobs);
  if (deferred.length) result.deferred = { keys: deferred, why: budget.why! };
  const byUnit = new Map([...units.singles, ...units.arrays.flatMap(a => a.units)].map(u => [u.spec.key, u]));
  const bar = opts.out.progress(opts.phase === 'submit' ? 'submitting' : opts.phase, points.length);
  try {
    await target.transport.exec(target.scheduler.submitScript(units.singles.map(u => u.spec), target.stateDir, units.arrays.map(a => a.job)), {
      onLine: line => {
        const r = parseSubmitLine(line);
        const unit = r && byUnit.get(r.key);
        if (!r || !unit) return;
        const members = unit.members.filter(m => attempts.has(m.key));
        if ('error' in r) { for (const m of members) fail(m.key, r.error); return; }
        // A pack's points go to the ledger together (one append): a rerun finds all or none.
        for (const [slot, m] of unit.members.entries()) {
          if (!attempts.has(m.key)) continue;
          const job = { key: m.key, jobId: unit.spec.key.startsWith('pack:') ? `${r.jobId}+${slot}` : r.jobId, attempt: attempts.get(m.key)! };
          batch.add(job);
          result.jobs.push(job);
          bar.tick();
        }
        if (crashArmed('submit-1')) { batch.flush(); crashPoint('submit-1'); }
      },
    });
  } finally {
    batch.flush();
    bar.stop();
  }
  if (result.deferred) opts.out.warn(`rx: ${result.deferred.keys.length} point(s) left UNSUBMITTED: ${result.deferred.why}. Run the same rx submit again when jobs have left the queue: it submits them then.`);
  return result;
}

/**
 * How many more jobs the cluster takes from this user (Slurm: limits read with sacctmgr and
 * squeue), under the QOS the script's `#SBATCH` lines or sbatchArgs (later wins) name.
 */
async function submitBudget(target: Target, sbatchWords: string[]): Promise<SubmitBudget> {
  return parseBudget((await target.transport.exec(limitsScript())).stdout, qosOf(sbatchWords));
}

/**
 * Keeps the first `budget` jobs (an array task is one job), shortening the array where the budget
 * ends; returns the keys of the points of the jobs left out.
 */
function fitBudget(units: Units, budget: number): string[] {
  if (!Number.isFinite(budget)) return [];
  let left = budget;
  const out: Unit[] = [];
  const arrays: Units['arrays'] = [];
  for (const a of units.arrays) {
    const take = Math.min(left, a.units.length);
    left -= take;
    if (take) arrays.push(take === a.units.length ? a : { units: a.units.slice(0, take), job: { ...a.job, specs: a.job.specs.slice(0, take) } });
    out.push(...a.units.slice(take));
  }
  const singles = units.singles.slice(0, Math.max(0, left));
  out.push(...units.singles.slice(singles.length));
  units.arrays = arrays;
  units.singles = singles;
  return out.flatMap(u => u.members.map(m => m.key));
}
