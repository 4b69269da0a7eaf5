// slurm scheduler against the REAL single-node test cluster (test/cluster/up.sh), run as the
// cluster-side user: submit 3 jobs (exit 0, exit 3, a long one that gets cancelled), poll until
// terminal, and check that submitting again submits nothing new.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { shq } from '../../src/quote.ts';
import { slurm } from '../../src/remote/scheduler/slurm.ts';
import { parseSubmitLine, TERMINAL_STATES, type JobSpec, type JobStatus } from '../../src/remote/scheduler/types.ts';
import { cluster, runAsCluster } from '../helpers/cluster.ts';

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

function submitted(stdout: string): { ids: Map<string, string>; errors: string[] } {
  const ids = new Map<string, string>();
  const errors: string[] = [];
  for (const line of stdout.split('\n')) {
    const p = parseSubmitLine(line);
    if (p && 'jobId' in p) ids.set(p.key, p.jobId);
    else if (p) errors.push(`${p.key}: ${p.error}`);
  }
  return { ids, errors };
}

async function status(ids: string[]): Promise<Map<string, JobStatus>> {
  return slurm.parseStatus((await runAsCluster(slurm.statusScript(ids))).stdout);
}

async function until(ids: string[], ok: (s: JobStatus | undefined) => boolean, what: string, timeoutMs = 90_000): Promise<Map<string, JobStatus>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const st = await status(ids);
    if (ids.every(id => ok(st.get(id)))) return st;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify([...st.values()])}`);
    await sleep(300);
  }
}

test('slurm on a real cluster: submit, idempotent resubmit, status, cancel', async t => {
  const info = await cluster();
  if (!info) {
    t.skip('no Slurm test cluster (needs root; see test/cluster/up.sh)');
    return;
  }
  const tag = `rx-e2e-slurm-${randomBytes(4).toString('hex')}`;
  const base = `~/${tag}`;
  // Run dirs with awkward names: they must reach sbatch (and the job's cwd) literally.
  const jobs: Record<string, { dir: string; body: string }> = {
    ok: { dir: 'ok run', body: 'echo hello from $SLURM_JOB_ID' },
    fail: { dir: "fail it's $(x);", body: 'exit 3' },
    long: { dir: 'long ünï', body: 'sleep 600' },
  };
  let setup = 'set -e\n';
  for (const j of Object.values(jobs)) {
    const d = `${tag}/${j.dir}`;
    setup += `mkdir -p ${shq(d)}\nprintf '%s\\n' '#!/bin/bash' ${shq(j.body)} > ${shq(`${d}/run.sbatch`)}\n`;
  }
  await runAsCluster(setup);
  const specs: JobSpec[] = Object.entries(jobs).map(([key, j]) => ({
    key,
    dir: `${base}/${j.dir}`,
    script: 'run.sbatch',
    args: ['-J', tag, '-p', info.partition, '-o', 'slurm-%j.out'],
  }));
  const stateDir = `${base}/.rx-state`;
  let allIds: string[] = [];
  try {
    const first = await runAsCluster(slurm.submitScript(specs, stateDir));
    const { ids, errors } = submitted(first.stdout);
    assert.deepEqual(errors, []);
    assert.deepEqual([...ids.keys()].sort(), ['fail', 'long', 'ok']);
    allIds = [...ids.values()];
    assert.equal(new Set(allIds).size, 3);
    for (const id of allIds) assert.match(id, /^\d+$/);

    // Again: nothing new is submitted, the same ids come back.
    const second = await runAsCluster(slurm.submitScript(specs, stateDir));
    assert.deepEqual(submitted(second.stdout).ids, ids);
    const named = await runAsCluster(`squeue -h -t all -n ${shq(tag)} -o %i`);
    assert.deepEqual(named.stdout.trim().split('\n').sort(), [...allIds].sort(), 'exactly 3 jobs exist with this name');

    const okId = ids.get('ok')!;
    const failId = ids.get('fail')!;
    const longId = ids.get('long')!;

    await until([longId], s => s?.state === 'RUNNING', 'the long job to start');
    await runAsCluster(slurm.cancelScript([longId]));

    const st = await until(allIds, s => !!s && TERMINAL_STATES.has(s.state), 'all jobs to finish');
    assert.equal(st.get(okId)!.state, 'COMPLETED');
    assert.equal(st.get(okId)!.exitCode, 0);
    assert.equal(st.get(failId)!.state, 'FAILED');
    assert.equal(st.get(failId)!.exitCode, 3);
    assert.equal(st.get(longId)!.state, 'CANCELLED');

    // The job ran in its run dir (the hostile-named dir came through literally).
    const out = await runAsCluster(`cat ${shq(`${tag}/${jobs.ok!.dir}/slurm-${okId}.out`)}`);
    assert.equal(out.stdout.trim(), `hello from ${okId}`);
    const failOut = await runAsCluster(`test -f ${shq(`${tag}/${jobs.fail!.dir}/slurm-${failId}.out`)} && echo yes`);
    assert.equal(failOut.stdout.trim(), 'yes');

    // sacct catches up: finished jobs show there too (with the exit code), polled because it lags.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const acct = await runAsCluster(`sacct -n -P -X -j ${allIds.join(',')} -o JobID,State,ExitCode`);
      const lines = acct.stdout.trim().split('\n').sort();
      const want = [`${okId}|COMPLETED|0:0`, `${failId}|FAILED|3:0`].sort();
      if (want.every(w => lines.includes(w)) && lines.some(l => l.startsWith(`${longId}|CANCELLED`))) break;
      if (Date.now() > deadline) assert.fail(`sacct never showed the final states: ${acct.stdout}`);
      await sleep(500);
    }
  } finally {
    if (allIds.length) await runAsCluster(slurm.cancelScript(allIds), { allowFailure: true });
    await runAsCluster(`rm -rf ${shq(tag)}`, { allowFailure: true });
  }
});

test('slurm on a real cluster: overlapping submissions for one state dir submit each run dir once', async t => {
  const info = await cluster();
  if (!info) {
    t.skip('no Slurm test cluster (needs root; see test/cluster/up.sh)');
    return;
  }
  const tag = `rx-e2e-slurm-${randomBytes(4).toString('hex')}`;
  const n = 8;
  await runAsCluster(`set -e; for i in $(seq ${n}); do mkdir -p ${shq(tag)}/r$i; printf '#!/bin/bash\\ntrue\\n' > ${shq(tag)}/r$i/run.sbatch; done`);
  const specs: JobSpec[] = Array.from({ length: n }, (_, i) => ({ key: `p${i}`, dir: `~/${tag}/r${i + 1}`, script: 'run.sbatch', args: ['-J', tag, '-o', '/dev/null'] }));
  const script = slurm.submitScript(specs, `~/${tag}/.rx-state`);
  let ids: string[] = [];
  try {
    const [a, b] = await Promise.all([runAsCluster(script), runAsCluster(script)]);
    const sa = submitted(a.stdout);
    const sb = submitted(b.stdout);
    assert.deepEqual(sa.errors, []);
    assert.equal(sa.ids.size, n);
    assert.deepEqual(sb.ids, sa.ids);
    ids = [...sa.ids.values()];
    const named = await runAsCluster(`squeue -h -t all -n ${shq(tag)} -o %i`);
    assert.equal(named.stdout.trim().split('\n').length, n);
    await until(ids, s => s?.state === 'COMPLETED', 'the jobs to complete');
  } finally {
    if (ids.length) await runAsCluster(slurm.cancelScript(ids), { allowFailure: true });
    await runAsCluster(`rm -rf ${shq(tag)}`, { allowFailure: true });
  }
});
