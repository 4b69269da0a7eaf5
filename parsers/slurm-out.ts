// The tail of a Slurm job's output file (slurm-<id>.out), and what it says about how the job ended.
import { asText, type ParseOptions } from './errors.ts';

export interface SlurmOutOptions extends ParseOptions {
  /** How many last lines to keep in `tail` (default 20). */
  lines?: number;
}

export interface SlurmOut {
  /** The last lines (progress-bar carriage returns resolved: the text after the last `\r`). */
  tail: string[];
  /** Number of lines in the file. */
  lineCount: number;
  /** Slurm's own verdict, when it wrote one: `*** JOB 12 ON n1 CANCELLED AT … DUE TO TIME LIMIT ***`. */
  cancelled: { reason: 'TIME LIMIT' | 'PREEMPTION' | 'NODE FAILURE' | 'CANCELLED' | string; line: string } | null;
  /** slurmstepd reported the out-of-memory killer. */
  oom: boolean;
  /** Lines that look like errors (Slurm, Fortran runtime, signals, MPI), the last 20. */
  errors: string[];
  /** MESA's `termination code: …`, when present (the last one). */
  terminationCode: string | null;
}

const ERROR_LINE = /\b(error|fatal|segmentation fault|sigsegv|sigbus|sigfpe|sigkill|backtrace|killed|abort(ed)?|traceback|exception|mpi_abort)\b|Fortran runtime/i;

export function slurmOut(input: string | Uint8Array, opts: SlurmOutOptions = {}): SlurmOut {
  const text = asText(input);
  const all = text.split('\n');
  if (all.length && all[all.length - 1] === '') all.pop();
  const lines = all.map(l => {
    const s = l.endsWith('\r') ? l.slice(0, -1) : l;
    const r = s.lastIndexOf('\r');
    return r === -1 ? s : s.slice(r + 1);
  });
  let cancelled: SlurmOut['cancelled'] = null;
  let oom = false;
  let terminationCode: string | null = null;
  const errors: string[] = [];
  for (const l of lines) {
    const c = /\*\*\*\s*(?:JOB|STEP)\s+\S+.*?CANCELLED AT \S+(?:\s+DUE TO ([A-Z ]+?))?\s*\*\*\*/.exec(l);
    if (c) cancelled = { reason: c[1] ?? 'CANCELLED', line: l.trim() };
    if (/oom[-_ ]kill|out of memory|OUT_OF_MEMORY/i.test(l)) oom = true;
    const t = /termination code:\s*(.+?)\s*$/.exec(l);
    if (t) terminationCode = t[1]!;
    if (ERROR_LINE.test(l)) {
      errors.push(l.trim());
      if (errors.length > 20) errors.shift();
    }
  }
  const n = Math.max(0, opts.lines ?? 20);
  return { tail: n === 0 ? [] : lines.slice(-n), lineCount: lines.length, cancelled, oom, errors, terminationCode };
}
