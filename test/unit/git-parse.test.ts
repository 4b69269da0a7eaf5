import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCatFileBatch, fastImportPath } from '../../src/git/verbs.ts';
import { run } from '../../src/proc.ts';
import { gitdir } from '../helpers/gitdir.ts';

test('cat-file --batch parser: real output with binary, missing and empty blobs', async t => {
  const g = await gitdir(t, { files: { 'a.txt': 'hello\n', 'empty': '' } });
  await g.write({ 'bin.dat': '' });
  const { writeFile } = await import('node:fs/promises');
  await writeFile(`${g.work}/bin.dat`, Buffer.from([0, 10, 255, 10, 0]));
  await g.commit('bin');
  const r = await run(['git', 'cat-file', '--batch'], { cwd: g.work, input: 'HEAD:a.txt\nHEAD:nope\nHEAD:bin.dat\nHEAD:empty\n' });
  const out = parseCatFileBatch(r.stdoutBytes, 4);
  assert.equal(out[0]!.toString(), 'hello\n');
  assert.equal(out[1], null);
  assert.deepEqual([...out[2]!], [0, 10, 255, 10, 0]);
  assert.equal(out[3]!.length, 0);
});

test('fast-import paths are C-quoted only when needed', () => {
  assert.equal(fastImportPath('a b/c.txt'), 'a b/c.txt');
  assert.equal(fastImportPath('a"b'), '"a\\"b"');
  assert.equal(fastImportPath('a\nb\\c'), '"a\\nb\\\\c"');
});
