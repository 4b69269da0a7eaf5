// What `rx run` shows: counts of a sweep's points (each by its latest attempt), a live line on a
// terminal, one line per change otherwise, and with --json one JSON event per line on stdout.
import { latestPoints, type PointRecord, type SweepState } from '../ledger/ledger.ts';
import { toStatus } from '../ledger/status.ts';
import type { Out } from '../ui.ts';

export interface Counts {
  sweep: string;
  round: number;
  points: number;
  /** Points with a job. */
  submitted: number;
  pending: number;
  running: number;
  completed: number;
  /** Ended any other way (failed, cancelled, timed out, …) or could not be submitted. */
  failed: number;
  /** Adaptive sweeps only. */
  budgetLeft?: number;
}

/** States in which a point has ended for the driver (UNKNOWN: the scheduler forgot the job; it will not come back). */
const ENDED = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED', 'BOOT_FAIL', 'DEADLINE', 'UNKNOWN', 'SUBMIT_FAILED']);

/** The state a user sees for the point (PENDING, RUNNING, COMPLETED, …, UNSUBMITTED, SUBMIT_FAILED). */
export const stateOf = (p: PointRecord, st: SweepState): string => toStatus(st.name, p, st).state;

/** Whether the driver waits for nothing more from this point. */
export const ended = (p: PointRecord, st: SweepState): boolean => ENDED.has(stateOf(p, st));

export function countsOf(st: SweepState, round: number, budgetLeft?: number): Counts {
  const c: Counts = { sweep: st.name, round, points: 0, submitted: 0, pending: 0, running: 0, completed: 0, failed: 0, ...(budgetLeft === undefined ? {} : { budgetLeft }) };
  for (const p of latestPoints(st)) {
    const s = stateOf(p, st);
    c.points++;
    if (p.jobs.length) c.submitted++;
    if (s === 'COMPLETED') c.completed++;
    else if (ENDED.has(s)) c.failed++;
    else if (s === 'RUNNING' || s === 'COMPLETING') c.running++;
    else c.pending++;
  }
  return c;
}

export function countsLine(c: Counts): string {
  const budget = c.budgetLeft === undefined ? '' : `, budget left ${c.budgetLeft}`;
  return `${c.sweep} round ${c.round}: ${c.submitted} submitted, ${c.pending} pending, ${c.running} running, ${c.completed} done, ${c.failed} failed${budget}`;
}

/** The run's output: events (JSON lines) or human lines; the counts line is redrawn in place on a TTY. */
export class Progress {
  private last = '';
  private drawn = false;
  constructor(private readonly out: Out, private readonly stderr: NodeJS.WriteStream = process.stderr) {}

  private get live(): boolean { return !this.out.json && Boolean(this.stderr.isTTY); }

  /** An event: a JSON line under --json, else the human `text` (if any) as a line of its own. */
  event(kind: string, data: Record<string, unknown>, text?: string): void {
    if (this.out.json) { process.stdout.write(JSON.stringify({ event: kind, at: new Date().toISOString(), ...data }) + '\n'); return; }
    if (text === undefined) return;
    this.clear();
    this.out.info(text);
  }

  /** The counts: redrawn on a terminal, else printed (and as an event) when they changed. */
  counts(c: Counts): void {
    const line = countsLine(c);
    if (line === this.last && !this.live) return;
    const changed = line !== this.last;
    this.last = line;
    if (this.out.json) { if (changed) this.event('status', { ...c }); return; }
    if (!this.live) { this.out.info(line); return; }
    this.stderr.write(`\r\x1b[K${line}`);
    this.drawn = true;
  }

  /** Ends the live line, so what follows starts on a fresh line. */
  clear(): void {
    if (!this.drawn) return;
    this.stderr.write('\r\x1b[K');
    this.drawn = false;
  }

  warn(line: string): void {
    this.clear();
    this.out.warn(line);
  }
}
