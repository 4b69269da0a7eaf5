// rx report: per sweep, the same rows `rx dataset` builds (one fetch, one parse, src/results/collect.ts),
// plus the scheduler's reasons and, with --rows, one downsampled track per run, shaped for the
// page (./shape.ts) and written as one self-contained HTML file (./html.ts).
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import type { RepoContext } from '../git/repo.ts';
import { toStatus } from '../ledger/status.ts';
import { selectSweeps } from '../ledger/sweeps.ts';
import { makeDatasets, type SweepVisit } from '../results/collect.ts';
import { readRunTable, tableParser, type RunTable } from '../results/long-rows.ts';
import { reportHtml } from './html.ts';
import { shapeReport, type ReportTracks } from './shape.ts';
import { perRunLimit, trackColumns, trackOf, type Track } from './tracks.ts';

export interface ReportRequest {
  cwd: string;
  sweep?: string;
  out?: string;
  rows?: string;
  x?: string;
  y?: string;
  noFetch?: boolean;
  offline?: boolean;
}

export interface ReportSummary {
  sweep: string;
  file: string;
  runs: number;
  bytes: number;
  layout: 'grid' | 'scatter';
  results: string[];
  /** With --rows: runs drawn as tracks, and the columns. */
  tracks?: { runs: number; x: string; y: string; missing: number; downsampled: number };
}

export async function makeReports(ctx: RepoContext, req: ReportRequest): Promise<{ reports: ReportSummary[]; warnings: string[] }> {
  if (req.rows === undefined && (req.x !== undefined || req.y !== undefined)) throw new ConfigError('--x and --y choose the columns of the tracks: give --rows <file> too');
  if (req.rows !== undefined) tableParser(req.rows);
  if (req.out && selectSweeps(ctx, req.sweep).length !== 1) throw new ConfigError('--out names one file: give --sweep too (rx report writes one page per sweep)');
  const reports: ReportSummary[] = [];
  const visit = async (v: SweepVisit) => {
    const reasons = [...v.state.points.values()].map(p => toStatus(v.state.name, p).reason ?? null);
    const tracks = req.rows === undefined ? undefined : await readTracks(v, req.rows, req.x, req.y);
    const s = v.state.sweep;
    const data = shapeReport(v.table, { sweep: v.state.name, base: s?.base ?? null, branch: s?.branch ?? null, remote: s?.remote.label ?? null, made: new Date().toISOString(), rx: rxVersion() }, reasons, tracks);
    const html = reportHtml(data);
    const file = req.out ? resolve(req.cwd, req.out) : join(ctx.rxDir, 'reports', `${v.state.name}.html`);
    await writeAtomically(file, html);
    reports.push({
      sweep: v.state.name, file, runs: data.meta.runs, bytes: Buffer.byteLength(html), layout: data.layout.kind, results: data.results,
      tracks: tracks && { runs: tracks.runs.length, x: tracks.x, y: tracks.y, missing: tracks.missing, downsampled: tracks.downsampled },
    });
  };
  const r = await makeDatasets(ctx, { cwd: req.cwd, sweep: req.sweep, noFetch: req.noFetch, offline: req.offline, noWrite: true, alsoFetch: req.rows === undefined ? [] : [req.rows], visit });
  return { reports, warnings: r.warnings };
}

/** One track per run that has the table (in point order, so `run` is the table row). */
async function readTracks(v: SweepVisit, file: string, x?: string, y?: string): Promise<ReportTracks> {
  const local = v.localFiles(file);
  const keys = [...v.state.points.keys()];
  const limit = perRunLimit(local.size);
  const runs: Track[] = [];
  let cols: { x: string; y: string } | undefined;
  let missing = 0, downsampled = 0;
  for (const [i, key] of keys.entries()) {
    const path = local.get(key);
    let t: RunTable | undefined;
    try {
      t = path ? await readRunTable(path, `${v.state.points.get(key)!.dir}/${file}`) : undefined;
    } catch {
      t = undefined; // unreadable (e.g. half written): counted as missing, as in rx dataset --rows
    }
    // The columns come from the first table read; a bad --x/--y is an error there, not per run.
    if (t && !cols) cols = trackColumns(t, x, y);
    const track = t && cols ? trackOf(i, t, cols, limit) : undefined;
    if (!track) { missing++; continue; }
    if (track.rows > track.xs.length) downsampled++;
    runs.push(track);
  }
  return { file, x: cols?.x ?? x ?? '', y: cols?.y ?? y ?? '', limit, downsampled, missing, runs };
}

async function writeAtomically(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.rx-tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

/** rx's version (package.json two levels up from src/report/, three from dist/src/report/). */
export function rxVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'remote-experiments' && pkg.version) return pkg.version;
    } catch { /* not this one */ }
  }
  return 'unknown';
}
