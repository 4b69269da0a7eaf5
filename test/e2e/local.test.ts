// End to end on the embedded default: local transport + shell scheduler, the real CLI, real git.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gitdir } from '../helpers/gitdir.ts';
import { rx, rxJson, eventually } from '../helpers/rx.ts';
import { assertDirIsTree, refs } from '../helpers/assertions.ts';
import { paramHash } from '../../src/sweep/hash.ts';
import { Ledger } from '../../src/ledger/ledger.ts';

const quickstart = fileURLToPath(new URL('../../examples/quickstart', import.meta.url));
type Rec = { key: string; sha: string; dir: string; jobId: string; status: string; params: Record<string, unknown>; hash: string };
type Row = { sweep: string; sha: string; dir: string; jobId: string; state: string; exitCode: number | null; params: Record<string, unknown> };

async function allDone(cwd: string, n: number): Promise<Row[]> {
  return eventually('all jobs COMPLETED', 60_000, async () => {
    const rows = await rxJson<Row[]>(['status'], { cwd });
    return rows.length === n && rows.every(r => r.state === 'COMPLETED') ? rows : undefined;
  });
}

test('local default: 6 points → 6 commits, one push, 6 run dirs, 6 jobs COMPLETED; idempotent; --repeat', async t => {
  const g = await gitdir(t, { origin: true, copy: quickstart });
  const headBefore = (await g.git.revparse(['HEAD'])).trim();
  const branchesBefore = (await g.git.branchLocal()).all;
  const recs = await rxJson<Rec[]>(['submit', '--sweep', 'sweep.ts'], { cwd: g.work });
  assert.equal(recs.length, 6);
  assert.ok(recs.every(r => r.status === 'submitted' && r.jobId && r.sha && r.dir));
  assert.equal(new Set(recs.map(r => r.jobId)).size, 6);
  // Run directory names and contents.
  for (const r of recs) {
    assert.match(r.dir, /\/\.rx\/runs\/quickstart_time_\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d_sha_[0-9a-f]{7,}$/);
    assert.ok(r.dir.endsWith(r.sha.slice(0, 7)) || r.dir.includes(`_sha_${r.sha.slice(0, 7)}`));
    await assertDirIsTree(r.dir, g.work, r.sha, /^(slurm-\d+\.out|history\.data)$/);
    const point = JSON.parse(await readFile(join(r.dir, '.rx/point.json'), 'utf8'));
    assert.deepEqual(point, { sweep: 'quickstart', params: r.params, hash: paramHash(r.params), base: headBefore });
    const inlist = await readFile(join(r.dir, 'inlist'), 'utf8');
    assert.match(inlist, new RegExp(`^    initial_mass = ${r.params.initial_mass}       ! in Msun$`, 'm'));
    assert.match(inlist, new RegExp(`^    initial_z = ${r.params.initial_z}$`, 'm'));
  }
  // Temporary branches gone locally and on origin; permanent refs in both.
  assert.equal((await refs(join(g.work, '.git'), 'refs/heads/rx/')).size, 0);
  assert.equal((await refs(g.origin!, 'refs/heads/rx/')).size, 0);
  const local = await refs(join(g.work, '.git'), 'refs/rx/quickstart/');
  const remote = await refs(g.origin!, 'refs/rx/quickstart/');
  assert.deepEqual([...local.values()].sort(), recs.map(r => r.sha).sort());
  assert.deepEqual(remote, local);
  // The user's working tree, index, HEAD and branches are untouched.
  assert.equal((await g.git.status()).files.length, 0);
  assert.equal((await g.git.revparse(['HEAD'])).trim(), headBefore);
  assert.deepEqual((await g.git.branchLocal()).all, branchesBefore);

  const rows = await allDone(g.work, 6);
  assert.ok(rows.every(r => r.exitCode === 0));
  for (const r of recs) assert.match(await readFile(join(r.dir, 'history.data'), 'utf8'), /model_number/);

  // Again: nothing new is submitted.
  const again = await rxJson<Rec[]>(['submit', '--sweep', 'sweep.ts'], { cwd: g.work });
  assert.equal(again.filter(r => r.status === 'submitted').length, 0);
  assert.equal(again.filter(r => r.status === 'skipped').length, 6);

  // --repeat: the same points again as new experiments (distinct commits and dirs).
  const rep = await rxJson<Rec[]>(['submit', '--sweep', 'sweep.ts', '--repeat'], { cwd: g.work });
  assert.equal(rep.filter(r => r.status === 'submitted').length, 6);
  assert.equal(new Set([...recs, ...rep].map(r => r.sha)).size, 12);
  assert.equal(new Set([...recs, ...rep].map(r => r.dir)).size, 12);
  await allDone(g.work, 12);

  // rx show: params and the diff against the base.
  const shown = await rx(['show', recs[0]!.sha.slice(0, 10)], { cwd: g.work });
  assert.match(shown.stdout, /sweep {3}quickstart \(point 1\)/);
  assert.match(shown.stdout, /^-    initial_mass = 1\.0 {7}! in Msun$/m);
  assert.match(shown.stdout, /^\+    initial_mass = 0\.8 {7}! in Msun$/m);
});

test('validation fails before anything is created: missing key, bad name, unknown ref', async t => {
  const g = await gitdir(t, { origin: true, copy: quickstart });
  const cases: [string, RegExp][] = [
    [`export default { name: 'q', branch: 'main', dimensions: { initial_masss: [1] }, patcher: { type: 'mesa', file: 'inlist' } }`, /key 'initial_masss' is not set in inlist; closest keys: initial_mass/],
    [`export default { name: 'bad name', branch: 'main', patcher: { type: 'mesa', file: 'inlist' } }`, /invalid sweep name "bad name"/],
    [`export default { name: 'q', branch: 'nope', patcher: { type: 'mesa', file: 'inlist' } }`, /branch: 'nope' is not a branch, tag or commit/],
    [`export default { name: 'q', branch: 'main', patcher: { type: 'mesa', file: 'missing_inlist' } }`, /'missing_inlist' does not exist/],
    [`export default { name: 'q', branch: 'main', patcher: { type: 'mesa', file: 'inlist' }, remote: { host: 'local', script: 'nope.sbatch' } }`, /remote.script: 'nope.sbatch' is not in the base commit/],
    [`export default { name: 'q', branch: 'main', patcher: { type: 'mesa', file: 'inlist' }, remote: { host: 'c1' } }`, /remote.repo: required/],
  ];
  for (const [src, msg] of cases) {
    await writeFile(join(g.root, 'bad.ts'), src);
    const r = await rx(['submit', '--sweep', join(g.root, 'bad.ts')], { cwd: g.work, allowFailure: true });
    assert.equal(r.exitCode, 2, r.stderr);
    assert.match(r.stderr, msg);
    await assert.rejects(access(join(g.work, '.rx')), 'nothing created');
    assert.equal((await refs(join(g.work, '.git'), 'refs/rx/')).size, 0);
  }
});

test('hostile parameter values reach files literally; hostile output paths never reach a shell unquoted', async t => {
  const g = await gitdir(t, { origin: true, copy: quickstart });
  await g.write({ 'params.json': '{}\n' });
  await g.commit('params file');
  const hostile = ["it's", '$(touch pwned)', '`touch pwned2`', 'a; touch pwned3', 'line\nbreak', 'ünï 😀 "dq"'];
  const out = join(g.root, `runs it's $(touch pwned4); x`);
  await writeFile(join(g.root, 'hostile.ts'), `
    import { writeFileSync } from 'node:fs';
    import { defineSweep } from 'remote-experiments';
    export default defineSweep({
      name: 'hostile',
      branch: 'main',
      dimensions: { label: ${JSON.stringify(hostile)} },
      patcher: (dir, config) => writeFileSync(dir + '/params.json', JSON.stringify(config)),
      remote: { host: 'local', output: ${JSON.stringify(out)} },
    });`);
  const recs = await rxJson<Rec[]>(['submit', '--sweep', join(g.root, 'hostile.ts')], { cwd: g.work });
  assert.equal(recs.length, hostile.length);
  for (const r of recs) {
    assert.ok(r.dir.startsWith(out + '/'), r.dir);
    assert.deepEqual(JSON.parse(await readFile(join(r.dir, 'params.json'), 'utf8')), r.params);
  }
  assert.deepEqual(recs.map(r => r.params.label), hostile);
  await allDone(g.work, hostile.length);
  for (const d of [g.work, g.root, ...recs.map(r => r.dir)]) {
    const names = await readdir(d);
    assert.ok(!names.some(n => n.startsWith('pwned')), `a shell ran a value in ${d}`);
  }
});

test('crash safety: SIGKILL at every phase, then re-run → exactly N jobs and a complete ledger', async t => {
  const points = ['plan', 'commit', 'push', 'dirs', 'create-1', 'create', 'clean', 'submit-1'];
  for (const at of points) {
    const g = await gitdir(t, { origin: true, copy: quickstart });
    const crashed = await rx(['submit', '--sweep', 'sweep.ts'], { cwd: g.work, env: { RX_CRASH_AFTER: at }, allowFailure: true });
    assert.equal(crashed.signal, 'SIGKILL', `crash at ${at}: ${crashed.stderr}`);
    const recs = await rxJson<Rec[]>(['submit', '--sweep', 'sweep.ts'], { cwd: g.work });
    assert.equal(recs.filter(r => r.status === 'failed').length, 0, at);
    const st = new Ledger(join(g.work, '.rx/sweeps/quickstart'), 'quickstart').state();
    assert.equal(st.points.size, 6, at);
    for (const p of st.points.values()) {
      assert.ok(p.sha && p.pushed && p.dir && p.created && p.cleaned, `${at}: point ${p.key} incomplete`);
      assert.equal(p.jobs.length, 1, `${at}: point ${p.key} has ${p.jobs.length} jobs`);
    }
    const rows = await allDone(g.work, 6);
    assert.equal(new Set(rows.map(r => r.jobId)).size, 6, at);
    // Each run directory ran exactly once; no stray directories; refs complete, no temp branches.
    const runs = (await readdir(join(g.work, '.rx/runs'))).filter(n => !n.startsWith('.'));
    assert.equal(runs.length, 6, `${at}: ${runs.join(' ')}`);
    for (const d of runs) assert.equal((await readdir(join(g.work, '.rx/runs', d))).filter(f => /^slurm-\d+\.out$/.test(f)).length, 1, `${at}: ${d}`);
    assert.equal((await refs(join(g.work, '.git'), 'refs/rx/quickstart/')).size, 6, at);
    assert.equal((await refs(g.origin!, 'refs/rx/quickstart/')).size, 6, at);
    assert.equal((await refs(join(g.work, '.git'), 'refs/heads/rx/')).size, 0, at);
    assert.equal((await refs(g.origin!, 'refs/heads/rx/')).size, 0, at);
    await g.cleanup();
  }
});

test('several patchers in one sweep (inlist + #SBATCH); a patched executable keeps its mode', async t => {
  const g = await gitdir(t, { origin: true, copy: quickstart });
  const { chmod } = await import('node:fs/promises');
  await chmod(join(g.work, 'run.sbatch'), 0o755);
  await g.commit('executable run.sbatch');
  await writeFile(join(g.root, 'multi.json'), JSON.stringify({
    name: 'multi', branch: 'main',
    dimensions: { initial_mass: [0.9, 1.2], 'sbatch.time': ['00:07:00'] },
    patcher: [{ type: 'mesa', file: 'inlist' }, { type: 'sbatch', file: 'run.sbatch', prefix: 'sbatch.' }],
  }));
  const recs = await rxJson<Rec[]>(['submit', '--sweep', join(g.root, 'multi.json')], { cwd: g.work });
  assert.equal(recs.length, 2);
  for (const r of recs) {
    const ls = await g.git.raw(['ls-tree', r.sha, 'run.sbatch']);
    assert.match(ls, /^100755 /, 'mode kept');
    const sbatch = await readFile(join(r.dir, 'run.sbatch'), 'utf8');
    assert.match(sbatch, /^#SBATCH --time=00:07:00$/m);
    assert.match(await readFile(join(r.dir, 'inlist'), 'utf8'), new RegExp(`^    initial_mass = ${r.params.initial_mass} `, 'm'));
  }
  await allDone(g.work, 2);
});
