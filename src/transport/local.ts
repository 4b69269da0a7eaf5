// The local transport: scripts run with `bash -s` on this machine, through proc.ts.
import { run } from '../proc.ts';
import type { ExecOptions, ExecResult, Transport } from './types.ts';

const END_MARK = '# rx: end of script';

/**
 * What is actually fed to `bash -s` for a script (both transports). A one-line prologue reads the
 * whole script first, checks that it arrived complete (a truncated script is never run, not even
 * partly), points stdin at /dev/null and evals it. So commands in the script that read stdin
 * (`cat`, `read`, `srun`, `ssh`, `sbatch` without a file) cannot swallow the rest of the script.
 */
export function wrapScript(script: string): string {
  if (script.includes('\0')) throw new Error('a script cannot contain a NUL byte');
  return (
    `__rx_s=$(cat) && exec </dev/null && [[ $__rx_s == *$'\\n${END_MARK}' ]] || ` +
    `{ echo 'rx: the script arrived incomplete; nothing was run' >&2; exit 97; }; eval "unset __rx_s; \${__rx_s}"\n` +
    script +
    `\n${END_MARK}\n`
  );
}

export const BASH_ARGV: readonly string[] = ['bash', '-s'];

export function localTransport(cwd: string): Transport {
  return {
    kind: 'local',
    label: 'local',
    async exec(script: string, opts: ExecOptions = {}): Promise<ExecResult> {
      // Non-zero exit: run() rejects with CommandError(['bash', '-s'], …, { where: 'local' }).
      const r = await run([...BASH_ARGV], {
        cwd,
        input: wrapScript(script),
        ...(opts.onLine ? { onLine: opts.onLine } : {}),
        allowFailure: opts.allowFailure ?? false,
        where: 'local',
      });
      return { stdout: r.stdout, stderr: r.stderr, exitCode: r.exitCode };
    },
    async close() {},
  };
}
