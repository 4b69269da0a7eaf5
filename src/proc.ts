// The one module that spawns processes. Always argv arrays, never a shell with user data.
import { spawn } from 'node:child_process';
import { CommandError } from './errors.ts';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to the child's stdin, then stdin is closed. */
  input?: string | Buffer;
  /** Called for every complete stdout line as it arrives (streamed progress). */
  onLine?: (line: string) => void;
  /** Do not throw on non-zero exit; the caller inspects the result. */
  allowFailure?: boolean;
  /** Start the child in its own session and do not wait for it (returns at once). */
  detached?: boolean;
  where?: string;
  hint?: string;
}

/** A finished process: its result is also what the error carries (zx style). */
export interface ProcResult {
  argv: string[];
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  /** The raw stdout bytes (binary-safe, e.g. blobs from `git cat-file --batch`). */
  stdoutBytes: Buffer;
  stderr: string;
  durationMs: number;
}

export function run(argv: string[], opts: RunOptions = {}): Promise<ProcResult> {
  const started = performance.now();
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error('run: empty argv');
  if (opts.detached) {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, detached: true, stdio: 'ignore' });
    child.unref();
    return Promise.resolve({ argv, exitCode: 0, signal: null, stdout: '', stdoutBytes: Buffer.alloc(0), stderr: '', durationMs: 0 });
  }
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let pending = '';
    child.stdout.on('data', (b: Buffer) => {
      out.push(b);
      if (opts.onLine) {
        pending += b.toString('utf8');
        let i: number;
        while ((i = pending.indexOf('\n')) >= 0) {
          opts.onLine(pending.slice(0, i));
          pending = pending.slice(i + 1);
        }
      }
    });
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', e => reject(new CommandError(argv, null, String(e.message), '', performance.now() - started, { where: opts.where, hint: opts.hint })));
    child.stdin.on('error', () => {}); // child may exit before reading all input
    child.stdin.end(opts.input ?? '');
    child.on('close', (code, signal) => {
      if (opts.onLine && pending) opts.onLine(pending);
      const bytes = Buffer.concat(out);
      const res: ProcResult = {
        argv,
        exitCode: code,
        signal,
        stdout: bytes.toString('utf8'),
        stdoutBytes: bytes,
        stderr: Buffer.concat(err).toString('utf8'),
        durationMs: performance.now() - started,
      };
      if (code === 0 || opts.allowFailure) resolve(res);
      else reject(new CommandError(argv, code, res.stderr, res.stdout, res.durationMs, { where: opts.where, hint: opts.hint, signal }));
    });
  });
}

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
