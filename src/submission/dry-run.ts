// rx submit --dry-run (psweep's simulate): the plan — points, hashes, what would be skipped, run
// directory names and each patch's diff — with nothing created: no refs, no ledger, no remote.
import { createTwoFilesPatch } from 'diff';
import { git, verbs } from '../git/verbs.ts';
import { commitMessage, commitTime, type PointToBuild } from '../git/commits.ts';
import { commitId, TreeOverlay } from '../git/objects.ts';
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

/** Diffs a dry run computes when --limit is not given (the first fresh points'); --limit K asks for K. */
export const DEFAULT_DIFFS = 20;

export interface DryRunPlan {
  /** Points in the plan: fresh ones (in key order), then skipped and resumed ones. */
  total: number;
  fresh: number;
  resuming: number;
  skipped: number;
  /** Fresh points whose diff was computed (the first `diffs`); the others have `diff: null`. */
  diffs: number;
  /** The points, made one at a time as they are read (diffs included), so a million-point plan is never held as objects or as one string. */
  points(): Generator<PlannedPoint>;
}

/**
 * The dry run's plan. The commit shas are those buildCommits would write this second, hashed here
 * (commitIds) without a git process or an object written; the per-point records are produced
 * lazily, and only the first `diffs` fresh points get a diff (default DEFAULT_DIFFS: diffing
 * 100 000 patches is most of the work).
 */
export async function planDryRun(i: DryRunInput, diffs = DEFAULT_DIFFS): Promise<DryRunPlan> {
  // One instant for the commits and the run directory names (formatted once: a name ends with the short sha).
  const now = new Date();
  const shas = await commitIds(i.repo, i.base, i.sweep, i.fresh, i.changes, { when: await commitTime(i.repo, i.base) });
  const prefixes = uniquePrefixes([...i.existingShas, ...shas.values()]);
  const stem = `${i.outputRoot}/${runDirName(i.sweep, now, '')}`;
  const withDiff = i.fresh.slice(0, Math.max(0, diffs));
  const paths = [...new Set(withDiff.flatMap(p => (i.changes.get(p.key) ?? []).map(c => c.path)))];
  const blobs = paths.length ? await git(i.repo, verbs.readBlobs(paths.map(p => `${i.base}:${p}`))) : [];
  const before = new Map(paths.map((p, j) => [p, blobs[j]?.toString('utf8') ?? '']));
  const diffOf = (p: PointToBuild) => (i.changes.get(p.key) ?? []).map(c => createTwoFilesPatch(`a/${c.path}`, `b/${c.path}`, before.get(c.path) ?? '', c.content?.toString('utf8') ?? '', i.base.slice(0, 12), `point ${p.key}`)).join('');
  const resuming = i.skipped.filter(s => s.resumed).length;
  return {
    total: i.fresh.length + i.skipped.length,
    fresh: i.fresh.length,
    resuming,
    skipped: i.skipped.length - resuming,
    diffs: withDiff.length,
    *points() {
      for (let n = 0; n < i.fresh.length; n++) {
        const p = i.fresh[n]!;
        const sha = shas.get(p.key)!;
        yield { key: p.key, params: p.params, varied: p.varied, hash: p.hash, skipped: false, resuming: false, dir: stem + prefixes.get(sha)!, sha, diff: n < withDiff.length ? diffOf(p) : null };
      }
      for (const s of i.skipped) yield { key: s.key, params: s.params, varied: s.varied, hash: s.hash, skipped: !s.resumed, resuming: s.resumed, dir: s.dir, sha: s.sha, diff: null };
    },
  };
}

export interface CommitTime {
  /** "Name <email>", as `git var GIT_COMMITTER_IDENT` gives it (default: the repository's). */
  ident?: string;
  /** "<seconds> <±hhmm>" (default: now, +0000, as buildCommits writes it). */
  when?: string;
}

/**
 * The sha of the commit buildCommits would make for each point (key → sha): the same tree (the
 * base's with the point's changes), parent, author, committer and message, hashed in-process. The
 * base's trees along the changed paths are read once; nothing is written to the repository.
 */
export async function commitIds(repo: string, base: string, sweep: string, points: readonly PointToBuild[], changes: Map<string, FileChange[]>, t: CommitTime = {}): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (points.length === 0) return out;
  const ident = t.ident ?? (await git(repo, verbs.committerIdent())) ?? 'rx <rx@localhost>';
  const who = `${ident} ${t.when ?? (await commitTime(repo, base))}`;
  const paths = new Set<string>();
  for (const p of points) for (const c of changes.get(p.key) ?? []) paths.add(c.path);
  const overlay = await TreeOverlay.load(repo, base, paths);
  for (const p of points) {
    const tree = overlay.rootWith(changes.get(p.key) ?? []);
    out.set(p.key, commitId({ tree, parents: [base], author: who, committer: who, message: commitMessage(sweep, p) }, overlay.algo));
  }
  return out;
}
