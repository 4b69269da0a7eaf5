// Finding the one experiment a user means (rx show, rx logs, rx diff): by commit sha (4+ hex
// digits), run directory (path or name), job id (any attempt's: `12345`, an array task `123_4`)
// or link name (`rx link`'s `<name>_<file>`, its `<name>` alone, or the path of such a link).
// Every kind is tried and the matches pooled, so a job id that also looks like a sha prefix is
// ambiguous only when it really names two experiments.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import type { RepoContext } from '../git/repo.ts';
import { listSweeps, sweepState, type PointRecord, type SweepState } from '../ledger/ledger.ts';
import { LINK_MANIFEST } from './link.ts';
import { fitName, flatPath, lstatOrNull } from './mirror.ts';

export interface Found {
  sweep: string;
  point: PointRecord;
  state: SweepState;
  /** How it matched: sha, dir, job or link. */
  by: string;
}

type LinkEntries = Record<string, { sweep?: string; key?: string; file?: string }>;

/** The link manifests that may name `what`: every `.rx/links/<sweep>/`, and the directory of a link path. */
function linkManifests(ctx: RepoContext, what: string, cwd: string): LinkEntries[] {
  const dirs: string[] = [];
  const linksRoot = join(ctx.rxDir, 'links');
  if (existsSync(linksRoot)) for (const e of readdirSync(linksRoot, { withFileTypes: true })) if (e.isDirectory()) dirs.push(join(linksRoot, e.name));
  if (what.includes('/') && lstatOrNull(resolve(cwd, what))?.isSymbolicLink()) dirs.push(dirname(resolve(cwd, what)));
  const out: LinkEntries[] = [];
  for (const d of dirs) {
    try {
      const m = JSON.parse(readFileSync(join(d, LINK_MANIFEST), 'utf8')) as { links?: LinkEntries };
      if (m?.links && typeof m.links === 'object') out.push(m.links);
    } catch { /* no manifest there, or not rx's: not a link directory */ }
  }
  return out;
}

/** `sweep\0key` of every link whose name is `name`, or `<name>_<file>` of one of its files. */
function linkedKeys(manifests: LinkEntries[], what: string): Set<string> {
  const name = what.split('/').pop()!;
  const keys = new Set<string>();
  for (const links of manifests) {
    for (const [linkName, e] of Object.entries(links)) {
      if (!e?.sweep || !e.key) continue;
      if (linkName === name || (e.file && linkName === fitName(name, '_' + flatPath(e.file)))) keys.add(`${e.sweep}\0${e.key}`);
    }
  }
  return keys;
}

function matchesPoint(p: PointRecord, q: string): string | null {
  if (/^[0-9a-f]{4,40}$/.test(q) && p.sha?.startsWith(q)) return 'sha';
  if (p.dir && (p.dir === q || p.dir.split('/').pop() === q.split('/').pop())) return 'dir';
  // Any attempt's id; a pack job's id names each of its points (`123` ⊃ `123+0`, `123+1`).
  if (/^\d+(_\d+)?(\+\d+)?$/.test(q) && p.jobs.some(j => j.jobId === q || j.jobId.replace(/\+\d+$/, '') === q)) return 'job';
  return null;
}

/** The one experiment `what` names; an error naming the candidates when none or several. */
export function resolveExperiment(ctx: RepoContext, what: string, cwd = ctx.top): Found {
  const q = what.trim().replace(/\/+$/, '');
  if (!q) throw new ConfigError('give a commit sha (4+ hex digits), a run directory, a job id or a link name');
  const linked = linkedKeys(linkManifests(ctx, q, cwd), q);
  const found: Found[] = [];
  for (const name of listSweeps(ctx.rxDir)) {
    const state = sweepState(ctx.rxDir, name);
    for (const p of state.points.values()) {
      const by = matchesPoint(p, q) ?? (linked.has(`${name}\0${p.key}`) ? 'link' : null);
      if (by) found.push({ sweep: name, point: p, state, by });
    }
  }
  if (found.length === 1) return found[0]!;
  if (!found.length) throw new ConfigError(`no experiment with commit, run directory, job id or link name '${what}'`, { hint: 'rx status lists every experiment with its job id and run directory.' });
  throw new ConfigError(`'${what}' matches ${found.length} experiments: ${found.slice(0, 10).map(f => `${f.sweep} point ${f.point.key} (by ${f.by})`).join(', ')}${found.length > 10 ? ', …' : ''}`, { hint: 'Give more digits of the sha, the full run directory name, or sweep-specific link name.' });
}
