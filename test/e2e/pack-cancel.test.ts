// rx cancel of some points of a pack (remote.pack), on the real test cluster over ssh and on the
// embedded default (shell scheduler): a chosen point that has not started never runs, a running one
// is stopped (its processes gone), both CANCELLED, while the pack's other points run on and
// complete; choosing every live point of a pack cancels the pack job itself. rx doctor --rebuild
// recovers the `<job>+<slot>` ids of packed points from the markers (and from the scheduler when a
// pack's own marker is gone).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clusterSession, runAsCluster, type ClusterSession } from '../helpers/cluster.ts';
import { alive, pidIn } from '../helpers/alive.ts'; // the test cluster's node is this machine
import { gitdir, type GitDir } from '../helpers/gitdir.ts';
import { packSweep } from '../helpers/sweeps.ts';
import { rxJson, eventually } from '../helpers/rx.ts';

type Rec = { key: string; dir: string; jobId: string | null; status: string; params: Record<string, unknown> };
type Row = { key: string; dir: string; jobId: string | null; state: string; exitCode: number | null; reason?: string | null; params: Record<string, unknown> };
type Cancelled = { cancelled: { sweep: string; key: string; jobId: string; state: string }[] };

// Point x writes its pid (and that of a background child), then, if x is in BLOCK, waits for the file
// `go-<x>` next to the run dirs' root before it finishes.
const SCRIPT = `#!/bin/bash
#SBATCH --ntasks=1
#SBATCH --time=00:05:00
. ./params.sh
echo ran > ran.txt
sleep 600 & echo $! > child.pid
echo $$ > script.pid
if [[ " $BLOCK " == *" $x "* ]]; then while [ ! -e "../go-$x" ]; do sleep 0.2; done; fi
kill %1
echo "x=$x done"
`;

interface Setup { g: GitDir; env: Record<string, string>; home: (p: string) => string; root: string }

async function sweep(t: import('node:test').TestContext, n: number, block: number[], remote: Record<string, unknown>, c?: ClusterSession): Promise<Setup> {
  const g = await gitdir(t, { origin: true, files: { 'run.sbatch': SCRIPT.replace('. ./params.sh', `. ./params.sh\nBLOCK="${block.join(' ')}"`), 'params.sh': 'x=0\n' } });
  await g.write({ 'pk.sweep.ts': packSweep(n, c ? c.remote(remote) : remote) });
  await g.commit('pack sweep');
  await g.git.push('origin', 'main');
  let env = c?.env ?? {};
  if (!c) {
    // The shell scheduler's queue lives in $HOME: one of this test's own.
    const home = await mkdtemp(join(tmpdir(), 'rx-home-'));
    t.after(() => rm(home, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 }));
    env = { HOME: home };
  }
  const root = c ? `${c.info.clusterHome}/${c.dir}/runs` : join(g.work, '.rx/runs');
  return { g, env, root, home: p => (c ? p.replace(/^~\//, `${c.info.clusterHome}/`) : p) };
}

const submit = (s: Setup) => rxJson<Rec[]>(['submit', '--sweep', 'pk.sweep.ts'], { cwd: s.g.work, env: s.env });
const status = (s: Setup) => rxJson<Row[]>(['status', '--sweep', 'pk'], { cwd: s.g.work, env: s.env });
const cancel = (s: Setup, args: string[]) => rxJson<Cancelled>(['cancel', ...args], { cwd: s.g.work, env: s.env });
const jobOf = (id: string | null) => id!.replace(/\+\d+$/, '');
const release = async (s: Setup, x: number, c?: ClusterSession) => (c ? runAsCluster(`touch ~/${c.dir}/runs/go-${x}`) : writeFile(join(s.root, `go-${x}`), ''));
const byX = (rows: Row[]) => new Map(rows.map(r => [r.params.x as number, r]));

async function states(s: Setup, want: Record<number, string>, ms = 120_000): Promise<Map<number, Row>> {
  return eventually(`states ${JSON.stringify(want)}`, ms, async () => {
    const by = byX(await status(s));
    if (Object.entries(want).every(([x, st]) => by.get(Number(x))?.state === st)) return by;
    throw new Error(`now: ${JSON.stringify([...by].map(([x, r]) => [x, r.state, r.reason]))}`);
  });
}

/** The job's final state in Slurm's accounting (slurmdbd may lag behind squeue). */
async function accounted(job: string, state: RegExp): Promise<void> {
  await eventually(`sacct says job ${job} ${state}`, 60_000, async () => {
    const got = (await runAsCluster(`sacct -n -X -P -o State -j ${job}`)).stdout.trim();
    if (state.test(got)) return true;
    throw new Error(`sacct: ${got}`);
  });
}

const pids = async (dir: string) => Promise.all(['script.pid', 'child.pid'].map(f => pidIn(join(dir, f))));
const cancelMarkers = async (dir: string) => (await readdir(join(dir, '.rx'))).filter(f => f.startsWith('cancel-'));

/** A pack of 3 (one at a time): 0 runs and blocks, 1 and 2 wait; cancelling 1 alone leaves 0 running, 1 never runs, 0 and 2 complete. */
async function cancelWaitingPoint(s: Setup, c?: ClusterSession): Promise<void> {
  const recs = await submit(s);
  assert.equal(new Set(recs.map(r => jobOf(r.jobId))).size, 1, 'one pack job');
  const one = recs.find(r => r.params.x === 1)!;
  await states(s, { 0: 'RUNNING', 1: 'PENDING', 2: 'PENDING' });
  const r = await cancel(s, [one.jobId!]);
  assert.deepEqual(r.cancelled.map(x => [x.key, x.jobId, x.state]), [[one.key, one.jobId, 'PENDING']]);
  const now = byX(await status(s));
  assert.deepEqual([now.get(0)!.state, now.get(1)!.state, now.get(2)!.state], ['RUNNING', 'CANCELLED', 'PENDING']);
  assert.equal(now.get(1)!.reason, 'cancelled by rx cancel before it started');
  // Run again (a rerun after a crash): harmless.
  assert.deepEqual((await cancel(s, [one.jobId!])).cancelled, []);
  await release(s, 0, c);
  const end = await states(s, { 0: 'COMPLETED', 1: 'CANCELLED', 2: 'COMPLETED' });
  assert.ok(!existsSync(join(s.home(one.dir), 'ran.txt')), "the cancelled point's script never ran");
  assert.match(readFileSync(join(s.home(one.dir), `.rx/status-${one.jobId}`), 'utf8'), /^cancelled \d+\n$/);
  for (const x of [0, 2]) assert.match(await readFile(join(s.home(end.get(x)!.dir), `slurm-${end.get(x)!.jobId}.out`), 'utf8'), new RegExp(`^x=${x} done$`, 'm'));
}

/** A pack of 3, two at a time: 0 and 1 run and block; cancelling 0 kills its processes, 2 runs in its place, 1 runs on. */
async function cancelRunningPoint(s: Setup, c?: ClusterSession): Promise<void> {
  const recs = await submit(s);
  const zero = recs.find(r => r.params.x === 0)!;
  await states(s, { 0: 'RUNNING', 1: 'RUNNING', 2: 'PENDING' });
  const procs = await eventually('point 0 pids', 30_000, async () => (existsSync(join(s.home(zero.dir), 'child.pid')) && existsSync(join(s.home(zero.dir), 'script.pid')) ? pids(s.home(zero.dir)) : undefined));
  assert.ok(procs.every(alive));
  const r = await cancel(s, ['--state', 'RUNNING', zero.jobId!]);
  assert.deepEqual(r.cancelled.map(x => x.key), [zero.key]);
  const mid = await states(s, { 0: 'CANCELLED', 1: 'RUNNING' }, 60_000);
  assert.equal(mid.get(0)!.reason, 'cancelled by rx cancel (signal 15)');
  assert.ok(!procs.some(alive), 'its script and its background child are gone');
  // 2 runs in the freed slot (it does not block), while 1 still runs.
  await states(s, { 1: 'RUNNING', 2: 'COMPLETED' });
  await release(s, 1, c);
  await states(s, { 0: 'CANCELLED', 1: 'COMPLETED', 2: 'COMPLETED' });
  assert.ok(!readFileSync(join(s.home(zero.dir), `slurm-${zero.jobId}.out`), 'utf8').includes('done'));
}

test('pack cancel (Slurm): one waiting point of a pack cancelled alone → it never runs, CANCELLED; the running and the other waiting point complete', async t => {
  const c = await clusterSession(t, 'rx-pkc');
  if (!c) return;
  const s = await sweep(t, 3, [0], { pack: 3, array: false }, c);
  await cancelWaitingPoint(s, c);
  // The pack job itself ran to its end: it was never scancelled.
  await accounted(jobOf((await status(s))[0]!.jobId), /^COMPLETED$/);
});

test('pack cancel (Slurm): a running point of a pack cancelled alone → its processes are gone, CANCELLED (signal 15); its siblings run on and complete', async t => {
  const c = await clusterSession(t, 'rx-pkc');
  if (!c) return;
  const s = await sweep(t, 3, [0, 1], { pack: { size: 3, parallel: 2 } }, c);
  await cancelRunningPoint(s, c);
});

test('pack cancel (Slurm): every live point of a pack chosen → the pack job is cancelled (scancel), no marker written; the finished point stays COMPLETED', async t => {
  const c = await clusterSession(t, 'rx-pkc');
  if (!c) return;
  const s = await sweep(t, 3, [1], { pack: 3, array: false }, c);
  const recs = await submit(s);
  await states(s, { 0: 'COMPLETED', 1: 'RUNNING', 2: 'PENDING' });
  const r = await cancel(s, ['--sweep', 'pk']);
  assert.deepEqual(r.cancelled.map(x => x.key).sort(), recs.filter(x => x.params.x !== 0).map(x => x.key).sort());
  const end = await states(s, { 0: 'COMPLETED', 1: 'CANCELLED', 2: 'CANCELLED' });
  assert.match(end.get(1)!.reason ?? '', /started but did not finish/);
  assert.match(end.get(2)!.reason ?? '', /never started/);
  for (const rec of recs) assert.deepEqual(await cancelMarkers(s.home(rec.dir)), []);
  await accounted(jobOf(recs[0]!.jobId), /^CANCELLED/);
});

test('pack cancel (shell scheduler): a waiting point cancelled alone never runs; a running point cancelled alone is killed; --state PENDING leaves the running point of a pack alone', async t => {
  const s = await sweep(t, 3, [0], { pack: 3 });
  await cancelWaitingPoint(s);
  const s2 = await sweep(t, 3, [0, 1], { pack: { size: 3, parallel: 2 } });
  await cancelRunningPoint(s2);
  // The case that used to cancel the whole pack: only its waiting points are PENDING.
  const s3 = await sweep(t, 3, [0], { pack: 3 });
  await submit(s3);
  await states(s3, { 0: 'RUNNING', 1: 'PENDING', 2: 'PENDING' });
  const r = await cancel(s3, ['--state', 'PENDING']);
  assert.equal(r.cancelled.length, 2);
  await states(s3, { 0: 'RUNNING', 1: 'CANCELLED', 2: 'CANCELLED' });
  await release(s3, 0);
  await states(s3, { 0: 'COMPLETED', 1: 'CANCELLED', 2: 'CANCELLED' });
});

/** Deletes the ledger, rebuilds it with rx doctor and checks that every point has its id and state back. */
async function rebuild(s: Setup, before: Row[]): Promise<void> {
  await rm(join(s.g.work, '.rx/sweeps'), { recursive: true });
  const r = await rxJson<{ rebuilt: boolean; recovered: string[]; findings: { kind: string }[] }>(['doctor', '--sweep', 'pk.sweep.ts', '--rebuild'], { cwd: s.g.work, env: s.env });
  assert.equal(r.rebuilt, true);
  assert.equal(r.recovered.length, before.length);
  assert.deepEqual(r.findings.filter(f => f.kind === 'unknown-job'), []);
  const after = await status(s);
  assert.deepEqual(after.map(x => [x.key, x.jobId, x.state, x.dir]), before.map(x => [x.key, x.jobId, 'COMPLETED', x.dir]));
}

test('rx doctor --rebuild (Slurm) after a packed submission (packs as array tasks): the same <job>+<slot> ids, from the markers, then from the scheduler once a pack marker is gone', async t => {
  const c = await clusterSession(t, 'rx-pkc');
  if (!c) return;
  const s = await sweep(t, 4, [], { pack: 2 }, c);
  const recs = await submit(s);
  assert.ok(recs.every(r => /^\d+_\d+\+[01]$/.test(r.jobId!)), recs.map(r => r.jobId).join(' '));
  const before = await states(s, { 0: 'COMPLETED', 1: 'COMPLETED', 2: 'COMPLETED', 3: 'COMPLETED' }).then(() => status(s));
  await rebuild(s, before);
  // The marker that names the first pack's job is gone: the job is found by the pack dir it ran in.
  const markers = (await runAsCluster(`ls ~/${c.dir}/runs/.rx-jobs/ | grep 'rx-jobs_packs_p\\.' || true`)).stdout.split('\n').filter(Boolean);
  assert.equal(markers.length, 2, 'one job-id marker per pack');
  await runAsCluster(`rm ~/${c.dir}/runs/.rx-jobs/${markers[0]}`);
  await rebuild(s, before);
});

test('rx doctor --rebuild (shell scheduler) after a packed submission: the same <job>+<slot> ids', async t => {
  const s = await sweep(t, 4, [], { pack: 2 });
  await submit(s);
  const before = await states(s, { 0: 'COMPLETED', 1: 'COMPLETED', 2: 'COMPLETED', 3: 'COMPLETED' }).then(() => status(s));
  assert.ok(before.every(r => /^\d+\+[01]$/.test(r.jobId!)));
  await rebuild(s, before);
});
