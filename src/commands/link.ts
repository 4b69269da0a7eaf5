// rx link: a symlink view of fetched files named by experiment, `<DIR>/<name>_<file>` → the
// fetched file, where <name> comes from a namer or from the point's varied parameters.
//
// DIR (default .rx/links/<sweep>/) holds `.rx-links.json`, the links (and config files) rx made
// there. A re-run creates what is missing, re-points its own links whose target changed, removes
// its own links that are no longer wanted (stale) and leaves everything else alone: a file or a
// symlink rx did not create is never deleted or overwritten (that is an error naming it, raised
// before anything changes). The sweep's configuration is written next to the links as
// sweep_config.json (RemoteExperiments' base_config.pkl, as JSON).
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, renameSync, statSync, symlinkSync, unlinkSync, type Stats } from 'node:fs';
import { join, posix, relative, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import { repoContext } from '../git/repo.ts';
import { Ledger, sweepDir, type PointRecord, type SweepState } from '../ledger/ledger.ts';
import { selectSweeps } from '../remote/jobs.ts';
import { loadSweepFile } from '../sweep/definition.ts';
import { patternRegExp, validateFetchPattern } from '../remote/rsync.ts';
import { fitName, flatPath, readFetchManifest, writeJsonAtomic } from './fetch.ts';
import { makeOut, type Out } from '../ui.ts';

export interface LinkOptions {
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
  json?: boolean;
  out?: Out;
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

// ---------------------------------------------------------------------------------------------
// Names

function valueText(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined ? 'undefined' : JSON.stringify(v);
}

/** Default experiment name: the varied parameters, `initial_mass=1.5_initial_z=0.02`. */
export function variedName(varied: Record<string, unknown>, key: string): string {
  const parts = Object.entries(varied).map(([k, v]) => `${k}=${valueText(v)}`);
  return parts.length ? parts.join('_') : `point${key}`;
}

/**
 * A name usable as (the start of) one file name and still readable: `/` and control characters
 * (NUL included) become `%XX`; the length is capped later by fitName with a hash suffix.
 */
export function safeName(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[/\u0000-\u001f\u007f]/g, c => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
}

/** `m{initial_mass}_z{initial_z}` → a function of the config; an unknown parameter is an error. */
export function templateNamer(template: string): (config: Record<string, unknown>) => string {
  if (!/\{[^{}]+\}/.test(template)) throw new ConfigError(`namer ${JSON.stringify(template)}: a template needs at least one {parameter}, e.g. 'm{initial_mass}_z{initial_z}'`, { hint: 'Or give a .ts/.js file exporting a namer function.' });
  return config => template.replace(/\{([^{}]+)\}/g, (_m, k: string) => {
    if (!(k in config)) throw new ConfigError(`namer ${JSON.stringify(template)}: no parameter '${k}' in the config (parameters: ${Object.keys(config).join(', ') || 'none'})`);
    return valueText(config[k]);
  });
}

type Namer = (config: Record<string, unknown>, info: { sweep: string; key: string; sha: string | null; varied: Record<string, unknown> }) => unknown;

const CODE_FILE = /\.(ts|mts|cts|js|mjs|cjs)$/i;

function namerFrom(mod: unknown, where: string): Namer {
  if (typeof mod === 'function') return mod as Namer;
  const n = mod && typeof mod === 'object' ? (mod as Record<string, unknown>).namer : undefined;
  if (typeof n === 'function') return n as Namer;
  if (typeof n === 'string') return templateNamer(n);
  throw new ConfigError(`${where}: no namer found (expected a default export that is a function, or a sweep with a 'namer' function or template)`);
}

async function resolveNamer(opts: LinkOptions, state: SweepState, top: string): Promise<{ namer: Namer | null; source: string }> {
  if (opts.namer !== undefined) {
    if (opts.namer === '') throw new ConfigError('--namer: empty');
    if (CODE_FILE.test(opts.namer)) return { namer: namerFrom(await loadSweepFile(opts.namer, opts.cwd), opts.namer), source: opts.namer };
    return { namer: templateNamer(opts.namer), source: 'template' };
  }
  const def = state.sweep?.definition as Record<string, unknown> | undefined;
  const n = def?.namer;
  if (n === undefined || n === null) return { namer: null, source: 'varied parameters' };
  if (typeof n === 'string' && !/^\[function /.test(n)) return { namer: templateNamer(n), source: 'sweep definition' };
  // A namer function: the ledger only has its name; load it from the sweep file again.
  const file = state.sweep!.file;
  const candidates = [resolve(opts.cwd, file), resolve(top, file)];
  const found = candidates.find(f => existsSync(f));
  if (!found) throw new ConfigError(`sweep '${state.name}' names experiments with a namer function in ${file}, which is not found (looked in ${candidates.join(', ')})`, { hint: `Give the sweep file: rx link --sweep ${state.name} --namer path/to/sweep.ts (or a template: --namer 'm{initial_mass}')` });
  return { namer: namerFrom(await loadSweepFile(found, opts.cwd), found), source: found };
}

// ---------------------------------------------------------------------------------------------

function lstatOrNull(p: string): Stats | null {
  try {
    return lstatSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
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

interface Wanted {
  sweep: string;
  point: PointRecord;
  name: string;
  file: string;
  linkName: string;
  target: string;
}

interface DirPlan {
  dir: string;
  sweeps: string[];
  states: Map<string, SweepState>;
  wanted: Map<string, Wanted>;
  configs: Map<string, { sweep: string; text: string }>;
}

function shortSha(p: PointRecord): string {
  return /_sha_([0-9a-f]+)$/.exec(p.dir ?? '')?.[1] ?? p.sha?.slice(0, 7) ?? `key${p.key}`;
}

export async function link(opts: LinkOptions): Promise<LinkResult> {
  const t0 = performance.now();
  const out = opts.out ?? makeOut({ json: opts.json });
  const ctx = await repoContext(opts.cwd);
  const names = selectSweeps(ctx, opts.sweep);
  const filters = opts.files?.length ? opts.files.map(f => patternRegExp(validateFetchPattern(f.trim(), '--files'))) : null;
  const result: LinkResult = { sweeps: [], links: [], removed: [], created: 0, updated: 0, unchanged: 0, warnings: [], durationMs: 0 };
  const plans = new Map<string, DirPlan>();
  const errors: string[] = [];

  // 1. What should exist, per link directory.
  for (const name of names) {
    const ledger = new Ledger(sweepDir(ctx.rxDir, name), name);
    const state = ledger.state();
    ledger.close();
    if (!state.sweep) {
      result.warnings.push(`sweep '${name}': the ledger has no sweep definition yet; skipped`);
      continue;
    }
    const from = opts.from !== undefined ? resolve(opts.cwd, opts.from) : join(ctx.rxDir, 'fetched', name);
    const dir = opts.to !== undefined ? resolve(opts.cwd, opts.to) : join(ctx.rxDir, 'links', name);
    const manifest = readFetchManifest(from);
    if (!manifest) {
      const msg = `nothing fetched for sweep '${name}' in ${relative(opts.cwd, from) || from}`;
      if (opts.sweep) throw new ConfigError(msg, { hint: `Fetch first: rx fetch history.data --sweep ${name}${opts.from ? ` --to ${opts.from}` : ''}` });
      result.warnings.push(`${msg}; skipped`);
      continue;
    }
    const { namer } = await resolveNamer(opts, state, ctx.top);
    const plan: DirPlan = plans.get(dir) ?? { dir, sweeps: [], states: new Map(), wanted: new Map(), configs: new Map() };
    plans.set(dir, plan);
    plan.sweeps.push(name);
    plan.states.set(name, state);
    const points = [...state.points.values()].filter(p => p.dir);
    // Experiment names.
    const expName = new Map<PointRecord, string>();
    for (const p of points) {
      let raw: unknown;
      if (namer) {
        try {
          raw = await namer(p.params, { sweep: name, key: p.key, sha: p.sha ?? null, varied: p.varied });
        } catch (e) {
          if (e instanceof ConfigError) throw e;
          throw new ConfigError(`sweep '${name}' point ${p.key}: the namer failed: ${(e as Error).message}`, { cause: e });
        }
        if (typeof raw !== 'string' && typeof raw !== 'number') throw new ConfigError(`sweep '${name}' point ${p.key}: the namer returned ${JSON.stringify(raw)}, not a string`);
      } else raw = variedName(p.varied, p.key);
      const n = safeName(String(raw));
      if (n === '') throw new ConfigError(`sweep '${name}' point ${p.key}: the namer returned an empty name`);
      expName.set(p, n);
    }
    let withoutFiles = 0;
    let linkCount = 0;
    const perExp: { p: PointRecord; files: { file: string; abs: string }[] }[] = [];
    for (const p of points) {
      const rundir = posix.basename(p.dir!);
      const run = manifest.runs[rundir];
      const files: { file: string; abs: string }[] = [];
      for (const [file, e] of Object.entries(run?.files ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        if (filters && !filters.some(re => re.test(file))) continue;
        const abs = e.flat ? join(from, e.flat) : e.tree ? join(from, rundir, file) : null;
        if (!abs || !statOk(abs)) continue;
        files.push({ file, abs });
      }
      if (!files.length) withoutFiles++;
      perExp.push({ p, files });
    }
    result.sweeps.push({ sweep: name, dir, from, config: '', experiments: points.length, withoutFiles, links: 0 });
    // Collect per directory, so names are checked across every sweep linked into it.
    for (const { p, files } of perExp) {
      for (const f of files) {
        const w: Wanted = { sweep: name, point: p, name: expName.get(p)!, file: f.file, linkName: '', target: relative(dir, f.abs) };
        const k = `${name}\0${p.key}\0${f.file}`;
        plan.wanted.set(k, w);
        linkCount++;
      }
    }
    // Also record every experiment of the sweep (with or without files) for the duplicate check.
    for (const p of points) plan.wanted.set(`${name}\0${p.key}\0`, { sweep: name, point: p, name: expName.get(p)!, file: '', linkName: '', target: '' });
    result.sweeps.at(-1)!.links = linkCount;
  }

  // 2. Names: duplicates between experiments are an error (or, with --dedupe, get the short sha).
  for (const plan of plans.values()) {
    const byName = new Map<string, Wanted[]>();
    for (const w of plan.wanted.values()) {
      if (w.file !== '') continue;
      const list = byName.get(w.name) ?? [];
      list.push(w);
      byName.set(w.name, list);
    }
    const renamed = new Map<string, string>();
    for (const [n, ws] of byName) {
      if (ws.length < 2) continue;
      if (!opts.dedupe) {
        errors.push(`name '${n}' in ${relative(opts.cwd, plan.dir) || plan.dir} is produced by ${ws.length} experiments: ${ws.map(w => `${w.sweep} point ${w.point.key} (sha ${w.point.sha?.slice(0, 10) ?? '-'}, ${posix.basename(w.point.dir!)})`).join(', ')}`);
        continue;
      }
      for (const w of ws) renamed.set(`${w.sweep}\0${w.point.key}`, `${n}_${shortSha(w.point)}`);
    }
    const linkNames = new Map<string, Wanted>();
    for (const [k, w] of [...plan.wanted]) {
      if (w.file === '') {
        plan.wanted.delete(k);
        continue;
      }
      w.name = renamed.get(`${w.sweep}\0${w.point.key}`) ?? w.name;
      w.linkName = fitName(w.name, '_' + flatPath(w.file));
      const other = linkNames.get(w.linkName);
      if (other) errors.push(`link name '${w.linkName}' would be used twice: ${other.sweep} point ${other.point.key} file ${other.file} and ${w.sweep} point ${w.point.key} file ${w.file}`);
      else linkNames.set(w.linkName, w);
    }
    plan.wanted = linkNames;
    // The sweep configuration(s).
    for (const [name, state] of plan.states) {
      const file = plan.sweeps.length === 1 ? 'sweep_config.json' : `sweep_config.${name}.json`;
      const def = (state.sweep!.definition ?? {}) as Record<string, unknown>;
      const exps = [...plan.wanted.values()].filter(w => w.sweep === name);
      const nameOf = new Map(exps.map(w => [w.point.key, w.name]));
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
  if (errors.length) {
    throw new ConfigError(`rx link: ${errors.length} name conflict${errors.length === 1 ? '' : 's'}; nothing was changed:\n  ${errors.slice(0, 20).join('\n  ')}${errors.length > 20 ? `\n  … and ${errors.length - 20} more` : ''}`, { hint: 'Use --dedupe to append the short sha to clashing names, or a namer that tells them apart (--namer).' });
  }

  // 3. Check the directories: never touch what rx did not create. All checks before any change.
  const conflicts: string[] = [];
  const actions: (() => void)[] = [];
  const manifests = new Map<string, LinkManifest>();
  for (const plan of plans.values()) {
    const m = readLinkManifest(plan.dir);
    manifests.set(plan.dir, m);
    for (const w of plan.wanted.values()) {
      const path = join(plan.dir, w.linkName);
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
          const tmp = `${path}.rx-tmp-${process.pid}`;
          try { unlinkSync(tmp); } catch { /* none */ }
          symlinkSync(w.target, tmp);
          renameSync(tmp, path);
        });
      } else {
        conflicts.push(`${path} exists and is ${current !== null ? `a symlink rx did not create or that was changed since (→ ${current})` : st.isDirectory() ? 'a directory' : 'not a symlink'}`);
        continue;
      }
      result.links.push(entry);
    }
    for (const [file, c] of plan.configs) {
      const path = join(plan.dir, file);
      const st = lstatOrNull(path);
      if (st && !(st.isFile() && m.configs[file] === c.sweep)) {
        conflicts.push(`${path} exists and rx did not create it`);
        continue;
      }
      if (!st || readFileSync(path, 'utf8') !== c.text) actions.push(() => writeJsonAtomic(path, JSON.parse(c.text)));
    }
  }
  if (conflicts.length) {
    throw new ConfigError(`rx link: ${conflicts.length} path${conflicts.length === 1 ? '' : 's'} in the way; nothing was changed (rx never replaces what it did not create):\n  ${conflicts.slice(0, 20).join('\n  ')}${conflicts.length > 20 ? `\n  … and ${conflicts.length - 20} more` : ''}`, { hint: 'Move those files away, or link into another directory with --to.' });
  }

  // 4. Apply. The manifest first claims the names about to be created (a crash in between leaves
  // claims on missing names, which are harmless), then links are made/re-pointed, stale links of
  // these sweeps removed, and the manifest written as it now is.
  for (const plan of plans.values()) {
    mkdirSync(plan.dir, { recursive: true });
    const m = manifests.get(plan.dir)!;
    const claim: LinkManifest = { version: 1, links: { ...m.links }, configs: { ...m.configs } };
    for (const w of plan.wanted.values()) claim.links[w.linkName] ??= { sweep: w.sweep, key: w.point.key, target: w.target, file: w.file };
    for (const [file, c] of plan.configs) claim.configs[file] ??= c.sweep;
    writeJsonAtomic(join(plan.dir, LINK_MANIFEST), claim);
  }
  for (const a of actions) a();
  for (const plan of plans.values()) {
    const m = manifests.get(plan.dir)!;
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
    for (const w of plan.wanted.values()) m.links[w.linkName] = { sweep: w.sweep, key: w.point.key, target: w.target, file: w.file };
    for (const [file, c] of plan.configs) m.configs[file] = c.sweep;
    m.links = Object.fromEntries(Object.entries(m.links).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    writeJsonAtomic(join(plan.dir, LINK_MANIFEST), m);
  }
  for (const l of result.links) result[l.status]++;
  result.durationMs = performance.now() - t0;

  if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else printLink(result, opts, out);
  for (const w of result.warnings) out.warn(`rx: ${w}`);
  return result;
}

function statOk(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function printLink(r: LinkResult, opts: LinkOptions, out: Out): void {
  if (!r.sweeps.length) {
    out.info('nothing to link: rx fetch <file> first');
    return;
  }
  const rel = (p: string) => relative(opts.cwd, p) || '.';
  for (const s of r.sweeps) {
    const ls = r.links.filter(l => l.sweep === s.sweep && l.link.startsWith(s.dir + '/'));
    const count = (st: LinkEntry['status']) => ls.filter(l => l.status === st).length;
    out.info(`${out.color.bold(s.sweep)}: ${s.links} link${s.links === 1 ? '' : 's'} for ${s.experiments - s.withoutFiles}/${s.experiments} experiments in ${rel(s.dir)}/  (from ${rel(s.from)}/)`);
    out.info(`  created ${count('created')}  updated ${count('updated')}  unchanged ${count('unchanged')}  removed ${r.removed.filter(p => p.startsWith(s.dir + '/')).length}${s.withoutFiles ? `  (${s.withoutFiles} experiment${s.withoutFiles === 1 ? '' : 's'} without fetched files)` : ''}`);
    if (s.config) out.info(`  config ${rel(s.config)}`);
  }
}
