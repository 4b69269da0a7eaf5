// Experiments as users look them up and count them: one found by commit or run directory (rx show,
// with its patch), and a sweep's summary (rx sweeps). Read from the ledgers; the diff from git.
import { createTwoFilesPatch } from 'diff';
import { ConfigError } from '../errors.ts';
import type { RepoContext } from '../git/repo.ts';
import { git, verbs } from '../git/verbs.ts';
import { Ledger, listSweeps, sweepDir, type SweepState } from '../ledger/ledger.ts';
import { toStatus, type ExperimentStatus } from '../ledger/status.ts';

/** The one experiment whose commit starts with `what` (4+ hex digits) or whose run directory is `what` (path or name). */
export function findExperiment(ctx: RepoContext, what: string): { rec: ExperimentStatus; base: string } {
  const q = what.replace(/\/+$/, '');
  if (!q) throw new ConfigError('rx show: give a commit sha (at least 4 hex digits) or a run directory');
  const matches: { sweep: string; rec: ExperimentStatus; base: string }[] = [];
  for (const name of listSweeps(ctx.rxDir)) {
    const ledger = new Ledger(sweepDir(ctx.rxDir, name), name);
    const state = ledger.state();
    ledger.close();
    for (const p of state.points.values()) {
      const bySha = /^[0-9a-f]{4,40}$/.test(q) && p.sha?.startsWith(q);
      const byDir = p.dir && (p.dir === q || p.dir.split('/').pop() === q.split('/').pop());
      if (bySha || byDir) matches.push({ sweep: name, rec: toStatus(name, p), base: p.base });
    }
  }
  if (matches.length === 0) throw new ConfigError(`no experiment with commit or run directory '${what}'`, { hint: 'rx status lists every experiment with its directory.' });
  if (matches.length > 1) throw new ConfigError(`'${what}' matches ${matches.length} experiments (${matches.map(m => `${m.sweep}/${m.rec.key}`).join(', ')})`, { hint: 'Give more digits of the sha or the full directory name.' });
  return matches[0]!;
}

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
  points: number;
  submitted: number;
  /** Points the latest `rx submit` skipped as already submitted. */
  skippedLast: number;
  submissions: number;
  states: Record<string, number>;
  lastSubmitted: string | null;
}

/** A sweep's points, submissions and job states (as last recorded). */
export function sweepSummary(st: SweepState): SweepSummary {
  const states: Record<string, number> = {};
  for (const p of st.points.values()) {
    const s = toStatus(st.name, p).state;
    states[s] = (states[s] ?? 0) + 1;
  }
  const last = st.submissions.at(-1);
  return {
    sweep: st.name,
    remote: st.sweep?.remote.label ?? null,
    branch: st.sweep?.branch ?? null,
    base: st.sweep?.base ?? null,
    points: st.points.size,
    submitted: [...st.points.values()].filter(p => p.jobs.length).length,
    skippedLast: last?.skipped ?? 0,
    submissions: st.submissions.length,
    states,
    lastSubmitted: last?.at ?? null,
  };
}
