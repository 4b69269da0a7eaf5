// Where a sweep's runs go: a transport (this machine or ssh) plus a scheduler, and the paths on it.
import { ConfigError } from '../errors.ts';
import { outputRoot, type RemoteSpec } from './config.ts';
import type { Transport } from './transport/types.ts';
import type { Scheduler } from './scheduler/types.ts';
import { localTransport } from './transport/local.ts';
import type { SshSettings } from './transport/sshconfig.ts';
import { slurm } from './scheduler/slurm.ts';
import { shellScheduler } from './scheduler/shell.ts';
import { run } from '../proc.ts';

export type { RemoteSpec };

// The ssh client (ssh2, ssh-config) loads only when a remote is reached, not for commands that
// only read the ledger (`rx status --offline`, `rx sweeps`).
const sshModule = () => import('./transport/ssh.ts');

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

export { outputRoot, remoteLabel } from './config.ts';

/** The shell scheduler's queue is per user per machine (~/.rx/shell-queue), so `nproc` bounds the machine. */
export function schedulerFor(r: RemoteSpec): Scheduler {
  return r.scheduler === 'slurm' ? slurm : shellScheduler({ maxParallel: r.maxParallel });
}

/**
 * Connects to the remote (for ssh: verifies the host key and authenticates). With
 * `checkIdentityFiles` (rx submit, rx doctor) identity files OpenSSH would refuse (readable by
 * others) are refused first, before anything else happens, so that rsync cannot fail on them later.
 */
export async function openTarget(r: RemoteSpec, top: string, opts: { checkIdentityFiles?: boolean } = {}): Promise<Target> {
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
  const { connectSsh, unprotectedIdentityFiles, unprotectedIdentityError } = await sshModule();
  const settings = await sshSettingsFor(r);
  if (opts.checkIdentityFiles) {
    const bad = unprotectedIdentityFiles(settings);
    if (bad.length) throw unprotectedIdentityError(bad);
  }
  const transport = await connectSsh({ ...sshSpec(r), settings });
  return { transport, scheduler, local: false, repo: r.repo!.replace(/\/+$/, ''), output, stateDir: `${output}/.rx-jobs`, close: () => transport.close() };
}

// ---------------------------------------------------------------------------------------------
// ssh settings: one place, for rx's own connection and for OpenSSH under rsync

/** The part of a remote that says how to reach it over ssh. */
function sshSpec(r: RemoteSpec) {
  return { host: r.host, port: r.port, user: r.user, identityFile: r.identityFile, strictHostKeyChecking: r.strictHostKeyChecking };
}

/** The remote resolved against the ssh config files: what openTarget connects with. */
export async function sshSettingsFor(r: RemoteSpec): Promise<SshSettings> {
  const { resolveSshSettings } = await import('./transport/sshconfig.ts');
  return resolveSshSettings(sshSpec(r));
}

/** How rsync reaches an ssh remote: the `-e` argv and the `host` of `host:path`. */
export interface RsyncShell {
  /** OpenSSH argv (for rsync's `-e`), reaching the host exactly as rx's own connection does. */
  ssh: string[];
  /** The destination to put before `:path`. */
  destination: string;
  /** The alias as given, for messages. */
  alias: string;
  /**
   * Connects once with rx's own client, which explains an unknown or changed host key (or records
   * it with accept-new); afterwards OpenSSH finds the key in the same known_hosts.
   */
  checkHostKey(): Promise<void>;
}

/** rsync's ssh for a remote, from the same resolved settings openTarget uses; null for 'local'. */
export async function rsyncShell(r: RemoteSpec): Promise<RsyncShell | null> {
  if (r.host === 'local') return null;
  const settings = await sshSettingsFor(r);
  const { connectSsh, sshCommandArgs, sshDestination } = await sshModule();
  return {
    ssh: sshCommandArgs(settings),
    destination: sshDestination(settings),
    alias: settings.alias,
    async checkHostKey() {
      const t = await connectSsh({ ...sshSpec(r), settings });
      await t.close();
    },
  };
}
