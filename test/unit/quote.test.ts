import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { shq, shqPath, shJoin } from '../../src/quote.ts';
import { run } from '../../src/proc.ts';

const hostile = ["it's", '$(touch /tmp/rx-pwned)', '`id`', 'a;b', 'a\nb', 'ünï 😀', '', ' lead', '-n', "'", "''", '\\', '"$HOME"', '*', '~', 'a\tb', '!x', '$((1+1))'];

test('shq round-trips hostile strings through a real bash, never executing them', async () => {
  const script = hostile.map(s => `printf '%s\\0' ${shq(s)}`).join('\n');
  const r = await run(['bash', '-c', script]);
  assert.deepEqual(r.stdout.split('\0').slice(0, -1), hostile);
});

test('shq round-trips arbitrary strings (property, one bash run)', async () => {
  const samples = fc.sample(fc.string({ unit: 'binary' }).filter(s => !s.includes('\0')), 300);
  const r = await run(['bash', '-c', `printf '%s\\0' ${shJoin(samples)}`]);
  assert.deepEqual(r.stdout.split('\0').slice(0, -1), samples);
});

test('shq refuses NUL; plain words stay readable', () => {
  assert.throws(() => shq('a\0b'), /NUL/);
  assert.equal(shq('run.sbatch'), 'run.sbatch');
  assert.equal(shq("it's"), "'it'\\''s'");
});

test('shqPath keeps ~/ meaning the remote home and quotes the rest', async () => {
  const r = await run(['bash', '-c', `printf '%s\\0' ${shqPath("~/runs/it's $(x)")} ${shqPath('~')} ${shqPath('/abs/~x')}`], { env: { ...process.env, HOME: '/home/h' } });
  assert.deepEqual(r.stdout.split('\0').slice(0, -1), ["/home/h/runs/it's $(x)", '/home/h', '/abs/~x']);
});
