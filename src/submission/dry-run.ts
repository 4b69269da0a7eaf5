// rx submit --dry-run (psweep's simulate): the plan — points, hashes, what would be skipped, run
// directory names and each patch's diff — with nothing created: no refs, no ledger, no remote.
import { createTwoFilesPatch } from 'diff';
import { git, verbs } from '../git/verbs.ts';
import { previewCommits, type PointToBuild } from '../git/commits.ts';
import { runDirName, uniquePrefixes } from '../remote/rundir.ts';
import type { FileChange } from '../sweep/patch.ts';

export interface PlannedPoint {
  key: string | null;
  params: Record<string, unknown>;
  varied: Record<string, unknown>;
  hash: string;
  /** Already submitted (same hash): would be skipped. */
  skipped: boolean;
  /** Planned by an interrupted submission and not submitted yet: this run would finish it. */
  resuming: boolean;
  /** The run directory name it would get if submitted now (skipped: the one it has, if any). */
  dir: string | null;
  sha: string | null;
  diff: string | null;
}

export interface DryRunInput {
  repo: string;
  base: string;
  sweep: string;
  fresh: PointToBuild[];
  skipped: { params: Record<string, unknown>; varied: Record<string, unknown>; hash: string; key: string; dir: string | null; sha: string | null; resumed: boolean }[];
  changes: Map<string, FileChange[]>;
  /** Shas of the sweep's earlier points (short names must stay unique among them). */
  existingShas: string[];
  outputRoot: string;
}

export async function planDryRun(i: DryRunInput): Promise<PlannedPoint[]> {
  const shas = await previewCommits(i.repo, i.base, i.sweep, i.fresh, i.changes);
  const prefixes = uniquePrefixes([...i.existingShas, ...shas.values()]);
  const when = new Date();
  const paths = [...new Set(i.fresh.flatMap(p => (i.changes.get(p.key) ?? []).map(c => c.path)))];
  const blobs = paths.length ? await git(i.repo, verbs.readBlobs(paths.map(p => `${i.base}:${p}`))) : [];
  const before = new Map(paths.map((p, j) => [p, blobs[j]?.toString('utf8') ?? '']));
  const fresh: PlannedPoint[] = i.fresh.map(p => {
    const sha = shas.get(p.key)!;
    const diff = (i.changes.get(p.key) ?? []).map(c => createTwoFilesPatch(`a/${c.path}`, `b/${c.path}`, before.get(c.path) ?? '', c.content?.toString('utf8') ?? '', i.base.slice(0, 12), `point ${p.key}`)).join('');
    return { key: p.key, params: p.params, varied: p.varied, hash: p.hash, skipped: false, resuming: false, dir: `${i.outputRoot}/${runDirName(i.sweep, when, prefixes.get(sha)!)}`, sha, diff };
  });
  const skipped: PlannedPoint[] = i.skipped.map(s => ({ key: s.key, params: s.params, varied: s.varied, hash: s.hash, skipped: !s.resumed, resuming: s.resumed, dir: s.dir, sha: s.sha, diff: null }));
  return [...fresh, ...skipped];
}
