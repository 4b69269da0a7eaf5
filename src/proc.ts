// The one module that owns process-spawning policy. Two ways a process starts, both here:
//  - `run`: node's spawn, for every program rx runs (ssh, rsync, tar, …) and for git verbs that
//    write stdin or read binary stdout (cat-file --batch, fast-import, update-ref --stdin, …);
//  - `runGit`: git through simple-git, for every other git verb (argv in, text stdout out).
// Both: argv arrays only, never a shell; git always gets `gitEnv()`.
import { spawn } from 'node:child_process';
import { simpleGit, GitError, GitPluginError, type SimpleGit } from 'simple-git';
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

/** A finished process with text output (what a git verb run through simple-git gives back). */
export interface TextResult {
  argv: string[];
  /** null: killed by a signal (or, in an error, never started). */
  exitCode: number | null;
  stdout: string;
  /** From `runGit`: only when the exit code is non-zero (simple-git hands back stdout alone on success). */
  stderr: string;
  durationMs: number;
}

/** A finished process: its result is also what the error carries (zx style). */
export interface ProcResult extends TextResult {
  signal: string | null;
  /** The raw stdout bytes (binary-safe, e.g. blobs from `git cat-file --batch`). */
  stdoutBytes: Buffer;
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

// ---- git ------------------------------------------------------------------------------------

/** Variables git only reads to start an editor, a pager or an external diff: rx's git never does. */
const INTERACTIVE_ENV = ['EDITOR', 'VISUAL', 'PAGER', 'GIT_EDITOR', 'GIT_SEQUENCE_EDITOR', 'GIT_PAGER', 'GIT_EXTERNAL_DIFF'];

/**
 * The environment of every git process rx starts (both `run` and `runGit`): the user's own
 * environment (their ssh/https settings for `git push`, their config), minus editor/pager
 * variables, plus never prompt on a terminal and untranslated messages (`LC_ALL=C`), plus the
 * verb's own variables. Nothing from a sweep file or the cluster ever goes in here.
 */
export function gitEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !INTERACTIVE_ENV.includes(k.toUpperCase())) env[k] = v;
  return { ...env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C', ...extra };
}

/** A non-zero git exit as simple-git reports it to `runGit` (a GitError, so simple-git keeps it as is). */
class GitExit extends GitError {
  /** `spawnFailed`: git could not be started at all (not installed, not on PATH). */
  constructor(readonly exitCode: number | null, readonly stdout: string, readonly stderr: string, readonly spawnFailed = false) {
    super(undefined, `git exited with ${exitCode}`);
  }
}

/**
 * The simple-git instance for one git call (`.env()` mutates an instance, so instances are never
 * shared): argv arrays through `.raw([...])`, spawned without a shell, in `baseDir`, with `env`.
 * - `errors`: every non-zero exit becomes a GitExit carrying exit code, stdout and stderr (by
 *   default simple-git resolves a failing command that printed nothing on stderr, e.g.
 *   `rev-parse --verify --quiet` on a missing ref, as success with empty output).
 * - `allowEnvironment` + `unsafe`: simple-git strips or refuses GIT_* variables and a few others
 *   (GIT_SSH_COMMAND, GIT_ASKPASS, GIT_CONFIG_GLOBAL, GIT_EXEC_PATH, …) in the environment; the
 *   environment here is the user's own (`gitEnv`), so all of it passes, and the unsafe categories
 *   that only concern such variables are allowed. Categories that concern argv and `-c` config
 *   (allowUnsafePack, …ProtocolOverride, …Alias, …CredentialHelper, …Filter, …HooksPath, …) stay
 *   refused: rx's argv never needs them.
 * - No timeout (same as `run`: a push over a slow link may be silent for a long time) and one
 *   process per instance; rx runs its git calls one after another.
 * - Cost: like `run` for a call that prints something; simple-git waits a fixed 50 ms more after
 *   a process that printed nothing at all (an empty `for-each-ref`, `archive -o`).
 */
function gitClient(baseDir: string, env: Record<string, string>): SimpleGit {
  return simpleGit({
    baseDir,
    binary: 'git',
    maxConcurrentProcesses: 1,
    trimmed: false,
    config: [],
    allowEnvironment: Object.keys(env),
    unsafe: {
      allowUnsafeSshCommand: true, // GIT_SSH, GIT_SSH_COMMAND
      allowUnsafeAskPass: true, // GIT_ASKPASS, SSH_ASKPASS
      allowUnsafeConfigPaths: true, // GIT_CONFIG_GLOBAL, GIT_CONFIG_SYSTEM, GIT_CONFIG, PREFIX
      allowUnsafeConfigEnvCount: true, // GIT_CONFIG_COUNT, GIT_CONFIG_PARAMETERS (git -c … rx)
      allowUnsafeExec: true, // GIT_EXEC_PATH (set when rx runs under git, e.g. from a hook)
      allowUnsafeGitProxy: true, // GIT_PROXY_COMMAND
      allowUnsafeTemplateDir: true, // GIT_TEMPLATE_DIR
    },
    errors: (error, r) => {
      if (r.exitCode === 0) return error;
      const stderr = Buffer.concat(r.stdErr).toString('utf8');
      // Node reports a spawn failure (git not installed) as a negative errno; simple-git puts the stack on stderr.
      if (r.exitCode < 0) return new GitExit(null, '', stderr.split('\n')[0]!.replace(/^Error: /, ''), true);
      return new GitExit(r.exitCode, Buffer.concat(r.stdOut).toString('utf8'), stderr);
    },
  }).env(env);
}

/**
 * Runs `git <argv>` through simple-git in `cwd`: stdout as text, no stdin. A non-zero exit throws
 * CommandError (argv, exit code, stderr), or with `allowFailure` is returned for the caller to read.
 * Anything simple-git itself refuses (a guarded option, a missing directory) is a CommandError too.
 */
export async function runGit(argv: string[], opts: { cwd: string; env: Record<string, string>; allowFailure?: boolean; where?: string; hint?: string }): Promise<TextResult> {
  const started = performance.now();
  const full = ['git', ...argv];
  const fail = (code: number | null, stderr: string, stdout: string) =>
    new CommandError(full, code, stderr, stdout, performance.now() - started, { where: opts.where, hint: opts.hint });
  try {
    const stdout = await gitClient(opts.cwd, opts.env).raw([...argv]);
    return { argv: full, exitCode: 0, stdout, stderr: '', durationMs: performance.now() - started };
  } catch (e) {
    if (e instanceof GitExit) {
      if (opts.allowFailure && !e.spawnFailed) return { argv: full, exitCode: e.exitCode, stdout: e.stdout, stderr: e.stderr, durationMs: performance.now() - started };
      throw fail(e.exitCode, e.stderr, e.stdout);
    }
    // GitPluginError (a guard refused argv or env), GitConstructError (no such directory),
    // GitResponseError: the same CommandError as a failed process, with simple-git's reason.
    if (e instanceof GitError) throw fail(null, e instanceof GitPluginError ? `simple-git (${e.plugin}): ${e.message}` : e.message, '');
    throw e;
  }
}
