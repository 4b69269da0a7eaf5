// A sweep's dataset: refresh job states, fetch the files its `parse` entries name (one rsync, as
// `rx fetch` does), then per experiment parse → reduce → result columns, one row each (./dataset.ts
// builds and writes the table). Runs that failed or have no output yet are rows too, with their
// state, empty results and a note saying why.
import { readFile } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import type { RepoContext } from '../git/repo.ts';
import { latestState, type PointRecord, type SweepState } from '../ledger/ledger.ts';
import { hasFunction } from '../ledger/records.ts';
import { toStatus } from '../ledger/status.ts';
import { forEachSweep, selectSweeps, withLedger } from '../ledger/sweeps.ts';
import { filesBelow } from '../files.ts';
import { hasLiveJobs, refreshStates, withTarget } from '../remote/jobs.ts';
import { PARTIAL_DIR, patternRegExp } from '../remote/rsync.ts';
import { loadSweepFile, validateParse, type ParseEntry } from '../sweep/definition.ts';
import { parsers } from '../../parsers/index.ts';
import { uniqueName } from './columns.ts';
import { buildDataset, exitCodeOf, isoUtc, writeDataset, type Dataset, type DatasetRun, type Format } from './dataset.ts';
import { readRunTable, tableParser, writeLongDataset, type LongRun } from './long-rows.ts';
import { fetchFiles } from './fetch.ts';
import { MIRROR, defaultFetchDir } from './mirror.ts';
import { applyReducer, defaultReduce, type ReduceFn, type Reducer } from './reduce.ts';

export interface DatasetRequest {
  /** Where a relative `out` or `sweepFile` is resolved from. */
  cwd: string;
  sweep?: string;
  format?: Format;
  /** Output file (only with one sweep); default .rx/datasets/<sweep>.<format>. */
  out?: string;
  /** Do not fetch: use the files an earlier `rx fetch` put in .rx/fetched/<sweep>/. */
  noFetch?: boolean;
  /** Do not ask the scheduler for fresh states. */
  offline?: boolean;
  /** The sweep file to load `parse` functions from (default: the one recorded at submit). */
  sweepFile?: string;
  /** Build the table but write no file (nested stages read it in-process). */
  noWrite?: boolean;
  /** Long format: one row per row of this table output (e.g. LOGS/history.data) of each run, with the run's provenance and params. */
  rows?: string;
  /** More files to fetch along with the parse entries' (e.g. the report's tracks). */
  alsoFetch?: string[];
  /** A row for every attempt of each point (older ones replaced by `rx resubmit --failed --rebase` too), not only the latest. */
  allAttempts?: boolean;
  /** Called per sweep with its ledger state and table, while the sweep is open (e.g. by rx report). */
  visit?: (v: SweepVisit) => Promise<void>;
}

/** What a `visit` callback sees of one sweep. */
export interface SweepVisit {
  /** The points of the table's rows, in row order (the latest attempt of each, unless allAttempts). */
  state: SweepState;
  table: Dataset;
  /** The newest local copy (in the fetch mirror) of a file matching `pattern` of each point, by key. */
  localFiles(pattern: string): Map<string, string>;
}

export interface DatasetSummary {
  sweep: string;
  file: string;
  format: Format;
  rows: number;
  columns: string[];
  /** Rows with every parse entry's results (long format: runs whose table was read). */
  complete: number;
  /** Long format (--rows): runs without that table (not produced yet, no run directory, unreadable). */
  missing?: number;
}

export interface DatasetResult {
  sweeps: DatasetSummary[];
  /** The tables themselves (for callers in the same process, e.g. nested stages). */
  datasets: Record<string, Dataset>;
  /** What the fetch reported without failing (e.g. files that vanished while rsync ran). */
  warnings: string[];
}

/** One table per selected sweep, written to its file unless `noWrite`. */
export async function makeDatasets(ctx: RepoContext, req: DatasetRequest): Promise<DatasetResult> {
  const names = selectSweeps(ctx, req.sweep);
  if (req.rows !== undefined) tableParser(req.rows);
  if (req.out && names.length !== 1) throw new ConfigError('--out names one file: give --sweep too (rx dataset writes one dataset per sweep)');
  const result: DatasetResult = { sweeps: [], datasets: {}, warnings: [] };
  // A damaged ledger is reported after the other datasets are written (exit code 5), not instead of them.
  await forEachSweep(names, name => withLedger(ctx, name, async ledger => {
    let state = ledger.state();
    if (!req.offline && state.sweep && hasLiveJobs(state)) {
      await withTarget(ctx, state, t => refreshStates(t, ledger));
      state = ledger.state();
    }
    // One row per point, by its latest attempt (a fixed failure is not a FAILED row); every attempt when asked.
    state = latestState(state, req.allAttempts);
    // Long format reads only the table it names: the parse entries' results are not among its columns.
    const entries = req.rows === undefined ? await parseEntries(ctx, state, req.cwd, req.sweepFile) : [];
    const files = [...new Set([...entries.map(e => e.file), ...(req.rows === undefined ? [] : [req.rows]), ...(req.alsoFetch ?? [])])];
    if (files.length && !req.noFetch && [...state.points.values()].some(p => p.dir)) {
      // Exactly what `rx fetch <files> --sweep <name>` does: one incremental rsync into .rx/fetched/<name>/.
      const fetched = await fetchFiles(ctx, { cwd: ctx.top, files, sweep: name });
      result.warnings.push(...fetched.warnings);
    }
    const format = req.format ?? 'csv';
    if (req.rows !== undefined) {
      result.sweeps.push(await longDataset(ctx, state, req, req.rows, format));
      return;
    }
    const { table, complete } = await collectRows(ctx, state, entries);
    const file = req.out ? resolve(req.cwd, req.out) : join(ctx.rxDir, 'datasets', `${name}.${format}`);
    if (!req.noWrite) await writeDataset(table, format, file);
    result.datasets[name] = table;
    result.sweeps.push({ sweep: name, file, format, rows: table.rows.length, columns: table.columns, complete });
    if (req.visit) await req.visit({ state, table, localFiles: pattern => newestMatches(ctx, state, pattern) });
  }));
  return result;
}

/** `rx dataset --rows <file>`: the long table, default .rx/datasets/<sweep>.<file's base name>.<format>. */
async function longDataset(ctx: RepoContext, state: SweepState, req: DatasetRequest, rowsFile: string, format: Format): Promise<DatasetSummary> {
  const stem = rowsFile.split('/').pop()!.replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9_.-]/g, '_') || 'rows';
  const file = req.out ? resolve(req.cwd, req.out) : join(ctx.rxDir, 'datasets', `${state.name}.${stem}.${format}`);
  const local = newestMatches(ctx, state, rowsFile);
  const runs: LongRun[] = [...state.points.values()].map(p => {
    const path = local.get(p.key);
    const run: DatasetRun = { provenance: provenanceOf(state, p), params: p.params, results: {}, notes: path ? [] : [`${rowsFile}: ${p.dirRemoved ? 'run directory removed by rx clean' : p.dir ? 'not produced (yet)' : 'no run directory'}`] };
    return { run, read: async () => (path ? readRunTable(path, `${p.dir}/${rowsFile}`) : undefined) };
  });
  const s = await writeLongDataset(runs, format, file);
  return { sweep: state.name, file, format, rows: s.rows, columns: s.columns, complete: s.runs, missing: s.missing.length };
}

/** The parse entries of a recorded sweep; functions are loaded from the sweep file again. */
async function parseEntries(ctx: RepoContext, state: SweepState, cwd: string, sweepFile?: string): Promise<ParseEntry[]> {
  const def = state.sweep?.definition ?? {};
  if (def.parse === undefined && !sweepFile) return [];
  if (!sweepFile && !(state.sweep && hasFunction(state.sweep, 'parse'))) return validateParse(def.parse);
  const file = sweepFile ? resolve(cwd, sweepFile) : state.sweep!.file;
  if (!existsSync(file)) {
    throw new ConfigError(`sweep '${state.name}' reduces its outputs with functions from ${file}, which is gone`, { hint: `Give the sweep file: rx dataset --sweep ${state.name} --sweep-file path/to/sweep.ts` });
  }
  const raw = (await loadSweepFile(file, ctx.top)) as Record<string, unknown>;
  if (raw.name !== state.name) throw new ConfigError(`--sweep-file ${file} defines sweep '${String(raw.name)}', not '${state.name}'`, { hint: `Give the sweep file of '${state.name}'.` });
  return raw.parse === undefined ? [] : validateParse(raw.parse);
}

/** A row per experiment (in point order), and how many have every entry's results. */
async function collectRows(ctx: RepoContext, state: SweepState, entries: ParseEntry[]): Promise<{ table: Dataset; complete: number }> {
  const found = entries.length ? mirrorMatches(ctx, state, entries) : new Map<string, string[][]>();
  const runs: DatasetRun[] = [];
  let complete = 0;
  for (const p of state.points.values()) {
    const { run, ok } = await experimentRow(state, p, entries, found.get(p.key));
    if (ok) complete++;
    runs.push(run);
  }
  return { table: buildDataset(runs), complete };
}

/**
 * The local copies of each entry's file per point (key → entry index → files). Read from what
 * the fetch mirror holds, not only what the last rsync listed: a run directory purged on the
 * cluster since keeps its fetched outputs.
 */
function mirrorMatches(ctx: RepoContext, state: SweepState, entries: Pick<ParseEntry, 'file'>[]): Map<string, string[][]> {
  const mirror = join(defaultFetchDir(ctx.rxDir, state.name), MIRROR);
  const res = entries.map(e => patternRegExp(e.file));
  const found = new Map<string, string[][]>();
  for (const p of state.points.values()) {
    if (!p.dir) continue;
    const root = join(mirror, p.dir.split('/').pop()!);
    if (!existsSync(root)) continue;
    const perEntry: string[][] = entries.map(() => []);
    for (const f of filesBelow(root, PARTIAL_DIR)) res.forEach((re, i) => { if (re.test(f)) perEntry[i]!.push(join(root, f)); });
    found.set(p.key, perEntry);
  }
  return found;
}

/** Per point key, the newest local copy of a file matching `pattern` (points with none are left out). */
function newestMatches(ctx: RepoContext, state: SweepState, pattern: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, [files]] of mirrorMatches(ctx, state, [{ file: pattern }])) {
    const f = newestFirst(files!).at(-1);
    if (f) out.set(key, f);
  }
  return out;
}

/** Oldest first, newest last (by modification time). */
function newestFirst(files: string[]): string[] {
  return files.map(f => ({ f, t: statSync(f).mtimeMs })).sort((a, b) => a.t - b.t).map(x => x.f);
}

/** A point's provenance columns: times as ISO 8601 UTC, no exit code for a run that never ran or was cancelled. */
function provenanceOf(state: SweepState, p: PointRecord): DatasetRun['provenance'] {
  const s = toStatus(state.name, p, state);
  return {
    sweep: state.name, key: p.key, sha: p.sha ?? null, base: p.base, dir: p.dir ?? null, job_id: s.jobId, state: s.state,
    exit_code: exitCodeOf(s.state, s.exitCode, s.start), attempts: s.attempts, submitted_at: isoUtc(p.jobs.at(-1)?.at),
    start: isoUtc(s.start), end: isoUtc(s.end), elapsed_s: s.elapsedSeconds ?? null, attempt: s.attempt,
  };
}

/** One experiment's row: provenance, params, every entry's results and the notes on what is missing. */
async function experimentRow(state: SweepState, p: PointRecord, entries: ParseEntry[], files: string[][] | undefined): Promise<{ run: DatasetRun; ok: boolean }> {
  const results: Record<string, unknown> = {};
  const notes: string[] = [];
  let ok = entries.length > 0;
  for (const [i, e] of entries.entries()) {
    if (!(await entryResults(p, e, files?.[i] ?? [], results, notes))) ok = false;
  }
  const run: DatasetRun = { provenance: provenanceOf(state, p), params: p.params, results, notes };
  return { run, ok };
}

/** Adds one parse entry's results to `results` (a taken name gets `_`); false when they are missing. */
async function entryResults(p: PointRecord, e: ParseEntry, found: string[], results: Record<string, unknown>, notes: string[]): Promise<boolean> {
  // Newest first: after a resubmission, slurm-<old>.out and slurm-<new>.out both match.
  const files = newestFirst(found);
  if (files.length === 0) {
    notes.push(`${e.file}: ${p.dirRemoved ? 'run directory removed by rx clean' : p.dir ? 'not produced (yet)' : 'no run directory'}`);
    return false;
  }
  if (files.length > 1) notes.push(`${e.file}: ${files.length} files match; using the newest, ${files.at(-1)!.split('/').pop()}`);
  const latest = p.jobs.at(-1);
  if (latest && latest.attempt > 1 && statSync(files.at(-1)!).mtimeMs < Date.parse(latest.at)) notes.push(`${e.file}: older than attempt ${latest.attempt} (written by an earlier attempt)`);
  try {
    const reduced = await parseAndReduce(p, e, files.at(-1)!, notes);
    for (const [k, v] of Object.entries(reduced ?? {})) {
      const name = `${e.prefix ?? ''}${k}`;
      const col = uniqueName(name, results);
      if (col !== name) notes.push(`${e.file}: result '${name}' is also given by an earlier parse entry; stored as '${col}'`);
      results[col] = v;
    }
    return true;
  } catch (err) {
    notes.push(`${e.file}: ${(err as Error).message}`);
    return false;
  }
}

/** Parses the file with the entry's parser (its warnings become notes) and applies its reducer. */
async function parseAndReduce(p: PointRecord, e: ParseEntry, file: string, notes: string[]): Promise<Record<string, unknown>> {
  const text = await readFile(file);
  const parsed = (parsers[e.parser!] as (t: Buffer, o: { file: string }) => unknown)(text, { file: `${p.dir}/${e.file}` });
  const warnings = (parsed as { warnings?: unknown })?.warnings;
  if (Array.isArray(warnings)) notes.push(...warnings.map(String));
  if (typeof e.reduce === 'function') return await (e.reduce as ReduceFn)(parsed, { params: p.params, file: e.file });
  return e.reduce !== undefined ? applyReducer(e.reduce as Reducer, parsed, e.file) : defaultReduce(parsed, e.file);
}
