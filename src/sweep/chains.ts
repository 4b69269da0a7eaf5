// Per-point chains (`after: { sweep, link? }`): every point of an earlier sweep gets its own points
// in this sweep (× this sweep's own points), submitted at once with a scheduler dependency on the
// source point's job, so sequential codes (MESA: pre-main-sequence → ZAMS → evolution) need no
// waiting. Unlike `from:` the points come from the source's ledger (its points, run dirs and job
// ids), not from its dataset. Pure: validation, the points, and the dependency of a job id.
import { ConfigError } from '../errors.ts';
import { isObject } from '../json.ts';
import { paramHash } from './hash.ts';
import { validateSweepName } from './names.ts';
import { checkPlanMemory, type Params } from './points.ts';
import type { PlannedPoint } from './plan.ts';
import type { StageOrigin } from './stages.ts';

export interface AfterSpec {
  /** The source sweep (in this repository, submitted to the same remote). */
  sweep: string;
  /** Name of the symlink in each run dir that points to the source point's run dir (default `prev`). */
  link?: string;
}

export const DEFAULT_LINK = 'prev';

/** One point of the source sweep, as its ledger says (its latest attempt). */
export interface SourcePoint {
  /**
   * The key of the point's first attempt: a chain follows the point whichever attempt is latest
   * (`rx resubmit --rebase` makes new keys), so its chained points keep their identity.
   */
  key: string;
  params: Params;
  varied: Params;
  sha: string | null;
}

export function validateAfter(raw: unknown, own: string): Required<AfterSpec> {
  if (!isObject(raw)) throw new ConfigError("after: expected { sweep: 'stage1', link?: 'prev' }");
  for (const k of Object.keys(raw)) if (k !== 'sweep' && k !== 'link') throw new ConfigError(`after.${k}: unknown key; known: sweep, link`);
  const sweep = validateSweepName(raw.sweep, 'after.sweep');
  if (sweep === own) throw new ConfigError(`after.sweep: a sweep cannot be chained after itself ('${own}')`);
  const link = raw.link ?? DEFAULT_LINK;
  checkLinkName(link);
  return { sweep, link: link as string };
}

/** The link is made inside a run dir: one safe path component, never one rx or the code uses. */
export function checkLinkName(link: unknown): asserts link is string {
  const ok = typeof link === 'string' && /^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$/.test(link) && link !== '.rx' && !link.startsWith('slurm-');
  if (!ok) throw new ConfigError(`after.link: expected one file name (letters, digits, '.', '_', '-', not starting with '.' or '-'), got ${JSON.stringify(link)}`, { hint: "Use e.g. link: 'prev'." });
}

/**
 * The chained points: every source point × every own point. Params = base_config overlaid on the
 * source point's params, overlaid with the own point's values: own values win. The varied values
 * are the source's varied ones and the own ones, so each chain is told apart by what its source
 * varied. The hash is the chain's (chainHash): two source points with equal params (repeats)
 * have chains of their own.
 */
export function chainPoints(after: AfterSpec, sources: SourcePoint[], own: PlannedPoint[], base: Params): (PlannedPoint & { from: StageOrigin })[] {
  checkPlanMemory(sources.length * own.length, Object.keys(base).length + Object.keys(sources[0]?.params ?? {}).length + Object.keys(own[0]?.varied ?? {}).length, `after (${sources.length} points of '${after.sweep}' × ${own.length} points)`);
  const out: (PlannedPoint & { from: StageOrigin })[] = [];
  for (const s of sources) {
    for (const p of own) {
      const params = Object.assign({}, s.params, base, p.varied);
      const varied = Object.assign({}, s.varied, p.varied);
      out.push({ params, varied, hash: chainHash(params, after.sweep, s.key), origin: p.origin, from: { sweep: after.sweep, key: s.key, sha: s.sha } });
    }
  }
  return out;
}

/**
 * A chained point's identity: its params and the source point it follows (sweep and first
 * attempt's key). A point's hash is what rx deduplicates by, so a hash of the params alone would
 * make the chains of repeated source points (same params, other keys) one point.
 */
export function chainHash(params: Params, sweep: string, key: string): string {
  return paramHash({ after: { sweep, point: key }, params });
}

/**
 * The Slurm (or shell) job a chained point waits for, from the source point's recorded job id:
 * `123` and array tasks `123_4` as they are, a packed point `123_4+2` is its pack's job `123_4`.
 * Null when there is no job to wait for (the id rx records for an adopted run dir without one).
 */
export function dependencyOf(jobId: string): string | null {
  const m = /^(\d+(?:_\d+)?)(?:\+\d+)?$/.exec(jobId);
  return m ? m[1]! : null;
}
