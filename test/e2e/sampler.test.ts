// A sampled sweep on the real Slurm over ssh: submitted, extended, budget raised; never a repeat.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gitdir } from '../helpers/gitdir.ts';
import { rx, rxJson, eventually } from '../helpers/rx.ts';
import { clusterSession } from '../helpers/cluster.ts';

type Rec = { status: string; params: Record<string, number>; jobId: string | null; hash: string };

test('sobol sweep on Slurm: submit 4, --extend 4, raise budget to 12; 12 distinct points, all COMPLETED', async t => {
  const c = await clusterSession(t, 'rx-sampler');
  if (!c) return;
  const { env } = c;
  const g = await gitdir(t, { origin: true, files: { 'config.inlist': '&controls\n  alpha = 0\n  mass = 1\n/\n', 'run.sbatch': '#!/bin/bash\ngrep -E "alpha|mass" config.inlist > used.txt\n' } });
  const write = (budget: number) => writeFile(join(g.root, 'sobol.yaml'), [
    'name: sob', 'branch: main',
    'patcher: { type: mesa, file: config.inlist }',
    `sampler: { type: sobol, budget: ${budget}, seed: 7, bounds: { alpha: [1.2, 2.4], mass: { lo: 0.1, hi: 10, scale: log } } }`,
    `remote: ${JSON.stringify(c.remote())}`, '',
  ].join('\n'));
  const submit = async (...extra: string[]) => (await rxJson<Rec[]>(['submit', '--sweep', join(g.root, 'sobol.yaml'), ...extra], { cwd: g.work, env })).filter(r => r.status === 'submitted');

  await write(4);
  const first = await submit();
  assert.equal(first.length, 4);
  const extended = await submit('--extend', '4');
  assert.equal(extended.length, 4);
  assert.equal((await submit()).length, 0, 'a plain re-submit after an extend submits nothing');
  await write(12);
  const raised = await submit();
  assert.equal(raised.length, 4, 'raising the budget from 8 drawn to 12 submits the difference');
  const all = [...first, ...extended, ...raised];
  assert.equal(new Set(all.map(r => r.hash)).size, 12, 'no point repeats');
  for (const r of all) {
    assert.ok(r.params.alpha! >= 1.2 && r.params.alpha! <= 2.4);
    assert.ok(r.params.mass! >= 0.1 && r.params.mass! <= 10);
  }
  // --extend on a sweep without a sampler is refused before anything happens.
  await writeFile(join(g.root, 'grid.yaml'), `name: g\nbranch: main\npatcher: { type: mesa, file: config.inlist }\ndimensions: { alpha: [1] }\n`);
  const bad = await rx(['submit', '--sweep', join(g.root, 'grid.yaml'), '--extend', '2'], { cwd: g.work, env, allowFailure: true });
  assert.equal(bad.exitCode, 2);
  assert.match(bad.stderr, /--extend: only a sweep with a sampler can be extended/);

  const rows = await eventually('12 COMPLETED', 180_000, async () => {
    const rows = await rxJson<{ state: string }[]>(['status', '--sweep', 'sob'], { cwd: g.work, env });
    return rows.length === 12 && rows.every(r => r.state === 'COMPLETED') ? rows : undefined;
  });
  assert.equal(rows.length, 12);
});
