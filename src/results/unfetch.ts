// The local side of rx clean: the files `rx fetch` put in .rx/fetched/<sweep>/ and the links
// `rx link` made in .rx/links/<sweep>/ for points whose run directory is gone. Only what rx's own
// manifests list as made for those run directories is removed (a file there that rx did not make,
// or a link changed since, stays), and the manifests are rewritten without them.
import { existsSync, readFileSync, readdirSync, readlinkSync, rmdirSync, unlinkSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import type { RepoContext } from '../git/repo.ts';
import type { PointRecord } from '../ledger/ledger.ts';
import { acquireLock } from '../ledger/lock.ts';
import { LINK_MANIFEST } from './link.ts';
import { MIRROR, defaultFetchDir, lstatOrNull, readFetchManifest, writeJsonAtomic, FETCH_MANIFEST } from './mirror.ts';

export interface UnfetchResult {
  /** Fetched files removed (flat names, mirror and --tree copies), absolute paths. */
  files: string[];
  /** Links removed, absolute paths. */
  links: string[];
  /** What was left in place, and why. */
  warnings: string[];
}

/** Removes the fetched files and links of these points (their run directory names) from the default places. */
export function unfetchPoints(ctx: RepoContext, sweep: string, points: readonly PointRecord[]): UnfetchResult {
  const result: UnfetchResult = { files: [], links: [], warnings: [] };
  const rundirs = new Map(points.filter(p => p.dir).map(p => [posix.basename(p.dir!), p.key]));
  if (!rundirs.size) return result;
  removeFetched(defaultFetchDir(ctx.rxDir, sweep), rundirs, result);
  removeLinks(join(ctx.rxDir, 'links', sweep), sweep, new Set(rundirs.values()), result);
  return result;
}

/** A regular file (not a symlink, not a directory) is unlinked; true when it was. */
function unlinkFile(path: string): boolean {
  const st = lstatOrNull(path);
  if (!st?.isFile()) return false;
  unlinkSync(path);
  return true;
}

/** Removes now-empty directories from `dir` up to (not including) `stop`. */
function pruneEmpty(dir: string, stop: string): void {
  for (let d = dir; d.startsWith(stop + '/'); d = dirname(d)) {
    try {
      if (readdirSync(d).length) return;
      rmdirSync(d);
    } catch {
      return;
    }
  }
}

function removeFetched(dest: string, rundirs: Map<string, string>, result: UnfetchResult): void {
  const manifest = readFetchManifest(dest);
  if (!manifest) return;
  const runs = Object.keys(manifest.runs).filter(r => rundirs.has(r));
  if (!runs.length) return;
  // rx fetch holds this lock while it writes the mirror and the manifest.
  const release = acquireLock(join(dest, MIRROR), `fetch directory ${dest}`);
  try {
    for (const rundir of runs) {
      for (const [file, e] of Object.entries(manifest.runs[rundir]!.files)) {
        const copies = [join(dest, MIRROR, rundir, file), ...(e.flat ? [join(dest, e.flat)] : []), ...(e.tree ? [join(dest, rundir, file)] : [])];
        for (const c of copies) if (unlinkFile(c)) result.files.push(c);
        pruneEmpty(dirname(join(dest, MIRROR, rundir, file)), join(dest, MIRROR));
        if (e.tree) pruneEmpty(dirname(join(dest, rundir, file)), dest);
      }
      delete manifest.runs[rundir];
    }
    writeJsonAtomic(join(dest, FETCH_MANIFEST), manifest);
  } finally {
    release();
  }
}

interface LinkManifestFile {
  version: 1;
  links: Record<string, { sweep: string; key: string; target: string; file?: string }>;
  configs?: Record<string, string>;
}

function removeLinks(dir: string, sweep: string, keys: Set<string>, result: UnfetchResult): void {
  const file = join(dir, LINK_MANIFEST);
  if (!existsSync(file)) return;
  let m: LinkManifestFile;
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as LinkManifestFile;
    if (m?.version !== 1 || typeof m.links !== 'object') throw new Error('not a link manifest');
  } catch {
    result.warnings.push(`${file} is damaged: no link there was removed (remove it and run rx link again)`);
    return;
  }
  const mine = Object.entries(m.links).filter(([, e]) => e.sweep === sweep && keys.has(e.key));
  if (!mine.length) return;
  for (const [name, e] of mine) {
    const path = join(dir, name);
    const st = lstatOrNull(path);
    // Only the link rx made, still pointing where rx pointed it.
    if (st?.isSymbolicLink() && readlinkSync(path) === e.target) {
      unlinkSync(path);
      result.links.push(path);
    } else if (st) result.warnings.push(`left ${path} in place: it changed since rx link made it`);
    delete m.links[name];
  }
  writeJsonAtomic(file, m);
}

