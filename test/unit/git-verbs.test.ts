// The git executor on real temporary repositories: text verbs through simple-git, stdin/binary
// verbs through proc.ts's streaming `run`, and the same CommandError from both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, readFile, readdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { git, repoTop, verbs, type TextVerb } from '../../src/git/verbs.ts';
import { CommandError, ConfigError } from '../../src/errors.ts';
import { gitdir } from '../helpers/gitdir.ts';

/** Runs `fn` with some process.env variables set (undefined: removed), then restores them. */
async function withEnv<T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map(k => [k, process.env[k]]));
  const set = (vs: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(vs)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  };
  set(vars);
  try {
    return await fn();
  } finally {
    set(saved);
  }
}

test('resolveCommit: the sha of an existing ref, null for a missing one (non-zero exit seen by allowFailure)', async t => {
  const g = await gitdir(t, { files: { 'a.txt': 'a\n' } });
  const head = (await g.git.revparse(['HEAD'])).trim();
  assert.equal(await git(g.work, verbs.resolveCommit('main')), head);
  assert.equal(await git(g.work, verbs.resolveCommit('no-such-branch')), null);
  assert.equal(await git(g.work, verbs.remoteUrl('origin')), null);
});

test('a failing text verb throws CommandError with argv, exit code and stderr', async t => {
  const g = await gitdir(t, { files: { 'a.txt': 'a\n' } });
  const e = await git(g.work, verbs.commitMessage('no-such-rev')).then(() => null, (x: unknown) => x);
  assert.ok(e instanceof CommandError, `expected CommandError, got ${String(e)}`);
  assert.deepEqual(e.argv, ['git', 'log', '-1', '--format=%B', 'no-such-rev']);
  assert.equal(e.exitCode_, 128);
  assert.match(e.stderr, /fatal: ambiguous argument 'no-such-rev'/);
  assert.match(e.message, /^git: `git log -1 --format=%B no-such-rev` failed \(exit code 128\)\nfatal: ambiguous argument/);
});

test('a failing stream verb throws the same CommandError', async t => {
  const g = await gitdir(t, { files: { 'a.txt': 'a\n' } });
  const e = await git(g.work, verbs.updateRefs(['bogus refs/heads/x'])).then(() => null, (x: unknown) => x);
  assert.ok(e instanceof CommandError);
  assert.deepEqual(e.argv, ['git', 'update-ref', '--stdin']);
  assert.equal(e.exitCode_, 128);
  assert.match(e.stderr, /fatal: unknown command: bogus/);
});

test('readBlobs returns exact bytes (streaming path): binary, empty, missing', async t => {
  const g = await gitdir(t, { files: { 'a.txt': 'hello\n', empty: '' } });
  await writeFile(join(g.work, 'bin.dat'), Buffer.from([0, 10, 255, 10, 0, 0xc3]));
  await g.commit('bin');
  const [a, missing, bin, empty] = await git(g.work, verbs.readBlobs(['HEAD:a.txt', 'HEAD:nope', 'HEAD:bin.dat', 'HEAD:empty']));
  assert.equal(a!.toString(), 'hello\n');
  assert.equal(missing, null);
  assert.deepEqual([...bin!], [0, 10, 255, 10, 0, 0xc3]);
  assert.equal(empty!.length, 0);
});

test('every text verb runs through simple-git without being refused', async t => {
  const g = await gitdir(t, { origin: true, files: { 'run.sh': '#!/bin/sh\n', 'x.txt': 'x\n' } });
  const base = (await g.git.revparse(['HEAD'])).trim();
  await g.write({ 'x.txt': 'y\n', 'new.txt': 'n\n' });
  const next = await g.commit('second\n\nbody');
  assert.equal(await git(g.work, verbs.toplevel()), g.work);
  assert.equal(await git(g.work, verbs.gitPath('info/exclude')), join(g.work, '.git/info/exclude'));
  assert.equal(await git(g.work, verbs.remoteUrl('origin')), g.origin);
  assert.equal(await git(g.work, verbs.committerIdent()), 'rx test <test@rx.invalid>');
  assert.deepEqual(await git(g.work, verbs.diffNames(base, next)), [{ status: 'A', path: 'new.txt' }, { status: 'M', path: 'x.txt' }]);
  assert.deepEqual(await git(g.work, verbs.modes(next, ['x.txt', 'new.txt'])), new Map([['new.txt', '100644'], ['x.txt', '100644']]));
  assert.equal(await git(g.work, verbs.commitMessage(next)), 'second\n\nbody\n\n');
  await git(g.work, verbs.updateRefs([`create refs/rx/s/1 ${next}`]));
  assert.deepEqual(await git(g.work, verbs.forEachRef('refs/rx/s/')), new Map([['refs/rx/s/1', next]]));
  assert.deepEqual(await git(g.work, verbs.parents([next])), new Map([[next, [base]]]));
  const pushed = await git(g.work, verbs.push('origin', ['refs/rx/s/*:refs/rx/s/*']));
  assert.equal(pushed.exitCode, 0);
  assert.match(pushed.stdout, /^\*\trefs\/rx\/s\/1:refs\/rx\/s\/1\t\[new reference\]$/m);
  const tar = join(g.root, 'x.tar');
  await git(g.work, verbs.archive(next, tar));
  assert.ok((await readFile(tar)).includes(Buffer.from('new.txt')));
  const bare = join(g.root, 'scratch.git');
  await git(g.root, verbs.initBare(bare));
  assert.equal(await git(bare, { argv: ['rev-parse', '--is-bare-repository'], parse: r => r.stdout.trim() }), 'true');
});

test('git gets the user environment (guarded GIT_* included), minus editor/pager, plus the verb env', async t => {
  const g = await gitdir(t, { files: { 'a.txt': 'a\n' } });
  const get: TextVerb<string> = { argv: ['config', '--get', 'rx.probe'], parse: r => r.stdout.trim() };
  const env = {
    GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'rx.probe', GIT_CONFIG_VALUE_0: 'from-env',
    GIT_SSH_COMMAND: 'ssh -o BatchMode=yes', GIT_ASKPASS: '/bin/false', PREFIX: '/opt/x', EDITOR: 'rx-test-editor', PAGER: 'rx-test-pager',
  };
  await withEnv(env, async () => {
    assert.equal(await git(g.work, get), 'from-env');
    // EDITOR / PAGER are not passed: `git var` falls back to git's built-in defaults.
    const gitVar = (name: string): TextVerb<string> => ({ argv: ['var', name], parse: r => r.stdout.trim() });
    assert.notEqual(await git(g.work, gitVar('GIT_PAGER')), 'rx-test-pager');
    assert.notEqual(await git(g.work, gitVar('GIT_EDITOR')), 'rx-test-editor');
    const ident = { ...verbs.committerIdent(), env: { GIT_COMMITTER_NAME: 'Env Name', GIT_COMMITTER_EMAIL: 'env@rx.invalid' } };
    assert.equal(await git(g.work, ident), 'Env Name <env@rx.invalid>');
    // The streaming path sees the same environment.
    assert.deepEqual((await git(g.work, { argv: ['config', '--get', 'rx.probe'], input: '', parse: r => r.stdout.trim() })), 'from-env');
  });
});

test("simple-git's argv guards still apply; a missing directory is a CommandError (so repoTop says: not a repository)", async t => {
  const g = await gitdir(t, { files: { 'a.txt': 'a\n' } });
  const marker = join(g.root, 'upload-pack-ran');
  await assert.rejects(git(g.work, verbs.resolveCommit(`--upload-pack=touch ${marker}`)), (e: unknown) => e instanceof CommandError && /allowUnsafePack/.test(e.message));
  assert.deepEqual((await readdir(g.root)).filter(f => f.startsWith('upload-pack-ran')), []);
  const gone = await mkdtemp(join(tmpdir(), 'rx-gone-'));
  await rm(gone, { recursive: true });
  await assert.rejects(git(gone, verbs.toplevel()), CommandError);
  await assert.rejects(repoTop(gone), ConfigError);
  const notRepo = await mkdtemp(join(tmpdir(), 'rx-norepo-'));
  t.after(() => rm(notRepo, { recursive: true, force: true }));
  await assert.rejects(repoTop(notRepo), ConfigError);
});
