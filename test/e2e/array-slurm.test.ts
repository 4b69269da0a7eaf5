// Job arrays on the real test cluster, through the real CLI over ssh: points sharing one run.sbatch
// go as arrays (one task per run dir, its output there), status/resubmit per task, chunking by
// remote.array.maxSize, `array: false`, and a SIGKILL right after the array's sbatch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { clusterSession, runAsCluster, type ClusterSession } from '../helpers/cluster.ts';
import { gitdir, type GitDir } from '../helpers/gitdir.ts';
import { rx, rxJson, eventually } from '../helpers/rx.ts';

type Rec = { key: string; sha: string; dir: string; jobId: string; status: string; params: Record<string, unknown> };
type Row = { sweep: string; key: string; dir: string; jobId: string; state: string; exitCode: number | null; params: Record<string, unknown> };

const FAILING = [4, 11, 27];
const SCRIPT = `#!/bin/bash
#SBATCH --ntasks=1
#SBATCH --time=00:05:00
. ./params.sh
pwd -P > ran.txt
printf '%s\\n' "$SLURM_SUBMIT_DIR" > submitdir.txt
echo "x=$x task of $SLURM_ARRAY_JOB_ID"
case " ${FAILING.join(' ')} " in *" $x "*) exit 3 ;; esac
exit 0
`;

interface Setup { c: ClusterSession; g: GitDir; env: Record<string, string> }

async function setup(t: import('node:test').TestContext, n: number, array?: unknown, script = SCRIPT, extra: { dims: string; patcher: string; remote?: Record<string, unknown> } = { dims: '', patcher: "{ type: 'keyvalue', file: 'params.sh' }" }): Promise<Setup | null> {
  const c = await clusterSession(t, 'rx-array');
  if (!c) return null;
  const g = await gitdir(t, { origin: true, files: { 'run.sbatch': script, 'params.sh': 'x=0\n' } });
  const remote = c.remote({ ...(array === undefined ? {} : { array }), ...extra.remote });
  await g.write({
    'arr.sweep.ts': `
    import { defineSweep } from 'remote-experiments';
    export default defineSweep({
      name: 'arr',
      branch: 'main',
      dimensions: { x: ${JSON.stringify(Array.from({ length: n }, (_, i) => i))} ${extra.dims} },
      patcher: ${extra.patcher},
      remote: ${JSON.stringify(remote)},
    });`,
  });
  await g.commit('array sweep');
  await g.git.push('origin', 'main');
  return { c, g, env: c.env };
}

const onCluster = (s: Setup, p: string) => p.replace(/^~\//, `${s.c.info.clusterHome}/`);

async function finished(s: Setup, n: number): Promise<Row[]> {
  return eventually(`${n} jobs finished`, 180_000, async () => {
    const rows = await rxJson<Row[]>(['status', '--sweep', 'arr'], { cwd: s.g.work, env: s.env });
    return rows.length === n && rows.every(r => r.state === 'COMPLETED' || r.state === 'FAILED') ? rows : undefined;
  });
}

const arraysOf = (recs: { jobId: string }[]) => new Set(recs.map(r => r.jobId.split('_')[0]));

test('arrays: 30 points → one array; each task in its own dir with its output there; 3 FAILED; resubmit --failed → one array of 3', async t => {
  const s = await setup(t, 30);
  if (!s) return;
  const recs = await rxJson<Rec[]>(['submit', '--sweep', 'arr.sweep.ts'], { cwd: s.g.work, env: s.env });
  assert.equal(recs.length, 30);
  assert.ok(recs.every(r => /^\d+_\d+$/.test(r.jobId)), JSON.stringify(recs.map(r => r.jobId)));
  assert.equal(arraysOf(recs).size, 1, 'one array');
  assert.equal(new Set(recs.map(r => r.jobId)).size, 30);
  const rows = await finished(s, 30);
  const failed = rows.filter(r => r.state === 'FAILED').map(r => Number(r.params.x)).sort((a, b) => a - b);
  assert.deepEqual(failed, FAILING);
  assert.ok(rows.filter(r => r.state === 'FAILED').every(r => r.exitCode === 3));
  for (const r of recs) {
    const dir = onCluster(s, r.dir);
    const real = (await readFile(join(dir, 'ran.txt'), 'utf8')).trim();
    assert.equal(real, dir, 'cwd = its run dir');
    assert.equal((await readFile(join(dir, 'submitdir.txt'), 'utf8')).trim(), dir, 'SLURM_SUBMIT_DIR = its run dir');
    const outs = (await readdir(dir)).filter(f => f.startsWith('slurm-'));
    assert.deepEqual(outs, [`slurm-${r.jobId}.out`], `${r.dir}: ${outs.join(',')}`);
    assert.match(await readFile(join(dir, outs[0]!), 'utf8'), new RegExp(`^x=${r.params.x} task of ${r.jobId.split('_')[0]}$`, 'm'));
  }
  // Status asked Slurm per task; the ledger's job ids are the tasks'.
  const { resubmitted: re, errors } = await rxJson<{ resubmitted: { key: string; jobId: string; previousJobId: string; attempt: number }[]; errors: unknown[] }>(['resubmit', '--failed', '--sweep', 'arr'], { cwd: s.g.work, env: s.env });
  assert.deepEqual(errors, []);
  assert.equal(re.length, 3);
  assert.equal(arraysOf(re).size, 1, 'the 3 failed points go as one array');
  assert.ok(re.every(r => /^\d+_[0-2]$/.test(r.jobId) && r.attempt === 2));
  assert.ok(!arraysOf(recs).has([...arraysOf(re)][0]!));
  const after = await finished(s, 30);
  // Attempt 2 fails again (same script): still exactly those 3, now with the new array's ids.
  assert.deepEqual(after.filter(r => r.state === 'FAILED').map(r => r.jobId).sort(), re.map(r => r.jobId).sort());
  // A second resubmit-free submit submits nothing.
  const again = await rxJson<Rec[]>(['submit', '--sweep', 'arr.sweep.ts'], { cwd: s.g.work, env: s.env });
  assert.equal(again.filter(r => r.status === 'submitted').length, 0);
});

test('arrays: maxSize 10 with 25 points → 3 arrays (10, 10, 5); throttle; a user -o name lands in each run dir', async t => {
  const script = SCRIPT.replace('#SBATCH --ntasks=1', '#SBATCH --ntasks=1\n#SBATCH -o out-%x-%A-%a.log');
  const s = await setup(t, 25, { maxSize: 10, throttle: 4 }, script);
  if (!s) return;
  const recs = await rxJson<Rec[]>(['submit', '--sweep', 'arr.sweep.ts'], { cwd: s.g.work, env: s.env });
  const by = new Map<string, number>();
  for (const r of recs) by.set(r.jobId.split('_')[0]!, (by.get(r.jobId.split('_')[0]!) ?? 0) + 1);
  assert.deepEqual([...by.values()].sort((a, b) => a - b), [5, 10, 10]);
  for (const a of by.keys()) assert.match((await runAsCluster(`scontrol show job -o ${a}`)).stdout, /ArrayTaskThrottle=4\b/);
  await finished(s, 25);
  for (const r of recs) {
    const [a, i] = r.jobId.split('_');
    const outs: string[] = (await readdir(onCluster(s, r.dir))).filter(f => f.endsWith('.log'));
    assert.deepEqual(outs, [`out-run.sbatch-${a}-${i}.log`]);
  }
});

test('arrays: array: false → one job per point', async t => {
  const s = await setup(t, 4, false);
  if (!s) return;
  const recs = await rxJson<Rec[]>(['submit', '--sweep', 'arr.sweep.ts'], { cwd: s.g.work, env: s.env });
  assert.ok(recs.every(r => /^\d+$/.test(r.jobId)), JSON.stringify(recs.map(r => r.jobId)));
  assert.equal(new Set(recs.map(r => r.jobId)).size, 4);
  await finished(s, 4);
  for (const r of recs) assert.deepEqual((await readdir(onCluster(s, r.dir))).filter(f => f.startsWith('slurm-')), [`slurm-${r.jobId}.out`]);
});

test('arrays: SIGKILL right after the array sbatch → the re-run submits nothing twice', async t => {
  const s = await setup(t, 12);
  if (!s) return;
  const crashed = await rx(['submit', '--sweep', 'arr.sweep.ts'], { cwd: s.g.work, env: { ...s.env, RX_CRASH_AFTER: 'submit-1' }, allowFailure: true });
  assert.equal(crashed.signal, 'SIGKILL', crashed.stderr);
  const recs = await rxJson<Rec[]>(['submit', '--sweep', 'arr.sweep.ts'], { cwd: s.g.work, env: s.env });
  assert.equal(recs.length, 12);
  assert.equal(new Set(recs.map(r => r.jobId)).size, 12);
  assert.equal(arraysOf(recs).size, 1);
  // Slurm knows exactly one array of 12 tasks from this user's run (sacct/squeue by array id).
  const [arr] = arraysOf(recs);
  const q = await runAsCluster(`squeue -h -r -t all -u rxcluster -o %i; sacct -n -P -X -u rxcluster -o JobID -S now-1hour`);
  const tasks = new Set(q.stdout.split('\n').filter(l => l.startsWith(`${arr}_`) && !l.includes('[')));
  assert.equal(tasks.size, 12, [...tasks].join(' '));
  const dir = `~/${s.c.dir}/runs/.rx-jobs/arrays`;
  const arrays = await runAsCluster(`ls ${dir} | wc -l`);
  assert.equal(arrays.stdout.trim(), '1', 'one array submitted in all');
});

test('arrays: an sbatch patcher that makes the scripts differ → one array per script', async t => {
  const s = await setup(t, 3, undefined, SCRIPT, {
    dims: ", 'sbatch.time': ['00:04:00', '00:03:00']",
    patcher: "[{ type: 'keyvalue', file: 'params.sh' }, { type: 'sbatch', file: 'run.sbatch', prefix: 'sbatch.' }]",
    remote: { sbatchArgs: [] }, // so the script's --time applies
  });
  if (!s) return;
  const recs = await rxJson<Rec[]>(['submit', '--sweep', 'arr.sweep.ts'], { cwd: s.g.work, env: s.env });
  assert.equal(recs.length, 6);
  const byTime = new Map<string, Set<string>>();
  for (const r of recs) {
    const time = String(r.params['sbatch.time']);
    byTime.set(time, (byTime.get(time) ?? new Set()).add(r.jobId.split('_')[0]!));
  }
  assert.deepEqual([...byTime.values()].map(x => x.size), [1, 1]);
  assert.equal(arraysOf(recs).size, 2);
  // Each array carries its own #SBATCH --time (3 and 4 minutes).
  const limits = await Promise.all([...arraysOf(recs)].map(async a => /TimeLimit=(\S+)/.exec((await runAsCluster(`scontrol show job -o ${a}`)).stdout)?.[1]));
  assert.deepEqual(limits.sort(), ['00:03:00', '00:04:00']);
  await finished(s, 6);
});
