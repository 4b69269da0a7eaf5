// rx cancel and rx resubmit, end to end on the embedded default and on the real Slurm over ssh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { gitdir } from '../helpers/gitdir.ts';
import { rxJson, eventually } from '../helpers/rx.ts';
import { clusterSession, runAsCluster } from '../helpers/cluster.ts';
import { Ledger } from '../../src/ledger/ledger.ts';

type Row = { key: string; jobId: string; state: string; exitCode: number | null; attempts: number; params: Record<string, unknown>; dir: string };

const files = {
  'config.inlist': '&controls\n  fail = 0\n  nap = 0\n/\n',
  // Fails with exit 3 on its first attempt when fail = 1; succeeds when run again.
  'run.sbatch': [
    '#!/bin/bash',
    'get() { awk -v k="$1" \'$1 == k { print $3 }\' config.inlist; }',
    'sleep "$(get nap)"',
    'if [ "$(get fail)" = 1 ] && [ ! -e first-attempt ]; then touch first-attempt; echo failing on purpose; exit 3; fi',
    'echo ok > result.txt',
    '',
  ].join('\n'),
};

async function states(cwd: string, env: Record<string, string> = {}): Promise<Row[]> {
  return rxJson<Row[]>(['status'], { cwd, env });
}
const until = (cwd: string, what: string, ok: (rows: Row[]) => boolean, env: Record<string, string> = {}) =>
  eventually(what, 120_000, async () => { const r = await states(cwd, env); return ok(r) ? r : undefined; });

async function sweep(dir: string, remote: string, dims: string): Promise<string> {
  const f = join(dir, `s-${randomBytes(3).toString('hex')}.json`);
  await writeFile(f, JSON.stringify({ name: 'jobs', branch: 'main', dimensions: JSON.parse(dims), patcher: { type: 'mesa', file: 'config.inlist' }, remote: JSON.parse(remote) }));
  return f;
}

async function failThenResubmit(cwd: string, sweepFile: string, env: Record<string, string> = {}) {
  const recs = await rxJson<{ status: string }[]>(['submit', '--sweep', sweepFile], { cwd, env });
  assert.equal(recs.filter(r => r.status === 'submitted').length, 2);
  const done = await until(cwd, 'both jobs finished', rs => rs.every(r => ['COMPLETED', 'FAILED'].includes(r.state)), env);
  const bad = done.find(r => r.params.fail === 1)!;
  const good = done.find(r => r.params.fail === 0)!;
  assert.equal(good.state, 'COMPLETED');
  assert.equal(bad.state, 'FAILED');
  assert.equal(bad.exitCode, 3);
  const re = await rxJson<{ resubmitted: { key: string; jobId: string; previousJobId: string; attempt: number; dir: string }[] }>(['resubmit', '--failed'], { cwd, env });
  assert.equal(re.resubmitted.length, 1);
  assert.equal(re.resubmitted[0]!.key, bad.key);
  assert.equal(re.resubmitted[0]!.previousJobId, bad.jobId);
  assert.equal(re.resubmitted[0]!.attempt, 2);
  assert.equal(re.resubmitted[0]!.dir, bad.dir, 'same run directory');
  assert.notEqual(re.resubmitted[0]!.jobId, bad.jobId);
  const after = await until(cwd, 'the resubmitted job COMPLETED', rs => rs.every(r => r.state === 'COMPLETED'), env);
  const again = after.find(r => r.key === bad.key)!;
  assert.equal(again.attempts, 2);
  assert.equal(again.jobId, re.resubmitted[0]!.jobId);
  assert.equal(after.find(r => r.key === good.key)!.attempts, 1);
  const st = new Ledger(join(cwd, '.rx/sweeps/jobs'), 'jobs').state();
  assert.deepEqual(st.points.get(bad.key)!.jobs.map(j => [j.jobId, j.attempt]), [[bad.jobId, 1], [re.resubmitted[0]!.jobId, 2]]);
  // Nothing failed any more: nothing to resubmit.
  const none = await rxJson<{ resubmitted: unknown[] }>(['resubmit', '--failed'], { cwd, env });
  assert.equal(none.resubmitted.length, 0);
}

test('local: a failing job shows FAILED with its exit code; resubmit --failed runs it again in its run dir', async t => {
  const g = await gitdir(t, { origin: true, files });
  await failThenResubmit(g.work, await sweep(g.root, '{"host":"local"}', '{"fail":[0,1]}'));
});

test('local: cancel pending jobs only, then the running one', async t => {
  const g = await gitdir(t, { origin: true, files });
  const f = await sweep(g.root, '{"host":"local","maxParallel":1}', '{"nap":[30],"fail":[0,1,2]}');
  await rxJson(['submit', '--sweep', f], { cwd: g.work });
  await until(g.work, 'one RUNNING, two PENDING', rs => rs.filter(r => r.state === 'RUNNING').length === 1 && rs.filter(r => r.state === 'PENDING').length === 2);
  const c = await rxJson<{ cancelled: { state: string }[] }>(['cancel', '--state', 'PENDING'], { cwd: g.work });
  assert.deepEqual(c.cancelled.map(x => x.state), ['PENDING', 'PENDING']);
  const rows = await states(g.work);
  assert.equal(rows.filter(r => r.state === 'CANCELLED').length, 2);
  assert.equal(rows.filter(r => r.state === 'RUNNING').length, 1);
  const c2 = await rxJson<{ cancelled: unknown[] }>(['cancel'], { cwd: g.work });
  assert.equal(c2.cancelled.length, 1);
  await until(g.work, 'all CANCELLED', rs => rs.every(r => r.state === 'CANCELLED'));
});

test('slurm over ssh: FAILED exit 3 → resubmit → COMPLETED (attempt 2); cancel held PENDING jobs', async t => {
  const session = await clusterSession(t, 'rx-jobs');
  if (!session) return;
  const { env, dir } = session;
  const remote = (extra: object) => JSON.stringify(session.remote(extra as Record<string, unknown>));

  const g = await gitdir(t, { origin: true, files });
  await failThenResubmit(g.work, await sweep(g.root, remote({}), '{"fail":[0,1]}'), env);

  const h = await gitdir(t, { origin: true, files });
  const f = await sweep(h.root, remote({ repo: `~/${dir}/repo2`, output: `~/${dir}/held`, sbatchArgs: ['--time=5', '--hold'] }), '{"fail":[0,1,2]}');
  await rxJson(['submit', '--sweep', f], { cwd: h.work, env });
  await until(h.work, 'three held PENDING jobs', rs => rs.length === 3 && rs.every(r => r.state === 'PENDING'), env);
  const c = await rxJson<{ cancelled: { jobId: string }[] }>(['cancel', '--state', 'PENDING'], { cwd: h.work, env });
  assert.equal(c.cancelled.length, 3);
  const rows = await until(h.work, 'three CANCELLED', rs => rs.every(r => r.state === 'CANCELLED'), env);
  const sq = await runAsCluster(`squeue -h -j ${rows.map(r => r.jobId).join(',')} -o %i 2>/dev/null | wc -l`, { allowFailure: true });
  assert.equal(sq.stdout.trim(), '0', 'no job left in the queue');
});
