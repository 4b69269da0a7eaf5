// The local transport: scripts run with `bash -s` on this machine, through proc.ts.
import { randomBytes } from 'node:crypto';
import { CommandError } from '../../errors.ts';
import { run } from '../../proc.ts';
import { sh } from '../../quote.ts';
import type { ExecOptions, ExecResult, Transport } from './types.ts';

/** The script's last line: the prologue runs nothing unless the script arrived up to it. */
const END_MARK = sh`# rx: end of script`;

export const BASH_ARGV: readonly string[] = ['bash', '-s'];

export interface WrappedScript {
  /** What to feed to `bash -s`. */
  input: string;
  /** Drops what was printed before the script started (e.g. by a chatty ~/.bashrc over ssh). */
  clean(output: string): string;
  /** Wraps an onLine callback so it only sees lines printed by the script itself. */
  lines(onLine: (line: string) => void): (line: string) => void;
}

/**
 * What is actually fed to `bash -s` for a script (both transports). A one-line prologue
 *  - prints a start marker on stdout and stderr, so that anything printed before the script ran
 *    (sshd makes bash source ~/.bashrc, which on clusters often talks) can be dropped;
 *  - reads the whole script first and checks that it arrived complete (a truncated script is
 *    never run, not even partly);
 *  - points stdin at /dev/null and evals the script, so commands in it that read stdin (`cat`,
 *    `read`, `srun`, `ssh`, `sbatch` without a file) cannot swallow the rest of the script.
 */
export function wrapScript(script: string): WrappedScript {
  if (script.includes('\0')) throw new Error('a script cannot contain a NUL byte');
  const mark = `__rx_start_${randomBytes(8).toString('hex')}`;
  const prologue = sh`printf '%s\\n' ${mark}; printf '%s\\n' ${mark} >&2; __rx_s=$(cat) && exec </dev/null && [[ $__rx_s == *$'\\n'${END_MARK.text} ]] || { echo 'rx: the script arrived incomplete; nothing was run' >&2; exit 97; }; eval "unset __rx_s; \${__rx_s}"`;
  const input = sh.lines([prologue, sh.raw(script), END_MARK, sh``]).text;
  return {
    input,
    clean(output) {
      const i = output.indexOf(mark + '\n');
      return i < 0 ? output : output.slice(i + mark.length + 1);
    },
    lines(onLine) {
      let started = false;
      return line => {
        if (started) onLine(line);
        else if (line.endsWith(mark)) started = true;
      };
    },
  };
}

export function localTransport(cwd: string): Transport {
  return {
    kind: 'local',
    label: 'local',
    async exec(script: string, opts: ExecOptions = {}): Promise<ExecResult> {
      const w = wrapScript(script);
      const r = await run([...BASH_ARGV], { cwd, input: w.input, ...(opts.onLine ? { onLine: w.lines(opts.onLine) } : {}), allowFailure: true, where: 'local' });
      const stdout = w.clean(r.stdout);
      const stderr = w.clean(r.stderr);
      if (r.exitCode !== 0 && !opts.allowFailure) {
        throw new CommandError([...BASH_ARGV], r.exitCode, stderr, stdout, r.durationMs, { where: 'local', signal: r.signal });
      }
      return { stdout, stderr, exitCode: r.exitCode };
    },
    async close() {},
  };
}
