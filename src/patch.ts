// Turning a point's config into file changes on top of the base commit.
import { mkdtemp, readdir, readFile, rm, cp, lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ConfigError } from './errors.ts';
import { mesa, MesaPatchError } from '../patchers/mesa.ts';
import { validateRepoPath } from './names.ts';
import type { Params } from './points.ts';

export interface BuiltinPatcher {
  type: 'mesa';
  file: string;
  add?: boolean;
  exponent?: 'e' | 'd';
}
export type PatcherFn = (dir: string, config: Params) => void | Promise<void>;
export type PatcherSpec = BuiltinPatcher | PatcherFn;

/** One file written by a point's commit; content null means the file is deleted. */
export interface FileChange {
  path: string;
  content: Buffer | null;
  mode: '100644' | '100755' | '120000';
}

const TEXT_PATCHERS = { mesa } as const;

export function validatePatcher(p: unknown, where = 'patcher'): PatcherSpec {
  if (typeof p === 'function') return p as PatcherFn;
  if (p === null || typeof p !== 'object') throw new ConfigError(`${where}: expected { type: 'mesa', file: '...' } or a function (dir, config) => void`);
  const o = p as Record<string, unknown>;
  if (!(typeof o.type === 'string' && o.type in TEXT_PATCHERS)) {
    throw new ConfigError(`${where}.type: unknown patcher ${JSON.stringify(o.type)}; known: ${Object.keys(TEXT_PATCHERS).join(', ')} (or give a function)`);
  }
  validateRepoPath(o.file, `${where}.file`);
  return o as unknown as BuiltinPatcher;
}

/** Files a built-in patcher reads from the base commit. */
export function patcherFiles(p: PatcherSpec): string[] {
  return typeof p === 'function' ? [] : [p.file];
}

/** Applies a text patcher to the base file contents; errors name the point and the file. */
export function applyTextPatcher(p: BuiltinPatcher, base: Map<string, Buffer>, config: Params, pointLabel: string): FileChange[] {
  const text = base.get(p.file);
  if (text === undefined) throw new ConfigError(`patcher.file: '${p.file}' does not exist in the base commit`);
  try {
    const out = TEXT_PATCHERS[p.type](text.toString('utf8'), config, { file: p.file, add: p.add, exponent: p.exponent });
    return [{ path: p.file, content: Buffer.from(out, 'utf8'), mode: '100644' }];
  } catch (e) {
    if (e instanceof MesaPatchError) throw new ConfigError(`${pointLabel}: ${e.message}`, { hint: 'Fix the parameter name in the sweep file, or the inlist in the base commit.' });
    throw e;
  }
}

/** Every file below dir (not directories), as relative paths with '/'. */
export async function walk(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await walk(dir, r)));
    else out.push(r);
  }
  return out;
}

async function snapshot(dir: string): Promise<Map<string, { content: Buffer; mode: FileChange['mode'] }>> {
  const files = new Map<string, { content: Buffer; mode: FileChange['mode'] }>();
  for (const f of await walk(dir)) {
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
