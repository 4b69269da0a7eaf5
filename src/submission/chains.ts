// The submission side of per-point chains (`after:`, src/sweep/chains.ts): the source sweep's
// points from its ledger, each chained point's dependency (the source point's latest job) and the
// `<link>` symlink in its run dir to the source point's run dir, made just before it is submitted.
import { ConfigError } from '../errors.ts';
import { latestPoints, listSweeps, sweepState, type PointRecord, type SweepState } from '../ledger/ledger.ts';
import { latestOf } from '../ledger/status.ts';
import { sh } from '../quote.ts';
import { dependencyOf, DEFAULT_LINK, type AfterSpec, type SourcePoint } from '../sweep/chains.ts';
import type { Target } from '../remote/target.ts';
import { TERMINAL_STATES } from '../remote/scheduler/types.ts';

/** The source sweep's ledger state; it must exist and have been submitted to `label`. */
export function sourceState(rxDir: string, top: string, after: AfterSpec, label: string): SweepState {
  if (!listSweeps(rxDir).includes(after.sweep)) throw new ConfigError(`after.sweep: there is no sweep '${after.sweep}' in ${top}`, { hint: 'Submit the source sweep first (the chained sweep can be submitted right after it: it does not wait).' });
  const st = sweepState(rxDir, after.sweep);
  const remote = st.sweep?.remote.label;
  if (remote !== label) throw new ConfigError(`after.sweep: sweep '${after.sweep}' was submitted to ${remote ?? 'no remote yet'}, this sweep goes to ${label}`, { hint: 'A chained sweep runs on the cluster of its source: use the same remote.' });
  return st;
}

/** The source points a chain can follow: latest attempts that have a run dir and a job (keyed by their first attempt). */
export function chainSources(st: SweepState): { sources: SourcePoint[]; waiting: string[] } {
  const sources: SourcePoint[] = [];
  const waiting: string[] = [];
  for (const p of latestPoints(st)) {
    if (p.dir && p.jobs.length) sources.push({ key: firstAttempt(p, st).key, params: p.params, varied: p.varied, sha: p.sha ?? null });
    else waiting.push(p.key);
  }
  return { sources, waiting };
}

/** The first attempt of a point's lineage (the point itself unless it supersedes another). */
function firstAttempt(p: PointRecord, st: SweepState): PointRecord {
  // A point supersedes only one planned before it (checked when the ledger is read): no cycle.
  let q = p;
  for (let prev; q.supersedes !== undefined && (prev = st.points.get(q.supersedes)); ) q = prev;
  return q;
}

/** What a chained point is submitted with: the job it waits for and the run dir its link names. */
export interface ChainLink {
  /** The job to wait for; null when the source point is known to have completed already. */
  after: string | null;
  source: string;
}

/**
 * For each chained point (by key), the source point's latest attempt's job (its Slurm job for
 * an array task or pack member) and run dir: after `rx resubmit --failed` of the source, the
 * new attempt's. Points whose source has no usable job are left out (with why).
 */
export function chainLinks(points: PointRecord[], src: SweepState): { links: Map<string, ChainLink>; errors: { key: string; error: string }[] } {
  const links = new Map<string, ChainLink>();
  const errors: { key: string; error: string }[] = [];
  for (const p of points) {
    const first = p.from && src.points.get(p.from.key);
    const s = first && latestOf(first, src);
    const job = s?.jobs.at(-1);
    const dep = job ? dependencyOf(job.jobId) : null;
    const state = s?.status?.state;
    if (!s || !s.dir || !dep) errors.push({ key: p.key, error: `its source point ${p.from?.key ?? '?'} of sweep '${src.name}' has no job to wait for` });
    // Slurm forgets finished jobs (MinJobAge) and refuses a dependency on one it forgot: a source
    // known to have completed needs none; one known to have failed is resubmitted first.
    else if (state === 'COMPLETED') links.set(p.key, { after: null, source: s.dir });
    else if (state && TERMINAL_STATES.has(state)) errors.push({ key: p.key, error: `its source point ${s.key} of sweep '${src.name}' ended ${state}: rx resubmit --failed --sweep ${src.name} first, then rx submit this sweep again (its points without a job are submitted then)` });
    else links.set(p.key, { after: dep, source: s.dir });
  }
  return { links, errors };
}

/**
 * Makes `<dir>/<name>` a symlink to the source run dir (absolute, resolved on the target) for every
 * point; prints `RXLINK <key>` or `RXERR <key> <why>`. The link is not part of the commit's tree, so
 * the run dir still passes the create script's adoption check. Anything else at that name is kept.
 */
export async function makeLinks(target: Target, items: { key: string; dir: string; source: string }[], name = DEFAULT_LINK): Promise<{ made: Set<string>; errors: { key: string; error: string }[] }> {
  const made = new Set<string>();
  const errors: { key: string; error: string }[] = [];
  if (!items.length) return { made, errors };
  const fn = sh`rx_link() {
  local key=$1 d=$2 src=$3 name=$4 abs
  if ! abs=$(cd -- "$src" 2>/dev/null && pwd -P); then echo "RXERR $key the source run directory $src is not there"; return; fi
  if [ -e "$d/$name" ] && [ ! -L "$d/$name" ]; then echo "RXERR $key $d/$name exists and is not a link: move it away"; return; fi
  if ln -sfn -- "$abs" "$d/$name"; then echo "RXLINK $key"; else echo "RXERR $key cannot make the link $d/$name"; fi
}`;
  const lines = [fn, ...items.map(i => sh`rx_link ${i.key} ${sh.path(i.dir)} ${sh.path(i.source)} ${name}`), sh`exit 0`, sh``];
  const r = await target.transport.exec(sh.lines(lines).text);
  for (const line of r.stdout.split('\n')) {
    const ok = /^RXLINK (\S+)$/.exec(line);
    if (ok) made.add(ok[1]!);
    const e = /^RXERR (\S+) (.*)$/.exec(line);
    if (e) errors.push({ key: e[1]!, error: e[2]! });
  }
  return { made, errors };
}

/**
 * Whether a chained point's job ended CANCELLED because its source failed. Slurm says so
 * (DependencyNeverSatisfied) only while it holds the job in memory; sacct records no reason. So
 * it is told from the ledgers: cancelled without having run, and an attempt of its source
 * point ended other than COMPLETED.
 */
export function dependencyFailed(p: PointRecord, s: { state: string; elapsedSeconds?: number | null }, src: SweepState): boolean {
  if (s.state !== 'CANCELLED' || (s.elapsedSeconds ?? 0) > 0 || !p.from) return false;
  const lineage: PointRecord[] = [];
  for (let q = src.points.get(p.from.key); q; q = q.supersededBy !== undefined ? src.points.get(q.supersededBy) : undefined) lineage.push(q);
  return lineage.some(q => q.status && TERMINAL_STATES.has(q.status.state) && q.status.state !== 'COMPLETED');
}
