// rx dataset: one table per sweep — a row per experiment with params, provenance and the results
// its `parse` entries reduce from its output files (fetched with one rsync first). Runs that
// failed or have no output yet are rows too, with their state and empty results.
import { readFile } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import { repoContext, type RepoContext } from '../git/repo.ts';
import { finished, refreshStates, selectSweeps, withLedger, withTarget } from '../remote/jobs.ts';
import { loadSweepFile, validateParse, type ParseEntry } from '../sweep/definition.ts';
import { fetch, MIRROR } from './fetch.ts';
import { filesBelow } from '../files.ts';
import { toStatus } from './status.ts';
import { PARTIAL_DIR, patternRegExp } from '../remote/rsync.ts';
import { applyReducer, defaultReduce, type ReduceFn, type Reducer } from '../results/reduce.ts';
import { buildDataset, writeDataset, type Dataset, type DatasetRun, type Format } from '../results/dataset.ts';
import { parsers } from '../../parsers/index.ts';
import type { SweepState } from '../ledger/ledger.ts';
import { makeOut, type Out } from '../ui.ts';

export interface DatasetOptions {
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
  json?: boolean;
  out_?: Out;
  /** Build the table but write no file (nested stages read it in-process). */
  noWrite?: boolean;
}

export interface DatasetSummary {
  sweep: string;
  file: string;
  format: Format;
  rows: number;
  columns: string[];
  /** Rows with every parse entry's results. */
  complete: number;
}

export interface DatasetResult {
  sweeps: DatasetSummary[];
  /** The tables themselves (for callers in the same process, e.g. nested stages). */
  datasets: Record<string, Dataset>;
}

const FORMATS: Format[] = ['csv', 'jsonl', 'parquet'];

/** The parse entries of a recorded sweep; functions are loaded from the sweep file again. */
async function parseEntries(ctx: RepoContext, state: SweepState, cwd: string, sweepFile?: string): Promise<ParseEntry[]> {
  const def = (state.sweep?.definition ?? {}) as Record<string, unknown>;
  if (def.parse === undefined && !sweepFile) return [];
  const hasFunction = JSON.stringify(def.parse ?? null).includes('[function ');
  if (!hasFunction && !sweepFile) return validateParse(def.parse);
  const file = sweepFile ? resolve(cwd, sweepFile) : state.sweep!.file;
  if (!existsSync(file)) {
    throw new ConfigError(`sweep '${state.name}' reduces its outputs with functions from ${file}, which is gone`, { hint: `Give the sweep file: rx dataset --sweep ${state.name} --sweep-file path/to/sweep.ts` });
  }
  const raw = (await loadSweepFile(file, ctx.top)) as Record<string, unknown>;
  if (raw.name !== state.name) throw new ConfigError(`--sweep-file ${file} defines sweep '${String(raw.name)}', not '${state.name}'`, { hint: `Give the sweep file of '${state.name}'.` });
  return raw.parse === undefined ? [] : validateParse(raw.parse);
}

export async function dataset(opts: DatasetOptions): Promise<DatasetResult> {
  const out = opts.out_ ?? makeOut({ json: opts.json });
  const format = opts.format ?? 'csv';
  if (!FORMATS.includes(format)) throw new ConfigError(`--format: expected one of ${FORMATS.join(', ')}, got ${JSON.stringify(format)}`);
  const ctx = await repoContext(opts.cwd);
  const names = selectSweeps(ctx, opts.sweep);
  if (opts.out && names.length !== 1) throw new ConfigError('--out names one file: give --sweep too (rx dataset writes one dataset per sweep)');
  const quiet = makeOut({ json: true });
  const result: DatasetResult = { sweeps: [], datasets: {} };
  for (const name of names) {
    await withLedger(ctx, name, async ledger => {
      let state = ledger.state();
      if (!opts.offline && state.sweep && [...state.points.values()].some(p => p.jobs.length && !finished(p))) {
        await withTarget(ctx, state, t => refreshStates(t, ledger));
        state = ledger.state();
      }
      const entries = await parseEntries(ctx, state, opts.cwd, opts.sweepFile);
      // Local copies of each entry's file per point: key → entry index → files.
      const found = new Map<string, Map<number, string[]>>();
      const note = (key: string, i: number, f: string) => {
        const m = found.get(key) ?? new Map<number, string[]>();
        m.set(i, [...(m.get(i) ?? []), f]);
        found.set(key, m);
      };
      if (entries.length && [...state.points.values()].some(p => p.dir)) {
        // Exactly what `rx fetch <files> --sweep <name>` does: one incremental rsync into .rx/fetched/<name>/.
        if (!opts.noFetch) await fetch({ cwd: ctx.top, files: [...new Set(entries.map(e => e.file))], sweep: name, out: quiet });
        // Read what the fetch mirror holds, not only what this rsync listed: a run directory purged
        // on the cluster since keeps its fetched outputs.
        const mirror = join(ctx.rxDir, 'fetched', name, MIRROR);
        for (const p of state.points.values()) {
          if (!p.dir) continue;
          const root = join(mirror, p.dir.split('/').pop()!);
          if (!existsSync(root)) continue;
          for (const f of filesBelow(root, PARTIAL_DIR)) entries.forEach((e, i) => { if (patternRegExp(e.file).test(f)) note(p.key, i, join(root, f)); });
        }
      }
      const runs: DatasetRun[] = [];
      let complete = 0;
      for (const p of state.points.values()) {
        const s = toStatus(name, p);
        const results: Record<string, unknown> = {};
        const notes: string[] = [];
        let ok = entries.length > 0;
        for (const [i, e] of entries.entries()) {
          // Newest first: after a resubmission, slurm-<old>.out and slurm-<new>.out both match.
          const files = (found.get(p.key)?.get(i) ?? []).map(f => ({ f, t: statSync(f).mtimeMs })).sort((a, b) => a.t - b.t).map(x => x.f);
          if (files.length === 0) {
            notes.push(`${e.file}: ${p.dir ? 'not produced (yet)' : 'no run directory'}`);
            ok = false;
            continue;
          }
          if (files.length > 1) notes.push(`${e.file}: ${files.length} files match; using the newest, ${files.at(-1)!.split('/').pop()}`);
          const latest = p.jobs.at(-1);
          if (latest && latest.attempt > 1 && statSync(files.at(-1)!).mtimeMs < Date.parse(latest.at)) notes.push(`${e.file}: older than attempt ${latest.attempt} (written by an earlier attempt)`);
          try {
            const text = await readFile(files.at(-1)!);
            const parsed = (parsers[e.parser!] as (t: Buffer, o: { file: string }) => unknown)(text, { file: `${p.dir}/${e.file}` });
            const warnings = (parsed as { warnings?: unknown })?.warnings;
            if (Array.isArray(warnings)) notes.push(...warnings.map(String));
            const reduced = typeof e.reduce === 'function'
              ? await (e.reduce as ReduceFn)(parsed, { params: p.params, file: e.file })
              : e.reduce !== undefined ? applyReducer(e.reduce as Reducer, parsed, e.file) : defaultReduce(parsed, e.file);
            for (const [k, v] of Object.entries(reduced ?? {})) {
              let col = `${e.prefix ?? ''}${k}`;
              if (col in results) {
                while (col in results) col += '_';
                notes.push(`${e.file}: result '${e.prefix ?? ''}${k}' is also given by an earlier parse entry; stored as '${col}'`);
              }
              results[col] = v;
            }
          } catch (err) {
            notes.push(`${e.file}: ${(err as Error).message}`);
            ok = false;
          }
        }
        if (ok) complete++;
        runs.push({
          provenance: {
            sweep: name, key: p.key, sha: p.sha ?? null, base: p.base, dir: p.dir ?? null, job_id: s.jobId, state: s.state,
            exit_code: s.exitCode, attempts: s.attempts, submitted_at: p.jobs.at(-1)?.at ?? null, start: s.start ?? null,
            end: s.end ?? null, elapsed_s: s.elapsedSeconds ?? null,
          },
          params: p.params, results, notes,
        });
      }
      const table = buildDataset(runs);
      const file = opts.out ? resolve(opts.cwd, opts.out) : join(ctx.rxDir, 'datasets', `${name}.${format}`);
      if (!opts.noWrite) await writeDataset(table, format, file);
      result.datasets[name] = table;
      result.sweeps.push({ sweep: name, file, format, rows: table.rows.length, columns: table.columns, complete });
    });
  }
  if (opts.json) process.stdout.write(JSON.stringify(result.sweeps, null, 2) + '\n');
  else for (const s of result.sweeps) out.info(`${s.sweep}: ${s.rows} rows × ${s.columns.length} columns (${s.complete} with all results) → ${s.file}`);
  return result;
}
