// rx clean: removing a sweep's run directories on the target (only those rx made, checked against
// the ledger and each point's commit), then their fetched files and links here, and with `refs`
// their refs/rx/<sweep>/<n>. The ledger keeps every point's history: a `removing` record (the
// intent, before the remote script runs) and a `removed` record (after), so a clean killed mid-way
// is finished by the next one — which includes every point whose removal was started and not ended.
import { ConfigError } from '../errors.ts';
import { algoOf, blobId } from '../git/objects.ts';
import type { RepoContext } from '../git/repo.ts';
import { git, verbs } from '../git/verbs.ts';
import { now, sweepDir, type Ledger, type PointRecord } from '../ledger/ledger.ts';
import { acquireLock } from '../ledger/lock.ts';
import { finished, selectSweeps, withLedger } from '../ledger/sweeps.ts';
import { parseRemoveOutput, removeDirsScript, type DirToRemove, type RemoveOutcome } from '../remote/clean.ts';
import { refreshStates, withTarget } from '../remote/jobs.ts';
import type { Target } from '../remote/target.ts';
import { RERUNNABLE } from '../submission/resubmit.ts';
import { crashPoint } from '../submission/crash.ts';
import { chunked } from '../chunked.ts';
import { deletedRefs } from '../submission/phases.ts';
import { unfetchPoints } from './unfetch.ts';

export interface CleanRequest {
  sweep: string;
  /** Only points whose latest job ended FAILED, TIMEOUT, CANCELLED, NODE_FAIL, OUT_OF_MEMORY or PREEMPTED. */
  failed?: boolean;
  /** Only runs that ended (or, without an end time, were submitted) longer ago than this: `7d`, `12h`, `30m`, `1d12h`. */
  olderThan?: string;
  /** List what would go (with sizes) and change nothing. */
  dryRun?: boolean;
  /** Also delete refs/rx/<sweep>/<n> of the points whose run directory is gone (here and on origin). */
  refs?: boolean;
  /** Asked once what would go is known (a prompt on a TTY); false: nothing is removed. Absent: no question. */
  confirm?: (q: { sweep: string; host: string; dirs: number; kb: number }) => Promise<boolean>;
}

export interface CleanEntry { key: string; dir: string | null; state: string; kb?: number; why?: string }

export interface CleanResult {
  sweep: string;
  host: string;
  dryRun: boolean;
  /** The user said no at the prompt: nothing was changed. */
  declined: boolean;
  /** Run directories removed (with --dry-run: that would be removed, with their size in KiB). */
  removed: CleanEntry[];
  /** Points whose run directory was already gone (recorded as removed). */
  gone: CleanEntry[];
  /** Points left alone, with why: a live job (rx cancel first), not rx's directory, no commit here. */
  skipped: CleanEntry[];
  /** Removals that failed on the target (run rx clean again). */
  failed: CleanEntry[];
  /** Local fetched files and links removed (absolute paths). */
  files: string[];
  links: string[];
  /** refs/rx/<sweep>/<n> deleted (locally; on origin too when it has them), and those origin refused. */
  refs: { deleted: string[]; refused: string[] };
  warnings: string[];
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** Pure: `7d`, `12h`, `30m`, `45s`, `2w`, or several (`1d12h`) → milliseconds. */
export function parseDuration(text: string, what = '--older-than'): number {
  const t = text.trim();
  const parts = [...t.matchAll(/(\d{1,9})([smhdw])/g)];
  if (!t || parts.map(p => p[0]).join('') !== t) throw new ConfigError(`${what}: ${JSON.stringify(text)} is not a duration`, { hint: 'Use a number and a unit: 30m, 12h, 7d, 2w (s m h d w; several add up: 1d12h).' });
  return parts.reduce((ms, p) => ms + Number(p[1]) * UNITS[p[2]!]! * 1000, 0);
}

/** When a run ended (its job's end time), or was submitted when no end is known; ms since the epoch. */
export function runTime(p: PointRecord): number | null {
  const end = p.status?.end ? Date.parse(p.status.end) : NaN;
  if (Number.isFinite(end)) return end;
  const at = p.jobs.at(-1)?.at;
  const t = at ? Date.parse(at) : NaN;
  return Number.isFinite(t) ? t : null;
}

export interface Selection {
  /** Run directories to remove (including those a clean started and did not finish). */
  chosen: PointRecord[];
  /** Points the filters match whose latest job is not final: left alone (rx cancel first). */
  live: PointRecord[];
  /** Points the filters match whose run directory is gone already (their local files and refs may still go). */
  removed: PointRecord[];
}

/**
 * Pure: which points a clean acts on. Only points with a run directory rx made and a job; a point
 * whose removal was started (a `removing` record) and not ended is always chosen, so that a clean
 * killed mid-way is finished by the next.
 */
export function selectForClean(points: Iterable<PointRecord>, opts: { failed?: boolean; olderThanMs?: number; nowMs: number }): Selection {
  const sel: Selection = { chosen: [], live: [], removed: [] };
  for (const p of points) {
    if (!p.dir || !p.created || !p.jobs.length) continue;
    if (p.dirRemoving && !p.dirRemoved) {
      sel.chosen.push(p);
      continue;
    }
    const done = finished(p);
    if (opts.failed && !(done && RERUNNABLE.has(p.status!.state))) continue;
    if (opts.olderThanMs !== undefined) {
      const t = runTime(p);
      if (t === null || opts.nowMs - t < opts.olderThanMs) continue;
    }
    if (p.dirRemoved) sel.removed.push(p);
    else if (!done) sel.live.push(p);
    else sel.chosen.push(p);
  }
  return sel;
}

const entry = (p: PointRecord, extra: Partial<CleanEntry> = {}): CleanEntry => ({ key: p.key, dir: p.dir ?? null, state: p.status?.state ?? 'PENDING', ...extra });

/** Cleans one sweep (the sweep's lock is held throughout, as rx submit and resubmit hold it). */
export async function cleanSweep(ctx: RepoContext, req: CleanRequest): Promise<CleanResult> {
  const [name] = selectSweeps(ctx, req.sweep);
  const olderThanMs = req.olderThan === undefined ? undefined : parseDuration(req.olderThan);
  const release = acquireLock(sweepDir(ctx.rxDir, name!), `sweep '${name}'`);
  try {
    return await withLedger(ctx, name!, async ledger => {
      const host = ledger.state().sweep?.remote.label ?? 'the target';
      const result: CleanResult = { sweep: name!, host, dryRun: Boolean(req.dryRun), declined: false, removed: [], gone: [], skipped: [], failed: [], files: [], links: [], refs: { deleted: [], refused: [] }, warnings: [] };
      await withTarget(ctx, ledger.state(), async target => {
        await refreshStates(target, ledger);
        const sel = selectForClean(ledger.state().points.values(), { failed: req.failed, olderThanMs, nowMs: Date.now() });
        for (const p of sel.live) result.skipped.push(entry(p, { why: `its job ${p.jobs.at(-1)!.jobId} has not ended (${p.status?.state ?? 'PENDING'}): rx cancel --sweep ${name} first` }));
        await removeRunDirs(ctx, ledger, target, sel.chosen, req, result);
      });
      if (!result.dryRun && !result.declined) await localCleanup(ctx, ledger, req, result, olderThanMs);
      return result;
    });
  } finally {
    release();
  }
}

/** The expected blob id of each point's `.rx/point.json`, from its commit here (one git cat-file). */
async function expectedPointJson(top: string, points: PointRecord[]): Promise<Map<string, string>> {
  const withSha = points.filter(p => p.sha);
  const blobs = withSha.length ? await git(top, verbs.readBlobs(withSha.map(p => `${p.sha}:.rx/point.json`))) : [];
  const ids = new Map<string, string>();
  withSha.forEach((p, i) => { if (blobs[i]) ids.set(p.key, blobId(blobs[i]!, algoOf(p.sha!))); });
  return ids;
}

/** Check (for --dry-run and the question), record the intent, run the one removal script, record the outcome. */
async function removeRunDirs(ctx: RepoContext, ledger: Ledger, target: Target, chosen: PointRecord[], req: CleanRequest, result: CleanResult): Promise<void> {
  if (!chosen.length) return;
  const ids = await expectedPointJson(ctx.top, chosen);
  for (const p of chosen.filter(p => !ids.has(p.key))) result.skipped.push(entry(p, { why: `its commit ${p.sha?.slice(0, 12) ?? '(none)'} is not in this repository, so its run directory cannot be told from another (fetch refs/rx/${ledger.name}/* from origin first)` }));
  let dirs: DirToRemove[] = chosen.filter(p => ids.has(p.key)).map(p => ({ key: p.key, dir: p.dir!, pointJson: ids.get(p.key)! }));
  if (!dirs.length) return;
  const byKey = new Map(chosen.map(p => [p.key, p]));
  if (req.dryRun || req.confirm) {
    const check = parseRemoveOutput((await target.transport.exec(removeDirsScript(dirs, { check: true }))).stdout);
    if (req.dryRun) return report(check, dirs, byKey, result);
    const going = dirs.filter(d => check.get(d.key)?.kind === 'removed');
    const kb = going.reduce((n, d) => n + ((check.get(d.key) as { kb?: number }).kb ?? 0), 0);
    if (going.length && !(await req.confirm!({ sweep: ledger.name, host: result.host, dirs: going.length, kb }))) {
      result.declined = true;
      return;
    }
    // What the check found not to be rx's is reported as such; the rest is checked again as it goes.
    report(new Map([...check].filter(([, o]) => o.kind === 'skipped')), dirs.filter(d => check.get(d.key)?.kind === 'skipped'), byKey, result);
    dirs = dirs.filter(d => check.get(d.key)?.kind !== 'skipped');
    if (!dirs.length) return;
  }
  ledger.append({ t: 'removing', at: now(), keys: dirs.map(d => d.key) });
  crashPoint('clean-removing');
  const r = await target.transport.exec(removeDirsScript(dirs, { check: false }), {
    // A crash test: SIGKILLed once the target reported the first removal (the script goes on).
    onLine: line => { if (line.startsWith('RXCLEANED ')) crashPoint('clean-1'); },
  });
  const outcomes = parseRemoveOutput(r.stdout);
  record(ledger, outcomes);
  report(outcomes, dirs, byKey, result);
}

/** The outcome in the ledger: `removed` for what is gone, an `error` (phase clean) for what was left. */
function record(ledger: Ledger, outcomes: Map<string, RemoveOutcome>): void {
  const at = now();
  const gone = [...outcomes.values()].filter(o => o.kind === 'removed' || o.kind === 'gone').map(o => o.key);
  ledger.append(
    ...(gone.length ? [{ t: 'removed' as const, at, keys: gone }] : []),
    ...[...outcomes.values()].flatMap(o => (o.kind === 'skipped' || o.kind === 'failed' ? [{ t: 'error' as const, at, key: o.key, phase: 'clean', message: o.why }] : [])),
  );
}

/** Sorts the outcomes into the result; a point the script said nothing about failed (no answer). */
function report(outcomes: Map<string, RemoveOutcome>, dirs: DirToRemove[], byKey: Map<string, PointRecord>, result: CleanResult): void {
  for (const d of dirs) {
    const p = byKey.get(d.key)!;
    const o = outcomes.get(d.key);
    if (!o) result.failed.push(entry(p, { why: 'the target said nothing about it (the connection dropped?): run the same rx clean again' }));
    else if (o.kind === 'removed') result.removed.push(entry(p, o.kb !== undefined ? { kb: o.kb } : {}));
    else if (o.kind === 'gone') result.gone.push(entry(p));
    else result[o.kind].push(entry(p, { why: o.why }));
  }
}

/**
 * Here: the fetched files and links of every selected point whose run directory is gone (also of
 * an earlier clean that was killed before it got here), and with --refs their refs.
 */
async function localCleanup(ctx: RepoContext, ledger: Ledger, req: CleanRequest, result: CleanResult, olderThanMs: number | undefined): Promise<void> {
  const state = ledger.state();
  const gone = new Set([...result.removed, ...result.gone].map(e => e.key));
  const sel = selectForClean(state.points.values(), { failed: req.failed, olderThanMs, nowMs: Date.now() });
  const points = [...state.points.values()].filter(p => p.dirRemoved && (gone.has(p.key) || sel.removed.includes(p)));
  if (!points.length) return;
  const u = unfetchPoints(ctx, ledger.name, points);
  result.files.push(...u.files);
  result.links.push(...u.links);
  result.warnings.push(...u.warnings);
  if (req.refs) result.refs = await deleteRefs(ctx.top, ledger.name, points);
}

/**
 * Deletes refs/rx/<sweep>/<n> of these points: on origin first (never forced; in chunks), then
 * here — only a ref that still names the point's own commit. A ref origin refuses to delete stays
 * here too (the next clean --refs tries again).
 */
async function deleteRefs(top: string, sweep: string, points: PointRecord[]): Promise<CleanResult['refs']> {
  const local = await git(top, verbs.forEachRef(`refs/rx/${sweep}/`));
  const want = points.map(p => ({ ref: `refs/rx/${sweep}/${p.key}`, sha: p.sha })).filter(r => r.sha && local.get(r.ref) === r.sha);
  if (!want.length) return { deleted: [], refused: [] };
  const refused = new Set<string>();
  if (await git(top, verbs.remoteUrl('origin'))) {
    for (const chunk of chunked(want.map(r => r.ref), 500)) {
      const r = await git(top, { ...verbs.push('origin', chunk.map(ref => `:${ref}`)), allowFailure: true });
      const deleted = deletedRefs(r.stdout);
      for (const ref of chunk) if (!deleted.has(ref)) refused.add(ref);
    }
  }
  const dels = want.filter(r => !refused.has(r.ref));
  if (dels.length) await git(top, verbs.updateRefs(dels.map(r => `delete ${r.ref} ${r.sha}`)));
  return { deleted: dels.map(r => r.ref), refused: [...refused] };
}
