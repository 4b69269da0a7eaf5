// What the runs will not contain, said before a submission or resubmission: a branch that moved
// since points were submitted (rx submit skips them; their failures rerun the old commits), and
// uncommitted edits to the files the runs take from the base commit (the patched files and the
// batch script). Read-only: asks git, never touches the user's working tree, index or branch.
import { isObject } from '../json.ts';
import { git, verbs, type TextVerb } from '../git/verbs.ts';
import { POINT_FILE } from '../git/commits.ts';
import type { PointRecord } from '../ledger/ledger.ts';
import type { FileChange } from '../sweep/patch.ts';
import { finished } from '../ledger/sweeps.ts';
import type { Out } from '../ui.ts';

/** A git verb's argv: `git status` of these paths only, porcelain v1, NUL-separated, tracked files. */
const statusVerb = (files: string[]): TextVerb<string[]> => ({
  argv: ['status', '--porcelain=v1', '-z', '--untracked-files=no', '--', ...files],
  // No index refresh written back (status may otherwise update .git/index), paths taken literally.
  env: { GIT_OPTIONAL_LOCKS: '0', GIT_LITERAL_PATHSPECS: '1' },
  allowFailure: true,
  parse: r => (r.exitCode === 0 ? changedPaths(r.stdout) : []),
});

/** Paths in `git status --porcelain=v1 -z` output (a rename's second field, its old path, is skipped). */
export function changedPaths(z: string): string[] {
  const fields = z.split('\0');
  const out: string[] = [];
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    if (f.length < 4) continue;
    out.push(f.slice(3));
    if (f[0] === 'R' || f[0] === 'C') i++;
  }
  return out;
}

/**
 * The files a sweep's runs take from the base commit that a user edits by hand: the files its
 * patchers read (a patcher as given, or as stored in the ledger: plain JSON), the files the
 * computed patches change (a function patcher names none), and the batch script.
 */
export function inputFiles(patcher: unknown, script: string | undefined, changes?: Map<string, FileChange[]>): string[] {
  const files = new Set<string>();
  for (const p of Array.isArray(patcher) ? patcher : [patcher]) if (isObject(p) && typeof p.file === 'string') files.add(p.file);
  for (const cs of changes?.values() ?? []) for (const c of cs) if (c.path !== POINT_FILE) files.add(c.path);
  if (script) files.add(script);
  return [...files].sort();
}

/** Which of `files` have uncommitted changes in the working tree of `top` (none when it has no working tree). */
export async function uncommitted(top: string, files: string[]): Promise<string[]> {
  if (!files.length) return [];
  return [...new Set(await git(top, statusVerb(files)))].sort();
}

/** Warns about uncommitted edits to the runs' input files; `then` says what to run once they are committed. */
export async function warnUncommitted(top: string, sweep: string, branch: string, files: string[], out: Out, then?: string): Promise<string[]> {
  const dirty = await uncommitted(top, files);
  if (dirty.length) {
    const list = dirty.length > 5 ? `${dirty.slice(0, 5).join(', ')} and ${dirty.length - 5} more` : dirty.join(', ');
    out.warn(`rx: ${sweep}: ${list} ${dirty.length === 1 ? 'has' : 'have'} uncommitted changes: the runs use the version committed on '${branch}' (commit ${dirty.length === 1 ? 'it' : 'them'} first${then ? `, then ${then}` : ''})`);
  }
  return dirty;
}

/** The tip of the branch, or null when it does not resolve (deleted or renamed). */
export function branchTip(top: string, branch: string): Promise<string | null> {
  return git(top, verbs.resolveCommit(branch));
}

/** The points of `points` submitted on another commit than `tip`, and the oldest such base. */
export function behind(points: readonly PointRecord[], tip: string): { points: PointRecord[]; from: string | null } {
  const old = points.filter(p => p.base !== tip);
  return { points: old, from: old[0]?.base ?? null };
}

const short = (sha: string) => sha.slice(0, 7);
/** Points whose latest job ended other than COMPLETED (as last seen). */
const failedOf = (ps: readonly PointRecord[]) => ps.filter(p => finished(p) && p.status!.state !== 'COMPLETED').length;

/**
 * rx submit: the points it skips as already submitted (each by its latest attempt) were built on an
 * older commit than the branch's tip. Says what each way of running them on the new base does.
 */
export function warnMovedOnSubmit(a: { sweep: string; branch: string; tip: string; sweepFile: string; skipped: readonly PointRecord[]; out: Out }): void {
  const { points, from } = behind(a.skipped, a.tip);
  if (!from) return;
  const failed = failedOf(points);
  a.out.warn(`rx: ${a.sweep}: branch '${a.branch}' moved since this sweep was submitted (${short(from)} → ${short(a.tip)}): rx submit skips the ${points.length} point(s) already submitted on the older base${failed ? ` (${failed} of them did not complete)` : ''}; `
    + `to run the failed ones on the new base: rx resubmit --failed --rebase --sweep ${a.sweep}; `
    + `to run every point again on the new base as new experiments (the old ones stay): rx submit --sweep ${a.sweepFile} --repeat`);
}

/** rx resubmit --failed (without --rebase): the failed points' commits are older than the branch's tip. */
export function warnMovedOnResubmit(a: { sweep: string; branch: string; tip: string; again: readonly PointRecord[]; out: Out }): void {
  const { points, from } = behind(a.again, a.tip);
  if (!from) return;
  a.out.warn(`rx: ${a.sweep}: branch '${a.branch}' moved since ${points.length === 1 ? 'this point was' : `these ${points.length} points were`} submitted (${short(from)} → ${short(a.tip)}): rx resubmit --failed reruns their old commits; to run them on the new base: rx resubmit --failed --rebase --sweep ${a.sweep}`);
}
