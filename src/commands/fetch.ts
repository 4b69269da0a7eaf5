// rx fetch <file...>: the named files (names or globs) from every run directory of a sweep, with
// one rsync run per sweep, incremental and resumable (src/results/fetch.ts; the layout it leaves
// in DIR is described in src/results/mirror.ts).
import { relative } from 'node:path';
import { repoContext } from '../git/repo.ts';
import { fetchFiles, type FetchResult } from '../results/fetch.ts';
import { ConfigError } from '../errors.ts';
import { makeOut, type Out } from '../ui.ts';

export type { FetchedFile, FetchHint, FetchResult, FetchSweepResult, MissingFile, SkippedFile } from '../results/fetch.ts';

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
  /** Copy what symlinks in run directories point to (default: not followed, reported). */
  followLinks?: boolean;
  /** Skip (and report) files larger than this, e.g. '500M', '1G' (rsync --max-size). */
  maxSize?: string;
  /** rsync gives up after this many seconds without any data moving (default 300; 0: never). */
  timeout?: number | string;
  json?: boolean;
  out?: Out;
}

export async function fetch(opts: FetchOptions): Promise<FetchResult> {
  const out = opts.out ?? makeOut({ json: opts.json });
  const timeoutSec = typeof opts.timeout === 'string' ? seconds(opts.timeout) : opts.timeout;
  const ctx = await repoContext(opts.cwd);
  const result = await fetchFiles(ctx, {
    cwd: opts.cwd, files: opts.files, sweep: opts.sweep, to: opts.to, tree: opts.tree,
    followLinks: opts.followLinks, maxSize: opts.maxSize, timeoutSec,
    progress: (label, total) => out.progress(label, total),
    // A slow or stalled transfer is said on stderr as it happens (also under --json).
    notice: line => out.warn(`rx: ${line}`),
    hints: true,
  });
  if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else printFetch(result, opts.cwd, out);
  for (const w of result.warnings) out.warn(`rx: ${w}`);
  // The CLI exits with 2 after this (a name that matches nothing anywhere is most likely a wrong name).
  if (result.unmatched.length) {
    const e = unmatchedError(result);
    out.warn(`rx: ${out.color.red(e.message)}`);
    out.warn(`  ${e.hint}`);
  }
  return result;
}

/** `did you mean LOGS/history.data? found in 15 run dirs` for each hint of `pattern`. */
function hintText(r: FetchResult, pattern: string): string[] {
  return r.hints.filter(h => h.pattern === pattern).map(h => `did you mean ${h.suggestion}? found in ${h.runDirs} run dir${h.runDirs === 1 ? '' : 's'}${r.sweeps.length > 1 ? ` of ${h.sweep}` : ''}`);
}

/** A pattern that matched nothing anywhere is an error (after the report), with what was found deeper. */
function unmatchedError(r: FetchResult): ConfigError {
  const runs = r.sweeps.reduce((n, s) => n + s.runs, 0);
  const names = r.unmatched.map(p => `'${p}'`).join(', ');
  const hints = r.unmatched.flatMap(p => hintText(r, p).map(h => `${p}: ${h}`));
  return new ConfigError(`${names} matched nothing in any of ${runs} run director${runs === 1 ? 'y' : 'ies'}`, {
    hint: hints.length ? hints.join('; ') : "Patterns are paths inside each run directory: name subdirectories ('LOGS/history.data') or use '**/history.data'.",
  });
}

function seconds(s: string): number {
  if (!/^\s*\d+\s*$/.test(s)) throw new ConfigError(`--timeout: ${JSON.stringify(s)} is not a whole number of seconds`, { hint: 'e.g. --timeout 600; 0 never times out (default 300).' });
  return Number(s);
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

/** Lines per sweep before "… and N more" (--json lists everything). */
const SHOW = 10;

function printFetch(r: FetchResult, cwd: string, out: Out): void {
  if (!r.sweeps.length) {
    out.info('no experiments yet: rx submit --sweep sweep.ts');
    return;
  }
  const rel = (p: string) => relative(cwd, p) || '.';
  for (const s of r.sweeps) {
    out.info(`${out.color.bold(s.sweep)}: ${s.runs} run dir${s.runs === 1 ? '' : 's'} → ${rel(s.dest)}/  (${s.rsyncRuns} rsync run${s.rsyncRuns === 1 ? '' : 's'}, ${(s.durationMs / 1000).toFixed(2)} s)`);
    out.info(`  ${out.color.green(`fetched ${s.fetched}`)} (${bytesText(s.bytes)})  unchanged ${s.unchanged}  ${s.missing ? out.color.yellow(`missing ${s.missing}`) : 'missing 0'}${s.skipped ? `  ${out.color.yellow(`skipped ${s.skipped}`)}` : ''}${s.withoutDir ? `  (${s.withoutDir} point${s.withoutDir === 1 ? '' : 's'} without a run directory yet)` : ''}`);
    const fetched = r.files.filter(f => f.sweep === s.sweep && f.status === 'fetched');
    for (const f of fetched.slice(0, SHOW)) out.info(`  ${out.color.green('+')} ${rel(f.local)}`);
    if (fetched.length > SHOW) out.info(out.color.dim(`  … and ${fetched.length - SHOW} more fetched (--json lists all)`));
    const missing = r.missing.filter(m => m.sweep === s.sweep);
    for (const m of missing.slice(0, SHOW)) out.info(`  ${out.color.yellow('?')} ${m.pattern}  not in ${m.rundir} (point ${m.key})`);
    if (missing.length > SHOW) out.info(out.color.dim(`  … and ${missing.length - SHOW} more missing (--json lists all)`));
    for (const h of r.hints.filter(x => x.sweep === s.sweep)) out.info(`  ${out.color.yellow(`${h.pattern}: did you mean ${h.suggestion}? found in ${h.runDirs} run dir${h.runDirs === 1 ? '' : 's'}`)}`);
  }
}
