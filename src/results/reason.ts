// Why a run ended the way it did, in one line: from what Slurm recorded (state, exit code,
// signal) and what the run's output says at its end (Slurm's own `*** JOB … CANCELLED … DUE TO
// TIME LIMIT ***`, the OOM killer, a segfault, MESA's `termination code:`). Pure: `rx logs`,
// `rx status --failed` and `rx show` call it with the tail they read.
import { slurmOut } from '../../parsers/slurm-out.ts';

export interface RunOutcome {
  state: string;
  exitCode: number | null;
  /** The signal that ended the batch script, when Slurm recorded one. */
  signal?: number | null;
}

/** Signal numbers (Linux) that show up in job ends, with what users call them. */
const SIGNALS: Record<number, string> = {
  1: 'SIGHUP', 2: 'SIGINT', 4: 'SIGILL', 6: 'SIGABRT (abort)', 7: 'SIGBUS (bus error)', 8: 'SIGFPE (floating-point exception)',
  9: 'SIGKILL', 11: 'SIGSEGV (segmentation fault)', 15: 'SIGTERM', 24: 'SIGXCPU (CPU time limit)', 25: 'SIGXFSZ (file size limit)',
};

/** States that mean the run did not complete (what `rx status --failed` lists). */
export const FAILED_STATES: ReadonlySet<string> = new Set(['FAILED', 'TIMEOUT', 'CANCELLED', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE', 'SUBMIT_FAILED', 'UNKNOWN']);

/** Lines of the log's end that say the program crashed, most specific first. */
const CRASH: [RegExp, string][] = [
  [/segmentation fault|SIGSEGV|signal 11\b/i, 'segmentation fault'],
  [/bus error|SIGBUS/i, 'bus error'],
  [/floating[- ]point exception|SIGFPE/i, 'floating-point exception'],
  [/\bAbort(ed)?\b.*core dumped|SIGABRT|MPI_ABORT/i, 'aborted'],
];

/** An error-looking line worth showing when nothing more specific is recognised. */
const ERRORISH = /\w(Error|Exception)\b|\b(error|fatal|failed|failure|exception|traceback|not found|no such file|permission denied|cannot|can't|abort(ed)?|killed)\b|Fortran runtime/i;

function cut(s: string, n = 160): string {
  const t = s.trim().replace(/\s+/g, ' ');
  return t.length > n ? t.slice(0, n - 1) + '…' : t;
}

/**
 * The one-line reason, or null when nothing is recognisable (a COMPLETED run without a MESA
 * termination code). `tail` is the end of the run's Slurm output (stdout and stderr), if read.
 */
export function runReason(outcome: RunOutcome, tail: string | null): string | null {
  const log = tail ? slurmOut(tail, { lines: 0 }) : null;
  const parts: string[] = [];
  const failed = FAILED_STATES.has(outcome.state) || (outcome.exitCode !== null && outcome.exitCode !== 0);
  if (log?.cancelled) parts.push(log.cancelled.reason === 'CANCELLED' ? 'cancelled' : log.cancelled.reason);
  else if (outcome.state === 'TIMEOUT') parts.push('TIME LIMIT');
  if (log?.oom || outcome.state === 'OUT_OF_MEMORY') parts.push('OUT_OF_MEMORY');
  const crash = tail && failed ? CRASH.find(([re]) => re.test(tail)) : undefined;
  if (crash) parts.push(crash[1]);
  if (log?.terminationCode) parts.push(`MESA termination code: ${log.terminationCode}`);
  const sig = outcome.signal ?? (outcome.exitCode !== null && outcome.exitCode > 128 && outcome.exitCode < 160 ? outcome.exitCode - 128 : null);
  if (sig && !crash) parts.push(`killed by signal ${sig}${SIGNALS[sig] ? ` (${SIGNALS[sig]})` : ''}`);
  else if (!sig && failed && outcome.exitCode !== null && outcome.exitCode !== 0) parts.push(`exit code ${outcome.exitCode}`);
  if (failed && parts.every(p => p.startsWith('exit code'))) {
    const line = tail ? lastErrorLine(tail) : null;
    if (line) parts.push(line);
  }
  if (!parts.length) return failed && outcome.state !== 'UNKNOWN' ? outcome.state : null;
  return [...new Set(parts)].join('; ');
}

/** The last line of the tail that looks like an error message (else its last line), shortened to one line. */
export function lastErrorLine(tail: string): string | null {
  const lines = tail.split('\n').map(l => l.slice(l.lastIndexOf('\r') + 1).trim()).filter(Boolean);
  for (let i = lines.length - 1; i >= 0; i--) if (ERRORISH.test(lines[i]!)) return cut(lines[i]!);
  // Nothing looks like an error: what a failed program said last is the best guess.
  return lines.length ? cut(lines.at(-1)!) : null;
}
