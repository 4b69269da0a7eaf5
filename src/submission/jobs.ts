// Submitting jobs for run directories that exist: one scheduler script for all of them, each job
// id recorded in the ledger as it arrives. Used for first submissions and for resubmissions.
import { now, type Ledger } from '../ledger/ledger.ts';
import { Batcher } from '../ledger/batch.ts';
import { parseSubmitLine } from '../remote/scheduler/types.ts';
import type { Target } from '../remote/target.ts';
import type { RemoteSpec } from '../remote/config.ts';
import type { Out } from '../ui.ts';
import { crashArmed, crashPoint } from './crash.ts';

export interface JobToSubmit {
  key: string;
  dir: string;
  /** 1 for a first submission; the scheduler's marker file is per run dir and attempt. */
  attempt: number;
}

export interface SubmittedJobs {
  jobs: { key: string; jobId: string; attempt: number }[];
  errors: { key: string; error: string }[];
}

/**
 * Runs the scheduler's submit script for `points` over the target's one connection. Every job id
 * and every refusal goes to the ledger (`job` / `error` with `phase`) before this returns.
 */
export async function submitJobs(target: Target, ledger: Ledger, remote: RemoteSpec, points: JobToSubmit[], opts: { phase: string; out: Out }): Promise<SubmittedJobs> {
  const result: SubmittedJobs = { jobs: [], errors: [] };
  if (!points.length) return result;
  const attempts = new Map(points.map(p => [p.key, p.attempt]));
  const args = target.scheduler.name === 'slurm' ? remote.sbatchArgs ?? [] : [];
  const specs = points.map(p => ({ key: p.key, dir: p.dir, script: remote.script, args, attempt: p.attempt }));
  const bar = opts.out.progress(opts.phase === 'submit' ? 'submitting' : opts.phase, points.length);
  const batch = new Batcher<{ key: string; jobId: string; attempt: number }>(ledger, js => js.map(j => ({ t: 'job', at: now(), key: j.key, jobId: j.jobId, attempt: j.attempt, scheduler: target.scheduler.name })));
  try {
    await target.transport.exec(target.scheduler.submitScript(specs, target.stateDir), {
      onLine: line => {
        const r = parseSubmitLine(line);
        if (!r || !attempts.has(r.key)) return;
        if ('error' in r) {
          ledger.append({ t: 'error', at: now(), key: r.key, phase: opts.phase, message: r.error });
          result.errors.push({ key: r.key, error: r.error });
          return;
        }
        const job = { key: r.key, jobId: r.jobId, attempt: attempts.get(r.key)! };
        batch.add(job);
        result.jobs.push(job);
        bar.tick();
        if (crashArmed('submit-1')) { batch.flush(); crashPoint('submit-1'); }
      },
    });
  } finally {
    batch.flush();
    bar.stop();
  }
  return result;
}
