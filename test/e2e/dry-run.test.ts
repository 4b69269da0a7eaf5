// rx submit --dry-run creates nothing; duplicates within a sweep are skipped; rx sweeps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gitdir } from '../helpers/gitdir.ts';
import { rx, rxJson } from '../helpers/rx.ts';
import { refs } from '../helpers/assertions.ts';
import { paramHash } from '../../src/sweep/hash.ts';

const quickstart = fileURLToPath(new URL('../../examples/quickstart', import.meta.url));
type Plan = { key: string; params: Record<string, unknown>; hash: string; dir: string | null; skipped: boolean; sha: string | null; diff: string | null };

test('--dry-run prints the plan and creates nothing: no refs, no .rx/, no exclude entry, no remote contact', async t => {
  const g = await gitdir(t, { origin: true, copy: quickstart });
  // An ssh remote on a closed port: any contact attempt would fail the command.
  await writeFile(join(g.root, 'far.json'), JSON.stringify({
    name: 'far', branch: 'main', dimensions: { initial_mass: [1, 2], initial_z: [0.01] }, patcher: { type: 'mesa', file: 'inlist' },
    remote: { host: '127.0.0.1', port: 1, repo: '~/r', output: '~/runs' },
  }));
  const exclude = await readFile(join(g.work, '.git/info/exclude'), 'utf8');
  const objectsBefore = await g.git.raw(['count-objects', '-v']);
  const plan = await rxJson<Plan[]>(['submit', '--sweep', join(g.root, 'far.json'), '--dry-run'], { cwd: g.work });
  assert.equal(plan.length, 2);
  for (const p of plan) {
    assert.equal(p.skipped, false);
    assert.equal(p.hash, paramHash(p.params));
    assert.match(p.dir!, /^~\/runs\/far_time_\d{4}(_\d\d){5}_sha_[0-9a-f]{7,}$/);
    assert.ok(p.dir!.includes(p.sha!.slice(0, 7)));
    assert.match(p.diff!, new RegExp(`^\\+    initial_mass = ${p.params.initial_mass} {7}! in Msun$`, 'm'));
  }
  const human = await rx(['submit', '--sweep', join(g.root, 'far.json'), '--dry-run', '--limit', '1'], { cwd: g.work });
  assert.match(human.stdout, /dry run: sweep far: 2 points, 2 would be submitted, 0 skipped/);
  assert.equal(human.stdout.match(/^point \d+ /gm)?.length, 1);
  assert.match(human.stdout, /1 more diffs; --limit 2 shows all/);
  await assert.rejects(access(join(g.work, '.rx')));
  assert.equal((await refs(join(g.work, '.git'), 'refs/')).size, 2, 'only main and origin/main');
  assert.equal((await refs(g.origin!, 'refs/')).size, 1);
  assert.equal(await readFile(join(g.work, '.git/info/exclude'), 'utf8'), exclude);
  assert.equal(await g.git.raw(['count-objects', '-v']), objectsBefore, 'no objects written to the user repository');
});

test('dry run after a submission marks already-submitted points as skipped; duplicates within a sweep file are dropped with a warning', async t => {
  const g = await gitdir(t, { origin: true, copy: quickstart });
  await writeFile(join(g.root, 'dups.json'), JSON.stringify({
    name: 'dups', branch: 'main', base_config: { initial_z: 0.02 },
    // initial_z 0.02 twice: the same params twice in one sweep
    dimensions: { initial_mass: [1, 2], initial_z: [0.02, 0.02] }, patcher: { type: 'mesa', file: 'inlist' },
  }));
  const first = await rx(['submit', '--sweep', join(g.root, 'dups.json'), '--json'], { cwd: g.work });
  assert.deepEqual(JSON.parse(first.stdout).map((r: { status: string }) => r.status), ['submitted', 'submitted']);
  assert.match(first.stderr, /2 points had the same parameters as an earlier point and were dropped/);
  await writeFile(join(g.root, 'dups.json'), JSON.stringify({
    name: 'dups', branch: 'main', dimensions: { initial_mass: [1, 2, 3], initial_z: [0.02] }, patcher: { type: 'mesa', file: 'inlist' },
  }));
  const plan = await rxJson<Plan[]>(['submit', '--sweep', join(g.root, 'dups.json'), '--dry-run'], { cwd: g.work });
  assert.deepEqual(plan.map(p => [p.params.initial_mass, p.skipped]).sort(), [[1, true], [2, true], [3, false]]);
  assert.ok(plan.filter(p => p.skipped).every(p => p.dir && p.sha), 'skipped points show the run dir they have');
  const list = await rxJson<{ sweep: string; points: number; submitted: number; skippedLast: number }[]>(['sweeps'], { cwd: g.work });
  assert.deepEqual(list.map(s => [s.sweep, s.points, s.submitted, s.skippedLast]), [['dups', 2, 2, 0]]);
  const text = await rx(['sweeps'], { cwd: g.work });
  assert.match(text.stdout, /^dups\s+2\s+2\s+0\s+local/m);
});

test('--dry-run --json is written as the points are planned (one JSON array) and --jsonl gives the same points one per line; diffs are bounded by --limit; nothing is created', async t => {
  const g = await gitdir(t, { origin: true, copy: quickstart });
  // 30 points: more than the default number of diffs (20).
  await writeFile(join(g.root, 'grid.json'), JSON.stringify({
    name: 'grid', branch: 'main', dimensions: { initial_mass: [1, 2, 3, 4, 5, 6], initial_z: [0.01, 0.02, 0.03, 0.04, 0.05] }, patcher: { type: 'mesa', file: 'inlist' },
  }));
  const objectsBefore = await g.git.raw(['count-objects', '-v']);
  const sweep = ['submit', '--sweep', join(g.root, 'grid.json'), '--dry-run'];
  const json = await rx([...sweep, '--json'], { cwd: g.work });
  const array = JSON.parse(json.stdout) as Plan[];
  assert.equal(array.length, 30);
  assert.equal(array.filter(p => p.diff !== null).length, 20, 'default: the first 20 new points get a diff');
  assert.ok(array.slice(0, 20).every(p => p.diff !== null));
  const lines = (await rx([...sweep, '--jsonl', '--limit', '30'], { cwd: g.work })).stdout.split('\n');
  assert.equal(lines.pop(), '', 'ends with a newline');
  const jsonl = lines.map(l => JSON.parse(l) as Plan);
  assert.equal(jsonl.length, 30);
  const content = (p: Plan) => ({ key: p.key, params: p.params, hash: p.hash, skipped: p.skipped });
  assert.deepEqual(jsonl.map(content), array.map(content));
  assert.ok(jsonl.every(p => p.sha && p.dir && p.diff), 'every point has a sha, a run dir and (with --limit 30) a diff');
  assert.deepEqual(jsonl.slice(0, 20).map(p => p.diff!.replace(/^\+\+\+ .*$/m, '')), array.slice(0, 20).map(p => p.diff!.replace(/^\+\+\+ .*$/m, '')));
  assert.equal(new Set(jsonl.map(p => p.sha)).size, 30);
  for (const p of jsonl) assert.equal(p.hash, paramHash(p.params));
  const none = JSON.parse((await rx([...sweep, '--json', '--limit', '0'], { cwd: g.work })).stdout) as Plan[];
  assert.ok(none.length === 30 && none.every(p => p.diff === null && p.sha), '--limit 0: no diffs, commits still previewed');
  const human = await rx([...sweep, '--limit', '0'], { cwd: g.work });
  assert.match(human.stdout, /30 more diffs; --limit 30 shows all/);
  await assert.rejects(access(join(g.work, '.rx')));
  assert.equal((await refs(join(g.work, '.git'), 'refs/')).size, 2, 'only main and origin/main');
  assert.equal(await g.git.raw(['count-objects', '-v']), objectsBefore, 'no objects written to the user repository');
  const refused = await rx(['submit', '--sweep', join(g.root, 'grid.json'), '--jsonl'], { cwd: g.work, allowFailure: true });
  assert.notEqual(refused.exitCode, 0);
  assert.match(refused.stderr, /--jsonl only applies to a dry run/);
});
