// Ctrl-C for `rx run`: the first SIGINT (or SIGTERM) asks the loop to stop at its next step, so
// the ledger write in progress finishes and the connection is closed; waits end at once. A second
// one exits at once (every ledger write is already on disk when it returns, and every remote step
// is crash-safe: the next rx run finishes it).
import { RxError } from '../errors.ts';

/** `rx run` was stopped by the user: exit 130, as a shell does for Ctrl-C. */
export class Stopped extends RxError {
  override exitCode = 130;
  constructor() {
    super('rx run stopped; run it again to continue', { hint: 'Every point proposed and submitted so far is in the ledger: rx run --sweep <file> picks up where this one stopped.' });
  }
}

export class Stopper {
  private stopped = false;
  private wake: (() => void) | null = null;
  private readonly onSignal = () => {
    if (this.stopped) process.exit(130);
    this.stopped = true;
    this.wake?.();
  };

  constructor() {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
  }

  get requested(): boolean { return this.stopped; }

  /** Throws Stopped once a stop was asked for. */
  check(): void {
    if (this.stopped) throw new Stopped();
  }

  /** Waits `seconds`, or less when a stop is asked for meanwhile. */
  sleep(seconds: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise(resolve => {
      const timer = setTimeout(done, seconds * 1000);
      const self = this;
      function done() {
        clearTimeout(timer);
        self.wake = null;
        resolve();
      }
      this.wake = done;
    });
  }

  dispose(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
  }
}
