// A symlink view of fetched files named by experiment, `<DIR>/<name>_<file>` → the fetched file,
// where <name> comes from a namer or from the point's varied parameters (./namers.ts).
//
// DIR (default .rx/links/<sweep>/) holds `.rx-links.json`, the links (and config files) rx made
// there. A re-run creates what is missing, re-points its own links whose target changed, removes
// its own links that are no longer wanted (stale) and leaves everything else alone: a file or a
// symlink rx did not create is never deleted or overwritten (that is an error naming it, raised
// before anything changes). The sweep's configuration is written next to the links as
// sweep_config.json (RemoteExperiments' base_config.pkl, as JSON).
//
// The work is done in four steps, so that every error comes before the first change:
// plan (what should exist) → settle names (duplicates) → check the directories → apply.
import { existsSync, mkdirSync, readFileSync, readlinkSync, renameSync, statSync, symlinkSync, unlinkSync } from 'node:fs';
import { join, posix, relative, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import type { RepoContext } from '../git/repo.ts';
import { latestState, sweepState, type PointRecord, type SweepState } from '../ledger/ledger.ts';
import { selectSweeps } from '../ledger/sweeps.ts';
import { patternRegExp, validateFetchPattern } from '../remote/rsync.ts';
import { defaultFetchDir, fitName, flatPath, lstatOrNull, readFetchManifest, tmpPath, writeJsonAtomic, type FetchManifest } from './mirror.ts';
import { experimentName, resolveNamer } from './namers.ts';

export interface LinkRequest {
  /** Where relative `to`/`from`/`namer` paths are resolved from. */
  cwd: string;
  /** Only this sweep (default: every sweep in the ledger). */
  sweep?: string;
  /** Which fetched files (paths inside the run directory, globs allowed); default: every fetched file. */
  files?: string[];
  /** Where the links go, relative to cwd (default: .rx/links/<sweep>/ in the repository). */
  to?: string;
  /** Where `rx fetch` put the files, relative to cwd (default: .rx/fetched/<sweep>/). */
  from?: string;
  /**
   * How experiments are named: a template like `m{initial_mass}_z{initial_z}` (any parameter of
   * the point's full config in braces), or a .ts/.js/.mjs file whose default export is a sweep
   * with a `namer` function, or is itself a function `(config) => string`.
   * Default: the sweep definition's `namer` if it has one, else the varied parameters.
   */
  namer?: string;
  /** Append the short sha to the names of experiments that would otherwise get the same name. */
  dedupe?: boolean;
  /**
   * Link older attempts too (those `rx resubmit --failed --rebase` replaced), as `<name>_attempt<n>`;
   * by default only the latest attempt of each point is linked, under the point's name.
   */
  allAttempts?: boolean;
}

export interface LinkEntry {
  sweep: string;
  key: string;
  sha: string | null;
  /** The experiment's name (before `_<file>`). */
  name: string;
  /** The file inside the run directory. */
  file: string;
  /** The symlink (absolute path). */
  link: string;
  /** What it points to, as written in the link (relative to the link's directory). */
  target: string;
  status: 'created' | 'updated' | 'unchanged';
}

export interface LinkSweepResult {
  sweep: string;
  dir: string;
  from: string;
  config: string;
  experiments: number;
  /** Experiments with no fetched file (yet) to link. */
  withoutFiles: number;
  links: number;
}

export interface LinkResult {
  sweeps: LinkSweepResult[];
  links: LinkEntry[];
  /** Stale links removed (absolute paths). */
  removed: string[];
  created: number;
  updated: number;
  unchanged: number;
  warnings: string[];
  durationMs: number;
}

export const LINK_MANIFEST = '.rx-links.json';

interface LinkManifest {
  version: 1;
  /** `file`: the fetched file's path in its run dir (lets `--files` leave other files' links alone). */
  links: Record<string, { sweep: string; key: string; target: string; file?: string }>;
  configs: Record<string, string>;
}

function readLinkManifest(dir: string): LinkManifest {
  const f = join(dir, LINK_MANIFEST);
  if (!existsSync(f)) return { version: 1, links: {}, configs: {} };
  try {
    const m = JSON.parse(readFileSync(f, 'utf8')) as LinkManifest;
    if (m && m.version === 1 && typeof m.links === 'object') return { version: 1, links: m.links, configs: m.configs ?? {} };
  } catch {
    // fall through
  }
  throw new ConfigError(`${f} is damaged`, { hint: 'Remove it (rx then treats the links in that directory as not its own) and link again.' });
}

/** One experiment as named in a link directory. */
interface Experiment {
  sweep: string;
  point: PointRecord;
  name: string;
}

/** One wanted link: an experiment's fetched file. */
interface Wanted extends Experiment {
  file: string;
  linkName: string;
  target: string;
}

/** Everything that should be in one link directory (several sweeps may share one via --to). */
interface DirPlan {
  dir: string;
  sweeps: string[];
  states: Map<string, SweepState>;
  /** Every experiment with a run directory, with or without files: names must differ across all. */
  experiments: Experiment[];
  /** The links in planning order; settled into `wanted` (link name → link) once names are final. */
  links: Wanted[];
  wanted: Map<string, Wanted>;
  configs: Map<string, { sweep: string; text: string }>;
}

type Filters = RegExp[] | null;

export async function linkFiles(ctx: RepoContext, req: LinkRequest): Promise<LinkResult> {
  const t0 = performance.now();
  const names = selectSweeps(ctx, req.sweep);
  const filters: Filters = req.files?.length ? req.files.map(f => patternRegExp(validateFetchPattern(f.trim(), '--files'))) : null;
  const result: LinkResult = { sweeps: [], links: [], removed: [], created: 0, updated: 0, unchanged: 0, warnings: [], durationMs: 0 };
  const plans = new Map<string, DirPlan>();
  for (const name of names) await planSweep(ctx, name, req, filters, plans, result);
  settleNames(plans, req, result);
  const { manifests, actions } = checkDirs(plans, result);
  apply(plans, manifests, actions, filters, result);
  for (const l of result.links) result[l.status]++;
  result.durationMs = performance.now() - t0;
  return result;
}

// ---------------------------------------------------------------------------------------------
// 1. Plan: what should exist, per link directory

async function planSweep(ctx: RepoContext, name: string, req: LinkRequest, filters: Filters, plans: Map<string, DirPlan>, result: LinkResult): Promise<void> {
  // Each point by its latest attempt: attempts share their parameters, hence their names.
  const state = latestState(sweepState(ctx.rxDir, name), req.allAttempts);
  if (!state.sweep) {
    result.warnings.push(`sweep '${name}': the ledger has no sweep definition yet; skipped`);
    return;
  }
  const from = req.from !== undefined ? resolve(req.cwd, req.from) : defaultFetchDir(ctx.rxDir, name);
  const dir = req.to !== undefined ? resolve(req.cwd, req.to) : join(ctx.rxDir, 'links', name);
  const manifest = readFetchManifest(from);
  if (!manifest) {
    const msg = `nothing fetched for sweep '${name}' in ${relative(req.cwd, from) || from}`;
    // Asked for this sweep by name: nothing to link is an error; among all sweeps, a note.
    if (req.sweep) throw new ConfigError(msg, { hint: `Fetch first: rx fetch history.data --sweep ${name}${req.from ? ` --to ${req.from}` : ''}` });
    result.warnings.push(`${msg}; skipped`);
    return;
  }
  const namer = await resolveNamer(req.namer, state, req.cwd, ctx.top);
  const plan: DirPlan = plans.get(dir) ?? { dir, sweeps: [], states: new Map(), experiments: [], links: [], wanted: new Map(), configs: new Map() };
  plans.set(dir, plan);
  plan.sweeps.push(name);
  plan.states.set(name, state);
  const points = [...state.points.values()].filter(p => p.dir);
  const expNames: string[] = [];
  for (const p of points) expNames.push((await experimentName(namer, name, p)) + (p.supersededBy !== undefined ? `_attempt${p.attempt}` : ''));
  const files = points.map(p => fetchedFiles(p, manifest, from, filters));
  const links = files.reduce((n, f) => n + f.length, 0);
  result.sweeps.push({ sweep: name, dir, from, config: '', experiments: points.length, withoutFiles: files.filter(f => !f.length).length, links });
  points.forEach((p, i) => {
    for (const f of files[i]!) plan.links.push({ sweep: name, point: p, name: expNames[i]!, file: f.file, linkName: '', target: relative(dir, f.abs) });
  });
  points.forEach((p, i) => plan.experiments.push({ sweep: name, point: p, name: expNames[i]! }));
}

/** The files fetched for a point (in path order) that still exist locally and pass --files. */
function fetchedFiles(p: PointRecord, manifest: FetchManifest, from: string, filters: Filters): { file: string; abs: string }[] {
  const rundir = posix.basename(p.dir!);
  const run = manifest.runs[rundir];
  const files: { file: string; abs: string }[] = [];
  for (const [file, e] of Object.entries(run?.files ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (filters && !filters.some(re => re.test(file))) continue;
    const abs = e.flat ? join(from, e.flat) : e.tree ? join(from, rundir, file) : null;
    if (!abs || !isFile(abs)) continue;
    files.push({ file, abs });
  }
  return files;
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// 2. Names: duplicates between experiments are an error (or, with --dedupe, get the short sha)

function settleNames(plans: Map<string, DirPlan>, req: LinkRequest, result: LinkResult): void {
  const errors: string[] = [];
  for (const plan of plans.values()) {
    const before = errors.length;
    const renamed = duplicateNames(plan, req, errors);
    // Experiments already reported as sharing a name: their links clash too, but that is one conflict, said once.
    const reported = errors.length > before ? new Set(plan.experiments.filter((e, _, all) => all.filter(x => x.name === e.name).length > 1).map(e => e.name)) : new Set<string>();
    const linkNames = new Map<string, Wanted>();
    for (const w of plan.links) {
      w.name = renamed.get(`${w.sweep}\0${w.point.key}`) ?? w.name;
      w.linkName = fitName(w.name, '_' + flatPath(w.file));
      // Distinct names can still meet after flattening `/` or cutting to 255 bytes.
      const other = linkNames.get(w.linkName);
      if (other && reported.has(w.name) && other.name === w.name) continue;
      if (other) errors.push(`link name '${w.linkName}' would be used twice: ${other.sweep} point ${other.point.key} file ${other.file} and ${w.sweep} point ${w.point.key} file ${w.file}`);
      else linkNames.set(w.linkName, w);
    }
    plan.wanted = linkNames;
    sweepConfigs(plan, result);
  }
  if (errors.length) {
    throw new ConfigError(`${errors.length} name conflict${errors.length === 1 ? '' : 's'}; nothing was changed:\n  ${errors.slice(0, 20).join('\n  ')}${errors.length > 20 ? `\n  … and ${errors.length - 20} more` : ''}`, { hint: 'Use --dedupe to append the short sha to clashing names, or a namer that tells them apart (--namer).' });
  }
}

/** Experiments sharing a name: an error each, or (--dedupe) new names `<name>_<short sha>` by `sweep\0key`. */
function duplicateNames(plan: DirPlan, req: LinkRequest, errors: string[]): Map<string, string> {
  const byName = new Map<string, Experiment[]>();
  for (const e of plan.experiments) byName.set(e.name, [...(byName.get(e.name) ?? []), e]);
  const renamed = new Map<string, string>();
  for (const [n, es] of byName) {
    if (es.length < 2) continue;
    if (!req.dedupe) {
      errors.push(`name '${n}' in ${relative(req.cwd, plan.dir) || plan.dir} is produced by ${es.length} experiments: ${es.map(e => `${e.sweep} point ${e.point.key} (sha ${e.point.sha?.slice(0, 10) ?? '-'}, ${posix.basename(e.point.dir!)})`).join(', ')}`);
      continue;
    }
    for (const e of es) renamed.set(`${e.sweep}\0${e.point.key}`, `${n}_${shortSha(e.point)}`);
  }
  return renamed;
}

function shortSha(p: PointRecord): string {
  return /_sha_([0-9a-f]+)$/.exec(p.dir ?? '')?.[1] ?? p.sha?.slice(0, 7) ?? `key${p.key}`;
}

/** sweep_config.json (one sweep in the directory) or sweep_config.<sweep>.json (several). */
function sweepConfigs(plan: DirPlan, result: LinkResult): void {
  for (const [name, state] of plan.states) {
    const file = plan.sweeps.length === 1 ? 'sweep_config.json' : `sweep_config.${name}.json`;
    const def = state.sweep!.definition;
    const nameOf = new Map([...plan.wanted.values()].filter(w => w.sweep === name).map(w => [w.point.key, w.name]));
    const config = {
      sweep: name,
      file: state.sweep!.file,
      branch: state.sweep!.branch,
      base: state.sweep!.base,
      base_config: def.base_config ?? {},
      dimensions: def.dimensions ?? {},
      definition: def,
      experiments: [...state.points.values()].filter(p => p.dir).map(p => ({ key: p.key, name: nameOf.get(p.key) ?? null, sha: p.sha ?? null, rundir: posix.basename(p.dir!), params: p.params, varied: p.varied })),
    };
    plan.configs.set(file, { sweep: name, text: JSON.stringify(config, null, 1) + '\n' });
    const sr = result.sweeps.find(s => s.sweep === name && s.dir === plan.dir);
    if (sr) sr.config = join(plan.dir, file);
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Check the directories: never touch what rx did not create. All checks before any change.

function checkDirs(plans: Map<string, DirPlan>, result: LinkResult): { manifests: Map<string, LinkManifest>; actions: (() => void)[] } {
  const conflicts: string[] = [];
  const actions: (() => void)[] = [];
  const manifests = new Map<string, LinkManifest>();
  for (const plan of plans.values()) {
    const m = readLinkManifest(plan.dir);
    manifests.set(plan.dir, m);
    for (const w of plan.wanted.values()) checkLink(plan.dir, w, m, result, conflicts, actions);
    for (const [file, c] of plan.configs) checkConfig(join(plan.dir, file), c, m.configs[file], conflicts, actions);
  }
  if (conflicts.length) {
    throw new ConfigError(`${conflicts.length} path${conflicts.length === 1 ? '' : 's'} in the way; nothing was changed (rx never replaces what it did not create):\n  ${conflicts.slice(0, 20).join('\n  ')}${conflicts.length > 20 ? `\n  … and ${conflicts.length - 20} more` : ''}`, { hint: 'Move those files away, or link into another directory with --to.' });
  }
  return { manifests, actions };
}

/** A link is created when nothing is there, re-pointed when it is rx's own link to an old target. */
function checkLink(dir: string, w: Wanted, m: LinkManifest, result: LinkResult, conflicts: string[], actions: (() => void)[]): void {
  const path = join(dir, w.linkName);
  const st = lstatOrNull(path);
  const mine = m.links[w.linkName];
  const entry: LinkEntry = { sweep: w.sweep, key: w.point.key, sha: w.point.sha ?? null, name: w.name, file: w.file, link: path, target: w.target, status: 'created' };
  const current = st?.isSymbolicLink() ? readlinkSync(path) : null;
  if (!st) {
    actions.push(() => symlinkSync(w.target, path));
  } else if (mine && current === w.target) {
    entry.status = 'unchanged';
  } else if (mine && current === mine.target) {
    entry.status = 'updated';
    actions.push(() => {
      // A new link renamed over the old one: the name never points nowhere.
      const tmp = tmpPath(path); // fits: link names leave room for the temp suffix
      try { unlinkSync(tmp); } catch { /* none */ }
      symlinkSync(w.target, tmp);
      renameSync(tmp, path);
    });
  } else {
    conflicts.push(`${path} exists and is ${current !== null ? `a symlink rx did not create or that was changed since (→ ${current})` : st.isDirectory() ? 'a directory' : 'not a symlink'}`);
    return;
  }
  result.links.push(entry);
}

/** A config file is (re)written when missing or changed, and only if rx wrote it for this sweep. */
function checkConfig(path: string, c: { sweep: string; text: string }, ownerSweep: string | undefined, conflicts: string[], actions: (() => void)[]): void {
  const st = lstatOrNull(path);
  if (st && !(st.isFile() && ownerSweep === c.sweep)) {
    conflicts.push(`${path} exists and rx did not create it`);
    return;
  }
  if (!st || readFileSync(path, 'utf8') !== c.text) actions.push(() => writeJsonAtomic(path, JSON.parse(c.text)));
}

// ---------------------------------------------------------------------------------------------
// 4. Apply. The manifest first claims the names about to be created (a crash in between leaves
// claims on missing names, which are harmless), then links are made/re-pointed, stale links of
// these sweeps removed, and the manifest written as it now is.

function apply(plans: Map<string, DirPlan>, manifests: Map<string, LinkManifest>, actions: (() => void)[], filters: Filters, result: LinkResult): void {
  for (const plan of plans.values()) claimNames(plan, manifests.get(plan.dir)!);
  for (const a of actions) a();
  for (const plan of plans.values()) {
    const m = manifests.get(plan.dir)!;
    removeStale(plan, m, filters, result);
    for (const w of plan.wanted.values()) m.links[w.linkName] = { sweep: w.sweep, key: w.point.key, target: w.target, file: w.file };
    for (const [file, c] of plan.configs) m.configs[file] = c.sweep;
    m.links = Object.fromEntries(Object.entries(m.links).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    writeJsonAtomic(join(plan.dir, LINK_MANIFEST), m);
  }
}

function claimNames(plan: DirPlan, m: LinkManifest): void {
  mkdirSync(plan.dir, { recursive: true });
  const claim: LinkManifest = { version: 1, links: { ...m.links }, configs: { ...m.configs } };
  for (const w of plan.wanted.values()) claim.links[w.linkName] ??= { sweep: w.sweep, key: w.point.key, target: w.target, file: w.file };
  for (const [file, c] of plan.configs) claim.configs[file] ??= c.sweep;
  writeJsonAtomic(join(plan.dir, LINK_MANIFEST), claim);
}

/** Removes rx's links of these sweeps that are no longer wanted; one changed by hand stays (warning). */
function removeStale(plan: DirPlan, m: LinkManifest, filters: Filters, result: LinkResult): void {
  for (const [n, e] of Object.entries(m.links)) {
    if (!plan.sweeps.includes(e.sweep) || plan.wanted.has(n)) continue;
    // With --files, only links of those files can be stale; the others were not looked at.
    if (filters && !(e.file !== undefined && filters.some(re => re.test(e.file!)))) continue;
    const path = join(plan.dir, n);
    const st = lstatOrNull(path);
    if (st && st.isSymbolicLink() && readlinkSync(path) === e.target) {
      unlinkSync(path);
      result.removed.push(path);
    } else if (st) {
      result.warnings.push(`left ${path} in place: it changed since rx created it`);
    }
    delete m.links[n];
  }
}
