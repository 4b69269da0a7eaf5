// Turning a point's config into file changes on top of the base commit.
import { mkdtemp, readFile, rm, cp, lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { filesBelow } from '../files.ts';
import { tmpdir } from 'node:os';
import { ConfigError } from '../errors.ts';
import { PATCHERS, PatchError, type PatcherType, type PatcherImpl } from '../../patchers/index.ts';
import { validateRepoPath } from './names.ts';
import type { Params } from './points.ts';

/** A custom text patcher given as `type` in the sweep file: (file text, values, { file }) → new text. */
export type CustomTextPatcher = (text: string, values: Params, opts: { file: string }) => string;

/** One file patched by a built-in (or custom text) patcher. */
export interface BuiltinPatcher {
  type: PatcherType | CustomTextPatcher;
  /** File in the repository, e.g. `inlist_project` or `run.sbatch`. */
  file: string;
  /** Only these parameters go to this patcher (see the routing rule in README: Patchers). */
  keys?: string[];
  /** Only parameters starting with this go to this patcher, with the prefix removed (`sbatch.time` → `time`). */
  prefix?: string;
  /** Insert parameters the file does not have yet (mesa: group-qualified keys only). */
  add?: boolean;
  /** mesa: write floating-point exponents with `d`. */
  exponent?: 'e' | 'd';
}
export type PatcherFn = (dir: string, config: Params) => void | Promise<void>;
/** The sweep file's `patcher`: one built-in patcher, a list of them (applied in order), or a function. */
export type PatcherSpec = BuiltinPatcher | BuiltinPatcher[] | PatcherFn;
export type TextPatcherSpec = BuiltinPatcher | BuiltinPatcher[];

/** One file written by a point's commit; content null means the file is deleted. */
export interface FileChange {
  path: string;
  content: Buffer | null;
  mode: '100644' | '100755' | '120000';
}

const COMMON = ['type', 'file', 'keys', 'prefix'];
const EXAMPLE = "{ type: 'mesa', file: 'inlist_project' }";

function validateOne(p: unknown, where: string): BuiltinPatcher {
  if (typeof p === 'function') throw new ConfigError(`${where}: a function patcher (dir, config) cannot be part of a list; give it alone, or use { type: (text, values) => newText, file } for a custom text patcher`);
  if (p === null || typeof p !== 'object' || Array.isArray(p)) throw new ConfigError(`${where}: expected ${EXAMPLE}, a list of them, or a function (dir, config) => void`);
  const o = p as Record<string, unknown>;
  const custom = typeof o.type === 'function';
  if (!custom && !(typeof o.type === 'string' && Object.hasOwn(PATCHERS, o.type))) {
    throw new ConfigError(`${where}.type: unknown patcher ${JSON.stringify(o.type)}; known: ${Object.keys(PATCHERS).join(', ')} (or a function (text, values) => newText)`);
  }
  validateRepoPath(o.file, `${where}.file`);
  const allowed = new Set([...COMMON, ...(custom ? [] : PATCHERS[o.type as PatcherType].options)]);
  for (const k of Object.keys(o)) if (!allowed.has(k)) throw new ConfigError(`${where}.${k}: unknown option for the ${custom ? 'custom' : o.type} patcher; known: ${[...allowed].join(', ')}`);
  if (o.keys !== undefined && !(Array.isArray(o.keys) && o.keys.length > 0 && o.keys.every(k => typeof k === 'string' && k !== ''))) throw new ConfigError(`${where}.keys: expected a non-empty list of parameter names`);
  if (o.prefix !== undefined && !(typeof o.prefix === 'string' && o.prefix !== '')) throw new ConfigError(`${where}.prefix: expected a non-empty string, e.g. 'sbatch.'`);
  if (o.add !== undefined && typeof o.add !== 'boolean') throw new ConfigError(`${where}.add: expected true or false`);
  if (o.exponent !== undefined && o.exponent !== 'e' && o.exponent !== 'd') throw new ConfigError(`${where}.exponent: expected 'e' or 'd'`);
  return o as unknown as BuiltinPatcher;
}

export function validatePatcher(p: unknown, where = 'patcher'): PatcherSpec {
  if (typeof p === 'function') return p as PatcherFn;
  if (Array.isArray(p)) {
    if (p.length === 0) throw new ConfigError(`${where}: the list of patchers is empty`);
    return p.map((x, i) => validateOne(x, `${where}[${i}]`));
  }
  return validateOne(p, where);
}

const asList = (p: TextPatcherSpec): BuiltinPatcher[] => (Array.isArray(p) ? p : [p]);

/** Files the built-in patchers read from the base commit (each once, in order). */
export function patcherFiles(p: PatcherSpec): string[] {
  return typeof p === 'function' ? [] : [...new Set(asList(p).map(x => x.file))];
}

const decoded = new WeakMap<Buffer, string>();
const decode = (b: Buffer) => {
  let s = decoded.get(b);
  if (s === undefined) decoded.set(b, (s = b.toString('utf8')));
  return s;
};

/**
 * Which parameters go to which patcher (the routing rule):
 * 1. a parameter listed in a patcher's `keys`, or starting with its `prefix` (removed), goes only to
 *    such patchers;
 * 2. every other parameter goes to every patcher that has neither `keys` nor `prefix`;
 * 3. a patcher applies the parameters its file has a place for (a key, path, placeholder or #SBATCH
 *    option that exists), and with `add: true` also inserts those no patcher's file has; a custom
 *    text patcher takes all it is given;
 * 4. a parameter no patcher applied is an error naming it and each file it was tried in.
 */
export function routeParams(list: BuiltinPatcher[], config: Params): Map<string, { index: number; name: string }[]> {
  const routes = new Map<string, { index: number; name: string }[]>();
  for (const k of Object.keys(config)) {
    const r: { index: number; name: string }[] = [];
    list.forEach((s, i) => {
      if (s.keys?.includes(k)) r.push({ index: i, name: k });
      else if (s.prefix !== undefined && k.startsWith(s.prefix) && k.length > s.prefix.length) r.push({ index: i, name: k.slice(s.prefix.length) });
    });
    if (r.length === 0) list.forEach((s, i) => s.keys === undefined && s.prefix === undefined && r.push({ index: i, name: k }));
    routes.set(k, r);
  }
  return routes;
}

const optsOf = (s: BuiltinPatcher): Record<string, unknown> => ({ file: s.file, add: s.add, exponent: s.exponent });

function fail(pointLabel: string, file: string, e: unknown): never {
  if (e instanceof PatchError) {
    const msg = e.message.includes(file) ? e.message : `${file}: ${e.message}`;
    throw new ConfigError(`${pointLabel}: ${msg}`, { hint: 'Fix the parameter name in the sweep file, or the file in the base commit.' });
  }
  throw e;
}

type Routes = Map<string, { index: number; name: string }[]>;

const implOf = (s: BuiltinPatcher): PatcherImpl | null => (typeof s.type === 'function' ? null : PATCHERS[s.type]);

/**
 * Applies the text patchers, in order, to the base file contents; returns one change per file.
 * Errors are ConfigErrors naming the point and the file.
 */
export function applyTextPatcher(spec: TextPatcherSpec, base: Map<string, Buffer>, config: Params, pointLabel: string): FileChange[] {
  const list = asList(spec);
  const current = baseTexts(list, base);
  const routes = routeParams(list, config);
  const hasSomewhere = list.some(s => s.add) ? foundSomewhere(list, routes, current, pointLabel) : new Set<string>();
  const placed = new Set<string>();
  const inputs: string[] = [];
  list.forEach((s, i) => {
    const text = current.get(s.file)!;
    inputs.push(text);
    current.set(s.file, applyOne(s, i, text, routes, config, hasSomewhere, placed, pointLabel));
  });
  for (const [k, rs] of routes) if (!placed.has(k)) throw notPlaced(k, rs, list, inputs, config, pointLabel);
  return [...current].map(([path, text]) => ({ path, content: Buffer.from(text, 'utf8'), mode: '100644' as const }));
}

/** The text of every patched file in the base commit (each once). */
function baseTexts(list: BuiltinPatcher[], base: Map<string, Buffer>): Map<string, string> {
  const current = new Map<string, string>();
  for (const s of list) {
    if (current.has(s.file)) continue;
    const b = base.get(s.file);
    if (b === undefined) throw new ConfigError(`patcher.file: '${s.file}' does not exist in the base commit`);
    current.set(s.file, decode(b));
  }
  return current;
}

/** Which parameters some routed patcher's file already has (add: true only inserts the others). */
function foundSomewhere(list: BuiltinPatcher[], routes: Routes, current: Map<string, string>, pointLabel: string): Set<string> {
  const hasSomewhere = new Set<string>();
  const has = (r: { index: number; name: string }) => {
    const s = list[r.index]!;
    const m = implOf(s);
    try {
      return m !== null && m.has(current.get(s.file)!, r.name, optsOf(s));
    } catch (e) {
      return fail(pointLabel, s.file, e);
    }
  };
  for (const [k, rs] of routes) if (rs.some(has)) hasSomewhere.add(k);
  return hasSomewhere;
}

/** Runs patcher `i` on `text` with the parameters routed to it; adds the sweep keys it applied to `placed`. */
function applyOne(s: BuiltinPatcher, i: number, text: string, routes: Routes, config: Params, hasSomewhere: Set<string>, placed: Set<string>, pointLabel: string): string {
  const values: Params = {};
  // The patcher's name for a parameter → the sweep's key (they differ by the patcher's prefix).
  const origin = new Map<string, string>();
  for (const [k, rs] of routes) for (const r of rs) if (r.index === i) { values[r.name] = config[k]; origin.set(r.name, k); }
  const m = implOf(s);
  if (m === null) {
    const out = runCustom(s, text, values, pointLabel);
    for (const k of origin.values()) placed.add(k);
    return out;
  }
  const o = optsOf(s);
  const apply: Params = {};
  try {
    for (const [name, k] of origin) {
      if (m.has(text, name, o) || (s.add && !hasSomewhere.has(k) && (m.canAdd?.(text, name, o) ?? true))) {
        apply[name] = values[name];
        placed.add(k);
      }
    }
    return m.patch(text, s.type === 'template' ? values : apply, o);
  } catch (e) {
    return fail(pointLabel, s.file, e);
  }
}

/** A custom text patcher (a function given as `type`): it gets a copy of its values and must return the text. */
function runCustom(s: BuiltinPatcher, text: string, values: Params, pointLabel: string): string {
  let out: string;
  try {
    out = (s.type as CustomTextPatcher)(text, structuredClone(values), { file: s.file });
  } catch (e) {
    throw new ConfigError(`${pointLabel}: the patcher function for ${s.file} failed: ${(e as Error)?.message ?? e}`, { cause: e });
  }
  if (typeof out !== 'string') throw new ConfigError(`${pointLabel}: the patcher function for ${s.file} returned ${typeof out}, not the new text`);
  return out;
}

/** The error for a parameter no patcher applied, with why each routed file did not take it. */
function notPlaced(k: string, rs: { index: number; name: string }[], list: BuiltinPatcher[], inputs: string[], config: Params, pointLabel: string): ConfigError {
  if (rs.length === 0) return new ConfigError(`${pointLabel}: parameter '${k}' goes to no patcher: every patcher has keys or a prefix, and none matches it`, { hint: "Add it to a patcher's keys, or add a patcher without keys/prefix." });
  const why = rs.map(r => {
    const s = list[r.index]!;
    const m = implOf(s)!;
    if (s.type === 'template') return `${s.file} has no placeholder '${r.name}'`;
    // Patching the file with this parameter alone says why it has no place (a patcher's own message).
    try {
      m.patch(inputs[r.index]!, { [r.name]: config[k] }, optsOf(s));
    } catch (e) {
      if (e instanceof PatchError) return e.message.includes(s.file) ? e.message : `${s.file}: ${e.message}`;
      throw e;
    }
    return `${s.file} has no place for '${r.name}'`;
  });
  return new ConfigError(`${pointLabel}: ${rs.length === 1 ? why[0] : `parameter '${k}' is set by none of the patched files: ${why.join('; ')}`}`, {
    hint: 'Fix the parameter name in the sweep file, or the file in the base commit.',
  });
}

async function snapshot(dir: string): Promise<Map<string, { content: Buffer; mode: FileChange['mode'] }>> {
  const files = new Map<string, { content: Buffer; mode: FileChange['mode'] }>();
  for (const f of filesBelow(dir)) {
    const st = await lstat(join(dir, f));
    if (st.isSymbolicLink()) files.set(f, { content: Buffer.from(await readlink(join(dir, f))), mode: '120000' });
    else files.set(f, { content: await readFile(join(dir, f)), mode: st.mode & 0o111 ? '100755' : '100644' });
  }
  return files;
}

/**
 * Runs a function patcher in a scratch copy of the base tree (`pristine`, extracted once) and
 * returns what it changed. The user's working tree is never involved.
 */
export async function applyFunctionPatcher(fn: PatcherFn, pristine: string, before: Awaited<ReturnType<typeof snapshot>>, config: Params, pointLabel: string): Promise<FileChange[]> {
  const scratch = await mkdtemp(join(tmpdir(), 'rx-point-'));
  try {
    await cp(pristine, scratch, { recursive: true, verbatimSymlinks: true });
    try {
      await fn(scratch, structuredClone(config));
    } catch (e) {
      throw new ConfigError(`${pointLabel}: the sweep's patcher function failed: ${(e as Error)?.message ?? e}`, { cause: e });
    }
    const after = await snapshot(scratch);
    const changes: FileChange[] = [];
    for (const [path, f] of after) {
      const old = before.get(path);
      if (!old || old.mode !== f.mode || !old.content.equals(f.content)) changes.push({ path, content: f.content, mode: f.mode });
    }
    for (const path of before.keys()) if (!after.has(path)) changes.push({ path, content: null, mode: '100644' });
    return changes;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

export { snapshot };
