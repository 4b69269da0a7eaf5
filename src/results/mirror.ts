// The layout rx fetch leaves in its destination directory (rx link and rx dataset read it):
//
//   .mirror/<rundir>/<path>   what rsync keeps in step with the target (same layout on both sides,
//                             so unchanged files are recognised by size+mtime and never resent)
//   <rundir>_<path with / → _>  the RemoteExperiments names: hard links to the mirror files
//   .rx-fetched.json          what rx fetched and exposed (which flat names are rx's own)
//
// With --tree the destination is the mirror itself: <DIR>/<rundir>/<path>.
import { existsSync, lstatSync, readFileSync, renameSync, writeFileSync, type Stats } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ConfigError } from '../errors.ts';

export const FETCH_MANIFEST = '.rx-fetched.json';
export const MIRROR = '.mirror';

/** Where `rx fetch` puts a sweep's files unless told otherwise (`--to`). */
export function defaultFetchDir(rxDir: string, sweep: string): string {
  return join(rxDir, 'fetched', sweep);
}

// ---------------------------------------------------------------------------------------------
// Names

/** Longest file name most file systems take, in bytes. */
const NAME_MAX = 255;

/**
 * rx replaces a file by writing `<name>.rx-tmp-<pid>` next to it and renaming that over it. The
 * suffix is at most 15 bytes (Linux pids have at most 7 digits; a longer pid is written in base 36),
 * so a name of at most NAME_MAX - 15 = 240 bytes always has room for it.
 */
const TMP_TAG = '.rx-tmp-';
const TMP_SUFFIX_MAX = 15;
/** The longest name rx makes (flat fetch names, link names): its temp name still fits NAME_MAX. */
export const NAME_BUDGET = NAME_MAX - TMP_SUFFIX_MAX;

/** The temp name next to `path` through which rx (re)places it atomically. */
export function tmpPath(path: string): string {
  let suffix = TMP_TAG + process.pid;
  if (suffix.length > TMP_SUFFIX_MAX) suffix = TMP_TAG + process.pid.toString(36);
  return path + suffix;
}

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
 * prefix + suffix as one file name of at most NAME_BUDGET (240) bytes of UTF-8, so that its temp
 * name (tmpPath) fits NAME_MAX too: when too long, the prefix is cut (between characters) and a hash
 * of the whole name is put in its place (`…~<10 hex>`), so distinct names stay distinct and the end
 * (the file's own name and extension) stays readable.
 */
export function fitName(prefix: string, suffix: string, max = NAME_BUDGET): string {
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
// The manifest

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

/** Writes JSON through a temp file + rename (never half a file); false when it was already so. */
export function writeJsonAtomic(file: string, value: unknown): boolean {
  const text = JSON.stringify(value, null, 1) + '\n';
  if (existsSync(file) && readFileSync(file, 'utf8') === text) return false;
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
  return true;
}

/** lstat, or null when nothing is there. */
export function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}
