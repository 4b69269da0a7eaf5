// Submitting jobs for run directories that exist: one scheduler script for all of them, each job
// id recorded in the ledger as it arrives. Used for first submissions and for resubmissions.
import { now, type Ledger } from '../ledger/ledger.ts';
import { Batcher } from '../ledger/batch.ts';
import { parseSubmitLine, type ArrayJob, type JobSpec } from '../remote/scheduler/types.ts';
import { arrayPlan, parseMaxArraySize, SHOW_CONFIG } from '../remote/scheduler/slurm-array.ts';
import { chunked } from '../chunked.ts';
import { git, verbs } from '../git/verbs.ts';
import type { Target } from '../remote/target.ts';
import type { RemoteSpec } from '../remote/config.ts';
import type { Out } from '../ui.ts';
import { crashArmed, crashPoint } from './crash.ts';

export interface JobToSubmit {
  key: string;
  dir: string;
  /** The point's commit: its batch script decides which points share a job array. */
  sha?: string;
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
export async function submitJobs(target: Target, ledger: Ledger, remote: RemoteSpec, points: JobToSubmit[], opts: { phase: string; out: Out; top: string }): Promise<SubmittedJobs> {
  const result: SubmittedJobs = { jobs: [], errors: [] };
  if (!points.length) return result;
  const attempts = new Map(points.map(p => [p.key, p.attempt]));
  const args = target.scheduler.name === 'slurm' ? remote.sbatchArgs ?? [] : [];
  const all = points.map(p => ({ key: p.key, dir: p.dir, script: remote.script, args, attempt: p.attempt }));
  const { arrays, singles } = target.scheduler.name === 'slurm' && remote.array !== false ? await planArrays(target, remote, points, all, opts.top) : { arrays: [], singles: all };
  const bar = opts.out.progress(opts.phase === 'submit' ? 'submitting' : opts.phase, points.length);
  const batch = new Batcher<{ key: string; jobId: string; attempt: number }>(ledger, js => js.map(j => ({ t: 'job', at: now(), key: j.key, jobId: j.jobId, attempt: j.attempt, scheduler: target.scheduler.name })));
  try {
    await target.transport.exec(target.scheduler.submitScript(singles, target.stateDir, arrays), {
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

/**
 * Which points go as job arrays: those whose commits hold the same batch script (read from the
 * local commits) and that script can run as an array task; chunked to the cluster's MaxArraySize
 * (asked once) and `remote.array.maxSize`. The rest (a script alone, unreadable, or one an array
 * cannot run as it is) go one job each.
 */
async function planArrays(target: Target, remote: RemoteSpec, points: JobToSubmit[], specs: JobSpec[], top: string): Promise<{ arrays: ArrayJob[]; singles: JobSpec[] }> {
  const withSha = points.map((p, i) => ({ p, spec: specs[i]! })).filter(x => x.p.sha);
  const singles = specs.filter((_, i) => !points[i]!.sha);
  if (withSha.length < 2) return { arrays: [], singles: specs };
  let blobs: (Buffer | null)[];
  try {
    blobs = await git(top, verbs.readBlobs(withSha.map(x => `${x.p.sha}:${remote.script}`)));
  } catch {
    return { arrays: [], singles: specs }; // commits not here: one job each, as before
  }
  // Byte for byte (the key), read as UTF-8 for its header.
  const groups = new Map<string, { text: string; specs: JobSpec[] }>();
  withSha.forEach((x, i) => {
    const b = blobs[i];
    if (!b) { singles.push(x.spec); return; }
    const g = groups.get(b.toString('latin1'));
    if (g) g.specs.push(x.spec);
    else groups.set(b.toString('latin1'), { text: b.toString('utf8'), specs: [x.spec] });
  });
  const opt = typeof remote.array === 'object' ? remote.array : {};
  const arrays: ArrayJob[] = [];
  let max: number | null | undefined;
  for (const { text, specs: group } of groups.values()) {
    const plan = group.length > 1 ? arrayPlan(text, remote.script, remote.sbatchArgs ?? []) : { reason: 'alone' };
    if ('reason' in plan) { singles.push(...group); continue; }
    if (max === undefined) max = parseMaxArraySize((await target.transport.exec(SHOW_CONFIG)).stdout);
    const size = Math.min(opt.maxSize ?? Infinity, max ?? 1001);
    group.sort((a, b) => Number(a.key) - Number(b.key) || a.key.localeCompare(b.key));
    for (const c of chunked(group, size)) arrays.push({ specs: c, script: plan.script, args: plan.args, ...(opt.throttle ? { throttle: opt.throttle } : {}) });
  }
  return { arrays, singles };
}
