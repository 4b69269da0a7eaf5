// Fetching the named files (names or globs) from every run directory of a sweep, with one rsync
// run per sweep (one per parent directory of its run dirs), incremental and resumable, into the
// layout described in ./mirror.ts. `rx fetch` prints what this returns; `rx dataset` fetches its
// parse entries' files with it.
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, unlinkSync, utimesSync, type Stats } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, relative, resolve } from 'node:path';
import { filesBelow } from '../files.ts';
import { CommandError, ConfigError, ConnectionError, RxError } from '../errors.ts';
import type { RepoContext } from '../git/repo.ts';
import { sweepState, type PointRecord } from '../ledger/ledger.ts';
import { acquireLock } from '../ledger/lock.ts';
import { selectSweeps } from '../ledger/sweeps.ts';
import { run } from '../proc.ts';
import { DEFAULT_TIMEOUT_SEC, PARTIAL_DIR, filterRules, parseItemized, parseSize, parseSkipped, patternRegExp, pullArgs, remoteSource, rsyncExit, validateFetchPattern, type ItemizedEntry, type SkippedEntry } from '../remote/rsync.ts';
import { rsyncShell, type RemoteSpec, type RsyncShell } from '../remote/target.ts';
import type { Progress } from '../ui.ts';
import { FETCH_MANIFEST, MIRROR, defaultFetchDir, flatName, lstatOrNull, readFetchManifest, tmpPath, writeJsonAtomic, type FetchManifest } from './mirror.ts';

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
  /**
   * Copy what symlinks in run directories point to. Default: a symlink is neither followed nor
   * copied (no link loops, no walks into shared trees); those a pattern matched are reported.
   */
  followLinks?: boolean;
  /** Skip (and report) files larger than this: bytes, or a size like `500M`, `1G` (rsync --max-size). */
  maxSize?: number | string;
  /** rsync gives up after this many seconds without any data moving (default 300; 0: never). */
  timeoutSec?: number;
  /** Lines telling the user that a transfer is slow or stalled (rsync reported nothing for a while). */
  notice?: (line: string) => void;
  /** After how many quiet seconds the first such notice comes (default 30; then 2×, 4×, … as long). */
  stallNoticeSec?: number;
  /**
   * Where a pattern matched nothing in some run directory, look for it deeper (the pattern at any
   * depth, one listing rsync per sweep) and suggest what was found (`rx fetch`; not `rx dataset`).
   */
  hints?: boolean;
}

/** A pattern that matched nothing in some run directories, and what the same pattern at any depth finds there. */
export interface FetchHint {
  sweep: string;
  pattern: string;
  /** The path (inside the run directory) found most often. */
  suggestion: string;
  /** In how many of the run directories that lacked `pattern` it was found. */
  runDirs: number;
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

/** A file a pattern matched that was not fetched: a symlink (not followed) or special file, or too big. */
export interface SkippedFile {
  sweep: string;
  key: string;
  rundir: string;
  /** Path inside the run directory. */
  path: string;
  /** not-regular: a symlink (not followed without --follow-links) or a device, fifo or socket; too-big: over --max-size. */
  reason: 'not-regular' | 'too-big';
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
  skipped: number;
  bytes: number;
  durationMs: number;
}

export interface FetchResult {
  sweeps: FetchSweepResult[];
  files: FetchedFile[];
  missing: MissingFile[];
  skipped: SkippedFile[];
  warnings: string[];
  fetched: number;
  unchanged: number;
  bytes: number;
  rsyncRuns: number;
  /** The rsync argv of every run, for the record. */
  commands: string[][];
  /** Suggestions for patterns that matched nothing in some run directories (with `hints`). */
  hints: FetchHint[];
  /** Patterns that matched nothing in any run directory of any sweep fetched from. */
  unmatched: string[];
  durationMs: number;
}

/** Fetches `req.files` for every selected sweep. Problems that do not stop it are in `warnings`. */
export async function fetchFiles(ctx: RepoContext, req: FetchRequest): Promise<FetchResult> {
  const t0 = performance.now();
  if (!req.files?.length) throw new ConfigError('name at least one file, e.g. rx fetch history.data', { hint: "Names or globs relative to each run directory: history.data 'LOGS/profile*.data' 'slurm-*.out'." });
  const patterns = [...new Set(req.files.map(f => validateFetchPattern(f, 'file pattern')))];
  const opts = transferOptions(req);
  const result: FetchResult = { sweeps: [], files: [], missing: [], skipped: [], warnings: [], fetched: 0, unchanged: 0, bytes: 0, rsyncRuns: 0, commands: [], hints: [], unmatched: [], durationMs: 0 };
  for (const name of selectSweeps(ctx, req.sweep)) {
    const sr = await fetchSweep(ctx, name, patterns, opts, req, result);
    if (!sr) continue;
    result.fetched += sr.fetched;
    result.unchanged += sr.unchanged;
    result.bytes += sr.bytes;
    result.rsyncRuns += sr.rsyncRuns;
  }
  result.unmatched = unmatchedPatterns(patterns, result);
  result.durationMs = performance.now() - t0;
  return result;
}

/** How each rsync runs: the request's options, checked. */
interface TransferOptions {
  followLinks: boolean;
  maxSize?: number;
  timeoutSec: number;
  stallNoticeMs: number;
  notice?: (line: string) => void;
}

function transferOptions(req: FetchRequest): TransferOptions {
  const maxSize = req.maxSize === undefined ? undefined : typeof req.maxSize === 'number' ? req.maxSize : parseSize(req.maxSize);
  if (maxSize !== undefined && (!Number.isSafeInteger(maxSize) || maxSize < 0)) throw new ConfigError(`--max-size: ${maxSize} is not a number of bytes`);
  const timeoutSec = req.timeoutSec ?? DEFAULT_TIMEOUT_SEC;
  if (!Number.isSafeInteger(timeoutSec) || timeoutSec < 0) throw new ConfigError(`--timeout: ${req.timeoutSec} is not a whole number of seconds`, { hint: `e.g. --timeout 600; 0 waits for ever (default ${DEFAULT_TIMEOUT_SEC}).` });
  const stall = req.stallNoticeSec ?? 30;
  return { followLinks: Boolean(req.followLinks), ...(maxSize !== undefined ? { maxSize } : {}), timeoutSec, stallNoticeMs: stall * 1000, ...(req.notice ? { notice: req.notice } : {}) };
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
  opts: TransferOptions;
  /** The points that have a run directory. */
  points: PointRecord[];
  /** Run directory name → its point. */
  byRundir: Map<string, PointRecord>;
  sr: FetchSweepResult;
  result: FetchResult;
}

async function fetchSweep(ctx: RepoContext, name: string, patterns: string[], opts: TransferOptions, req: FetchRequest, result: FetchResult): Promise<FetchSweepResult | null> {
  const ts = performance.now();
  const state = sweepState(ctx.rxDir, name);
  if (!state.sweep) {
    result.warnings.push(`sweep '${name}': the ledger has no sweep definition yet; skipped`);
    return null;
  }
  const points = [...state.points.values()];
  // A run directory rx clean removed (or is removing) has nothing left to fetch: said once, not an rsync error.
  const withDir = points.filter(p => p.dir && !p.dirRemoved && !p.dirRemoving);
  const cleaned = points.filter(p => p.dir).length - withDir.length;
  if (cleaned) result.warnings.push(`sweep '${name}': ${cleaned} run director${cleaned === 1 ? 'y was' : 'ies were'} removed by rx clean; nothing fetched from ${cleaned === 1 ? 'it' : 'them'}`);
  const dest = req.to !== undefined ? resolve(req.cwd, req.to) : defaultFetchDir(ctx.rxDir, name);
  const root = req.tree ? dest : join(dest, MIRROR);
  const sr: FetchSweepResult = { sweep: name, dest, runs: withDir.length, withoutDir: points.length - withDir.length, rsyncRuns: 0, fetched: 0, unchanged: 0, missing: 0, skipped: 0, bytes: 0, durationMs: 0 };
  result.sweeps.push(sr);
  if (withDir.length) {
    const f: SweepFetch = { name, dest, root, tree: Boolean(req.tree), cwd: req.cwd, patterns, opts, points: withDir, byRundir: new Map(withDir.map(p => [posix.basename(p.dir!), p])), sr, result };
    mkdirSync(root, { recursive: true });
    // Two fetches into one directory would fight over the mirror and the manifest.
    const release = acquireLock(join(dest, MIRROR), `fetch directory ${dest}`);
    try {
      if (f.tree) refuseForeignFiles(root, withDir, readFetchManifest(dest), req.cwd);
      const { entries, skipped } = await pullAll(f, state.sweep.remote, req.progress);
      const present = filesByRundir(f, entries);
      exposeAll(f, present);
      const notTaken = reportSkipped(f, skipped);
      reportMissing(f, present, notTaken);
      if (req.hints) await findHints(f, state.sweep.remote).catch(e => {
        // A hint is a courtesy: when the deeper look fails, the fetch itself still stands.
        if (!(e instanceof RxError)) throw e;
        result.warnings.push(`fetch (${name}): could not look for the missing names deeper: ${e.message.split('\n')[0]}`);
      });
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
async function pullAll(f: SweepFetch, remote: RemoteSpec, progress: FetchRequest['progress']): Promise<{ entries: ItemizedEntry[]; skipped: SkippedEntry[] }> {
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
  const skipped: SkippedEntry[] = [];
  try {
    for (const [parent, rundirs] of groups) {
      const source = shell ? remoteSource(shell.destination, parent) : parent.replace(/\/+$/, '') + '/';
      const got = await rsyncPull({ source, dest: f.root.replace(/\/+$/, '') + '/', rules: filterRules(f.patterns, rundirs), shell, onLine, opts: f.opts, result: f.result, where: `fetch (${f.name})` });
      entries.push(...got.entries);
      skipped.push(...got.skipped);
      f.sr.rsyncRuns++;
    }
  } finally {
    bar?.stop();
  }
  return { entries, skipped };
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

/**
 * Skipped: what a pattern matched but rsync did not take (a symlink, not followed; a special file;
 * a file over --max-size) — listed in the result and summed up in a warning per reason. Returns
 * the skipped paths per run directory (they are not "missing").
 */
function reportSkipped(f: SweepFetch, skipped: SkippedEntry[]): Map<string, string[]> {
  const byRundir = new Map<string, string[]>();
  const examples: Record<SkippedEntry['reason'], string[]> = { 'not-regular': [], 'too-big': [] };
  for (const s of skipped) {
    const i = s.path.indexOf('/');
    if (i < 0) continue;
    const rundir = s.path.slice(0, i);
    const p = f.byRundir.get(rundir);
    if (!p) continue;
    const rel = s.path.slice(i + 1);
    f.result.skipped.push({ sweep: f.name, key: p.key, rundir, path: rel, reason: s.reason });
    f.sr.skipped++;
    examples[s.reason].push(s.path);
    byRundir.set(rundir, [...(byRundir.get(rundir) ?? []), rel]);
  }
  const some = (xs: string[]) => xs.slice(0, 3).join(', ') + (xs.length > 3 ? `, … (${xs.length - 3} more; --json lists all)` : '');
  const links = examples['not-regular'];
  if (links.length) f.result.warnings.push(`fetch (${f.name}): ${links.length} matching symlink${links.length === 1 ? '' : 's'} (or special files) not followed: ${some(links)}. Name what a link points to, or use --follow-links.`);
  const big = examples['too-big'];
  if (big.length) f.result.warnings.push(`fetch (${f.name}): ${big.length} file${big.length === 1 ? '' : 's'} larger than --max-size ${f.opts.maxSize} bytes not fetched: ${some(big)}`);
  return byRundir;
}

/** Missing: run dir × pattern with no match on the target (a run that has not produced it yet). */
function reportMissing(f: SweepFetch, present: Map<string, ItemizedEntry[]>, notTaken: Map<string, string[]>): void {
  const regexps = f.patterns.map(p => [p, patternRegExp(p)] as const);
  for (const p of f.points) {
    const rundir = posix.basename(p.dir!);
    const rels = [...(present.get(rundir) ?? []).map(e => e.path.slice(rundir.length + 1)), ...(notTaken.get(rundir) ?? [])];
    for (const [pat, re] of regexps) {
      if (!rels.some(r => re.test(r))) {
        f.result.missing.push({ sweep: f.name, key: p.key, rundir, dir: p.dir!, pattern: pat });
        f.sr.missing++;
      }
    }
  }
}

/** Patterns nothing matched in any run directory (there were run directories to look in). */
function unmatchedPatterns(patterns: string[], result: FetchResult): string[] {
  if (!result.sweeps.some(s => s.runs > 0)) return [];
  const found = [...result.files.map(f => f.path), ...result.skipped.map(f => f.path)];
  return patterns.filter(p => {
    const re = patternRegExp(p);
    return !found.some(x => re.test(x));
  });
}

/**
 * For every pattern some run directories lacked: one listing rsync (a dry run into an empty
 * directory, so nothing is copied) looks for the pattern at any depth (`**` before it) in those run directories, and the
 * path found in most of them becomes the hint (`did you mean LOGS/history.data?`).
 */
async function findHints(f: SweepFetch, remote: RemoteSpec): Promise<void> {
  const missing = f.result.missing.filter(m => m.sweep === f.name && !m.pattern.startsWith('**/'));
  if (!missing.length) return;
  const patterns = [...new Set(missing.map(m => m.pattern))];
  const rundirs = [...new Set(missing.map(m => m.rundir))];
  const parents = [...new Set(missing.map(m => posix.dirname(m.dir)))];
  const shell = await rsyncShell(remote);
  const scratch = mkdtempSync(join(tmpdir(), 'rx-fetch-hints-'));
  const entries: ItemizedEntry[] = [];
  try {
    for (const parent of parents) {
      const source = shell ? remoteSource(shell.destination, parent) : parent.replace(/\/+$/, '') + '/';
      const rules = filterRules(patterns.map(p => `**/${p}`), rundirs);
      // Its argv and warnings stay out of the result: `commands` and `rsyncRuns` are the fetch's own.
      const aside: FetchResult = { ...f.result, commands: [], warnings: [] };
      const got = await rsyncPull({ source, dest: scratch + '/', rules, shell, onLine: () => {}, opts: f.opts, result: aside, where: `fetch (${f.name}, looking deeper)`, dryRun: true });
      entries.push(...got.entries);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  for (const p of patterns) {
    const lacking = new Set(missing.filter(m => m.pattern === p).map(m => m.rundir));
    const hint = bestHint(p, entries, lacking);
    if (hint) f.result.hints.push({ sweep: f.name, pattern: p, ...hint });
  }
}

/** Pure: the path matching the pattern at any depth found in the most run directories that lacked `pattern`. */
export function bestHint(pattern: string, entries: readonly ItemizedEntry[], lacking: ReadonlySet<string>): { suggestion: string; runDirs: number } | null {
  const re = patternRegExp(`**/${pattern}`);
  const dirsByPath = new Map<string, Set<string>>();
  for (const e of entries) {
    if (e.type !== 'file') continue;
    const i = e.path.indexOf('/');
    const rundir = e.path.slice(0, i);
    const rel = e.path.slice(i + 1);
    if (i < 0 || !lacking.has(rundir) || !re.test(rel)) continue;
    if (!dirsByPath.has(rel)) dirsByPath.set(rel, new Set());
    dirsByPath.get(rel)!.add(rundir);
  }
  const best = [...dirsByPath].sort(([a, x], [b, y]) => y.size - x.size || a.localeCompare(b))[0];
  return best ? { suggestion: best[0], runDirs: best[1].size } : null;
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
  // The flat name rx gave this file before, when the naming rule has changed since (e.g. names of
  // 241-255 bytes, which now get a hash): removed once the new name is there.
  const previous = entry.flat !== undefined && entry.flat !== flat && ours.has(entry.flat) ? entry.flat : null;
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
  if (previous) {
    ours.delete(previous);
    if (lstatOrNull(join(f.dest, previous))?.isFile()) unlinkSync(join(f.dest, previous));
  }
  return flatFull;
}

/** Hard link `src` to `dst` (replacing dst atomically); a copy with the same mtime where hard links are refused. */
function exposeFile(src: string, dst: string, st: Stats): { copy: boolean } {
  const tmp = tmpPath(dst); // fits: flat names leave room for the temp suffix
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
  opts: TransferOptions;
  result: FetchResult;
  where: string;
  /** List what would be copied, copy nothing (rsync --dry-run). */
  dryRun?: boolean;
}

const SSH_TROUBLE = /Permission denied \(|Connection refused|Could not resolve hostname|Connection timed out|No route to host|Connection closed by|kex_exchange_identification|Too many authentication failures|Host key verification failed/;

/**
 * Runs rsync once (filter rules on stdin) and returns what it itemized and what it skipped. Exit
 * codes that mean "some files" (vanished, partial) are warnings, not failures: the rest was
 * fetched. A time-out (no data moved for --timeout seconds) is an error that says so. An unknown
 * host key is retried once after rx's own client has checked (or recorded) it.
 */
async function rsyncPull(pull: Pull): Promise<{ entries: ItemizedEntry[]; skipped: SkippedEntry[] }> {
  const { followLinks, maxSize, timeoutSec } = pull.opts;
  const argv = ['rsync', ...(pull.dryRun ? ['--dry-run'] : []), ...pullArgs({ source: pull.source, dest: pull.dest, ...(pull.shell ? { ssh: pull.shell.ssh } : {}), followLinks, ...(maxSize !== undefined ? { maxSize } : {}), timeoutSec })];
  const parsed = (stdout: string) => ({ entries: parseItemized(stdout), skipped: parseSkipped(stdout) });
  for (let attempt = 0; ; attempt++) {
    pull.result.commands.push(argv);
    const r = await runRsync(argv, pull);
    const kind = rsyncExit(r.exitCode);
    if (kind === 'ok') return parsed(r.stdout);
    if (kind === 'vanished' || kind === 'partial') {
      pull.result.warnings.push(partialWarning(kind, r.stderr, pull));
      return parsed(r.stdout);
    }
    if (kind === 'timeout') throw timeoutError(r.exitCode!, r.stderr, pull);
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

/** rsync exit 30 (no data moved for --timeout seconds) or 35 (the same while connecting). */
function timeoutError(code: number, stderr: string, pull: Pull): RxError {
  const what = code === 35 ? 'timeout waiting for daemon connection' : 'timeout in data send/receive';
  const where = pull.shell ? `the connection to ${pull.shell.alias} or a file system there stalled` : 'a file system stalled';
  const msg = `${pull.where}: rsync gave up: no data moved for ${pull.opts.timeoutSec} s (rsync exit code ${code}: ${what}); ${where}. What arrived is kept: run the same rx fetch again to resume.\n${stderrTail(stderr)}`;
  const hint = `--timeout <seconds> waits longer (0: no time-out; default ${DEFAULT_TIMEOUT_SEC}).`;
  return pull.shell ? new ConnectionError(msg, { hint }) : new RxError(msg, { hint });
}

/**
 * While rsync runs: when it has printed nothing (no file listed) for stallNoticeMs, a notice says
 * so — a large file on its way, or a stall — and again after twice as long, and so on; a stuck
 * transfer is visible, never a silent hang (and --timeout ends it).
 */
function watchStall(pull: Pull): { touch(): void; stop(): void } {
  const { notice, stallNoticeMs, timeoutSec } = pull.opts;
  if (!notice || stallNoticeMs <= 0) return { touch() {}, stop() {} };
  let last = performance.now();
  let next = stallNoticeMs;
  const end = timeoutSec > 0 ? `rsync gives up after ${timeoutSec} s without any data moving (--timeout)` : 'no time-out is set (--timeout 0): Ctrl-C stops it, and the next rx fetch resumes';
  const timer = setInterval(() => {
    const quiet = performance.now() - last;
    if (quiet < next) return;
    next *= 2;
    notice(`${pull.where}: rsync has listed no file for ${duration(quiet)}: a large file on its way, or the transfer stalled; ${end}`);
  }, Math.max(50, Math.min(1000, stallNoticeMs / 4)));
  timer.unref();
  return {
    touch: () => {
      last = performance.now();
      next = stallNoticeMs;
    },
    stop: () => clearInterval(timer),
  };
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** Spawns rsync; rsync missing on this machine is a configuration problem, said as such. */
async function runRsync(argv: string[], pull: Pull) {
  try {
    const stall = watchStall(pull);
    const onLine = (l: string) => {
      stall.touch();
      pull.onLine(l);
    };
    try {
      return await run(argv, { input: pull.rules.join('\n') + '\n', allowFailure: true, onLine, where: pull.where });
    } finally {
      stall.stop();
    }
  } catch (e) {
    if (e instanceof CommandError && e.exitCode_ === null) throw new ConfigError(`fetching needs rsync on this machine: ${e.stderr}`, { hint: 'Install rsync (e.g. apt-get install rsync); the cluster needs it too.' });
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
