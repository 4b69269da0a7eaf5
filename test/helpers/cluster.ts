// The real single-node Slurm test cluster (test/cluster/up.sh): find it, start it if needed, and
// give tests an ssh client home and a way to run scripts as the cluster-side user.
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, type ProcResult } from '../../src/proc.ts';

export const ENV_FILE = '/var/lib/rx-test/env';
export const UP_SH = fileURLToPath(new URL('../cluster/up.sh', import.meta.url));

export interface ClusterInfo {
  host: string; // 127.0.0.1
  port: number; // 2222
  user: string; // rxcluster
  /** Private key (root-only) that logs in as `user`; copy it before use (makeSshHome does). */
  keyPath: string;
  /** The sshd's host key, `ssh-ed25519 AAAA...` (no host name in front). */
  hostPubKey: string;
  /** The cluster user's home on the (same) machine, e.g. /home/rxcluster. */
  clusterHome: string;
  clusterName: string; // rxtest
  partition: string; // debug
  account: string; // rx
  /** Everything in the env file, as read. */
  env: Record<string, string>;
}

/** `KEY=value` / `KEY='value'` lines (what up.sh writes) → a record. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let v = m[2]!;
    if (v.length >= 2 && ((v.startsWith("'") && v.endsWith("'")) || (v.startsWith('"') && v.endsWith('"')))) v = v.slice(1, -1);
    out[m[1]!] = v;
  }
  return out;
}

function need(env: Record<string, string>, key: string): string {
  const v = env[key];
  if (!v) throw new Error(`${ENV_FILE} has no ${key}`);
  return v;
}

async function readInfo(): Promise<ClusterInfo> {
  const env = parseEnvFile(await readFile(ENV_FILE, 'utf8'));
  return {
    host: need(env, 'RX_TEST_SSH_HOST'),
    port: Number(need(env, 'RX_TEST_SSH_PORT')),
    user: need(env, 'RX_TEST_SSH_USER'),
    keyPath: need(env, 'RX_TEST_SSH_KEY'),
    hostPubKey: need(env, 'RX_TEST_HOST_PUBKEY'),
    clusterHome: need(env, 'RX_TEST_CLUSTER_HOME'),
    clusterName: env.RX_TEST_CLUSTER_NAME ?? 'rxtest',
    partition: env.RX_TEST_PARTITION ?? 'debug',
    account: env.RX_TEST_ACCOUNT ?? 'rx',
    env,
  };
}

/** Whether something accepts TCP connections on host:port (and, if `banner`, greets with it). */
function portAnswers(host: string, port: number, banner?: string, timeoutMs = 2000): Promise<boolean> {
  return new Promise(resolve => {
    const sock = connect({ host, port });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    if (banner) sock.once('data', b => done(b.toString('latin1').startsWith(banner)));
    else sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

async function healthy(): Promise<boolean> {
  if (!existsSync(ENV_FILE)) return false;
  let info: ClusterInfo;
  try {
    info = await readInfo();
  } catch {
    return false;
  }
  // sshd greets with `SSH-2.0-...`; slurmctld must listen before sinfo is asked (sinfo waits out
  // MessageTimeout when the controller is down).
  if (!(await portAnswers(info.host, info.port, 'SSH-')) || !(await portAnswers('127.0.0.1', 6817))) return false;
  const sinfo = await run(['timeout', '15', 'sinfo', '-h', '-N', '-n', 'localhost', '-o', '%T'], { allowFailure: true }).catch(() => null);
  return !!sinfo && sinfo.exitCode === 0 && /^(idle|mixed|allocated|completing)/m.test(sinfo.stdout.trim());
}

let pending: Promise<ClusterInfo | null> | undefined;

/**
 * The test cluster's coordinates, starting it (bash test/cluster/up.sh, needs root) when the env
 * file is missing or sinfo/sshd do not answer. When it cannot be started: null (the caller skips)
 * unless CI=true, where it throws (a cluster test must fail, never skip, in CI). Cached per process.
 */
export function cluster(): Promise<ClusterInfo | null> {
  pending ??= (async () => {
    try {
      if (process.getuid?.() !== 0) throw new Error('the test cluster needs root (runuser, root-only client key)');
      if (!(await healthy())) {
        await run(['bash', UP_SH], { where: 'test cluster (test/cluster/up.sh)' });
        if (!(await healthy())) throw new Error('up.sh finished but sinfo/sshd still do not answer');
      }
      return await readInfo();
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (process.env.CI === 'true') throw new Error(`the Slurm test cluster could not be started: ${msg}`, { cause: e });
      console.warn(`# Slurm test cluster unavailable, skipping cluster tests: ${msg.split('\n').slice(0, 12).join('\n# ')}`);
      return null;
    }
  })();
  return pending;
}

export interface SshHome {
  /** Use as $HOME for an ssh client. */
  home: string;
  /** The `Host` alias in home/.ssh/config: `rxcluster`. */
  alias: string;
  /** home/.ssh/config. OpenSSH takes ~ from the password database, not $HOME: pass `-F configPath` to ssh. */
  configPath: string;
  knownHostsPath: string;
  /** A mode-600 copy of the client key. */
  keyPath: string;
  cleanup(): Promise<void>;
}

/**
 * A temp dir to use as $HOME for an ssh client: `.ssh/config` with `Host rxcluster` (127.0.0.1:2222,
 * user rxcluster, a 600 copy of the key) and `.ssh/known_hosts` with `[127.0.0.1]:2222 <host key>`.
 * The config names its files by absolute path, so it also works through `ssh -F`.
 */
export async function makeSshHome(info: ClusterInfo): Promise<SshHome> {
  const home = await mkdtemp(join(tmpdir(), 'rx-sshhome-'));
  const sshDir = join(home, '.ssh');
  await mkdir(sshDir, { mode: 0o700 });
  const keyPath = join(sshDir, 'id_ed25519');
  await copyFile(info.keyPath, keyPath);
  await chmod(keyPath, 0o600);
  const knownHostsPath = join(sshDir, 'known_hosts');
  const hostPattern = info.port === 22 ? info.host : `[${info.host}]:${info.port}`;
  await writeFile(knownHostsPath, `${hostPattern} ${info.hostPubKey}\n`, { mode: 0o644 });
  const alias = 'rxcluster';
  const configPath = join(sshDir, 'config');
  await writeFile(
    configPath,
    [
      `Host ${alias}`,
      `  HostName ${info.host}`,
      `  Port ${info.port}`,
      `  User ${info.user}`,
      `  IdentityFile ${keyPath}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${knownHostsPath}`,
      '  StrictHostKeyChecking yes',
      '  BatchMode yes',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return {
    home,
    alias,
    configPath,
    knownHostsPath,
    keyPath,
    cleanup: () => rm(home, { recursive: true, force: true }),
  };
}

/**
 * Runs a bash script as the cluster user (a login shell, script on stdin like a Transport's
 * `bash -s`, cwd = its home), to set up or inspect the cluster side. Throws on non-zero exit
 * unless allowFailure.
 */
export function runAsCluster(script: string, opts: { allowFailure?: boolean; onLine?: (line: string) => void; user?: string; home?: string } = {}): Promise<ProcResult> {
  const user = opts.user ?? 'rxcluster';
  return run(['runuser', '-u', user, '--', 'bash', '-l', '-s'], {
    input: script,
    cwd: opts.home ?? `/home/${user}`,
    allowFailure: opts.allowFailure,
    onLine: opts.onLine,
    where: `as ${user}`,
  });
}

export interface ClusterSession {
  info: ClusterInfo;
  ssh: SshHome;
  /** Environment for the rx CLI: HOME with the ssh config, no agent. */
  env: Record<string, string>;
  /** A fresh directory name under the cluster user's home (removed after the test), e.g. `rx-ds-1a2b3c4d`. */
  dir: string;
  /** A sweep `remote` on the test cluster, repo and output under `dir`, plus `extra`. */
  remote(extra?: Record<string, unknown>): Record<string, unknown>;
}

/**
 * Everything an end-to-end test on the test cluster needs, cleaned up after the test; null when
 * the test was skipped (no cluster, and not CI).
 */
export async function clusterSession(t: import('node:test').TestContext, prefix: string): Promise<ClusterSession | null> {
  const info = await cluster();
  if (!info) {
    t.skip('no Slurm test cluster (needs root; see test/cluster/up.sh)');
    return null;
  }
  const ssh = await makeSshHome(info);
  t.after(() => ssh.cleanup());
  const dir = `${prefix}-${randomBytes(4).toString('hex')}`;
  t.after(async () => { await runAsCluster(`rm -rf ~/${dir}`, { allowFailure: true }); });
  return {
    info, ssh, dir,
    env: { HOME: ssh.home, SSH_AUTH_SOCK: '' },
    remote: (extra = {}) => ({ host: ssh.alias, repo: `~/${dir}/repo`, output: `~/${dir}/runs`, sbatchArgs: ['--time=5'], ...extra }),
  };
}
