// What goes to the scheduler as one job: a point alone, or a pack of points (`remote.pack`); and
// which of those jobs go as job arrays (Slurm: jobs that run the same batch script).
import { git, verbs } from '../git/verbs.ts';
import { chunked } from '../chunked.ts';
import { arrayPlan, parseBatchScript, parseMaxArraySize, SHOW_CONFIG } from '../remote/scheduler/slurm-array.ts';
import { makePacksScript, markerSurveyScript, packDir, packName, packRunner, parseMarkers, parsePacks, PACK_OUTPUT, runnerName, type PackMember, type PackSpec, type PackToMake } from '../remote/scheduler/pack.ts';
import { parseSubmitLine, type ArrayJob, type JobSpec } from '../remote/scheduler/types.ts';
import type { Target } from '../remote/target.ts';
import type { RemoteSpec } from '../remote/config.ts';
import type { JobToSubmit } from './jobs.ts';
import { crashPoint } from './crash.ts';

/** One job: its spec, and the points it runs (one, or a pack's members in slot order). */
export interface Unit {
  spec: JobSpec;
  members: { key: string; attempt: number }[];
}

/** Jobs that share one batch script (`text`; null when it could not be read), in key order. */
interface ScriptGroup {
  text: string | null;
  points: JobToSubmit[];
}

export interface Units {
  /** Job arrays (Slurm), each of units that run the same script. */
  arrays: { job: ArrayJob; units: Unit[] }[];
  singles: Unit[];
  /** Points already submitted (a marker holds their id) though the ledger did not know it. */
  known: { key: string; attempt: number; jobId: string }[];
  /** Points left out (e.g. a pack could not be made), with why. */
  errors: { key: string; error: string }[];
  /** The batch scripts' `#SBATCH` words (the first script's: where the QOS a job runs under may be set). */
  directives: string[];
}

const byKey = (a: { key: string }, b: { key: string }) => Number(a.key) - Number(b.key) || a.key.localeCompare(b.key);

/** `remote.pack` as size and parallelism; null for one point per job. */
export function packOf(remote: RemoteSpec): PackSpec | null {
  const p = remote.pack;
  if (p === undefined) return null;
  const spec = typeof p === 'number' ? { size: p, parallel: 1 } : { size: p.size, parallel: p.parallel ?? 1 };
  return spec.size > 1 ? spec : null;
}

/** Groups points by the bytes of their commit's batch script (read locally, in one git process). */
async function scriptGroups(top: string, remote: RemoteSpec, points: JobToSubmit[]): Promise<ScriptGroup[]> {
  const withSha = points.filter(p => p.sha);
  const loose: ScriptGroup = { text: null, points: points.filter(p => !p.sha) };
  let blobs: (Buffer | null)[] = [];
  try {
    if (withSha.length) blobs = await git(top, verbs.readBlobs(withSha.map(p => `${p.sha}:${remote.script}`)));
  } catch {
    return [{ text: null, points }]; // commits not here: one job each, as before
  }
  const groups = new Map<string, ScriptGroup>();
  withSha.forEach((p, i) => {
    const b = blobs[i];
    if (!b) { loose.points.push(p); return; }
    const id = b.toString('latin1');
    const g = groups.get(id);
    if (g) g.points.push(p);
    else groups.set(id, { text: b.toString('utf8'), points: [p] });
  });
  const out = [...groups.values(), loose].filter(g => g.points.length);
  for (const g of out) g.points.sort(byKey);
  return out;
}

/** The units for `points`: one per point, or packs of `remote.pack` points; then arrays where they can be. */
export async function planUnits(target: Target, remote: RemoteSpec, all: JobToSubmit[], top: string): Promise<Units> {
  // A Slurm dependency holds a whole array job, not one task: chained points (`after:`) go one job
  // each, never packed or in an array (each waits for its own source's job).
  const points = all.filter(p => p.after === undefined);
  const args = schedulerArgs(target, remote);
  const chained = all.filter(p => p.after !== undefined).sort(byKey).map(p => pointUnit(p, remote, args));
  const units: Units = points.length || !chained.length ? await planPlain(target, remote, points, top) : { arrays: [], singles: [], known: [], errors: [], directives: [] };
  units.singles.push(...chained);
  return units;
}

/** The extra scheduler arguments of every job: sbatchArgs for Slurm (the shell scheduler takes none). */
function schedulerArgs(target: Target, remote: RemoteSpec): string[] {
  return target.scheduler.name === 'slurm' ? remote.sbatchArgs ?? [] : [];
}

/** One point as one job (with its source's job to wait for, for a chained point). */
function pointUnit(p: JobToSubmit, remote: RemoteSpec, args: string[]): Unit {
  return { spec: { key: p.key, dir: p.dir, script: remote.script, args, attempt: p.attempt, ...(p.after !== undefined ? { after: p.after } : {}) }, members: [{ key: p.key, attempt: p.attempt }] };
}

async function planPlain(target: Target, remote: RemoteSpec, points: JobToSubmit[], top: string): Promise<Units> {
  const groups = await scriptGroups(top, remote, points);
  const pack = packOf(remote);
  const units: Units = { arrays: [], singles: [], known: [], errors: [], directives: parseBatchScript(groups.find(g => g.text !== null)?.text ?? '').directives };
  const candidates: { text: string; script: string; args: string[]; units: Unit[] }[] = [];
  const slurm = target.scheduler.name === 'slurm';
  const args = schedulerArgs(target, remote);
  const packed = pack ? await packGroups(target, remote, groups, pack, units) : null;
  for (const [i, g] of groups.entries()) {
    const us = packed ? packed[i]! : g.points.map(p => pointUnit(p, remote, args));
    if (!packed || g.text === null) { candidates.push({ text: g.text ?? '', script: remote.script, args, units: us }); continue; }
    // Packs run the generated runner; their own Slurm output stays in the pack dir.
    candidates.push({ text: packRunner(g.text, remote.script, args, pack!.parallel), script: runnerName(remote.script), args: [...args, `--output=${PACK_OUTPUT.array}`, `--error=${PACK_OUTPUT.array}`], units: us });
  }
  const arraysOn = slurm && remote.array !== false;
  let max: number | null | undefined;
  for (const c of candidates) {
    const plan = arraysOn && c.text && c.units.length > 1 ? arrayPlan(c.text, c.script, c.args) : { reason: 'one job each' };
    if ('reason' in plan) { units.singles.push(...c.units.map(u => (slurm && u.spec.key.startsWith('pack:') ? withPackOutput(u) : u))); continue; }
    if (max === undefined) max = parseMaxArraySize((await target.transport.exec(SHOW_CONFIG)).stdout);
    const opt = typeof remote.array === 'object' ? remote.array : {};
    for (const chunk of chunked(c.units, Math.min(opt.maxSize ?? Infinity, max ?? 1001))) {
      units.arrays.push({ units: chunk, job: { specs: chunk.map(u => u.spec), script: plan.script, args: plan.args, ...(opt.throttle ? { throttle: opt.throttle } : {}) } });
    }
  }
  return units;
}

/** A pack submitted alone keeps its own Slurm output in its pack dir (the command line beats the script's -o/-e). */
function withPackOutput(u: Unit): Unit {
  return { ...u, spec: { ...u.spec, args: [...u.spec.args, `--output=${PACK_OUTPUT.single}`, `--error=${PACK_OUTPUT.single}`] } };
}

/**
 * Packs for each group (one connection, two scripts): first every point's marker is read — a
 * point put in a pack before (a crash, or a limit) goes with that pack again, one already
 * submitted is reported — then the new packs are made, each point's marker naming its pack
 * before anything is submitted. Points whose script is unknown go one job each.
 */
async function packGroups(target: Target, remote: RemoteSpec, groups: ScriptGroup[], pack: PackSpec, units: Units): Promise<Unit[][]> {
  const member = (p: JobToSubmit): PackMember => ({ key: p.key, dir: p.dir, marker: target.scheduler.markerName(p.dir, p.attempt) });
  const all = groups.flatMap(g => (g.text === null ? [] : g.points));
  const marks = parseMarkers((await target.transport.exec(markerSurveyScript(target.stateDir, all.map(member)))).stdout);
  const attempts = new Map(all.map(p => [p.key, p.attempt]));
  const args = schedulerArgs(target, remote);
  const toMake: PackToMake[] = [];
  const groupOf = new Map<string, number>();
  groups.forEach((g, i) => {
    if (g.text === null) return;
    const rn = runnerName(remote.script);
    const runner = packRunner(g.text, remote.script, args, pack.parallel);
    const old = new Map<string, PackMember[]>();
    const fresh: JobToSubmit[] = [];
    for (const p of g.points) {
      const m = marks.get(p.key);
      if (m && 'jobId' in m) units.known.push({ key: p.key, attempt: p.attempt, jobId: m.jobId });
      else if (m) old.set(m.pack, [...(old.get(m.pack) ?? []), member(p)]);
      else fresh.push(p);
    }
    const made = [...old].map(([name, members]) => ({ name, members, runner, runnerName: rn }));
    for (const c of chunked(fresh, pack.size)) made.push({ name: packName(c.map(p => ({ dir: p.dir, attempt: p.attempt }))), members: c.map(member), runner, runnerName: rn });
    for (const m of made) groupOf.set(m.name, i);
    toMake.push(...made);
  });
  const r = toMake.length ? await target.transport.exec(makePacksScript(target.stateDir, toMake)) : { stdout: '' };
  crashPoint('pack-1'); // packs made and named in the markers, nothing submitted yet
  for (const line of r.stdout.split('\n')) {
    const e = parseSubmitLine(line);
    if (e && 'error' in e) units.errors.push(e);
  }
  const out: Unit[][] = groups.map(g => (g.text === null ? g.points.map(p => pointUnit(p, remote, args)) : []));
  for (const [name, keys] of parsePacks(r.stdout)) {
    const i = groupOf.get(name);
    if (i === undefined || !keys.length) continue;
    out[i]!.push({ spec: { key: `pack:${name}`, dir: packDir(target.stateDir, name), script: runnerName(remote.script), args }, members: keys.map(k => ({ key: k, attempt: attempts.get(k) ?? 1 })) });
  }
  return out;
}
