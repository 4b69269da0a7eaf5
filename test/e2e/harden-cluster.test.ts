// On the real test cluster (Slurm + sshd on 127.0.0.1, as the separate `rxcluster` user): nothing is
// pushed before the host key is verified or to an identity file OpenSSH would refuse; a run dir that
// cannot be made says why (the real cause); a rolled-back ledger is reconciled with the run dirs,
// the job-id markers and Slurm itself, so no point is submitted twice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { clusterSession, runAsCluster, type ClusterSession } from '../helpers/cluster.ts';
import { slurmJobsByDir } from '../helpers/adversarial.ts';
import { gitdir, type GitDir } from '../helpers/gitdir.ts';
import { rx, rxJson } from '../helpers/rx.ts';
import { refs } from '../helpers/assertions.ts';
import { markerName } from '../../src/remote/scheduler/slurm.ts';
import { Ledger } from '../../src/ledger/ledger.ts';

const files = {
  'inlist': '&controls\n  x = 0\n/\n',
  'run.sbatch': '#!/bin/bash\necho "x=$(awk \'$1 == "x" { print $3 }\' inlist)" > out.txt\n',
};
type Rec = { status: string; key: string; jobId: string | null; dir: string | null; error?: string };

interface Setup { c: ClusterSession; g: GitDir; sweep(xs: number[]): Promise<string> }

async function setup(t: import('node:test').TestContext, prefix: string): Promise<Setup | null> {
  const c = await clusterSession(t, prefix);
  if (!c) return null;
  const g = await gitdir(t, { origin: true, files });
  let n = 0;
  const sweep = async (xs: number[]) => {
    const f = join(g.root, `s${n++}.json`);
    await writeFile(f, JSON.stringify({ name: 'hard', branch: 'main', patcher: { type: 'mesa', file: 'inlist' }, dimensions: { x: xs }, remote: c.remote() }));
    return f;
  };
  return { c, g, sweep };
}

/** Nothing of the sweep reached origin (no permanent refs, no temporary branches) nor this repository's refs. */
async function nothingPushed(g: GitDir): Promise<void> {
  assert.equal((await refs(g.origin!, 'refs/rx/')).size, 0, 'refs/rx/* on origin');
  assert.equal((await refs(g.origin!, 'refs/heads/rx/')).size, 0, 'rx branches on origin');
  assert.equal((await refs(join(g.work, '.git'), 'refs/rx/')).size, 0, 'refs/rx/* committed locally');
}

test('an unknown host key is refused before anything is committed or pushed', async t => {
  const s = await setup(t, 'rx-hk');
  if (!s) return;
  await writeFile(s.c.ssh.knownHostsPath, '');
  const r = await rx(['submit', '--sweep', await s.sweep([1, 2])], { cwd: s.g.work, env: s.c.env, allowFailure: true });
  assert.equal(r.exitCode, 4, r.stderr);
  assert.match(r.stderr, /host key .* is not known/);
  await nothingPushed(s.g);
});

test('an identity file others can read (0644) is refused the way OpenSSH refuses it, with the chmod advice, before anything is pushed', async t => {
  const s = await setup(t, 'rx-key');
  if (!s) return;
  await chmod(s.c.ssh.keyPath, 0o644);
  const f = await s.sweep([1]);
  const r = await rx(['submit', '--sweep', f], { cwd: s.g.work, env: s.c.env, allowFailure: true });
  assert.equal(r.exitCode, 4, r.stderr);
  assert.match(r.stderr, new RegExp(`Permissions 0644 for '${s.c.ssh.keyPath}' are too open`));
  assert.match(r.stderr, new RegExp(`chmod 600 ${s.c.ssh.keyPath}`));
  await nothingPushed(s.g);
  await chmod(s.c.ssh.keyPath, 0o600);
  const recs = await rxJson<Rec[]>(['submit', '--sweep', f], { cwd: s.g.work, env: s.c.env });
  assert.deepEqual(recs.map(x => x.status), ['submitted']);
});

test('a run dir that cannot be made carries the real cause (Permission denied), and the re-run finishes once it is fixed', async t => {
  const s = await setup(t, 'rx-perm');
  if (!s) return;
  // The state dir exists, but the output dir does not let the cluster user create run dirs.
  await runAsCluster(`mkdir -p ~/${s.c.dir}/runs/.rx-jobs && chmod 555 ~/${s.c.dir}/runs`);
  t.after(() => runAsCluster(`chmod 755 ~/${s.c.dir}/runs`, { allowFailure: true }));
  const f = await s.sweep([1, 2]);
  const r = await rx(['submit', '--sweep', f, '--json'], { cwd: s.g.work, env: s.c.env, allowFailure: true });
  assert.equal(r.exitCode, 6, r.stderr);
  const recs = JSON.parse(r.stdout) as Rec[];
  assert.deepEqual(recs.map(x => x.status), ['failed', 'failed']);
  for (const x of recs) assert.match(x.error ?? '', /cannot create .* from [0-9a-f]{12}: mkdir: .*Permission denied/);
  await runAsCluster(`chmod 755 ~/${s.c.dir}/runs`);
  const again = await rxJson<Rec[]>(['submit', '--sweep', f], { cwd: s.g.work, env: s.c.env });
  assert.deepEqual(again.map(x => x.status), ['submitted', 'submitted']);
});

test('slurm: a rolled-back ledger with a job-id marker lost: rx submit adopts every run dir and job (one found in Slurm by its work dir); Slurm runs each point once', async t => {
  const s = await setup(t, 'rx-roll');
  if (!s) return;
  const { g, c } = s;
  await rxJson(['submit', '--sweep', await s.sweep([1, 2])], { cwd: g.work, env: c.env });
  const ledger = join(g.work, '.rx/sweeps/hard/ledger.jsonl');
  await copyFile(ledger, join(g.root, 'backup.jsonl'));
  await new Promise(r => setTimeout(r, 1100));
  const four = await s.sweep([1, 2, 3, 4]);
  const all = await rxJson<Rec[]>(['submit', '--sweep', four], { cwd: g.work, env: c.env });
  const byKey = new Map([...new Ledger(join(g.work, '.rx/sweeps/hard'), 'hard').state().points.values()].map(p => [p.key, p]));
  assert.equal(byKey.size, 4);
  // Point 4's marker disappears; then the older ledger comes back.
  const p4 = byKey.get('4')!;
  await runAsCluster(`rm -f ~/${c.dir}/runs/.rx-jobs/${markerName(p4.dir!)}`);
  await copyFile(join(g.root, 'backup.jsonl'), ledger);
  await new Promise(r => setTimeout(r, 1100));

  const r = await rx(['submit', '--sweep', four, '--json'], { cwd: g.work, env: c.env });
  assert.equal((JSON.parse(r.stdout) as Rec[]).filter(x => x.status === 'submitted').length, 0, r.stdout + r.stderr);
  const after = new Map([...new Ledger(join(g.work, '.rx/sweeps/hard'), 'hard').state().points.values()].map(p => [p.key, p]));
  for (const k of ['1', '2', '3', '4']) {
    assert.equal(after.get(k)!.dir, byKey.get(k)!.dir, `point ${k}: its run dir`);
    assert.deepEqual(after.get(k)!.jobs.map(j => j.jobId), byKey.get(k)!.jobs.map(j => j.jobId), `point ${k}: its job`);
  }
  const dirs = await runAsCluster(`ls ~/${c.dir}/runs | grep -c '^hard_time_'`);
  assert.equal(dirs.stdout.trim(), '4', 'no second run directory');
  // Slurm knows exactly one job per run directory (scontrol keeps finished jobs for MinJobAge).
  const home = c.info.clusterHome;
  const wanted = [...after.values()].map(p => p.dir!.replace(/^~\//, `${home}/`));
  const byDir = await slurmJobsByDir(`${home}/${c.dir}/runs/`);
  const jobs = wanted.flatMap(w => [...(byDir.get(w) ?? [])]);
  assert.equal(jobs.length, 4, `slurm has ${jobs.length} jobs for these 4 run dirs`);
  assert.equal(all.filter(x => x.status === 'submitted').length, 2);
});
