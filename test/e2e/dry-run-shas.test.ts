// A dry run shows exactly the commits the submission then creates: experiment commits carry their
// base commit's time, so the same point on the same base is the same commit whenever it is built
// (seconds apart here, a repeat included); and a point on a new base is a new commit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gitdir } from '../helpers/gitdir.ts';
import { rxJson } from '../helpers/rx.ts';

const quickstart = fileURLToPath(new URL('../../examples/quickstart', import.meta.url));
type Plan = { key: string; params: Record<string, unknown>; skipped: boolean; sha: string | null };
type Rec = { key: string; sha: string; status: string };

test('--dry-run shows exactly the shas the submission then creates (a --repeat included); a new base gives new ones', async t => {
  const g = await gitdir(t, { origin: true, copy: quickstart });
  const sweep = join(g.root, 'same.json');
  await writeFile(sweep, JSON.stringify({ name: 'same', branch: 'main', dimensions: { initial_mass: [1, 2, 3] }, patcher: { type: 'mesa', file: 'inlist' } }));
  const shasOf = (xs: { key: string; sha: string | null }[]) => Object.fromEntries(xs.map(x => [x.key, x.sha]));

  const plan = await rxJson<Plan[]>(['submit', '--sweep', sweep, '--dry-run', '--limit', '0'], { cwd: g.work });
  await sleep(1100); // a later second than the dry run's
  const recs = await rxJson<Rec[]>(['submit', '--sweep', sweep, '--json'], { cwd: g.work });
  assert.equal(recs.length, 3);
  assert.deepEqual(shasOf(recs), shasOf(plan));
  // The commits are dated like their base.
  const base = (await g.git.raw(['show', '-s', '--format=%ct', 'main'])).trim();
  for (const r of recs) assert.equal((await g.git.raw(['show', '-s', '--format=%at %ct', r.sha])).trim(), `${base} ${base}`);

  const again = await rxJson<Plan[]>(['submit', '--sweep', sweep, '--dry-run', '--repeat', '--limit', '0'], { cwd: g.work });
  await sleep(1100);
  const repeated = await rxJson<Rec[]>(['submit', '--sweep', sweep, '--repeat', '--json'], { cwd: g.work });
  assert.deepEqual(shasOf(repeated.filter(r => r.status === 'submitted')), shasOf(again.filter(p => !p.skipped)));
  assert.equal(new Set([...recs, ...repeated].map(r => r.sha)).size, 6, 'a repeat is a different commit');

  // The branch moves: the same points planned on the new base are new commits.
  await g.write({ 'notes.txt': 'new base\n' });
  await g.commit('move main');
  const moved = await rxJson<Plan[]>(['submit', '--sweep', sweep, '--dry-run', '--repeat', '--limit', '0'], { cwd: g.work });
  for (const p of moved.filter(x => !x.skipped)) assert.ok(![...recs, ...repeated].some(r => r.sha === p.sha));
});
