// rx cancel: one remote script (one scancel or shell-queue cancel call) per sweep for the selected
// jobs; a packed point chosen without the rest of its pack is stopped alone (src/remote/jobs.ts).
import { ConfigError } from '../errors.ts';
import { repoContext, type RepoContext } from '../git/repo.ts';
import { cancelJobs, type CancelledJob } from '../remote/jobs.ts';
import { jobOf } from '../remote/scheduler/pack.ts';
import { selectSweeps, withLedger } from '../ledger/sweeps.ts';
import { sweepState } from '../ledger/ledger.ts';
import { resolveExperiment } from '../results/lookup.ts';
import { TERMINAL_STATES, type JobState } from '../remote/scheduler/types.ts';
import { makeOut, type Out } from '../ui.ts';

const CANCELLABLE: JobState[] = ['PENDING', 'RUNNING', 'SUSPENDED', 'REQUEUED', 'COMPLETING'];

export interface CancelOptions {
  cwd: string;
  sweep?: string;
  /** Only jobs in these states (default: every unfinished job). */
  states?: string[];
  /**
   * Only these experiments: a job id as rx status shows it (`123_4+2` one packed point, `123_4` or
   * `123` every point of that job), a commit sha, a run directory or a link name (as rx show takes).
   */
  points?: string[];
  json?: boolean;
  out?: Out;
}

export interface CancelResult {
  cancelled: CancelledJob[];
}

export function parseStates(list: string[] | undefined): Set<string> {
  if (!list || list.length === 0) return new Set(CANCELLABLE);
  const states = list.flatMap(s => s.split(',')).map(s => s.trim().toUpperCase()).filter(Boolean);
  for (const s of states) {
    if (TERMINAL_STATES.has(s as JobState)) throw new ConfigError(`--state ${s}: a ${s} job has already ended and cannot be cancelled`);
    if (!CANCELLABLE.includes(s as JobState)) throw new ConfigError(`--state ${s}: unknown state`, { hint: `Use one or more of ${CANCELLABLE.join(', ')}.` });
  }
  return new Set(states);
}

const JOB_LIKE = /^\d+(?:_\d+)?(?:\+\d+)?$/;

/** Whether selector `q` names recorded id `id`: itself, its pack job (`123_4` of `123_4+2`), or its array (`123` of `123_4`). */
export function namesJob(q: string, id: string): boolean {
  const job = jobOf(id);
  return id === q || job === q || job.replace(/_\d+$/, '') === q;
}

/**
 * The points each selector names, per sweep (only among `sweeps`): a job id matches the latest job
 * of every point it names (a pack job's id names all its points); anything else, or a job id no
 * latest job has, is resolved as rx show resolves it (one experiment). One that names nothing is
 * refused before anything is cancelled.
 */
export function selectPoints(ctx: RepoContext, sweeps: readonly string[], selectors: readonly string[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>(sweeps.map(s => [s, new Set<string>()]));
  const states = new Map(sweeps.map(name => [name, sweepState(ctx.rxDir, name)] as const));
  for (const raw of selectors) {
    const q = raw.trim().replace(/\/+$/, '');
    let hit = false;
    if (JOB_LIKE.test(q)) {
      for (const [name, state] of states) {
        for (const p of state.points.values()) {
          if (p.supersededBy !== undefined) continue;
          const id = p.jobs.at(-1)?.jobId;
          if (id && namesJob(q, id)) { out.get(name)!.add(p.key); hit = true; }
        }
      }
    }
    if (hit) continue;
    const found = resolveExperiment(ctx, q);
    // A job id that is not a point's latest job names an earlier attempt: cancelling the point's
    // current job instead would stop something the user did not name.
    if (found.by === 'job') throw new ConfigError(`'${raw}' is an earlier job of point ${found.point.key} of sweep '${found.sweep}', not its latest`, { hint: `rx status --sweep ${found.sweep} shows its current job id.` });
    if (!out.has(found.sweep)) throw new ConfigError(`'${raw}' is point ${found.point.key} of sweep '${found.sweep}', not of the sweep given with --sweep`);
    out.get(found.sweep)!.add(found.point.key);
  }
  return out;
}

export async function cancel(opts: CancelOptions): Promise<CancelResult> {
  const out = opts.out ?? makeOut({ json: opts.json });
  const wanted = parseStates(opts.states);
  const ctx = await repoContext(opts.cwd);
  const result: CancelResult = { cancelled: [] };
  const sweeps = selectSweeps(ctx, opts.sweep);
  const only = opts.points?.length ? selectPoints(ctx, sweeps, opts.points) : null;
  for (const name of sweeps) {
    const keys = only?.get(name);
    if (keys && !keys.size) continue;
    result.cancelled.push(...(await withLedger(ctx, name, ledger => cancelJobs(ctx, ledger, wanted, keys))));
  }
  if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else out.info(result.cancelled.length ? `cancelled ${result.cancelled.length} jobs: ${result.cancelled.map(c => c.jobId).join(' ')}` : 'no job to cancel');
  return result;
}
