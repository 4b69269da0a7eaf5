// In-process git object ids (src/git/objects.ts) against git itself: blobs against `git hash-object`,
// trees against `git mktree`, commits against `git commit-tree`, and a base tree with a point's
// changes laid over it (plus the whole commit a dry run previews) against the commits fast-import
// writes in a real submission (buildCommits).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import { run } from '../../src/proc.ts';
import { blobId, commitId, parseTree, treeBody, treeId, TreeOverlay, type TreeEntry } from '../../src/git/objects.ts';
import { buildCommits, type PointToBuild } from '../../src/git/commits.ts';
import { commitIds } from '../../src/submission/dry-run.ts';
import type { FileChange } from '../../src/sweep/patch.ts';

const gitIn = (cwd: string, argv: string[], input?: string | Buffer, env: NodeJS.ProcessEnv = {}) =>
  run(['git', ...argv], { cwd, input: input ?? '', env: { ...process.env, ...env }, where: 'test git' });

/** A repository whose base commit has nested dirs, an executable, a symlink and names that sort specially. */
async function baseRepo(): Promise<{ dir: string; base: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'rx-objects-'));
  const files: Record<string, string> = {
    inlist: '&controls\n  m = 1\n/\n', 'run.sbatch': '#!/bin/bash\necho run\n', 'a.b': 'dot\n', 'a/x': 'x\n', 'a/b/c': 'c\n',
    'a-': 'dash\n', a0: 'zero\n', 'd/e/f': 'f\n', 'd/g': 'g\n', 'é/ü': 'unicode\n', 'only/one': 'lonely\n',
  };
  for (const [p, c] of Object.entries(files)) {
    await mkdir(dirname(join(dir, p)), { recursive: true });
    await writeFile(join(dir, p), c);
  }
  await chmod(join(dir, 'run.sbatch'), 0o755);
  await symlink('inlist', join(dir, 'link'));
  for (const argv of [['init', '-q', '-b', 'main'], ['config', 'user.name', 'rx test'], ['config', 'user.email', 'test@rx.invalid'], ['config', 'gc.auto', '0'], ['add', '-A'], ['commit', '-qm', 'base']]) await gitIn(dir, argv);
  return { dir, base: (await gitIn(dir, ['rev-parse', 'HEAD'])).stdout.trim() };
}

const hex40 = fc.uint8Array({ minLength: 20, maxLength: 20 }).map(b => Buffer.from(b).toString('hex'));
// Names that sort specially: 'a.b' and 'a-' before the directory 'a' ('/' is 0x2f), 'a0' after it.
const names = fc.oneof(fc.constantFrom('a', 'a.b', 'a-', 'a0', 'a_', 'A', 'é', 'b c', '.rx', 'x.y.z'), fc.stringMatching(/^[a-z0-9._-]{1,6}$/).filter(n => n !== '.' && n !== '..'));

test('blobId is git hash-object', async () => {
  const { dir } = await baseRepo();
  try {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async bytes => {
      const content = Buffer.from(bytes);
      assert.equal(blobId(content), (await gitIn(dir, ['hash-object', '--stdin'], content)).stdout.trim());
    }), { numRuns: 25 });
    assert.equal(blobId(Buffer.alloc(0)), 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391');
    assert.equal(blobId(Buffer.from('hello\n'), 'sha256'), '2cf8d83d9ee29543b34a87727421fdecb7e3f3a183d337639025de576db9ebb4');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('treeId is git mktree (sorted as git sorts: a.b and a- before the directory a, a0 after it)', async () => {
  const { dir } = await baseRepo();
  try {
    const entry = fc.record({ name: names, mode: fc.constantFrom('100644', '100755', '120000', '40000'), id: hex40 });
    await fc.assert(fc.asyncProperty(fc.uniqueArray(entry, { selector: e => e.name, maxLength: 12 }), async entries => {
      const input = entries.map(e => `${e.mode === '40000' ? '040000 tree' : `${e.mode} blob`} ${e.id}\t${e.name}\n`).join('');
      const id = treeId(entries);
      assert.equal(id, (await gitIn(dir, ['mktree', '--missing'], input)).stdout.trim());
      // Parsed back: the same entries (in git's order).
      assert.deepEqual(new Set(parseTree(treeBody(entries)).map(e => `${e.mode} ${e.name} ${e.id}`)), new Set(entries.map(e => `${e.mode} ${e.name} ${e.id}`)));
    }), { numRuns: 40 });
    const special: TreeEntry[] = ['a', 'a.b', 'a0', 'a-'].map((name, i) => ({ name, mode: i === 0 ? '40000' : '100644', id: '0'.repeat(39) + i }));
    assert.deepEqual(parseTree(treeBody(special)).map(e => e.name), ['a-', 'a.b', 'a', 'a0']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('commitId is git commit-tree (same tree, parents, author, committer, message)', async () => {
  const { dir, base } = await baseRepo();
  try {
    const tree = (await gitIn(dir, ['rev-parse', `${base}^{tree}`])).stdout.trim();
    const message = fc.string({ unit: 'grapheme', maxLength: 80 }).filter(s => !s.includes('\0')).map(s => s + '\n');
    await fc.assert(fc.asyncProperty(message, fc.integer({ min: 1e9, max: 2 ** 31 }) /* git reads shorter numbers as other date formats */, fc.boolean(), async (msg, time, withParent) => {
      const env = { GIT_AUTHOR_NAME: 'Ann Author', GIT_AUTHOR_EMAIL: 'ann@rx.invalid', GIT_AUTHOR_DATE: `${time} +0000`, GIT_COMMITTER_NAME: 'Carl', GIT_COMMITTER_EMAIL: 'carl@rx.invalid', GIT_COMMITTER_DATE: `${time} +0000` };
      const real = (await gitIn(dir, ['commit-tree', tree, ...(withParent ? ['-p', base] : []), '-F', '-'], msg, env)).stdout.trim();
      assert.equal(commitId({ tree, parents: withParent ? [base] : [], author: `Ann Author <ann@rx.invalid> ${time} +0000`, committer: `Carl <carl@rx.invalid> ${time} +0000`, message: msg }), real);
    }), { numRuns: 25 });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

// Paths a point may change: existing files (root and nested), new files in existing and new
// directories, a file where the base has a directory and a directory where it has a file.
const PATHS = ['inlist', 'run.sbatch', 'a.b', 'a/x', 'a/new', 'a/b/c', 'a/b/d', 'a0', 'new/deep/file', '.rx/point.json', 'd/e/f', 'd/g', 'é/ü', 'only/one', 'link', 'missing/file', 'a', 'inlist2', 'link/x', 'zz'];

/** A point's changes: distinct paths, none inside another changed path (as patchers make them). */
const changesArb = fc.uniqueArray(fc.record({
  path: fc.constantFrom(...PATHS),
  content: fc.option(fc.string({ maxLength: 40 }).map(s => Buffer.from(s)), { freq: 4 }),
  mode: fc.constantFrom<FileChange['mode']>('100644', '100755', '120000'),
}), { selector: c => c.path, maxLength: 6 }).map(cs => cs.filter(c => !cs.some(o => c.path.startsWith(o.path + '/'))));

test('TreeOverlay and commitIds give the trees and commits fast-import writes (buildCommits)', async () => {
  const { dir, base } = await baseRepo();
  try {
    const overlay = await TreeOverlay.load(dir, base, PATHS);
    let run = 0;
    await fc.assert(fc.asyncProperty(fc.array(changesArb, { minLength: 1, maxLength: 6 }), async perPoint => {
      const points: PointToBuild[] = perPoint.map((_, i) => ({ key: String(i + 1), params: { m: i }, varied: { m: i, 'x\ny': 'z' }, hash: String(i).padStart(64, '0'), repeat: i % 2 }));
      const changes = new Map(points.map((p, i) => [p.key, perPoint[i]!]));
      const real = await buildCommits(dir, base, 'sw', points, changes, 'Pat Point <pat@rx.invalid>', `refs/rx-test/${run++}`);
      for (const p of points) {
        const sha = real.get(p.key)!;
        const when = /^committer .* (\d+ [+-]\d{4})$/m.exec((await gitIn(dir, ['cat-file', 'commit', sha])).stdout)![1]!;
        const tree = (await gitIn(dir, ['rev-parse', `${sha}^{tree}`])).stdout.trim();
        assert.equal(overlay.rootWith(changes.get(p.key)!), tree, `tree of point ${p.key}: ${JSON.stringify(changes.get(p.key)!.map(c => [c.path, c.content?.toString() ?? null, c.mode]))}`);
        const mine = await commitIds(dir, base, 'sw', [p], changes, { ident: 'Pat Point <pat@rx.invalid>', when });
        assert.equal(mine.get(p.key), sha);
      }
    }), { numRuns: 15 });
    // No change: the base tree itself; every file deleted from a directory: the directory is gone.
    const baseTree = (await gitIn(dir, ['rev-parse', `${base}^{tree}`])).stdout.trim();
    assert.equal(overlay.rootWith([]), baseTree);
    const gone = [{ path: 'only/one', content: null, mode: '100644' as const }];
    const real = await buildCommits(dir, base, 'sw', [{ key: '1', params: {}, varied: {}, hash: '0'.repeat(64), repeat: 0 }], new Map([['1', gone]]), 'Pat <pat@rx.invalid>', 'refs/rx-test/gone');
    const realTree = (await gitIn(dir, ['rev-parse', `${real.get('1')}^{tree}`])).stdout.trim();
    assert.equal(overlay.rootWith(gone), realTree);
    assert.doesNotMatch((await gitIn(dir, ['ls-tree', '--name-only', realTree])).stdout, /^only$/m);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('commitIds: sha256 repositories hash with sha256', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rx-objects-256-'));
  try {
    for (const argv of [['init', '-q', '-b', 'main', '--object-format=sha256'], ['config', 'user.name', 'rx test'], ['config', 'user.email', 'test@rx.invalid']]) await gitIn(dir, argv);
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'sub/inlist'), 'm = 1\n');
    await gitIn(dir, ['add', '-A']);
    await gitIn(dir, ['commit', '-qm', 'base']);
    const base = (await gitIn(dir, ['rev-parse', 'HEAD'])).stdout.trim();
    assert.equal(base.length, 64);
    const points: PointToBuild[] = [{ key: '1', params: { m: 2 }, varied: { m: 2 }, hash: 'f'.repeat(64), repeat: 0 }];
    const changes = new Map([['1', [{ path: 'sub/inlist', content: Buffer.from('m = 2\n'), mode: '100644' as const }, { path: '.rx/point.json', content: Buffer.from('{}\n'), mode: '100644' as const }]]]);
    const real = await buildCommits(dir, base, 'sw', points, changes, 'Pat <pat@rx.invalid>', 'refs/rx-test/0');
    const when = /^committer .* (\d+ [+-]\d{4})$/m.exec((await gitIn(dir, ['cat-file', 'commit', real.get('1')!])).stdout)![1]!;
    assert.equal((await commitIds(dir, base, 'sw', points, changes, { ident: 'Pat <pat@rx.invalid>', when })).get('1'), real.get('1'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
