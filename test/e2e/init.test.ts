// rx init end to end: in a MESA work directory repository it writes a sweep.ts that the real
// `rx submit --dry-run` accepts at once (with the one ssh Host as remote, or the embedded
// default), and it never overwrites.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitdir } from '../helpers/gitdir.ts';
import { rx, rxJson } from '../helpers/rx.ts';

const fixture = (f: string) => readFile(new URL(`../fixtures/${f}`, import.meta.url), 'utf8');

async function mesaRepo(t: import('node:test').TestContext) {
  return gitdir(t, {
    origin: true,
    files: {
      inlist: await fixture('init/inlist'),
      inlist_project: await fixture('mesa/r22-summer-school.inlist_project'),
      'run.sbatch': await fixture('init/run.sbatch'),
      'settings.json': await fixture('init/settings.json'),
    },
  });
}

async function home(t: import('node:test').TestContext, sshConfig: string | null): Promise<Record<string, string>> {
  const h = await mkdtemp(join(tmpdir(), 'rx-init-home-'));
  t.after(() => rm(h, { recursive: true, force: true }));
  if (sshConfig !== null) {
    await mkdir(join(h, '.ssh'), { mode: 0o700 });
    await writeFile(join(h, '.ssh', 'config'), sshConfig, { mode: 0o600 });
  }
  return { HOME: h };
}

type Point = { key: string; params: Record<string, unknown>; skipped: boolean; diff: string | null };

test('rx init in a MESA work directory: sweep.ts varies inlist_project, submits to the one ssh Host, and dry-runs', async t => {
  const g = await mesaRepo(t);
  const env = await home(t, 'Host *\n  ServerAliveInterval 30\nHost mycluster\n  HostName cluster.example.org\n  User me\n');
  const r = await rxJson<{ file: string; name: string; patched: string; host: string; dimensions: Record<string, unknown[]>; script: string; origin: string; todo: string[] }>(['init'], { cwd: g.work, env });
  assert.equal(r.file, join(g.work, 'sweep.ts'));
  assert.equal(r.patched, 'inlist_project');
  assert.equal(r.host, 'mycluster');
  assert.equal(r.script, 'run.sbatch');
  assert.equal(r.origin, g.origin);
  assert.deepEqual(r.todo, []);
  assert.deepEqual(r.dimensions, { initial_mass: [2, 4], initial_z: [0.02, 0.04] });
  const text = await readFile(r.file, 'utf8');
  assert.match(text, /settings\.json \(json, 3 keys/, 'other config files are listed for later');
  const plan = await rxJson<Point[]>(['submit', '--sweep', 'sweep.ts', '--dry-run'], { cwd: g.work, env });
  assert.equal(plan.length, 4);
  assert.deepEqual(plan.map(p => [p.params.initial_mass, p.params.initial_z]), [[2, 0.02], [2, 0.04], [4, 0.02], [4, 0.04]]);
  assert.match(plan[3]!.diff!, /^-\s+initial_mass = 2/m);
  assert.match(plan[3]!.diff!, /^\+\s+initial_mass = 4/m);
  // The dry run created nothing.
  assert.equal((await g.git.raw(['for-each-ref', 'refs/rx'])).trim(), '');
});

test('rx init never overwrites; --out writes elsewhere; no ssh Host means this machine', async t => {
  const g = await mesaRepo(t);
  const env = await home(t, null);
  await writeFile(join(g.work, 'sweep.ts'), '// mine\n');
  const again = await rx(['init'], { cwd: g.work, env, allowFailure: true });
  assert.equal(again.exitCode, 2);
  assert.match(again.stderr, /^rx: sweep\.ts exists; rx init never overwrites a file/m);
  assert.equal(await readFile(join(g.work, 'sweep.ts'), 'utf8'), '// mine\n');
  const out = await rx(['init', '--out', 'local-sweep.ts'], { cwd: g.work, env });
  assert.match(out.stdout, /wrote local-sweep\.ts: sweep 'work' on main, varying initial_mass, initial_z in inlist_project, running on this machine/);
  assert.match(out.stdout, /next: rx submit --sweep local-sweep\.ts --dry-run/);
  const plan = await rxJson<Point[]>(['submit', '--sweep', 'local-sweep.ts', '--dry-run'], { cwd: g.work, env });
  assert.equal(plan.length, 4);
});

test('rx init outside a MESA directory: a JSON config is varied; a repository without a batch script gets a TODO', async t => {
  const g = await gitdir(t, { origin: true, files: { 'settings.json': await fixture('init/settings.json'), 'job.sh': '#!/bin/bash\n#SBATCH --time=5\npython run.py\n' } });
  const env = await home(t, null);
  const r = await rxJson<{ patched: string; script: string; dimensions: Record<string, unknown[]> }>(['init'], { cwd: g.work, env });
  assert.equal(r.patched, 'settings.json');
  assert.equal(r.script, 'job.sh');
  assert.deepEqual(r.dimensions, { 'solver.tolerance': [1e-6, 2e-6], 'solver.max_steps': [500, 1000] });
  const plan = await rxJson<Point[]>(['submit', '--sweep', 'sweep.ts', '--dry-run'], { cwd: g.work, env });
  assert.equal(plan.length, 4);
  assert.match(plan[1]!.diff!, /"max_steps": 1000/);

  const bare = await gitdir(t, { files: { 'notes.md': 'nothing to vary\n' } });
  const b = await rxJson<{ todo: string[]; patched: string | null }>(['init'], { cwd: bare.work, env });
  assert.equal(b.patched, null);
  assert.equal(b.todo.length, 2);
});
