// rx fetch's hints: a name that matches nothing in some run directories but is there deeper gets
// `did you mean LOGS/history.data? found in N run dirs`; a name that matches nothing anywhere
// exits 2 with that hint. On the real Slurm over ssh and on the embedded default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gitdir } from '../helpers/gitdir.ts';
import { rx, rxJson, eventually } from '../helpers/rx.ts';
import { clusterSession } from '../helpers/cluster.ts';
import { bestHint } from '../../src/results/fetch.ts';

type Fetch = { fetched: number; hints: { sweep: string; pattern: string; suggestion: string; runDirs: number }[]; unmatched: string[]; missing: { rundir: string; pattern: string }[] };

/** Points with top = 1 write history.data at the top of the run dir; the others only LOGS/history.data. */
const files = {
  'config.inlist': '&controls\n  top = 0\n  seed = 0\n/\n',
  'run.sbatch': [
    '#!/bin/bash',
    'mkdir -p LOGS && printf "model_number star_age\\n1 2.5\\n" > LOGS/history.data',
    'if [ "$(awk \'$1 == "top" { print $3 }\' config.inlist)" = 1 ]; then cp LOGS/history.data history.data; fi',
    '',
  ].join('\n'),
};

async function run(t: import('node:test').TestContext, remote: Record<string, unknown>, env: Record<string, string>, tops: number[]) {
  const g = await gitdir(t, { origin: true, files });
  const f = join(g.root, 'hints.json');
  await writeFile(f, JSON.stringify({ name: 'hints', branch: 'main', dimensions: { top: tops, seed: [1, 2] }, patcher: { type: 'mesa', file: 'config.inlist' }, remote }));
  await rxJson(['submit', '--sweep', f], { cwd: g.work, env });
  await eventually('jobs COMPLETED', 120_000, async () => {
    const rows = await rxJson<{ state: string }[]>(['status'], { cwd: g.work, env });
    return rows.every(r => r.state === 'COMPLETED') ? true : undefined;
  });
  return g;
}

async function nothingAnywhere(cwd: string, env: Record<string, string>, n: number) {
  const r = await rx(['fetch', 'history.data', '--json'], { cwd, env, allowFailure: true });
  assert.equal(r.exitCode, 2, r.stderr);
  const res = JSON.parse(r.stdout) as Fetch;
  assert.equal(res.fetched, 0);
  assert.deepEqual(res.unmatched, ['history.data']);
  assert.deepEqual(res.hints.map(h => [h.pattern, h.suggestion, h.runDirs]), [['history.data', 'LOGS/history.data', n]]);
  assert.match(r.stderr, new RegExp(`^rx: 'history.data' matched nothing in any of ${n} run directories$`, 'm'));
  assert.match(r.stderr, new RegExp(`history.data: did you mean LOGS/history.data\\? found in ${n} run dirs`));
  // With the suggested name it works and exits 0; every file is fetched now, so the deeper look copied nothing.
  const ok = await rxJson<Fetch>(['fetch', 'LOGS/history.data'], { cwd, env });
  assert.equal(ok.fetched, n);
  assert.equal(ok.unmatched.length, 0);
  assert.equal(ok.hints.length, 0);
}

test('slurm: rx fetch history.data hints LOGS/history.data, and exits 2 when nothing matches anywhere', async t => {
  const s = await clusterSession(t, 'rx-hints');
  if (!s) return;
  const g = await run(t, s.remote(), s.env, [0]);
  await nothingAnywhere(g.work, s.env, 2);
});

test('local: a name found in some run dirs at the top and in others only deeper: fetched, hinted, exit 0', async t => {
  const g = await run(t, { host: 'local' }, {}, [0, 1]);
  const r = await rx(['fetch', 'history.data'], { cwd: g.work });
  assert.match(r.stdout, /fetched 2 /);
  assert.match(r.stdout, /history\.data: did you mean LOGS\/history\.data\? found in 2 run dirs/);
  const res = await rxJson<Fetch>(['fetch', 'history.data'], { cwd: g.work });
  assert.deepEqual(res.unmatched, []);
  assert.equal(res.missing.length, 2);
  assert.deepEqual(res.hints.map(h => [h.suggestion, h.runDirs]), [['LOGS/history.data', 2]]);
  // A name that is nowhere at all: exit 2 and the general advice.
  const none = await rx(['fetch', 'nothing.here'], { cwd: g.work, allowFailure: true });
  assert.equal(none.exitCode, 2);
  assert.match(none.stderr, /'nothing\.here' matched nothing in any of 4 run directories/);
  assert.match(none.stderr, /'\*\*\/history\.data'/);
});

test('local: rx link name conflicts are counted once, and errors carry one rx: prefix', async t => {
  const g = await run(t, { host: 'local' }, {}, [0, 1]);
  await rxJson(['fetch', 'LOGS/history.data', 'config.inlist'], { cwd: g.work });
  // top{top} ignores the varied seed: two names, each shared by two experiments, each with two files.
  const r = await rx(['link', '--namer', 'top{top}'], { cwd: g.work, allowFailure: true });
  assert.equal(r.exitCode, 2);
  assert.match(r.stderr, /^rx: 2 name conflicts; nothing was changed:$/m);
  assert.equal(r.stderr.match(/is produced by 2 experiments/g)?.length, 2);
  assert.doesNotMatch(r.stderr, /would be used twice/);
  assert.doesNotMatch(r.stderr, /rx: rx /);
  const show = await rx(['show', ''], { cwd: g.work, allowFailure: true });
  assert.equal(show.exitCode, 2);
  assert.match(show.stderr, /^rx: give a commit sha/m);
});

test('bestHint: the path found in the most run dirs lacking the name; only those run dirs count', () => {
  const e = (path: string) => ({ type: 'file' as const, path, size: 1, change: 'received' as const });
  const entries = [e('r1/LOGS/history.data'), e('r2/LOGS/history.data'), e('r2/old/history.data'), e('r3/old/history.data'), e('r4/LOGS/history.data'), e('r1/LOGS/profile.data')];
  assert.deepEqual(bestHint('history.data', entries as never, new Set(['r1', 'r2', 'r3'])), { suggestion: 'LOGS/history.data', runDirs: 2 });
  assert.deepEqual(bestHint('history.data', entries as never, new Set(['r3'])), { suggestion: 'old/history.data', runDirs: 1 });
  assert.equal(bestHint('nope.data', entries as never, new Set(['r1'])), null);
});
