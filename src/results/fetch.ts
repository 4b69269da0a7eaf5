// Fetching the named files (names or globs) from every run directory of a sweep, with one rsync
// run per sweep (one per parent directory of its run dirs), incremental and resumable, into the
// layout described in ./mirror.ts. `rx fetch` prints what this returns; `rx dataset` fetches its
// parse entries' files with it.
import { copyFileSync, existsSync, linkSync, mkdirSync, renameSync, statSync, unlinkSync, utimesSync, type Stats } from 'node:fs';
import { join, posix, relative, resolve } from 'node:path';
import { filesBelow } from '../files.ts';
import { CommandError, ConfigError, ConnectionError } from '../errors.ts';
import type { RepoContext } from '../git/repo.ts';
import { Ledger, sweepDir, type PointRecord } from '../ledger/ledger.ts';
import { acquireLock } from '../ledger/lock.ts';
import { selectSweeps } from '../ledger/sweeps.ts';
import { run } from '../proc.ts';
import { PARTIAL_DIR, filterRules, parseItemized, patternRegExp, pullArgs, remoteSource, rsyncExit, validateFetchPattern, type ItemizedEntry } from '../remote/rsync.ts';
import { rsyncShell, type RemoteSpec, type RsyncShell } from '../remote/target.ts';
import type { Progress } from '../ui.ts';
import { FETCH_MANIFEST, MIRROR, defaultFetchDir, flatName, lstatOrNull, readFetchManifest, writeJsonAtomic, type FetchManifest } from './mirror.ts';

export interface FetchRequest {
  /** Where relative `to` is resolved from and paths in messages are relative to. */
  cwd: string;
  /** File names or globs relative to each run directory (rsync wildcard semantics). */
  files: string[];
  /** Only this sweep (default: every sweep in the ledger). */
  sweep?: string;
  /** Destination directory, relative to cwd (default: .rx/fetched/<sweep>/ in the repository). */
  to?: string;
  /** Keep <DIR>/<rundir>/<path> instead of the flat <DIR>/<rundir>_<file> names. */
  tree?: boolean;
  /** A progress bar per sweep (ticks once per run directory seen). */
  progress?: (label: string, total: number) => Progress;
}

export interface FetchedFile {
  sweep: string;
  key: string;
  rundir: string;
  /** Path inside the run directory. */
  path: string;
  /** Where it is locally (the flat name, or the tree path with --tree). */
  local: string;
  size: number;
  status: 'fetched' | 'unchanged';
}

export interface MissingFile {
  sweep: string;
  key: string;
  rundir: string;
  /** The run directory on the target. */
  dir: string;
  /** The pattern nothing in this run directory matched (yet). */
  pattern: string;
}

export interface FetchSweepResult {
  sweep: string;
  dest: string;
  runs: number;
  /** Points without a run directory yet (nothing to fetch from). */
  withoutDir: number;
  rsyncRuns: number;
  fetched: number;
  unchanged: number;
  missing: number;
  bytes: number;
  durationMs: number;
}

export interface FetchResult {
  sweeps: FetchSweepResult[];
  files: FetchedFile[];
  missing: MissingFile[];
  warnings: string[];
  fetched: number;
  unchanged: number;
  bytes: number;
  rsyncRuns: number;
  /** The rsync argv of every run, for the record. */
  commands: string[][];
  durationMs: number;
}

/** Fetches `req.files` for every selected sweep. Problems that do not stop it are in `warnings`. */
export async function fetchFiles(ctx: RepoContext, req: FetchRequest): Promise<FetchResult> {
  const t0 = performance.now();
  if (!req.files?.length) throw new ConfigError('rx fetch: name at least one file, e.g. rx fetch history.data', { hint: "Names or globs relative to each run directory: history.data 'LOGS/profile*.data' 'slurm-*.out'." });
  const patterns = [...new Set(req.files.map(f => validateFetchPattern(f, 'rx fetch')))];
  const result: FetchResult = { sweeps: [], files: [], missing: [], warnings: [], fetched: 0, unchanged: 0, bytes: 0, rsyncRuns: 0, commands: [], durationMs: 0 };
  for (const name of selectSweeps(ctx, req.sweep)) {
    const sr = await fetchSweep(ctx, name, patterns, req, result);
    if (!sr) continue;
    result.fetched += sr.fetched;
    result.unchanged += sr.unchanged;
    result.bytes += sr.bytes;
    result.rsyncRuns += sr.rsyncRuns;
  }
  result.durationMs = performance.now() - t0;
  return result;
}

// ---------------------------------------------------------------------------------------------
// One sweep

/** What one sweep's fetch works with; files, missing, warnings and commands go to `result`. */
interface SweepFetch {
  name: string;
  dest: string;
  /** Where rsync writes: DIR/.mirror, or DIR itself with --tree. */
  root: string;
  tree: boolean;
  cwd: string;
  patterns: string[];
  /** The points that have a run directory. */
  points: PointRecord[];
  /** Run directory name → its point. */
  byRundir: Map<string, PointRecord>;
  sr: FetchSweepResult;
  result: FetchResult;
}

async function fetchSweep(ctx: RepoContext, name: string, patterns: string[], req: FetchRequest, result: FetchResult): Promise<FetchSweepResult | null> {
  const ts = performance.now();
  const ledger = new Ledger(sweepDir(ctx.rxDir, name), name);
  const state = ledger.state();
  ledger.close();
  if (!state.sweep) {
    result.warnings.push(`sweep '${name}': the ledger has no sweep definition yet; skipped`);
    return null;
  }
  const points = [...state.points.values()];
  const withDir = points.filter(p => p.dir);
  const dest = req.to !== undefined ? resolve(req.cwd, req.to) : defaultFetchDir(ctx.rxDir, name);
  const root = req.tree ? dest : join(dest, MIRROR);
  const sr: FetchSweepResult = { sweep: name, dest, runs: withDir.length, withoutDir: points.length - withDir.length, rsyncRuns: 0, fetched: 0, unchanged: 0, missing: 0, bytes: 0, durationMs: 0 };
  result.sweeps.push(sr);
  if (withDir.length) {
    const f: SweepFetch = { name, dest, root, tree: Boolean(req.tree), cwd: req.cwd, patterns, points: withDir, byRundir: new Map(withDir.map(p => [posix.basename(p.dir!), p])), sr, result };
    mkdirSync(root, { recursive: true });
    // Two fetches into one directory would fight over the mirror and the manifest.
    const release = acquireLock(join(dest, MIRROR), `fetch directory ${dest}`);
    try {
      if (f.tree) refuseForeignFiles(root, withDir, readFetchManifest(dest), req.cwd);
      const entries = await pullAll(f, state.sweep.remote, req.progress);
      const present = filesByRundir(f, entries);
      exposeAll(f, present);
      reportMissing(f, present);
    } finally {
      release();
    }
  }
  sr.durationMs = performance.now() - ts;
  return sr;
}

/**
 * One rsync per parent directory of the run dirs (normally exactly one: remote.output), so a
 * sweep's thousands of run directories cost one connection and one file list.
 */
async function pullAll(f: SweepFetch, remote: RemoteSpec, progress: FetchRequest['progress']): Promise<ItemizedEntry[]> {
  const groups = new Map<string, string[]>();
  for (const p of f.points) {
    const parent = posix.dirname(p.dir!);
    groups.set(parent, [...(groups.get(parent) ?? []), posix.basename(p.dir!)]);
  }
  const shell = await rsyncShell(remote);
  const bar = progress?.(`fetch ${f.name}`, f.points.length);
  const seen = new Set<string>();
  // rsync lists each run directory's files together: tick when a new run directory shows up.
  const onLine = (line: string) => {
    const m = /^rx:.{11}:[\d,.]+:([^/]+)\//.exec(line);
    if (m && f.byRundir.has(m[1]!) && !seen.has(m[1]!)) {
      seen.add(m[1]!);
      bar?.tick();
    }
  };
  const entries: ItemizedEntry[] = [];
  try {
    for (const [parent, rundirs] of groups) {
      const source = shell ? remoteSource(shell.destination, parent) : parent.replace(/\/+$/, '') + '/';
      entries.push(...(await rsyncPull({ source, dest: f.root.replace(/\/+$/, '') + '/', rules: filterRules(f.patterns, rundirs), shell, onLine, result: f.result, where: `rx fetch (${f.name})` })));
      f.sr.rsyncRuns++;
    }
  } finally {
    bar?.stop();
  }
  return entries;
}

/** The files rsync reported (received or unchanged), per run directory of this sweep. */
function filesByRundir(f: SweepFetch, entries: ItemizedEntry[]): Map<string, ItemizedEntry[]> {
  const present = new Map<string, ItemizedEntry[]>();
  for (const e of entries) {
    if (e.type !== 'file') continue;
    const i = e.path.indexOf('/');
    if (i < 0) continue;
    const rundir = e.path.slice(0, i);
    if (!f.byRundir.has(rundir)) continue;
    if (!present.has(rundir)) present.set(rundir, []);
    present.get(rundir)!.push(e);
  }
  return present;
}

/** Missing: run dir × pattern with no match on the target (a run that has not produced it yet). */
function reportMissing(f: SweepFetch, present: Map<string, ItemizedEntry[]>): void {
  const regexps = f.patterns.map(p => [p, patternRegExp(p)] as const);
  for (const p of f.points) {
    const rundir = posix.basename(p.dir!);
    const rels = (present.get(rundir) ?? []).map(e => e.path.slice(rundir.length + 1));
    for (const [pat, re] of regexps) {
      if (!rels.some(r => re.test(r))) {
        f.result.missing.push({ sweep: f.name, key: p.key, rundir, dir: p.dir!, pattern: pat });
        f.sr.missing++;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Exposing the mirror files under their flat names

const sameFile = (a: Stats, b: Stats) => a.ino === b.ino && a.dev === b.dev;
const sameContentStamp = (a: Stats, b: Stats) => a.size === b.size && Math.abs(a.mtimeMs - b.mtimeMs) < 1;

type ManifestRun = FetchManifest['runs'][string];

/** Records every fetched file in the manifest and (without --tree) gives it its flat name. */
function exposeAll(f: SweepFetch, present: Map<string, ItemizedEntry[]>): void {
  const manifest = readFetchManifest(f.dest) ?? { version: 1, runs: {} };
  // The flat names rx made earlier: only those may be replaced.
  const ours = new Set<string>();
  for (const r of Object.values(manifest.runs)) for (const e of Object.values(r.files)) if (e.flat) ours.add(e.flat);
  for (const [rundir, files] of present) {
    const p = f.byRundir.get(rundir)!;
    const mrun = (manifest.runs[rundir] ??= { sweep: f.name, key: p.key, files: {} });
    for (const e of files) {
      try {
        exposeOne(f, p, rundir, mrun, ours, e);
      } catch (err) {
        // e.g. a name that is not UTF-8 (rsync prints it, Node cannot name it back): say so, go on.
        f.result.warnings.push(`cannot take ${rundir}/${e.path.slice(rundir.length + 1)}: ${(err as Error).message}`);
      }
    }
  }
  writeJsonAtomic(join(f.dest, FETCH_MANIFEST), manifest);
}

function exposeOne(f: SweepFetch, p: PointRecord, rundir: string, mrun: ManifestRun, ours: Set<string>, e: ItemizedEntry): void {
  const rel = e.path.slice(rundir.length + 1);
  const mirrorPath = join(f.root, rundir, rel);
  const entry = (mrun.files[rel] ??= {});
  let localPath = mirrorPath;
  if (f.tree) entry.tree = true;
  else localPath = flatten(f, rundir, rel, mirrorPath, entry, ours) ?? mirrorPath;
  const status = e.change === 'received' ? 'fetched' : 'unchanged';
  f.result.files.push({ sweep: f.name, key: p.key, rundir, path: rel, local: localPath, size: e.size, status });
  if (status === 'fetched') {
    f.sr.fetched++;
    f.sr.bytes += e.size;
  } else f.sr.unchanged++;
}

/**
 * Gives a mirror file its flat name `<rundir>_<path>` (a hard link). rsync replaces a changed
 * mirror file by a new one, so a flat name that is no longer the same inode is re-linked — but only
 * when rx made it; anything else there is left alone with a warning. Returns the flat path, or
 * null when the file keeps only its mirror path.
 */
function flatten(f: SweepFetch, rundir: string, rel: string, mirrorPath: string, entry: ManifestRun['files'][string], ours: Set<string>): string | null {
  const flat = flatName(rundir, rel);
  const flatFull = join(f.dest, flat);
  const mst = statSync(mirrorPath);
  const fst = lstatOrNull(flatFull);
  const mine = ours.has(flat) && entry.flat === flat;
  if (fst && fst.isFile() && (sameFile(fst, mst) || (mine && entry.copy && sameContentStamp(fst, mst)))) {
    entry.flat = flat; // up to date (or adopted: it is a hard link of the mirror file)
  } else if (!fst || (mine && fst.isFile())) {
    const { copy } = exposeFile(mirrorPath, flatFull, mst);
    entry.flat = flat;
    if (copy) entry.copy = true;
    else delete entry.copy;
    ours.add(flat);
  } else {
    const why = ours.has(flat) ? `another fetched file has the same flat name` : `it exists and rx did not create it`;
    f.result.warnings.push(`not touching ${relative(f.cwd, flatFull) || flatFull}: ${why} (the file is in ${relative(f.cwd, mirrorPath)})`);
    delete entry.flat;
    return null;
  }
  return flatFull;
}

/** Hard link `src` to `dst` (replacing dst atomically); a copy with the same mtime where hard links are refused. */
function exposeFile(src: string, dst: string, st: Stats): { copy: boolean } {
  const tmp = `${dst}.rx-tmp-${process.pid}`;
  try { unlinkSync(tmp); } catch { /* none */ }
  let copy = false;
  try {
    linkSync(src, tmp);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (!['EPERM', 'EXDEV', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'ENOSYS'].includes(code ?? '')) throw e;
    copyFileSync(src, tmp);
    utimesSync(tmp, st.atime, st.mtime);
    copy = true;
  }
  renameSync(tmp, dst);
  return { copy };
}

/**
 * With --tree rsync writes straight into <DIR>/<rundir>/: a file there that rx did not fetch (the
 * manifest does not list it) would be overwritten, so the fetch is refused before anything moves.
 */
function refuseForeignFiles(root: string, points: PointRecord[], manifest: FetchManifest | null, cwd: string): void {
  const foreign: string[] = [];
  for (const p of points) {
    const rundir = posix.basename(p.dir!);
    const dir = join(root, rundir);
    if (!existsSync(dir)) continue;
    const known = manifest?.runs[rundir]?.files ?? {};
    for (const f of filesBelow(dir, PARTIAL_DIR)) if (!(f in known)) foreign.push(join(dir, f));
  }
  if (foreign.length) {
    throw new ConfigError(`--tree: ${foreign.length} file(s) in the destination were not fetched by rx and would be overwritten: ${foreign.slice(0, 3).map(f => relative(cwd, f) || f).join(', ')}${foreign.length > 3 ? ', …' : ''}`, { hint: 'Fetch into another --to directory, or move those files away.' });
  }
}

// ---------------------------------------------------------------------------------------------
// One rsync run

interface Pull {
  source: string;
  dest: string;
  rules: string[];
  /** null: a local source. */
  shell: RsyncShell | null;
  onLine: (l: string) => void;
  result: FetchResult;
  where: string;
}

const SSH_TROUBLE = /Permission denied \(|Connection refused|Could not resolve hostname|Connection timed out|No route to host|Connection closed by|kex_exchange_identification|Too many authentication failures|Host key verification failed/;

/**
 * Runs rsync once (filter rules on stdin) and returns what it itemized. Exit codes that mean
 * "some files" (vanished, partial) are warnings, not failures: the rest was fetched. An unknown
 * host key is retried once after rx's own client has checked (or recorded) it.
 */
async function rsyncPull(pull: Pull): Promise<ItemizedEntry[]> {
  const argv = ['rsync', ...pullArgs({ source: pull.source, dest: pull.dest, ...(pull.shell ? { ssh: pull.shell.ssh } : {}) })];
  for (let attempt = 0; ; attempt++) {
    pull.result.commands.push(argv);
    const r = await runRsync(argv, pull);
    const kind = rsyncExit(r.exitCode);
    if (kind === 'ok') return parseItemized(r.stdout);
    if (kind === 'vanished' || kind === 'partial') {
      pull.result.warnings.push(partialWarning(kind, r.stderr, pull));
      return parseItemized(r.stdout);
    }
    if (pull.shell && SSH_TROUBLE.test(r.stderr)) {
      if (attempt === 0 && /Host key verification failed/.test(r.stderr)) {
        await pull.shell.checkHostKey();
        continue;
      }
      throw new ConnectionError(`${pull.where}: rsync could not reach ${pull.shell.alias} over ssh:\n${stderrTail(r.stderr)}`, { hint: `The ssh command rsync runs: ${pull.shell.ssh.join(' ')} ${pull.shell.destination}` });
    }
    throw new CommandError(argv, r.exitCode, r.stderr, r.stdout, r.durationMs, { where: pull.where, hint: r.exitCode === 127 || /command not found|rsync: not found/.test(r.stderr) ? 'Is rsync installed on the target?' : undefined });
  }
}

/** Spawns rsync; rsync missing on this machine is a configuration problem, said as such. */
async function runRsync(argv: string[], pull: Pull) {
  try {
    return await run(argv, { input: pull.rules.join('\n') + '\n', allowFailure: true, onLine: pull.onLine, where: pull.where });
  } catch (e) {
    if (e instanceof CommandError && e.exitCode_ === null) throw new ConfigError(`rx fetch needs rsync on this machine: ${e.stderr}`, { hint: 'Install rsync (e.g. apt-get install rsync); the cluster needs it too.' });
    throw e;
  }
}

const stderrTail = (stderr: string) => stderr.trim().split('\n').slice(-6).join('\n');

function partialWarning(kind: 'vanished' | 'partial', stderr: string, pull: Pull): string {
  if (kind === 'vanished') return `${pull.where}: some files vanished while rsync ran (a job is still writing?); fetch again later`;
  // The parent of the run directories is only created with the first run directory.
  if (/change_dir .* failed: No such file or directory/.test(stderr)) return `${pull.where}: ${pull.source} does not exist (yet): no run directory there has been created`;
  return `${pull.where}: some files were not transferred:\n${stderrTail(stderr)}`;
}
