// The `remote` part of a sweep file: where runs go. Validated on its own so that reading it back
// from the ledger needs nothing else of the sweep machinery.
import { isAbsolute, join } from 'node:path';
import { ConfigError } from '../errors.ts';
import { isObject } from '../json.ts';
import { validateRepoPath } from '../sweep/names.ts';

export interface RemoteConfig {
  /** ssh host or Host alias from ~/.ssh/config; 'local' (or no remote) = this machine. */
  host: string;
  port?: number;
  user?: string;
  identityFile?: string;
  /** The clone of origin on the cluster (created if missing). Relative paths are from the login dir. */
  repo?: string;
  /** Root for run directories. */
  output?: string;
  scheduler?: 'slurm' | 'shell';
  /** Batch script inside each run directory. */
  script?: string;
  sbatchArgs?: string[];
  strictHostKeyChecking?: 'yes' | 'accept-new';
  /** URL the cluster fetches from; default: the local repository's `origin` URL. */
  origin?: string;
  /** Most jobs the shell scheduler runs at once (default: nproc of the target). */
  maxParallel?: number;
  /**
   * Slurm: points sharing one batch script go as job arrays (default). `false`: one job per point;
   * `maxSize`: most tasks per array (below the cluster's MaxArraySize); `throttle`: most tasks running at once (`%k`).
   */
  array?: boolean | { maxSize?: number; throttle?: number };
  /**
   * Points per job (per array task): `k`, or `{ size: k, parallel: p }` to run p of them at once inside
   * the job. Each point still runs in its own run dir with its own state. Default: one point per job.
   */
  pack?: number | { size: number; parallel?: number };
}

/** A validated remote: host, scheduler and script always set. */
export type RemoteSpec = Required<Pick<RemoteConfig, 'host' | 'scheduler' | 'script'>> & RemoteConfig;

const REMOTE_KEYS = new Set(['host', 'port', 'user', 'identityFile', 'repo', 'output', 'scheduler', 'script', 'sbatchArgs', 'strictHostKeyChecking', 'origin', 'maxParallel', 'array', 'pack']);
export function validateRemote(r: unknown, where = 'remote'): RemoteSpec {
  if (r === undefined) return { host: 'local', scheduler: 'shell', script: 'run.sbatch' };
  if (!isObject(r)) throw new ConfigError(`${where}: expected an object like { host, repo, output }`);
  for (const k of Object.keys(r)) if (!REMOTE_KEYS.has(k)) throw new ConfigError(`${where}.${k}: unknown option; known: ${[...REMOTE_KEYS].join(', ')}`);
  const host = r.host ?? 'local';
  if (typeof host !== 'string' || host === '' || /[\s'"`$;]/.test(host) || host.startsWith('-')) throw new ConfigError(`${where}.host: invalid host ${JSON.stringify(host)}`);
  const local = host === 'local';
  const str = (k: string) => {
    const v = r[k];
    if (v !== undefined && (typeof v !== 'string' || v === '' || v.includes('\0') || /[\r\n]/.test(v))) throw new ConfigError(`${where}.${k}: expected a non-empty single-line string`);
    return v as string | undefined;
  };
  for (const k of ['user', 'identityFile', 'repo', 'output', 'origin']) str(k);
  if (r.port !== undefined && !(Number.isInteger(r.port) && (r.port as number) > 0 && (r.port as number) < 65536)) throw new ConfigError(`${where}.port: expected a port number`);
  if (r.user !== undefined && !/^[A-Za-z0-9._][A-Za-z0-9._-]*$/.test(r.user as string)) throw new ConfigError(`${where}.user: invalid user name ${JSON.stringify(r.user)}`);
  const scheduler = r.scheduler ?? (local ? 'shell' : 'slurm');
  if (scheduler !== 'slurm' && scheduler !== 'shell') throw new ConfigError(`${where}.scheduler: expected 'slurm' or 'shell', got ${JSON.stringify(scheduler)}`);
  const script = validateRepoPath(r.script ?? 'run.sbatch', `${where}.script`);
  if (r.sbatchArgs !== undefined && !(Array.isArray(r.sbatchArgs) && r.sbatchArgs.every(a => typeof a === 'string' && !a.includes('\0')))) throw new ConfigError(`${where}.sbatchArgs: expected a list of strings, e.g. ['--time=1:00:00']`);
  if (r.strictHostKeyChecking !== undefined && r.strictHostKeyChecking !== 'yes' && r.strictHostKeyChecking !== 'accept-new') throw new ConfigError(`${where}.strictHostKeyChecking: expected 'yes' or 'accept-new'`);
  if (r.maxParallel !== undefined && !(Number.isInteger(r.maxParallel) && (r.maxParallel as number) > 0)) throw new ConfigError(`${where}.maxParallel: expected a positive integer`);
  if (r.array !== undefined && typeof r.array !== 'boolean') {
    if (!isObject(r.array)) throw new ConfigError(`${where}.array: expected false (one job per point), true, or { maxSize, throttle }`);
    for (const k of Object.keys(r.array)) if (k !== 'maxSize' && k !== 'throttle') throw new ConfigError(`${where}.array.${k}: unknown option; known: maxSize, throttle`);
    for (const k of ['maxSize', 'throttle'] as const) {
      const v = r.array[k];
      if (v !== undefined && !(Number.isInteger(v) && (v as number) > 0)) throw new ConfigError(`${where}.array.${k}: expected a positive integer`);
    }
  }
  validatePack(r.pack, `${where}.pack`);
  if (!local) {
    if (!r.repo) throw new ConfigError(`${where}.repo: required for host '${host}': the path of the clone of origin on the cluster (created if missing), e.g. '~/rx/myproject'`);
    if (!r.output) throw new ConfigError(`${where}.output: required for host '${host}': the directory under which run directories are created, e.g. '~/runs'`);
  }
  return { ...(r as unknown as RemoteConfig), host, scheduler, script };
}

function validatePack(p: unknown, where: string): void {
  if (p === undefined) return;
  const positive = (v: unknown) => Number.isInteger(v) && (v as number) > 0;
  if (typeof p === 'number') {
    if (!positive(p)) throw new ConfigError(`${where}: expected a positive whole number of points per job, got ${p}`);
    return;
  }
  if (!isObject(p)) throw new ConfigError(`${where}: expected k (points per job) or { size: k, parallel: p }`);
  for (const k of Object.keys(p)) if (k !== 'size' && k !== 'parallel') throw new ConfigError(`${where}.${k}: unknown option; known: size, parallel`);
  if (!positive(p.size)) throw new ConfigError(`${where}.size: expected a positive whole number of points per job`);
  if (p.parallel !== undefined && !positive(p.parallel)) throw new ConfigError(`${where}.parallel: expected a positive whole number (points run at once inside a job)`);
  if ((p.parallel as number | undefined ?? 1) > (p.size as number)) throw new ConfigError(`${where}.parallel (${p.parallel}) is more than size (${p.size}): at most size points of a pack can run at once`);
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
