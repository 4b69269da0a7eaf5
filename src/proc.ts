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
    return Promise.resolve({ argv, exitCode: 0, signal: null, stdout: '', stderr: '', durationMs: 0 });
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
      const res: ProcResult = {
        argv,
        exitCode: code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        durationMs: performance.now() - started,
      };
      if (code === 0 || opts.allowFailure) resolve(res);
      else reject(new CommandError(argv, code, res.stderr, res.stdout, res.durationMs, { where: opts.where, hint: opts.hint, signal }));
    });
  });
}
