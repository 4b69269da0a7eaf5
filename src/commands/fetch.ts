// rx fetch <file...>: the named files (names or globs) from every run directory of a sweep, with
// one rsync run per sweep (one per parent directory of its run dirs), incremental and resumable.
//
// Layout in DIR (default .rx/fetched/<sweep>/):
//   .mirror/<rundir>/<path>   what rsync keeps in step with the target (same layout on both sides,
//                             so unchanged files are recognised by size+mtime and never resent)
//   <rundir>_<path with / → _>  the RemoteExperiments names: hard links to the mirror files (a
//                             copy when the file system refuses hard links); re-linked when rsync
//                             replaced the mirror file (rsync writes a new file and renames it)
//   .rx-fetched.json          what rx fetched and exposed (which flat names are rx's own, for
//                             rx link); a file rx did not create is never replaced
// With --tree, rsync's destination is DIR itself: <DIR>/<rundir>/<path>.
import { copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeFileSync, type Stats } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, posix, relative, resolve } from 'node:path';
import { filesBelow } from '../files.ts';
import { CommandError, ConfigError, ConnectionError } from '../errors.ts';
import { repoContext } from '../git/repo.ts';
import { acquireLock, Ledger, sweepDir, type PointRecord } from '../ledger/ledger.ts';
import { selectSweeps } from '../remote/jobs.ts';
import { run } from '../proc.ts';
import { PARTIAL_DIR, filterRules, parseItemized, patternRegExp, pullArgs, remoteSource, rsyncExit, validateFetchPattern, type ItemizedEntry } from '../remote/rsync.ts';
import { connectSsh, sshCommandArgs, sshDestination } from '../remote/transport/ssh.ts';
import { resolveSshSettings, type SshSettings } from '../remote/transport/sshconfig.ts';
import type { RemoteSpec } from '../remote/target.ts';
import { makeOut, type Out } from '../ui.ts';

export interface FetchOptions {
  cwd: string;
  /** File names or globs relative to each run directory (rsync wildcard semantics). */
  files: string[];
  /** Only this sweep (default: every sweep in the ledger). */
  sweep?: string;
  /** Destination directory, relative to cwd (default: .rx/fetched/<sweep>/ in the repository). */
  to?: string;
  /** Keep <DIR>/<rundir>/<path> instead of the flat <DIR>/<rundir>_<file> names. */
  tree?: boolean;
  json?: boolean;
  out?: Out;
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

// ---------------------------------------------------------------------------------------------
// Names

/** Longest file name most file systems take, in bytes. */
const NAME_MAX = 255;

function keepBytesFromStart(s: string, n: number): string {
  let out = '';
  for (const ch of s) {
    if (Buffer.byteLength(out + ch) > n) break;
    out += ch;
  }
  return out;
}

function keepBytesFromEnd(s: string, n: number): string {
  const chars = Array.from(s);
  let out = '';
  for (let i = chars.length - 1; i >= 0; i--) {
    if (Buffer.byteLength(chars[i] + out) > n) break;
    out = chars[i] + out;
  }
  return out;
}

/**
 * prefix + suffix as one file name of at most 255 bytes: when too long, the prefix is cut and a
 * hash of the whole name is put in its place (`…~<10 hex>`), so distinct names stay distinct and
 * the end (the file's own name and extension) stays readable.
 */
export function fitName(prefix: string, suffix: string, max = NAME_MAX): string {
  const full = prefix + suffix;
  if (Buffer.byteLength(full) <= max) return full;
  const tag = '~' + createHash('sha256').update(full).digest('hex').slice(0, 10);
  const suf = Buffer.byteLength(suffix) > max / 2 ? keepBytesFromEnd(suffix, Math.floor(max / 2)) : suffix;
  return keepBytesFromStart(prefix, max - Buffer.byteLength(tag) - Buffer.byteLength(suf)) + tag + suf;
}

/** A path inside a run directory as one name component: `LOGS/profile1.data` → `LOGS_profile1.data`. */
export function flatPath(path: string): string {
  return path.replace(/\//g, '_');
}

/** RemoteExperiments' name for a fetched file: `<rundir>_<file>`. */
export function flatName(rundir: string, path: string): string {
  return fitName(rundir, '_' + flatPath(path));
}

// ---------------------------------------------------------------------------------------------
// The manifest in DIR

export const FETCH_MANIFEST = '.rx-fetched.json';
export const MIRROR = '.mirror';

export interface FetchManifest {
  version: 1;
  runs: Record<string, { sweep: string; key: string; files: Record<string, { flat?: string; copy?: boolean; tree?: boolean }> }>;
}

export function readFetchManifest(dir: string): FetchManifest | null {
  const f = join(dir, FETCH_MANIFEST);
  if (!existsSync(f)) return null;
  try {
    const m = JSON.parse(readFileSync(f, 'utf8')) as FetchManifest;
    if (m && m.version === 1 && typeof m.runs === 'object') return m;
  } catch {
    // fall through
  }
  throw new ConfigError(`${f} is damaged`, { hint: 'Remove it and fetch again (rx then re-creates the flat names it can prove are its own).' });
}

export function writeJsonAtomic(file: string, value: unknown): boolean {
  const text = JSON.stringify(value, null, 1) + '\n';
  if (existsSync(file) && readFileSync(file, 'utf8') === text) return false;
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
  return true;
}

// ---------------------------------------------------------------------------------------------

function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

const sameFile = (a: Stats, b: Stats) => a.ino === b.ino && a.dev === b.dev;
const sameContentStamp = (a: Stats, b: Stats) => a.size === b.size && Math.abs(a.mtimeMs - b.mtimeMs) < 1;

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

interface Group {
  parent: string;
  points: PointRecord[];
}

const SSH_TROUBLE = /Permission denied \(|Connection refused|Could not resolve hostname|Connection timed out|No route to host|Connection closed by|kex_exchange_identification|Too many authentication failures|Host key verification failed/;

async function rsyncPull(args: { source: string; dest: string; rules: string[]; settings?: SshSettings; remote?: RemoteSpec; onLine: (l: string) => void; warnings: string[]; commands: string[][]; where: string }): Promise<ItemizedEntry[]> {
  const argv = ['rsync', ...pullArgs({ source: args.source, dest: args.dest, ...(args.settings ? { ssh: sshCommandArgs(args.settings) } : {}) })];
  const input = args.rules.join('\n') + '\n';
  for (let attempt = 0; ; attempt++) {
    args.commands.push(argv);
    let r;
    try {
      r = await run(argv, { input, allowFailure: true, onLine: args.onLine, where: args.where });
    } catch (e) {
      if (e instanceof CommandError && e.exitCode_ === null) throw new ConfigError(`rx fetch needs rsync on this machine: ${e.stderr}`, { hint: 'Install rsync (e.g. apt-get install rsync); the cluster needs it too.' });
      throw e;
    }
    const kind = rsyncExit(r.exitCode);
    if (kind === 'ok') return parseItemized(r.stdout);
    const tail = r.stderr.trim().split('\n').slice(-6).join('\n');
    if (kind === 'vanished') {
      args.warnings.push(`${args.where}: some files vanished while rsync ran (a job is still writing?); fetch again later`);
      return parseItemized(r.stdout);
    }
    if (kind === 'partial') {
      if (/change_dir .* failed: No such file or directory/.test(r.stderr)) args.warnings.push(`${args.where}: ${args.source} does not exist (yet): no run directory there has been created`);
      else args.warnings.push(`${args.where}: some files were not transferred:\n${tail}`);
      return parseItemized(r.stdout);
    }
    if (args.settings && SSH_TROUBLE.test(r.stderr)) {
      if (attempt === 0 && /Host key verification failed/.test(r.stderr) && args.remote) {
        // rx's own ssh client explains an unknown/changed key (or records it with accept-new);
        // then OpenSSH under rsync finds it in the same known_hosts.
        const t = await connectSsh({ ...args.remote, settings: args.settings });
        await t.close();
        continue;
      }
      throw new ConnectionError(`${args.where}: rsync could not reach ${args.settings.alias} over ssh:\n${tail}`, { hint: `The ssh command rsync runs: ${sshCommandArgs(args.settings).join(' ')} ${sshDestination(args.settings)}` });
    }
    throw new CommandError(argv, r.exitCode, r.stderr, r.stdout, r.durationMs, { where: args.where, hint: r.exitCode === 127 || /command not found|rsync: not found/.test(r.stderr) ? 'Is rsync installed on the target?' : undefined });
  }
}

export async function fetch(opts: FetchOptions): Promise<FetchResult> {
  const t0 = performance.now();
  const out = opts.out ?? makeOut({ json: opts.json });
  const ctx = await repoContext(opts.cwd);
  if (!opts.files?.length) throw new ConfigError('rx fetch: name at least one file, e.g. rx fetch history.data', { hint: "Names or globs relative to each run directory: history.data 'LOGS/profile*.data' 'slurm-*.out'." });
  const patterns = [...new Set(opts.files.map(f => validateFetchPattern(f, 'rx fetch')))];
  const regexps = patterns.map(p => [p, patternRegExp(p)] as const);
  const names = selectSweeps(ctx, opts.sweep);
  const result: FetchResult = { sweeps: [], files: [], missing: [], warnings: [], fetched: 0, unchanged: 0, bytes: 0, rsyncRuns: 0, commands: [], durationMs: 0 };

  for (const name of names) {
    const ts = performance.now();
    const ledger = new Ledger(sweepDir(ctx.rxDir, name), name);
    const state = ledger.state();
    ledger.close();
    if (!state.sweep) {
      result.warnings.push(`sweep '${name}': the ledger has no sweep definition yet; skipped`);
      continue;
    }
    const remote = state.sweep.remote as RemoteSpec;
    const points = [...state.points.values()];
    const withDir = points.filter(p => p.dir);
    const dest = opts.to !== undefined ? resolve(opts.cwd, opts.to) : join(ctx.rxDir, 'fetched', name);
    const root = opts.tree ? dest : join(dest, MIRROR);
    const sr: FetchSweepResult = { sweep: name, dest, runs: withDir.length, withoutDir: points.length - withDir.length, rsyncRuns: 0, fetched: 0, unchanged: 0, missing: 0, bytes: 0, durationMs: 0 };
    result.sweeps.push(sr);
    if (!withDir.length) {
      sr.durationMs = performance.now() - ts;
      continue;
    }
    mkdirSync(root, { recursive: true });
    const release = acquireLock(join(dest, MIRROR), `fetch directory ${dest}`);
    try {
      if (opts.tree) refuseForeignFiles(root, withDir, readFetchManifest(dest), opts.cwd);
      // One rsync per parent directory of the run dirs (normally exactly one: remote.output).
      const groups = new Map<string, Group>();
      const byRundir = new Map<string, PointRecord>();
      for (const p of withDir) {
        const parent = posix.dirname(p.dir!);
        const rundir = posix.basename(p.dir!);
        byRundir.set(rundir, p);
        if (!groups.has(parent)) groups.set(parent, { parent, points: [] });
        groups.get(parent)!.points.push(p);
      }
      const local = remote.host === 'local';
      const settings = local ? undefined : resolveSshSettings({ host: remote.host, port: remote.port, user: remote.user, identityFile: remote.identityFile, strictHostKeyChecking: remote.strictHostKeyChecking });
      const bar = out.progress(`fetch ${name}`, withDir.length);
      const seen = new Set<string>();
      const entries: ItemizedEntry[] = [];
      try {
        for (const g of groups.values()) {
          const rundirs = g.points.map(p => posix.basename(p.dir!));
          const source = local ? g.parent.replace(/\/+$/, '') + '/' : remoteSource(sshDestination(settings!), g.parent);
          const got = await rsyncPull({
            source, dest: root.replace(/\/+$/, '') + '/', rules: filterRules(patterns, rundirs), settings, remote, warnings: result.warnings, commands: result.commands,
            where: `rx fetch (${name})`,
            onLine: line => {
              const m = /^rx:.{11}:[\d,.]+:([^/]+)\//.exec(line);
              if (m && byRundir.has(m[1]!) && !seen.has(m[1]!)) {
                seen.add(m[1]!);
                bar.tick();
              }
            },
          });
          entries.push(...got);
          sr.rsyncRuns++;
        }
      } finally {
        bar.stop();
      }

      // What is on the target now, per run directory.
      const manifest = readFetchManifest(dest) ?? { version: 1, runs: {} };
      const ours = new Set<string>();
      for (const r of Object.values(manifest.runs)) for (const f of Object.values(r.files)) if (f.flat) ours.add(f.flat);
      const present = new Map<string, ItemizedEntry[]>();
      for (const e of entries) {
        if (e.type !== 'file') continue;
        const i = e.path.indexOf('/');
        if (i < 0) continue;
        const rundir = e.path.slice(0, i);
        const p = byRundir.get(rundir);
        if (!p) continue;
        if (!present.has(rundir)) present.set(rundir, []);
        present.get(rundir)!.push(e);
      }
      for (const [rundir, files] of present) {
        const p = byRundir.get(rundir)!;
        const mrun = (manifest.runs[rundir] ??= { sweep: name, key: p.key, files: {} });
        for (const e of files) {
          try {
            exposeOne(e);
          } catch (err) {
            // e.g. a name that is not UTF-8 (rsync prints it, Node cannot name it back): say so, go on.
            result.warnings.push(`cannot take ${rundir}/${e.path.slice(rundir.length + 1)}: ${(err as Error).message}`);
          }
        }
        function exposeOne(e: ItemizedEntry): void {
          const rel = e.path.slice(rundir.length + 1);
          const mirrorPath = join(root, rundir, rel);
          const entry = (mrun.files[rel] ??= {});
          let localPath = mirrorPath;
          if (opts.tree) {
            entry.tree = true;
          } else {
            const flat = flatName(rundir, rel);
            const flatFull = join(dest, flat);
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
              result.warnings.push(`not touching ${relative(opts.cwd, flatFull) || flatFull}: ${why} (the file is in ${relative(opts.cwd, mirrorPath)})`);
              delete entry.flat;
              localPath = mirrorPath;
            }
            if (entry.flat) localPath = flatFull;
          }
          const status = e.change === 'received' ? 'fetched' : 'unchanged';
          result.files.push({ sweep: name, key: p.key, rundir, path: rel, local: localPath, size: e.size, status });
          if (status === 'fetched') {
            sr.fetched++;
            sr.bytes += e.size;
          } else sr.unchanged++;
        }
      }
      writeJsonAtomic(join(dest, FETCH_MANIFEST), manifest);

      // Missing: run dir × pattern with no match on the target.
      for (const p of withDir) {
        const rundir = posix.basename(p.dir!);
        const rels = (present.get(rundir) ?? []).map(e => e.path.slice(rundir.length + 1));
        for (const [pat, re] of regexps) {
          if (!rels.some(r => re.test(r))) {
            result.missing.push({ sweep: name, key: p.key, rundir, dir: p.dir!, pattern: pat });
            sr.missing++;
          }
        }
      }
    } finally {
      release();
    }
    sr.durationMs = performance.now() - ts;
    result.fetched += sr.fetched;
    result.unchanged += sr.unchanged;
    result.bytes += sr.bytes;
    result.rsyncRuns += sr.rsyncRuns;
  }
  result.durationMs = performance.now() - t0;

  if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else printFetch(result, opts, out);
  for (const w of result.warnings) out.warn(`rx: ${w}`);
  return result;
}

function bytesText(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

const SHOW = 10;

function printFetch(r: FetchResult, opts: FetchOptions, out: Out): void {
  if (!r.sweeps.length) {
    out.info('no experiments yet: rx submit --sweep sweep.ts');
    return;
  }
  const rel = (p: string) => relative(opts.cwd, p) || '.';
  for (const s of r.sweeps) {
    out.info(`${out.color.bold(s.sweep)}: ${s.runs} run dir${s.runs === 1 ? '' : 's'} → ${rel(s.dest)}/  (${s.rsyncRuns} rsync run${s.rsyncRuns === 1 ? '' : 's'}, ${(s.durationMs / 1000).toFixed(2)} s)`);
    out.info(`  ${out.color.green(`fetched ${s.fetched}`)} (${bytesText(s.bytes)})  unchanged ${s.unchanged}  ${s.missing ? out.color.yellow(`missing ${s.missing}`) : 'missing 0'}${s.withoutDir ? `  (${s.withoutDir} point${s.withoutDir === 1 ? '' : 's'} without a run directory yet)` : ''}`);
    const fetched = r.files.filter(f => f.sweep === s.sweep && f.status === 'fetched');
    for (const f of fetched.slice(0, SHOW)) out.info(`  ${out.color.green('+')} ${rel(f.local)}`);
    if (fetched.length > SHOW) out.info(out.color.dim(`  … and ${fetched.length - SHOW} more fetched (--json lists all)`));
    const missing = r.missing.filter(m => m.sweep === s.sweep);
    for (const m of missing.slice(0, SHOW)) out.info(`  ${out.color.yellow('?')} ${m.pattern}  not in ${m.rundir} (point ${m.key})`);
    if (missing.length > SHOW) out.info(out.color.dim(`  … and ${missing.length - SHOW} more missing (--json lists all)`));
  }
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
