// What `rx init` finds in a repository: the committed config files a patcher can vary (MESA
// inlists with their keys, JSON, YAML, key=value), the batch script, the branch, the origin
// remote and an ssh Host. Read from the commit the sweep would start from (HEAD), since that is
// what every run is made of — not from the working tree.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, posix } from 'node:path';
import { ConfigError } from '../errors.ts';
import { git, verbs } from '../git/verbs.ts';
import { configKeys, type ConfigKind } from './keys.ts';

export interface ConfigFile {
  path: string;
  kind: ConfigKind;
  /** Parameter names the patcher accepts, with their current values, in file order. */
  keys: [string, unknown][];
  text: string;
}

export interface Discovery {
  /** The repository's folder name, for the sweep name. */
  dirName: string;
  /** The current branch (or the commit, when HEAD is detached). */
  branch: string;
  configs: ConfigFile[];
  /** The batch script (committed, with `#SBATCH` lines or named *.sbatch), or null. */
  script: string | null;
  origin: string | null;
  /** Concrete `Host` names of ~/.ssh/config (no wildcards). */
  sshHosts: string[];
}

/** Files a config scan looks at: small, not rx's or tooling's own. */
const MAX_BYTES = 1 << 20;
const SKIP = /(^|\/)(\.git|\.github|\.gitlab-ci\.yml|node_modules|\.rx|package(-lock)?\.json|tsconfig[^/]*\.json|\.vscode|\.idea)(\/|$)/;

export async function discover(top: string): Promise<Discovery> {
  const head = await git(top, verbs.resolveCommit('HEAD'));
  if (!head) throw new ConfigError(`${top} has no commit yet`, { hint: 'Commit your code, config files and run.sbatch first: every run is made from a commit.' });
  const files = (await git(top, verbs.listFiles(head))).filter(f => f.size <= MAX_BYTES && !SKIP.test(f.path));
  const candidates = files.filter(f => configKindOf(f.path) !== null || isScriptName(f.path));
  const blobs = candidates.length ? await git(top, verbs.readBlobs(candidates.map(f => `${head}:${f.path}`))) : [];
  const texts = new Map(candidates.map((f, i) => [f.path, blobs[i]?.toString('utf8') ?? '']));
  const configs: ConfigFile[] = [];
  for (const [path, text] of texts) {
    const kind = configKindOf(path);
    if (!kind) continue;
    const keys = configKeys(kind, text, path);
    if (keys.length) configs.push({ path, kind, keys, text });
  }
  return {
    dirName: posix.basename(top),
    branch: (await git(top, verbs.currentBranch())) ?? head,
    configs: rankConfigs(configs),
    script: findScript(texts),
    origin: await git(top, verbs.remoteUrl('origin')),
    sshHosts: sshHosts(),
  };
}

/** Which patcher suits a file, by its name. */
export function configKindOf(path: string): ConfigKind | null {
  const b = posix.basename(path).toLowerCase();
  if (/^inlist/.test(b) && !/\.(py|sh|md|txt|bak|orig)$/.test(b)) return 'mesa';
  if (b.endsWith('.json')) return 'json';
  if (b.endsWith('.yaml') || b.endsWith('.yml')) return 'yaml';
  if (/\.(ini|cfg|conf|properties|env|params)$/.test(b) || b === '.env') return 'keyvalue';
  return null;
}

function isScriptName(path: string): boolean {
  return /\.(sbatch|slurm|sh|job)$/.test(path);
}

/** `run.sbatch` at the top, else the shallowest script with `#SBATCH` lines or a .sbatch name. */
function findScript(texts: Map<string, string>): string | null {
  if (texts.has('run.sbatch')) return 'run.sbatch';
  const scripts = [...texts].filter(([p, t]) => isScriptName(p) && (p.endsWith('.sbatch') || /^#SBATCH\s/m.test(t)));
  scripts.sort(([a], [b]) => a.split('/').length - b.split('/').length || a.localeCompare(b));
  return scripts[0]?.[0] ?? null;
}

/** MESA's project inlist first (it holds the physics; `inlist` only points to it), then by key count. */
function rankConfigs(configs: ConfigFile[]): ConfigFile[] {
  const score = (c: ConfigFile) => (posix.basename(c.path) === 'inlist_project' ? 1e6 : 0) + (posix.basename(c.path).startsWith('inlist_pgstar') ? -1e5 : 0) + c.keys.length - c.path.split('/').length;
  return [...configs].sort((a, b) => score(b) - score(a));
}

/** Concrete Host names in ~/.ssh/config (patterns with * ? ! are not hosts one can name). */
export function parseSshHosts(text: string): string[] {
  const hosts: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*Host\s+(.+?)\s*$/i.exec(line);
    if (!m) continue;
    for (const h of m[1]!.split(/\s+/)) if (h && !/[*?!]/.test(h) && !hosts.includes(h)) hosts.push(h);
  }
  return hosts;
}

function sshHosts(): string[] {
  try {
    return parseSshHosts(readFileSync(join(process.env.HOME || homedir(), '.ssh', 'config'), 'utf8'));
  } catch {
    return [];
  }
}
