// Experiments as users see them: the patch of one (rx show, rx diff; found by src/results/lookup.ts)
// and a sweep's summary (rx sweeps). Read from the ledgers; the diff from git.
import { createTwoFilesPatch } from 'diff';
import type { RepoContext } from '../git/repo.ts';
import { git, verbs } from '../git/verbs.ts';
import { latestPoints, type SweepState } from '../ledger/ledger.ts';
import { toStatus } from '../ledger/status.ts';

/** The unified diff of an experiment's commit against its base (the point's patch). */
export async function experimentDiff(ctx: RepoContext, base: string, sha: string): Promise<string> {
  const files = await git(ctx.top, verbs.diffNames(base, sha));
  const specs = files.flatMap(f => [`${base}:${f.path}`, `${sha}:${f.path}`]);
  const blobs = specs.length ? await git(ctx.top, verbs.readBlobs(specs)) : [];
  return files.map((f, i) => createTwoFilesPatch(`a/${f.path}`, `b/${f.path}`, blobs[2 * i]?.toString('utf8') ?? '', blobs[2 * i + 1]?.toString('utf8') ?? '', base.slice(0, 12), sha.slice(0, 12))).join('');
}

export interface SweepSummary {
  sweep: string;
  remote: string | null;
  branch: string | null;
  base: string | null;
  /** Points, each counted once (by its latest attempt). */
  points: number;
  submitted: number;
  /** Older attempts replaced by a rebased one (rx resubmit --failed --rebase); kept in the ledger, not counted above. */
  superseded: number;
  /** Points the latest `rx submit` skipped as already submitted. */
  skippedLast: number;
  submissions: number;
  states: Record<string, number>;
  lastSubmitted: string | null;
}

/** A sweep's points, submissions and job states (as last recorded), each point by its latest attempt. */
export function sweepSummary(st: SweepState): SweepSummary {
  const states: Record<string, number> = {};
  const latest = latestPoints(st);
  for (const p of latest) {
    const s = toStatus(st.name, p).state;
    states[s] = (states[s] ?? 0) + 1;
  }
  const last = st.submissions.at(-1);
  return {
    sweep: st.name,
    remote: st.sweep?.remote.label ?? null,
    branch: st.sweep?.branch ?? null,
    base: st.sweep?.base ?? null,
    points: latest.length,
    submitted: latest.filter(p => p.jobs.length).length,
    superseded: st.points.size - latest.length,
    skippedLast: last?.skipped ?? 0,
    submissions: st.submissions.length,
    states,
    lastSubmitted: last?.at ?? null,
  };
}
