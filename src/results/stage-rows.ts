// The dataset rows a nested stage takes its points from (`from` in a sweep file): the earlier
// sweep's table, built in-process and not written.
import type { RepoContext } from '../git/repo.ts';
import { makeDatasets, type DatasetRequest } from './collect.ts';
import type { Dataset } from './dataset.ts';

export interface StageRowsRequest extends Pick<DatasetRequest, 'cwd' | 'offline' | 'noFetch' | 'sweepFile'> {
  sweep: string;
  /** Told what the fetch reported without failing (default: nothing is said). */
  warn?: (message: string) => void;
}

/** The table of sweep `req.sweep`, one row per experiment (as `rx dataset` would write it). */
export async function stageRows(ctx: RepoContext, req: StageRowsRequest): Promise<Dataset> {
  const { warn, ...rest } = req;
  const r = await makeDatasets(ctx, { ...rest, noWrite: true });
  for (const w of r.warnings) warn?.(w);
  return r.datasets[req.sweep]!;
}
