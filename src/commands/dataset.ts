// rx dataset: one table per sweep — a row per experiment with params, provenance and the results
// its `parse` entries reduce from its output files (src/results/collect.ts); with --rows, the long
// format: a row per row of one table output of each run (src/results/long-rows.ts).
import { ConfigError } from '../errors.ts';
import { repoContext } from '../git/repo.ts';
import { makeDatasets, type DatasetRequest, type DatasetResult } from '../results/collect.ts';
import { FORMATS } from '../results/dataset.ts';
import { makeOut, type Out } from '../ui.ts';

export type { DatasetResult, DatasetSummary } from '../results/collect.ts';

export interface DatasetOptions extends DatasetRequest {
  json?: boolean;
  out_?: Out;
}

export async function dataset(opts: DatasetOptions): Promise<DatasetResult> {
  const out = opts.out_ ?? makeOut({ json: opts.json });
  if (opts.format !== undefined && !FORMATS.includes(opts.format)) throw new ConfigError(`--format: expected one of ${FORMATS.join(', ')}, got ${JSON.stringify(opts.format)}`);
  const ctx = await repoContext(opts.cwd);
  const result = await makeDatasets(ctx, { cwd: opts.cwd, sweep: opts.sweep, format: opts.format, out: opts.out, noFetch: opts.noFetch, offline: opts.offline, sweepFile: opts.sweepFile, noWrite: opts.noWrite, rows: opts.rows, allAttempts: opts.allAttempts });
  for (const w of result.warnings) out.warn(`rx: ${w}`);
  if (opts.json) process.stdout.write(JSON.stringify(result.sweeps, null, 2) + '\n');
  else for (const s of result.sweeps) {
    const what = s.missing === undefined ? `${s.complete} with all results` : `from ${s.complete} runs' ${opts.rows}${s.missing ? `; ${s.missing} runs without it` : ''}`;
    out.info(`${s.sweep}: ${s.rows} rows × ${s.columns.length} columns (${what}) → ${s.file}`);
  }
  return result;
}
