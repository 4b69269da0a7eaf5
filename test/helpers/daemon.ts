// Long-lived child processes for tests (a test sshd, an ssh-agent): started with an argv array (no
// shell) and stopped explicitly. Test-only, so it lives here rather than in src/proc.ts.
import { spawn } from 'node:child_process';

/** A long-lived child process (e.g. a test sshd or ssh-agent) that the caller stops explicitly. */
export interface Daemon {
  readonly pid: number;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  /** What it printed so far (stdout and stderr interleaved, last 64 KiB). */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs` (default 3000); resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts a long-lived child (argv, no shell) and returns a handle to stop it. */
export function startDaemon(argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Daemon {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error('startDaemon: empty argv');
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (b: Buffer) => {
    out += b.toString('utf8');
    if (out.length > 65536) out = out.slice(-65536);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let done = false;
  const exited = new Promise<{ code: number | null; signal: string | null }>(resolve => {
    child.on('error', e => {
      keep(Buffer.from(`startDaemon: ${e.message}\n`));
      done = true;
      resolve({ code: null, signal: null });
    });
    child.on('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
  });
  return {
    pid: child.pid ?? -1,
    exited,
    output: () => out,
    async stop(graceMs = 3000) {
      if (done) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
