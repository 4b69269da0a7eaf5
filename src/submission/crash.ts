// Crash-test hook: with RX_CRASH_AFTER=<point> in the environment the process SIGKILLs itself
// there, exactly as a power cut or kill -9 would. Points: plan, commit, push, dirs, create-1 (after
// the first run directory), create, clean, pack-1 (packs made, none submitted), submit-1 (after the
// first job id), submit; rx clean: clean-removing (intent recorded, nothing removed), clean-1 (after
// the first removal); rx run: proposal (a round recorded, none of its points planned yet).

export function crashPoint(name: string): void {
  if (process.env.RX_CRASH_AFTER === name) process.kill(process.pid, 'SIGKILL');
}

/** Whether the crash point is armed (so a caller can flush what it holds first). */
export const crashArmed = (name: string): boolean => process.env.RX_CRASH_AFTER === name;

/** Milliseconds spent in each phase (for --json and the benchmark); each phase end is a crash point. */
export class PhaseClock {
  readonly ms: Record<string, number> = {};
  private last = performance.now();
  end(name: string): void {
    const t = performance.now();
    this.ms[name] = (this.ms[name] ?? 0) + (t - this.last);
    this.last = t;
    crashPoint(name);
  }
}
