// Nested stages: sweep 2's points are sweep 1's dataset rows (filtered, selected) × its own points.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gitdir } from '../helpers/gitdir.ts';
import { rx, rxJson, eventually } from '../helpers/rx.ts';

const files = {
  'config.inlist': '&controls\n  m = 1\n  k = 0\n/\n',
  'run.sbatch': [
    '#!/bin/bash',
    'get() { awk -v k="$1" \'$1 == k { print $3 }\' config.inlist; }',
    'm=$(get m); k=$(get k)',
    'echo "out = $(awk -v m="$m" -v k="$k" \'BEGIN { print 5 * m + k }\')" > result.txt',
    '',
  ].join('\n'),
};

type Rec = { status: string; params: Record<string, unknown>; dir: string };

test('stage 2 is driven by stage 1 results: where filters rows, select renames columns, provenance recorded', async t => {
  const g = await gitdir(t, { origin: true, files });
  await writeFile(join(g.work, 'stage1.yaml'), 'name: stage1\nbranch: main\npatcher: { type: mesa, file: config.inlist }\ndimensions: { m: [1.5, 2, 4] }\nparse: { file: result.txt, parser: keyvalue }\n');
  await writeFile(join(g.work, 'stage2.yaml'), [
    'name: stage2', 'branch: main', 'patcher: { type: mesa, file: config.inlist }',
    // stage 1's `out` (5 m) becomes stage 2's m, only where out > 8; k varies on its own.
    'from: { sweep: stage1, where: { state: COMPLETED, out: { gt: 8 } }, select: { m: out } }',
    'dimensions: { k: [0, 1] }', '',
  ].join('\n'));
  await g.commit('stages');
  // Stage 2 before stage 1 exists: a clear error.
  const early = await rx(['submit', '--sweep', 'stage2.yaml'], { cwd: g.work, allowFailure: true });
  assert.equal(early.exitCode, 2);
  assert.match(early.stderr, /from.sweep: there is no sweep 'stage1'/);

  await rxJson(['submit', '--sweep', 'stage1.yaml'], { cwd: g.work });
  await eventually('stage 1 COMPLETED', 60_000, async () => {
    const rows = await rxJson<{ state: string }[]>(['status', '--sweep', 'stage1'], { cwd: g.work });
    return rows.every(r => r.state === 'COMPLETED') ? true : undefined;
  });
  // A dry run contacts nothing, so it sees only stage 1 results already fetched.
  const blind = await rx(['submit', '--sweep', 'stage2.yaml', '--dry-run'], { cwd: g.work, allowFailure: true });
  assert.match(blind.stderr, /from.where.out: sweep 'stage1' has no such column[\s\S]*rx dataset --sweep stage1 fetches them/);
  await rxJson(['dataset', '--sweep', 'stage1'], { cwd: g.work });
  const plan = await rxJson<{ params: Record<string, unknown> }[]>(['submit', '--sweep', 'stage2.yaml', '--dry-run'], { cwd: g.work });
  assert.deepEqual(plan.map(p => [p.params.m, p.params.k]), [[10, 0], [10, 1], [20, 0], [20, 1]]);
  const recs = (await rxJson<Rec[]>(['submit', '--sweep', 'stage2.yaml'], { cwd: g.work })).filter(r => r.status === 'submitted');
  assert.equal(recs.length, 4);
  const s1 = await rxJson<{ key: string; sha: string; params: { m: number } }[]>(['status', '--sweep', 'stage1'], { cwd: g.work });
  for (const r of recs) {
    const point = JSON.parse(await readFile(join(r.dir, '.rx/point.json'), 'utf8'));
    const origin = s1.find(x => x.params.m * 5 === r.params.m)!;
    assert.deepEqual(point.from, { sweep: 'stage1', key: origin.key, sha: origin.sha });
    assert.match(await readFile(join(r.dir, 'config.inlist'), 'utf8'), new RegExp(`^  m = ${r.params.m}$`, 'm'));
  }
  const done = await eventually('stage 2 COMPLETED', 60_000, async () => {
    const rows = await rxJson<{ state: string }[]>(['status', '--sweep', 'stage2'], { cwd: g.work });
    return rows.length === 4 && rows.every(r => r.state === 'COMPLETED') ? rows : undefined;
  });
  assert.equal(done.length, 4);
  // Re-submitting stage 2 submits nothing new.
  const again = await rxJson<Rec[]>(['submit', '--sweep', 'stage2.yaml'], { cwd: g.work });
  assert.equal(again.filter(r => r.status === 'submitted').length, 0);
});
