// Shared end-to-end checks: run directories hold exactly their commit's tree; refs are where they belong.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../src/proc.ts';
import { filesBelow } from '../../src/files.ts';

/** Files of a commit's tree: path → content. */
export async function treeFiles(repo: string, sha: string): Promise<Map<string, Buffer>> {
  const ls = await run(['git', 'ls-tree', '-r', '-z', '--name-only', sha], { cwd: repo });
  const paths = ls.stdout.split('\0').filter(Boolean);
  const out = new Map<string, Buffer>();
  for (const p of paths) out.set(p, (await run(['git', 'cat-file', 'blob', `${sha}:${p}`], { cwd: repo })).stdoutBytes);
  return out;
}

/**
 * The run directory holds exactly the commit's tree, plus only the files the job itself writes
 * (`allowedExtra`, e.g. slurm-*.out and the simulation's outputs).
 */
export async function assertDirIsTree(dir: string, repo: string, sha: string, allowedExtra: RegExp, read: (p: string) => Promise<Buffer> = p => readFile(p)): Promise<void> {
  const tree = await treeFiles(repo, sha);
  const files = filesBelow(dir);
  for (const [p, content] of tree) assert.deepEqual(await read(join(dir, p)), content, `${dir}/${p} differs from ${sha}:${p}`);
  const extra = files.filter(f => !tree.has(f));
  for (const f of extra) assert.match(f, allowedExtra, `unexpected file ${f} in ${dir}`);
}

export async function refs(gitDir: string, prefix: string): Promise<Map<string, string>> {
  const r = await run(['git', '--git-dir', gitDir, 'for-each-ref', '--format=%(objectname) %(refname)', prefix]);
  return new Map(r.stdout.split('\n').filter(Boolean).map(l => { const [sha, ref] = l.split(' '); return [ref!, sha!]; }));
}
