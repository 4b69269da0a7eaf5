// End to end over a real sshd on 127.0.0.1 to a real single-node Slurm (with accounting), as a
// separate cluster-side Unix user, through the real CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clusterSession, runAsCluster, type ClusterInfo, type SshHome } from '../helpers/cluster.ts';
import { onslurmSweep } from '../helpers/sweeps.ts';
import { gitdir, type GitDir } from '../helpers/gitdir.ts';
import { rx, rxJson, eventually } from '../helpers/rx.ts';
import { assertDirIsTree, refs } from '../helpers/assertions.ts';
import { paramHash } from '../../src/sweep/hash.ts';

const quickstart = fileURLToPath(new URL('../../examples/quickstart', import.meta.url));
type Rec = { key: string; sha: string; dir: string; jobId: string; status: string; params: Record<string, unknown> };
type Row = { sweep: string; sha: string; dir: string; jobId: string; state: string; exitCode: number | null; params: Record<string, unknown> };

interface Setup { info: ClusterInfo; ssh: SshHome; g: GitDir; base: string; env: Record<string, string>; clusterDir: string }

async function setup(t: import('node:test').TestContext, sweepExtra = ''): Promise<Setup | null> {
  const c = await clusterSession(t, 'rx-e2e');
  if (!c) return null;
  const { info, ssh, dir: clusterDir } = c;
  const g = await gitdir(t, { origin: true, copy: quickstart });
  await writeFile(join(g.work, 'cluster.sweep.ts'), onslurmSweep(`{ host: ${JSON.stringify(ssh.alias)}, repo: '~/${clusterDir}/repo', output: '~/${clusterDir}/runs', sbatchArgs: ['--time=5'] ${sweepExtra} }`));
  const base = await g.commit('cluster sweep');
  await g.git.push('origin', 'main');
  const env: Record<string, string> = { HOME: ssh.home, SSH_AUTH_SOCK: '' };
  return { info, ssh, g, base, env, clusterDir };
}

/** `~/x` on the cluster → the path as root sees it. */
const onCluster = (s: Setup, p: string) => p.replace(/^~\//, `${s.info.clusterHome}/`);

test('slurm over ssh: 6 points → one push, one connection, 6 run dirs, 6 sbatch jobs COMPLETED in sacct', async t => {
  const s = await setup(t);
  if (!s) return;
  const { g, env } = s;
  const recs = await rxJson<Rec[]>(['submit', '--sweep', 'cluster.sweep.ts'], { cwd: g.work, env });
  assert.equal(recs.length, 6);
  // One run.sbatch for all 6 points: one job array (test/e2e/array-slurm.test.ts), a task per point.
  assert.ok(recs.every(r => r.status === 'submitted' && /^\d+_\d+$/.test(r.jobId)), JSON.stringify(recs));
  assert.equal(new Set(recs.map(r => r.jobId)).size, 6);
  const clone = onCluster(s, `~/${s.clusterDir}/repo`);
  for (const r of recs) {
    assert.match(r.dir, new RegExp(`^~/${s.clusterDir}/runs/onslurm_time_\\d{4}(_\\d\\d){5}_sha_${r.sha.slice(0, 7)}[0-9a-f]*$`));
    const dir = onCluster(s, r.dir);
    await assertDirIsTree(dir, g.work, r.sha, /^(slurm-\d+_\d+\.out|history\.data)$/);
    const point = JSON.parse(await readFile(join(dir, '.rx/point.json'), 'utf8'));
    assert.deepEqual(point, { sweep: 'onslurm', params: r.params, hash: paramHash(r.params), base: s.base });
  }
  // Temporary branches gone in all three places; permanent refs locally, on origin, in the clone.
  assert.equal((await refs(join(g.work, '.git'), 'refs/heads/rx/')).size, 0);
  assert.equal((await refs(g.origin!, 'refs/heads/rx/')).size, 0);
  assert.equal((await refs(join(clone, '.git'), 'refs/heads/rx/')).size, 0);
  const local = await refs(join(g.work, '.git'), 'refs/rx/onslurm/');
  assert.deepEqual([...local.values()].sort(), recs.map(r => r.sha).sort());
  assert.deepEqual(await refs(g.origin!, 'refs/rx/onslurm/'), local);
  assert.deepEqual(await refs(join(clone, '.git'), 'refs/rx/onslurm/'), local);
  // The cluster user owns the run directories (the jobs ran as that user).
  const who = await runAsCluster(`stat -c %U ~/${s.clusterDir}/runs/*/inlist | sort -u`);
  assert.equal(who.stdout.trim(), 'rxcluster');

  const rows = await eventually('all 6 jobs COMPLETED (sacct)', 120_000, async () => {
    const rows = await rxJson<Row[]>(['status'], { cwd: g.work, env });
    return rows.length === 6 && rows.every(r => r.state === 'COMPLETED') ? rows : undefined;
  });
  assert.ok(rows.every(r => r.exitCode === 0));
  assert.deepEqual(rows.map(r => r.jobId).sort(), recs.map(r => r.jobId).sort());
  // The job really ran in its run directory: its output is there.
  for (const r of recs) assert.match(await readFile(join(onCluster(s, r.dir), 'history.data'), 'utf8'), /model_number/);
  // Accounting agrees (sacct as the cluster user).
  await eventually('sacct to record 6 COMPLETED tasks', 60_000, async () => {
    const sacct = await runAsCluster(`sacct -n -P -X -j ${recs.map(r => r.jobId).join(',')} -o JobID,State`);
    return sacct.stdout.trim().split('\n').filter(l => l.endsWith('|COMPLETED')).length === 6 ? true : undefined;
  });

  // Idempotent: a second submit submits nothing.
  const again = await rxJson<Rec[]>(['submit', '--sweep', 'cluster.sweep.ts'], { cwd: g.work, env });
  assert.equal(again.filter(r => r.status === 'submitted').length, 0);
  const text = await rx(['status', '--sweep', 'onslurm'], { cwd: g.work, env });
  assert.match(text.stdout, /COMPLETED 6/);
});

test('unknown host key is refused with how to accept it; nothing reaches the cluster; a re-run after accepting finishes the submission', async t => {
  const s = await setup(t);
  if (!s) return;
  const { g, env } = s;
  await writeFile(s.ssh.knownHostsPath, '');
  const r = await rx(['submit', '--sweep', 'cluster.sweep.ts'], { cwd: g.work, env, allowFailure: true });
  assert.equal(r.exitCode, 4, r.stderr);
  assert.match(r.stderr, /SHA256:[A-Za-z0-9+/]{43}/);
  assert.match(r.stderr, /accept-new|ssh /);
  const there = await runAsCluster(`ls ~/${s.clusterDir} 2>/dev/null | wc -l`);
  assert.equal(there.stdout.trim(), '0', 'nothing may be created on a host whose key was refused');
  // After the user accepts the key, the same command finishes the interrupted submission.
  await writeFile(s.ssh.knownHostsPath, `[${s.info.host}]:${s.info.port} ${s.info.hostPubKey}\n`);
  const recs = await rxJson<Rec[]>(['submit', '--sweep', 'cluster.sweep.ts'], { cwd: g.work, env });
  assert.equal(recs.filter(x => x.status === 'submitted').length, 6);
});

test('slurm crash safety: SIGKILL while submitting, re-run → exactly 6 jobs', async t => {
  for (const at of ['create-1', 'submit-1']) {
    // One job per point (arrays: test/e2e/array-slurm.test.ts), so Slurm's WorkDir names each run dir.
    const s = await setup(t, ', array: false');
    if (!s) return;
    const { g, env } = s;
    const crashed = await rx(['submit', '--sweep', 'cluster.sweep.ts'], { cwd: g.work, env: { ...env, RX_CRASH_AFTER: at }, allowFailure: true });
    assert.equal(crashed.signal, 'SIGKILL', crashed.stderr);
    const recs = await rxJson<Rec[]>(['submit', '--sweep', 'cluster.sweep.ts'], { cwd: g.work, env });
    assert.equal(new Set(recs.map(r => r.jobId)).size, 6, at);
    // Slurm itself knows exactly 6 jobs from these run directories (the controller keeps finished
    // jobs for MinJobAge = 1 h in the test cluster; sacct can lag behind).
    const dirs = recs.map(r => onCluster(s, r.dir));
    const q = await runAsCluster('scontrol show job -o');
    const ids = new Set(q.stdout.split('\n').map(l => [/JobId=(\d+)/.exec(l)?.[1], /WorkDir=(\S+)/.exec(l)?.[1]]).filter(([id, wd]) => id && wd && dirs.includes(wd)).map(([id]) => id));
    assert.equal(ids.size, 6, `${at}: slurm has ${ids.size} jobs for these dirs`);
  }
});
