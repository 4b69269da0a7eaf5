// Packing (remote.pack: several points per job) and cluster submit limits, on the real test cluster
// over ssh and on the embedded default: each packed point runs in its own run dir with its own
// output and state; a cancelled pack never reports its unfinished points COMPLETED; a kill -9 after
// the packs are made resumes without a duplicate; points over a QOS submit limit stay UNSUBMITTED
// and the next submit sends them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { clusterSession, runAsCluster, type ClusterSession } from '../helpers/cluster.ts';
import { gitdir, type GitDir } from '../helpers/gitdir.ts';
import { packSweep } from '../helpers/sweeps.ts';
import { rx, rxJson, eventually } from '../helpers/rx.ts';

type Rec = { key: string; sha: string; dir: string; jobId: string | null; status: string; params: Record<string, unknown> };
type Row = { key: string; dir: string; jobId: string | null; state: string; exitCode: number | null; reason?: string | null; params: Record<string, unknown> };

const SCRIPT = (body: string) => `#!/bin/bash
#SBATCH --ntasks=1
#SBATCH --time=00:05:00
. ./params.sh
pwd -P > ran.txt
printf '%s\\n' "$SLURM_SUBMIT_DIR" > submitdir.txt
echo "x=$x in $RX_POINT_JOB_ID"
${body}
`;
const FAILS_5 = 'if [ "$x" = 5 ]; then echo "bad x" >&2; exit 3; fi';

interface Setup { g: GitDir; env: Record<string, string>; home: (p: string) => string }

async function sweep(t: import('node:test').TestContext, n: number, remote: Record<string, unknown>, script: string, c?: ClusterSession): Promise<Setup> {
  const g = await gitdir(t, { origin: true, files: { 'run.sbatch': script, 'params.sh': 'x=0\n' } });
  await g.write({ 'pk.sweep.ts': packSweep(n, c ? c.remote(remote) : remote) });
  await g.commit('pack sweep');
  await g.git.push('origin', 'main');
  return { g, env: c?.env ?? {}, home: p => (c ? p.replace(/^~\//, `${c.info.clusterHome}/`) : p) };
}

const submit = (s: Setup, extra: Record<string, string> = {}) => rxJson<Rec[]>(['submit', '--sweep', 'pk.sweep.ts'], { cwd: s.g.work, env: { ...s.env, ...extra } });
const status = (s: Setup) => rxJson<Row[]>(['status', '--sweep', 'pk'], { cwd: s.g.work, env: s.env });
const jobOf = (id: string | null) => id!.replace(/\+\d+$/, '');

async function settled(s: Setup, n: number, final = ['COMPLETED', 'FAILED']): Promise<Row[]> {
  return eventually(`${n} points final`, 180_000, async () => {
    const rows = await status(s);
    return rows.length === n && rows.every(r => final.includes(r.state)) ? rows : undefined;
  });
}

async function checkRunDirs(s: Setup, recs: Rec[]): Promise<void> {
  for (const r of recs) {
    const dir = s.home(r.dir);
    assert.equal((await readFile(join(dir, 'ran.txt'), 'utf8')).trim(), dir, 'cwd = its run dir');
    assert.equal((await readFile(join(dir, 'submitdir.txt'), 'utf8')).trim(), dir, 'SLURM_SUBMIT_DIR = its run dir');
    assert.match(await readFile(join(dir, `slurm-${r.jobId}.out`), 'utf8'), new RegExp(`^x=${r.params.x} in ${r.jobId!.replace(/[+]/g, '\\+')}$`, 'm'));
    assert.match(await readFile(join(dir, `.rx/status-${r.jobId}`), 'utf8'), /^start \d+\nend \d+ \d+\n$/);
  }
}

test('pack: 4 → 12 points make 3 jobs (one array of 3 tasks); 12 per-point states, one FAILED with its own exit code', async t => {
  const c = await clusterSession(t, 'rx-pack');
  if (!c) return;
  const s = await sweep(t, 12, { pack: 4 }, SCRIPT(FAILS_5), c);
  const recs = await submit(s);
  assert.equal(recs.length, 12);
  assert.ok(recs.every(r => /^\d+_\d+\+[0-3]$/.test(r.jobId!)), recs.map(r => r.jobId).join(' '));
  assert.equal(new Set(recs.map(r => jobOf(r.jobId))).size, 3, 'three jobs');
  assert.equal(new Set(recs.map(r => r.jobId!.split('_')[0])).size, 1, 'one array');
  const rows = await settled(s, 12);
  assert.deepEqual(rows.filter(r => r.state === 'FAILED').map(r => [r.params.x, r.exitCode]), [[5, 3]]);
  assert.equal(rows.filter(r => r.state === 'COMPLETED').length, 11);
  await checkRunDirs(s, recs);
  // resubmit --failed packs the one failed point again (a pack of one), attempt 2.
  const re = await rxJson<{ resubmitted: { key: string; jobId: string; attempt: number }[] }>(['resubmit', '--failed', '--sweep', 'pk'], { cwd: s.g.work, env: s.env });
  assert.equal(re.resubmitted.length, 1);
  assert.match(re.resubmitted[0]!.jobId, /^\d+\+0$/);
  const after = await settled(s, 12);
  assert.equal(after.find(r => r.params.x === 5)!.jobId, re.resubmitted[0]!.jobId);
});

test('pack: { size: 4, parallel: 2 } with array: false → 3 plain jobs running two points at a time; a user -o name per point', async t => {
  const c = await clusterSession(t, 'rx-pack');
  if (!c) return;
  const script = SCRIPT('sleep 1').replace('#SBATCH --ntasks=1', '#SBATCH --ntasks=1\n#SBATCH -o out-%x-%j.log');
  const s = await sweep(t, 12, { pack: { size: 4, parallel: 2 }, array: false }, script, c);
  const recs = await submit(s);
  assert.ok(recs.every(r => /^\d+\+[0-3]$/.test(r.jobId!)), recs.map(r => r.jobId).join(' '));
  assert.equal(new Set(recs.map(r => jobOf(r.jobId))).size, 3);
  await settled(s, 12, ['COMPLETED']);
  for (const r of recs) {
    const outs = (await readdir(s.home(r.dir))).filter(f => f.endsWith('.log'));
    assert.deepEqual(outs, [`out-run.sbatch-${jobOf(r.jobId)}.log`]);
  }
  // Two at a time: some pair of points of one pack overlapped in time.
  const spans = await Promise.all(recs.map(async r => ({ job: jobOf(r.jobId), t: (await readFile(join(s.home(r.dir), `.rx/status-${r.jobId}`), 'utf8')).match(/\d+/g)!.map(Number) })));
  const overlap = spans.some(a => spans.some(b => a !== b && a.job === b.job && a.t[0]! < b.t[1]! && b.t[0]! < a.t[1]!));
  assert.ok(overlap, JSON.stringify(spans));
});

test('pack: a pack cancelled while running → the finished point COMPLETED, the running and the waiting ones CANCELLED, none COMPLETED', async t => {
  const c = await clusterSession(t, 'rx-pack');
  if (!c) return;
  const s = await sweep(t, 3, { pack: 3, array: false }, SCRIPT('if [ "$x" != 0 ]; then sleep 300; fi'), c);
  const recs = await submit(s);
  const job = jobOf(recs[0]!.jobId);
  await eventually('point 1 running', 60_000, async () => (await status(s)).find(r => r.params.x === 1)?.state === 'RUNNING' || undefined);
  await runAsCluster(`scancel ${job}`);
  const rows = await settled(s, 3, ['COMPLETED', 'CANCELLED']);
  const by = new Map(rows.map(r => [r.params.x, r]));
  assert.equal(by.get(0)!.state, 'COMPLETED');
  assert.equal(by.get(1)!.state, 'CANCELLED');
  assert.match(by.get(1)!.reason ?? '', /started but did not finish/);
  assert.equal(by.get(2)!.state, 'CANCELLED');
  assert.match(by.get(2)!.reason ?? '', /never started/);
});

test('pack: SIGKILL after the packs are made (before any sbatch) and after the first pack job → the rerun submits each pack once', async t => {
  const c = await clusterSession(t, 'rx-pack');
  if (!c) return;
  const s = await sweep(t, 8, { pack: 4, array: false }, SCRIPT(''), c);
  for (const point of ['pack-1', 'submit-1']) {
    const crashed = await rx(['submit', '--sweep', 'pk.sweep.ts'], { cwd: s.g.work, env: { ...s.env, RX_CRASH_AFTER: point }, allowFailure: true });
    assert.equal(crashed.signal, 'SIGKILL', crashed.stderr);
  }
  const recs = await submit(s);
  assert.equal(recs.length, 8);
  const jobs = new Set(recs.map(r => jobOf(r.jobId)));
  assert.equal(jobs.size, 2);
  await settled(s, 8, ['COMPLETED']);
  // The cluster ran exactly two jobs for this sweep's packs: each pack dir has one job output.
  const packs = (await runAsCluster(`ls ~/${c.dir}/runs/.rx-jobs/packs`)).stdout.split('\n').filter(l => l.startsWith('p.'));
  assert.equal(packs.length, 2);
  const outs = (await runAsCluster(`ls ~/${c.dir}/runs/.rx-jobs/packs/p.*/ | grep -c '^rx-pack-'`)).stdout.trim();
  assert.equal(outs, '2');
});

test('pack: the embedded default (shell scheduler) honours pack: 8 points → 2 jobs, per-point states', async t => {
  const s = await sweep(t, 8, { pack: 4 }, SCRIPT(FAILS_5));
  const recs = await submit(s);
  assert.equal(new Set(recs.map(r => jobOf(r.jobId))).size, 2);
  const rows = await settled(s, 8);
  assert.deepEqual(rows.filter(r => r.state === 'FAILED').map(r => [r.params.x, r.exitCode]), [[5, 3]]);
  await checkRunDirs(s, recs);
});

test('limits: QOS MaxSubmitJobsPerUser=5 → 5 of 8 submitted, 3 UNSUBMITTED with why; the next submit sends the rest', async t => {
  const c = await clusterSession(t, 'rx-limit');
  if (!c) return;
  const s = await sweep(t, 8, { sbatchArgs: ['--qos=rxlimit', '--time=00:05:00'] }, SCRIPT('sleep 2'), c);
  const first = await rx(['submit', '--sweep', 'pk.sweep.ts', '--json'], { cwd: s.g.work, env: s.env });
  const recs = JSON.parse(first.stdout) as Rec[];
  assert.equal(recs.filter(r => r.jobId).length, 5);
  assert.match(first.stderr, /3 point\(s\) left UNSUBMITTED: MaxSubmitJobsPerUser=5 of QOS rxlimit/);
  assert.equal(first.exitCode, 0);
  const rows = await status(s);
  assert.equal(rows.filter(r => r.state === 'UNSUBMITTED').length, 3);
  await settled(s, 5, ['COMPLETED']).catch(() => undefined);
  await eventually('the 5 left the queue', 120_000, async () => ((await runAsCluster('squeue -h -u rxcluster -q rxlimit | wc -l')).stdout.trim() === '0' ? true : undefined));
  const second = await submit(s);
  assert.deepEqual(second.filter(r => r.status === 'submitted').map(r => r.key).sort(), recs.filter(r => !r.jobId).map(r => r.key).sort());
  await settled(s, 8, ['COMPLETED']);
});

test('limits: an sbatch refusal for a limit (QOS GrpSubmitJobs=4, 2 taken by another user) → UNSUBMITTED, not failed; the next submit finishes', async t => {
  const c = await clusterSession(t, 'rx-limit');
  if (!c) return;
  const held = (await runAsCluster('cd /tmp && for i in 1 2; do sbatch --parsable --hold --account=rx --qos=rxgrp --wrap true; done', { user: 'root', home: '/root' })).stdout.split('\n').filter(Boolean);
  t.after(() => runAsCluster(`scancel ${held.join(' ')}`, { user: 'root', home: '/root', allowFailure: true }));
  const s = await sweep(t, 4, { sbatchArgs: ['--qos=rxgrp', '--time=00:05:00'], array: false }, SCRIPT(''), c);
  const first = await rx(['submit', '--sweep', 'pk.sweep.ts', '--json'], { cwd: s.g.work, env: s.env });
  assert.equal(first.exitCode, 0, first.stderr);
  assert.equal((JSON.parse(first.stdout) as Rec[]).filter(r => r.jobId).length, 2);
  assert.match(first.stderr, /2 point\(s\) left UNSUBMITTED: sbatch refused/);
  const rows = await status(s);
  assert.equal(rows.filter(r => r.state === 'UNSUBMITTED').length, 2, JSON.stringify(rows.map(r => r.state)));
  await runAsCluster(`scancel ${held.join(' ')}`, { user: 'root', home: '/root' });
  await eventually('the held jobs left', 60_000, async () => ((await runAsCluster('squeue -h -q rxgrp -u root | wc -l')).stdout.trim() === '0' ? true : undefined));
  const second = await submit(s);
  assert.equal(second.filter(r => r.status === 'submitted').length, 2);
  assert.equal((await status(s)).filter(r => r.jobId).length, 4);
  await settled(s, 4, ['COMPLETED']);
});
