// A batch scheduler, seen as bash fragments run through a Transport, plus pure parsers of their output.
import { sh, type ShFragment } from '../../quote.ts';

/** One job to submit: `dir` is the run directory (absolute, or relative to the login dir / `~/`). */
export interface JobSpec {
  /** Opaque key the caller uses to match job ids back (the ledger's point key). */
  key: string;
  dir: string;
  /** Script file inside `dir`, e.g. `run.sbatch`. */
  script: string;
  /** Extra scheduler arguments (sbatch args for Slurm). */
  args: string[];
  /**
   * 1 for the first submission of a run dir; n > 1 for the n-th (a resubmission). Markers are per
   * run dir and attempt, so a resubmission is as idempotent as the first submission.
   */
  attempt?: number;
  /**
   * A job id that must end successfully first (Slurm `--dependency=afterok:<id>`); if it fails, this
   * job never runs and ends CANCELLED with reason DependencyNeverSatisfied.
   */
  after?: string;
}

/** The reason a job that waited for a failed job ends with (Slurm's words). */
export const DEPENDENCY_NEVER_SATISFIED = 'DependencyNeverSatisfied';

/**
 * Run dirs that share one batch script, submitted as one job array (Slurm): task i runs in
 * `specs[i].dir`; every spec has the same script and args. `script` is the generated array script,
 * `args` the extra sbatch options it needs (output names), `throttle` Slurm's `%k`.
 */
export interface ArrayJob {
  specs: JobSpec[];
  script: string;
  args: string[];
  throttle?: number;
}

/** Suffix of the marker file name for an attempt: none for the first, `.attempt<n>` after. */
export function attemptSuffix(attempt: number | undefined): string {
  if (attempt === undefined || attempt === 1) return '';
  if (!Number.isInteger(attempt) || attempt < 1) throw new Error(`invalid attempt ${attempt}`);
  return `.attempt${attempt}`;
}

/** States as Slurm names them; other schedulers map onto these. */
export type JobState =
  | 'PENDING' | 'RUNNING' | 'COMPLETING' | 'COMPLETED' | 'FAILED' | 'CANCELLED'
  | 'TIMEOUT' | 'NODE_FAIL' | 'OUT_OF_MEMORY' | 'PREEMPTED' | 'SUSPENDED' | 'REQUEUED' | 'UNKNOWN';

export const TERMINAL_STATES: ReadonlySet<JobState> = new Set([
  'COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED',
]);

/** Epoch seconds as the ISO 8601 UTC time rx shows (`2026-12-02T05:58:00Z`); null stays null. */
export function isoSeconds(epochSeconds: number | null): string | null {
  return epochSeconds === null ? null : new Date(epochSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface JobStatus {
  jobId: string;
  state: JobState;
  /** Exit code of the batch script once finished (Slurm's `ExitCode` first number), else null. */
  exitCode: number | null;
  /** Signal that ended it, if any (Slurm's `ExitCode` second number when non-zero). */
  signal?: number | null;
  start?: string | null;
  end?: string | null;
  elapsedSeconds?: number | null;
  /** Pending reason or similar. */
  reason?: string | null;
}

export interface Scheduler {
  readonly name: 'slurm' | 'shell';
  /**
   * Bash that submits every spec. It must be idempotent per run dir: `stateDir` (a directory on the
   * target, created by the fragment if missing) holds one marker file per submitted run dir holding
   * its job id; a spec whose marker exists is not submitted again, its id is reported instead.
   * For every spec it prints exactly one line `RXJOB <key> <jobId>` as soon as the id is known.
   * It ignores SIGHUP/SIGPIPE so that losing the connection does not stop it half-way.
   * A failing submission prints `RXERR <key> <one-line message>` and the fragment goes on with the rest.
   * `arrays` (Slurm only): groups submitted as one job array each, their tasks' ids `<array>_<task>`;
   * the markers of all of an array's tasks are written right after sbatch returns, before any RXJOB line.
   */
  submitScript(specs: JobSpec[], stateDir: string, arrays?: ArrayJob[]): string;
  /** Bash that prints the status of these job ids in a form parseStatus understands. */
  statusScript(jobIds: string[]): string;
  /** Pure: the output of statusScript → one status per job id it knew about. */
  parseStatus(stdout: string): Map<string, JobStatus>;
  /** Bash that cancels these job ids in one call. */
  cancelScript(jobIds: string[]): string;
  /** The marker file name (inside the state dir) holding the job id of a run dir's attempt. */
  markerName(dir: string, attempt?: number): string;
  /**
   * A bash fragment printing `RXSJOB <jobId> <absolute work dir>` for every job of the target user
   * the scheduler still knows (queued, running, or finished and in its accounting since the date
   * in `$rx_since`, YYYY-MM-DD, when set). Used to recover the job of a run dir whose marker is gone.
   */
  jobsByDir(): ShFragment;
}

/**
 * The job id recorded for a run directory rx adopted (after a lost ledger) without being able to
 * tell which job ran in it: no marker, and the scheduler knows no job there, yet it holds output.
 * Its state is always UNKNOWN (status scripts answer for it without asking the scheduler).
 */
export const UNKNOWN_JOB = 'UNKNOWN';
export const UNKNOWN_JOB_REASON = 'rx adopted this run directory without its job id (a lost ledger, no job-id marker, and the scheduler knows no job there) but it holds output: check it; nothing was submitted again';

/** Status-script line that makes parseStatus report UNKNOWN_JOB as such. */
const UNKNOWN_LINE = 'RXUNKNOWNJOB';

/** The ids a status or cancel script may really ask about, and a fragment answering for UNKNOWN_JOB. */
export function splitUnknown(jobIds: readonly string[]): { ids: string[]; unknown: ShFragment } {
  const ids = jobIds.filter(id => id !== UNKNOWN_JOB);
  return { ids, unknown: ids.length === jobIds.length ? sh`` : sh`echo ${UNKNOWN_LINE}` };
}

/** Adds UNKNOWN_JOB's status when the status script's output says it was asked about. */
export function withUnknown(stdout: string, found: Map<string, JobStatus>): Map<string, JobStatus> {
  if (stdout.split('\n').some(l => l.trim() === UNKNOWN_LINE)) {
    found.set(UNKNOWN_JOB, { jobId: UNKNOWN_JOB, state: 'UNKNOWN', exitCode: null, reason: UNKNOWN_JOB_REASON });
  }
  return found;
}

/** Parses `RXJOB <key> <jobId>` / `RXERR <key> <msg>` lines from submitScript output. */
export function parseSubmitLine(line: string): { key: string; jobId: string } | { key: string; error: string } | null {
  const m = /^RXJOB (\S+) (\S+)\s*$/.exec(line);
  if (m) return { key: m[1]!, jobId: m[2]! };
  const e = /^RXERR (\S+) (.*)$/.exec(line);
  if (e) return { key: e[1]!, error: e[2]! };
  return null;
}
