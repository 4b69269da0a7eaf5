// Terminal output: colour and progress bars only on a TTY, never with NO_COLOR; --json bypasses all.
import { createRequire } from 'node:module';
import type { SingleBar as Bar } from 'cli-progress';

// cli-progress is loaded on the first progress bar only (a TTY and work to show), not at start-up.
const requireBar = () => (createRequire(import.meta.url)('cli-progress') as { SingleBar: typeof Bar }).SingleBar;

export interface Out {
  json: boolean;
  /** Human lines to stdout (suppressed under --json). */
  info(line: string): void;
  /** Warnings to stderr. */
  warn(line: string): void;
  progress(label: string, total: number): Progress;
  color: Colors;
}

export interface Progress {
  tick(n?: number): void;
  stop(): void;
}

type Paint = (s: string) => string;
export interface Colors { green: Paint; red: Paint; yellow: Paint; dim: Paint; bold: Paint }

export function makeColors(enabled: boolean): Colors {
  const c = (open: number, close: number): Paint => (enabled ? s => `\x1b[${open}m${s}\x1b[${close}m` : s => s);
  return { green: c(32, 39), red: c(31, 39), yellow: c(33, 39), dim: c(2, 22), bold: c(1, 22) };
}

export function makeOut(opts: { json?: boolean; stdout?: NodeJS.WriteStream; stderr?: NodeJS.WriteStream } = {}): Out {
  const stdout = opts.stdout ?? process.stdout;
  const stderr = opts.stderr ?? process.stderr;
  const tty = Boolean(stderr.isTTY);
  const colour = Boolean(stdout.isTTY) && !('NO_COLOR' in process.env && process.env.NO_COLOR !== '');
  const json = Boolean(opts.json);
  return {
    json,
    info: line => { if (!json) stdout.write(line + '\n'); },
    warn: line => stderr.write(line + '\n'),
    color: makeColors(colour),
    progress(label, total) {
      if (!tty || total < 2) return { tick() {}, stop() {} };
      const SingleBar = requireBar();
      const bar = new SingleBar({ format: `${label} [{bar}] {value}/{total} {eta_formatted}`, stream: stderr, hideCursor: true, clearOnComplete: true }, undefined);
      bar.start(total, 0);
      return { tick: (n = 1) => bar.increment(n), stop: () => bar.stop() };
    },
  };
}
