// The phases of a submission after planning, each recorded in the ledger before the next remote
// action: commits → one push → run dir names → (one connection) create dirs → clean temporary
// branches → submit jobs. Each phase does only what the ledger says is still to do, so running
// them again after a crash finishes the submission without doing anything twice.
import { git, verbs } from '../git/verbs.ts';
import { chunked } from '../chunked.ts';
import { buildCommits, refsFor, verifyAdoptable, type PointToBuild } from '../git/commits.ts';
import type { FileChange } from '../sweep/patch.ts';
import { now, type Ledger, type PointRecord, type SweepState } from '../ledger/ledger.ts';
import { Batcher } from '../ledger/batch.ts';
import { runDirName, uniquePrefixes } from '../remote/rundir.ts';
import { createDirsScript, DEFAULT_LOCK_WAIT_SECONDS } from '../remote/scripts.ts';
import { CommandError, StateError } from '../errors.ts';
import { hostname } from 'node:os';
import type { Target } from '../remote/target.ts';
import type { RemoteSpec } from '../remote/config.ts';
import type { Out } from '../ui.ts';
import { crashArmed, crashPoint } from './crash.ts';
import { submitJobs, type JobToSubmit } from './jobs.ts';
import { chainLinks, makeLinks } from './chains.ts';
import type { AfterSpec } from '../sweep/chains.ts';

/** What every phase needs to know about the sweep being submitted. */
export interface SubmissionContext {
  top: string;
  name: string;
  base: string;
  remote: RemoteSpec;
  label: string;
  /** Run-directory root on the target. */
  outputRoot: string;
  /** Whether the repository has an origin to push to. */
  origin: boolean;
  /** The URL the cluster fetches from (null: the local default needs none). */
  fetchUrl: string | null;
  out: Out;
}

/** Commits for the points that have none. A ref left by a crash after fast-import and before the ledger write is adopted. */
export async function commitPhase(c: SubmissionContext, ledger: Ledger, points: PointToBuild[], changes: Map<string, FileChange[]>): Promise<void> {
  if (!points.length) return;
  const existing = await git(c.top, verbs.forEachRef(`refs/rx/${c.name}/`));
  const refOf = (p: PointToBuild) => existing.get(refsFor(c.name, p.key).ref);
  const adopt = points.filter(p => refOf(p));
  const build = points.filter(p => !refOf(p));
  await verifyAdoptable(c.top, c.name, c.base, adopt.map(p => ({ key: p.key, hash: p.hash, sha: refOf(p)! })));
  const shas = await buildCommits(c.top, c.base, c.name, build, changes);
  for (const p of adopt) shas.set(p.key, refOf(p)!);
  ledger.append(...points.map(p => ({ t: 'commit' as const, at: now(), key: p.key, sha: shas.get(p.key)!, ...refsFor(c.name, p.key) })));
}

/** One push of every temporary branch and permanent ref of the sweep. Never forced. */
export async function pushPhase(c: SubmissionContext, ledger: Ledger): Promise<void> {
  const unpushed = [...ledger.state().points.values()].filter(p => p.sha && !p.pushed);
  if (!unpushed.length) return;
  if (c.origin) await git(c.top, verbs.push('origin', [`refs/heads/rx/${c.name}/*:refs/heads/rx/${c.name}/*`, `refs/rx/${c.name}/*:refs/rx/${c.name}/*`]));
  ledger.append({ t: 'pushed', at: now(), keys: unpushed.map(p => p.key) });
}

/**
 * Run directory names, decided (and recorded) before anything is created remotely. With `newDirs`,
 * a point whose run directory could not be made, or is known to be blocked (`blocked`: something
 * else is in the way), gets a fresh name.
 */
export function dirsPhase(c: SubmissionContext, ledger: Ledger, opts: { newDirs?: boolean; blocked?: ReadonlySet<string> } = {}): void {
  const all = [...ledger.state().points.values()];
  const noDir = all.filter(p => p.pushed && !p.dir);
  const blocked = opts.newDirs ? all.filter(p => p.pushed && p.dir && !p.created && (opts.blocked?.has(p.key) || p.errors.some(e => e.phase === 'create'))) : [];
  if (!noDir.length && !blocked.length) return;
  const prefixes = uniquePrefixes(all.map(p => p.sha!).filter(Boolean));
  const when = new Date();
  const fresh = (p: PointRecord) => {
    // A name that differs from the one in the way (names have a resolution of one second).
    for (let s = 0; ; s++) {
      const dir = `${c.outputRoot}/${runDirName(c.name, new Date(when.getTime() + s * 1000), prefixes.get(p.sha!)!)}`;
      if (dir !== p.dir) return dir;
    }
  };
  ledger.append(...[...noDir, ...blocked].map(p => ({ t: 'dir' as const, at: now(), key: p.key, dir: fresh(p), remote: c.label })));
  if (blocked.length) c.out.warn(`rx: ${c.name}: --new-dirs: ${blocked.length} point(s) get a fresh run directory (${blocked.map(p => p.key).join(', ')}); what was in the way is left as it is`);
}

/** Whether any point still needs the target (a dir to create, a branch to clean, a job to submit). */
export function needsTarget(ledger: Ledger): boolean {
  return [...ledger.state().points.values()].some(p => p.dir && (!p.created || !p.cleaned || p.jobs.length === 0));
}

/** Makes the run directories (one script), recording each as it is reported. */
export async function createPhase(c: SubmissionContext, ledger: Ledger, target: Target, opts: { lockWait?: number } = {}): Promise<void> {
  const all = [...ledger.state().points.values()];
  const toCreate = all.filter(p => p.dir && !p.created);
  if (!toCreate.length) return;
  const bar = c.out.progress('creating run dirs', toCreate.length);
  const branches = all.filter(p => p.pushed && !p.cleaned && p.branch).map(p => p.branch!);
  const holder = `rx submit of sweep ${c.name} from ${hostname()} (pid ${process.pid})`;
  const script = createDirsScript({ repo: target.repo, fetchUrl: target.local ? null : c.fetchUrl, sweep: c.name, dirs: toCreate.map(p => ({ key: p.key, sha: p.sha!, dir: p.dir! })), stateDir: target.stateDir, script: c.remote.script, branches, lockWait: opts.lockWait, holder });
  const batch = new Batcher<string>(ledger, keys => [{ t: 'created', at: now(), keys }]);
  try {
    await target.transport.exec(script, {
      onLine: line => {
        const m = /^RXDIR (\S+)/.exec(line);
        if (m) {
          batch.add(m[1]!);
          bar.tick();
          if (crashArmed('create-1')) { batch.flush(); crashPoint('create-1'); }
        }
        const e = /^RXERR (\S+) (.*)$/.exec(line);
        if (e) ledger.append({ t: 'error', at: now(), key: e[1]!, phase: 'create', message: e[2]! });
        const w = /^RXWAIT (.*)$/.exec(line);
        if (w) c.out.warn(`rx: ${c.name}: another process is making run directories on ${target.transport.label} (${target.stateDir}/.create.lock held by: ${w[1]}); waiting up to ${opts.lockWait ?? DEFAULT_LOCK_WAIT_SECONDS} s`);
      },
    });
  } catch (e) {
    throw createFailure(c, target, e, opts.lockWait ?? DEFAULT_LOCK_WAIT_SECONDS);
  } finally {
    batch.flush();
    bar.stop();
  }
}

/** The create script's RXFATAL as an error that says what happened and what to do. */
function createFailure(c: SubmissionContext, target: Target, e: unknown, wait: number): unknown {
  if (!(e instanceof CommandError)) return e;
  const fatal = /^RXFATAL (.*)$/m.exec(e.stderr)?.[1];
  if (!fatal) return e;
  const where = target.transport.label;
  if (e.exitCode_ === 4) {
    return new StateError(`${where}: ${fatal}`, { hint: `Another rx (or a stuck process) is making run directories in ${target.output}. Wait for it and run the same rx submit again (no run directory was made; it finishes where it stopped), or wait longer with --lock-timeout <seconds> (now ${wait}). If no rx runs any more, find the holder on the target with \`fuser -v ${target.stateDir}/.create.lock\` and stop it: the lock goes with its process.` });
  }
  return new CommandError(e.argv, e.exitCode_, fatal, e.stdout, e.durationMs, { where, hint: `Fix the cause on the target (permissions, disk space, the clone ${target.repo}) and run the same rx submit again: it finishes where it stopped.` });
}

/**
 * The temporary branches have served: delete them on origin and locally (the cluster clone's were
 * deleted by the create script). Only refs rx created, named in the ledger.
 */
export async function cleanPhase(c: SubmissionContext, ledger: Ledger): Promise<void> {
  const toClean = [...ledger.state().points.values()].filter(p => p.created && !p.cleaned);
  if (!toClean.length) return;
  // Only points of older submissions have a temporary branch to delete.
  const branches = toClean.flatMap(p => (p.branch ? [p.branch] : []));
  if (!branches.length) { ledger.append({ t: 'cleaned', at: now(), keys: toClean.map(p => p.key) }); return; }
  const left = c.origin ? await deleteOnOrigin(c, branches) : new Set<string>();
  const local = await git(c.top, verbs.forEachRef(`refs/heads/rx/${c.name}/`));
  const mine = new Set(branches);
  const dels = [...local.keys()].filter(r => mine.has(r)).map(r => `delete ${r} ${local.get(r)}`);
  if (dels.length) await git(c.top, verbs.updateRefs(dels));
  ledger.append({ t: 'cleaned', at: now(), keys: toClean.filter(p => !p.branch || !left.has(p.branch)).map(p => p.key) });
}

/** Deletes branches on origin in chunks; returns those origin refused to delete (tried again next time). */
async function deleteOnOrigin(c: SubmissionContext, branches: string[]): Promise<Set<string>> {
  const left = new Set<string>();
  for (const chunk of chunked(branches, 500)) {
    const r = await git(c.top, { ...verbs.push('origin', chunk.map(b => `:${b}`)), allowFailure: true });
    const deleted = deletedRefs(r.stdout);
    for (const b of chunk) if (!deleted.has(b)) left.add(b);
  }
  if (left.size) c.out.warn(`rx: ${c.name}: origin refused to delete ${left.size} temporary branches (${[...left].slice(0, 3).join(', ')}${left.size > 3 ? ', …' : ''}); the next rx submit tries again`);
  return left;
}

/** Submits every created, never-submitted point in one script. */
export async function jobsPhase(c: SubmissionContext, ledger: Ledger, target: Target, chain?: Chain): Promise<void> {
  let toSubmit: JobToSubmit[] = [...ledger.state().points.values()].filter(p => p.created && p.jobs.length === 0).map(p => ({ key: p.key, dir: p.dir!, sha: p.sha, attempt: 1 }));
  if (chain) toSubmit = await chained(ledger, target, toSubmit, chain, 'submit');
  await submitJobs(target, ledger, c.remote, toSubmit, { phase: 'submit', out: c.out, top: c.top });
}

/** A chained sweep's source (`after:`): its spec and its ledger state when the jobs are submitted. */
export interface Chain {
  after: Required<AfterSpec>;
  source: SweepState;
}

/**
 * Chained points with their dependency, after their link to the source run dir is made; a point
 * whose source has no job, or whose link could not be made, gets an error record and no job.
 */
export async function chained(ledger: Ledger, target: Target, points: JobToSubmit[], chain: Chain, phase: string): Promise<JobToSubmit[]> {
  const st = ledger.state();
  const { links, errors } = chainLinks(points.map(p => st.points.get(p.key)!), chain.source);
  const made = await makeLinks(target, points.filter(p => links.has(p.key)).map(p => ({ key: p.key, dir: p.dir, source: links.get(p.key)!.source })), chain.after.link);
  for (const e of [...errors, ...made.errors]) ledger.append({ t: 'error', at: now(), key: e.key, phase, message: e.error });
  return points.filter(p => made.made.has(p.key)).map(p => { const after = links.get(p.key)!.after; return after === null ? p : { ...p, after }; });
}

/** Refs `git push --porcelain` reports deleted (`-`) or already absent/up to date (`=`). */
export function deletedRefs(porcelain: string): Set<string> {
  const out = new Set<string>();
  for (const line of porcelain.split('\n')) {
    const m = /^([-=])\t:?([^\t:]*):?(\S*)\t/.exec(line);
    if (m) out.add(m[3] || m[2]!);
  }
  return out;
}
