// Where a sweep's runs go: a transport (this machine or ssh) plus a scheduler, and the paths on it.
import { join, isAbsolute } from 'node:path';
import { ConfigError } from '../errors.ts';
import type { LoadedSweep } from '../sweep/definition.ts';
import type { Transport } from './transport/types.ts';
import type { Scheduler } from './scheduler/types.ts';
import { localTransport } from './transport/local.ts';
import { connectSsh } from './transport/ssh.ts';
import { slurm } from './scheduler/slurm.ts';
import { shellScheduler } from './scheduler/shell.ts';
import { run } from '../proc.ts';

export type RemoteSpec = LoadedSweep['remote'];

export interface Target {
  transport: Transport;
  scheduler: Scheduler;
  local: boolean;
  /** The clone the run directories are made from (on the target). */
  repo: string;
  /** Root of run directories (on the target; may start with ~/). */
  output: string;
  /** Marker files that make submission idempotent. */
  stateDir: string;
  close(): Promise<void>;
}

/** A stable label for the remote a sweep was submitted to (kept in the ledger). */
export function remoteLabel(r: RemoteSpec): string {
  if (r.host === 'local') return 'local';
  return `${r.user ? r.user + '@' : ''}${r.host}${r.port ? ':' + r.port : ''}`;
}

/** Run-directory root as written in the ledger: absolute for local, as given for ssh. */
export function outputRoot(r: RemoteSpec, top: string): string {
  if (r.host !== 'local') return r.output!.replace(/\/+$/, '');
  const o = r.output ?? '.rx/runs';
  return isAbsolute(o) ? o : join(top, o);
}

/** The shell scheduler's queue is per user per machine (~/.rx/shell-queue), so `nproc` bounds the machine. */
export function schedulerFor(r: RemoteSpec): Scheduler {
  return r.scheduler === 'slurm' ? slurm : shellScheduler({ maxParallel: r.maxParallel });
}

export async function openTarget(r: RemoteSpec, top: string): Promise<Target> {
  const output = outputRoot(r, top);
  const scheduler = schedulerFor(r);
  if (r.host === 'local') {
    if (r.scheduler === 'slurm') {
      const found = await run(['sh', '-c', 'command -v sbatch'], { allowFailure: true });
      if (found.exitCode !== 0) throw new ConfigError("remote.scheduler: 'slurm' was asked for the local host but sbatch is not installed here", { hint: "Use scheduler: 'shell' (the default for host 'local') or give a cluster host." });
    }
    const transport = localTransport(top);
    return { transport, scheduler, local: true, repo: r.repo ?? top, output, stateDir: `${output}/.rx-jobs`, close: () => transport.close() };
  }
  const transport = await connectSsh({ host: r.host, port: r.port, user: r.user, identityFile: r.identityFile, strictHostKeyChecking: r.strictHostKeyChecking });
  return { transport, scheduler, local: false, repo: r.repo!.replace(/\/+$/, ''), output, stateDir: `${output}/.rx-jobs`, close: () => transport.close() };
}
