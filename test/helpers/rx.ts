// Runs the real `rx` command line (bin/rx.js) as a user would, in a child process.
import { fileURLToPath } from 'node:url';
import { run, type ProcResult } from '../../src/proc.ts';

export const RX_BIN = fileURLToPath(new URL('../../bin/rx.js', import.meta.url));

export async function rx(args: string[], opts: { cwd: string; env?: Record<string, string>; allowFailure?: boolean }): Promise<ProcResult> {
  return run([process.execPath, RX_BIN, ...args], { cwd: opts.cwd, env: { ...process.env, NO_COLOR: '1', ...opts.env }, allowFailure: opts.allowFailure ?? false, where: 'rx ' + args[0] });
}

export async function rxJson<T = unknown>(args: string[], opts: { cwd: string; env?: Record<string, string> }): Promise<T> {
  const r = await rx([...args, '--json'], opts);
  return JSON.parse(r.stdout) as T;
}

/** Polls until check() returns a value (not undefined), or fails after `ms`. */
export async function eventually<T>(what: string, ms: number, check: () => Promise<T | undefined>): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise(r => setTimeout(r, 250));
  }
}
