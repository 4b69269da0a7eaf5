// Pure parts of packing and submit limits: the pack runner run by real bash (output names expanded
// as Slurm does, per-point status files, parallelism, rx cancel's per-point markers: a marked point
// never starts, a running one is stopped with its process group, a job's TERM stops every point),
// per-point states from a pack job's state, the cancel script and plan, the marker/pack/limit
// parsers on captured output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { alive, pidIn } from '../helpers/alive.ts';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { run } from '../../src/proc.ts';
import { eventually } from '../helpers/rx.ts';
import { cancelPointsScript, jobOf, packName, packRunner, packedPointStatus, parseCancelMarks, parseMarkers, parsePackMarker, parsePacks, parsePointRuns, pointRunsScript, runnerName } from '../../src/remote/scheduler/pack.ts';
import { cancelPlan } from '../../src/remote/jobs.ts';
import type { PointRecord } from '../../src/ledger/ledger.ts';
import { limitRefusal, parseBudget, qosOf } from '../../src/remote/scheduler/slurm-limits.ts';
import type { JobStatus } from '../../src/remote/scheduler/types.ts';
import type { PointRun } from '../../src/remote/scheduler/pack.ts';

async function packDir(points: number, script: string): Promise<{ pd: string; dirs: string[] }> {
  const root = await mkdtemp(join(tmpdir(), 'rx-pack-'));
  const pd = join(root, 'packs', 'p.1');
  await mkdir(join(pd, 'd'), { recursive: true });
  const dirs: string[] = [];
  for (let i = 0; i < points; i++) {
    const d = join(root, `run ${i}`);
    await mkdir(join(d, '.rx'), { recursive: true });
    await writeFile(join(d, 'run.sbatch'), script);
    await writeFile(join(d, 'x'), String(i));
    await symlink(d, join(pd, 'd', String(i)));
    dirs.push(d);
  }
  return { pd, dirs };
}

const runPack = (pd: string, runner: string, env: Record<string, string>) =>
  writeFile(join(pd, 'run.sbatch'), runner).then(() => run(['bash', 'run.sbatch'], { cwd: pd, env: { PATH: process.env.PATH!, HOME: tmpdir(), ...env }, allowFailure: true }));

test('pack runner: each point runs in its run dir, output slurm-<id>.out there, start/end/status in .rx/status-<id>; exit 1 when one failed', async () => {
  const script = '#!/bin/bash\n#SBATCH --time=1\nx=$(cat x)\npwd -P > ran\necho "out $x $SLURM_SUBMIT_DIR"\n[ "$x" != 1 ] || exit 7\n';
  const { pd, dirs } = await packDir(3, script);
  const r = await runPack(pd, packRunner(script, 'run.sbatch', [], 1), { SLURM_JOB_ID: '42' });
  assert.equal(r.exitCode, 1);
  for (const [i, d] of dirs.entries()) {
    assert.equal((await readFile(join(d, 'ran'), 'utf8')).trim(), d);
    assert.equal(await readFile(join(d, `slurm-42+${i}.out`), 'utf8'), `out ${i} ${d}\n`);
    const st = await readFile(join(d, `.rx/status-42+${i}`), 'utf8');
    assert.match(st, new RegExp(`^start \\d+\\nend \\d+ ${i === 1 ? 7 : 0}\\n$`));
  }
  const runs = parsePointRuns(`RXPT 1 100 105 7\nRXPT 2 100 - -\nnoise\n`);
  assert.deepEqual(runs.get('1'), { start: 100, end: 105, status: 7, cancelled: null, marked: false });
  assert.deepEqual(runs.get('2'), { start: 100, end: null, status: null, cancelled: null, marked: false });
});

test('pack runner: -o/-e patterns expanded as Slurm does (%A %a %j %x %u %% and widths), in an array task', async () => {
  const script = '#!/bin/bash\n#SBATCH -o o-%x-%A-%a-%j-%u-%%-%4j.log\n#SBATCH --error=e-%j.err\necho out; echo err >&2\n';
  const { pd, dirs } = await packDir(1, script);
  await runPack(pd, packRunner(script, 'run.sbatch', [], 1), { SLURM_JOB_ID: '43', SLURM_ARRAY_JOB_ID: '40', SLURM_ARRAY_TASK_ID: '3', SLURM_JOB_NAME: 'run.sbatch', USER: 'ann' });
  const files = (await readdir(dirs[0]!)).sort();
  assert.deepEqual(files, ['.rx', 'e-43.err', 'o-run.sbatch-40-3-43-ann-%-43.log', 'run.sbatch', 'x']);
  assert.equal(await readFile(join(dirs[0]!, 'e-43.err'), 'utf8'), 'err\n');
  assert.ok((await readdir(join(dirs[0]!, '.rx'))).includes('status-40_3+0'));
});

test('pack runner: parallel 2 runs two points at once, never three', async () => {
  const script = '#!/bin/bash\nmkdir ../lock-$(cat x) 2>/dev/null; n=$(ls -d ../lock-* | wc -l); echo $n > seen; sleep 0.3; rmdir ../lock-$(cat x)\n';
  const { pd, dirs } = await packDir(6, script);
  const r = await runPack(pd, packRunner(script, 'run.sbatch', [], 2), { SLURM_JOB_ID: '44' });
  assert.equal(r.exitCode, 0, r.stderr);
  const seen = await Promise.all(dirs.map(async d => Number(await readFile(join(d, 'seen'), 'utf8'))));
  assert.ok(Math.max(...seen) === 2, `concurrency seen: ${seen}`);
});

const job = (state: JobStatus['state'], extra: Partial<JobStatus> = {}): JobStatus => ({ jobId: '9', state, exitCode: null, ...extra });
const pr = (start: number | null, end: number | null = null, status: number | null = null, more: Partial<PointRun> = {}): PointRun => ({ start, end, status, cancelled: null, marked: false, ...more });

test('packed point state: own exit status wins; an unfinished point of a finished job takes its end, never COMPLETED', () => {
  assert.equal(packedPointStatus('9+0', job('RUNNING'), pr(10, 20, 0), 30).state, 'COMPLETED');
  const failed = packedPointStatus('9+1', job('COMPLETED'), pr(10, 20, 3), 30);
  assert.deepEqual([failed.state, failed.exitCode, failed.elapsedSeconds, failed.start], ['FAILED', 3, 10, '1970-01-01T00:00:10Z']);
  assert.deepEqual([packedPointStatus('9+1', job('COMPLETED'), pr(10, 20, 137), 30)].map(s => [s.state, s.signal]), [['FAILED', 9]]);
  assert.equal(packedPointStatus('9+2', job('TIMEOUT'), pr(10), 30).state, 'TIMEOUT');
  assert.equal(packedPointStatus('9+3', job('TIMEOUT'), undefined, 30).state, 'TIMEOUT');
  assert.equal(packedPointStatus('9+3', job('COMPLETED'), undefined, 30).state, 'UNKNOWN');
  assert.equal(packedPointStatus('9+2', job('RUNNING'), pr(10), 30).elapsedSeconds, 20);
  assert.equal(packedPointStatus('9+3', job('RUNNING'), undefined, 30).state, 'PENDING');
  assert.equal(packedPointStatus('9+3', job('PENDING', { reason: 'Priority' }), undefined, 30).reason, 'Priority');
  assert.equal(packedPointStatus('9+3', undefined, undefined, 30).state, 'UNKNOWN');
  fc.assert(fc.property(
    fc.constantFrom<JobStatus['state']>('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY'),
    fc.option(fc.record({ start: fc.option(fc.nat(), { nil: null }), end: fc.constant(null), status: fc.constant(null), cancelled: fc.constant(null), marked: fc.constant(false) }), { nil: undefined }),
    (st, run) => packedPointStatus('9+0', job(st), run, 100).state !== 'COMPLETED',
  ));
});

/** The runner started as a scheduler starts a job (its own process group), not waited for. */
async function startPack(pd: string, runner: string, env: Record<string, string>): Promise<{ pid: number; done: Promise<number | null> }> {
  await writeFile(join(pd, 'run.sbatch'), runner);
  const child = spawn('bash', ['run.sbatch'], { cwd: pd, env: { PATH: process.env.PATH!, HOME: tmpdir(), ...env }, detached: true, stdio: 'ignore' });
  const done = new Promise<number | null>(resolve => child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  return { pid: child.pid!, done };
}

const statusFile = (d: string, id: string) => readFile(join(d, `.rx/status-${id}`), 'utf8').catch(() => null);

/** What `rx status` would say of each point (real bash reads the status files and markers). */
async function pointStates(dirs: string[], base: string, job: JobStatus): Promise<JobStatus[]> {
  const script = pointRunsScript(dirs.map((d, i) => ({ key: String(i), dir: d, jobId: `${base}+${i}` })));
  const runs = parsePointRuns((await run(['bash', '-s'], { input: script })).stdout);
  return dirs.map((_, i) => packedPointStatus(`${base}+${i}`, job, runs.get(String(i)), 1e10));
}

test('pack runner: a point rx cancel marked before its turn never runs (recorded cancelled); the others run', async () => {
  const script = '#!/bin/bash\nx=$(cat x); echo ran > ran\n';
  const { pd, dirs } = await packDir(3, script);
  await writeFile(join(dirs[1]!, '.rx/cancel-50+1'), '1\n');
  const r = await runPack(pd, packRunner(script, 'run.sbatch', [], 1), { SLURM_JOB_ID: '50' });
  assert.equal(r.exitCode, 0, r.stderr);
  assert.ok(!existsSync(join(dirs[1]!, 'ran')), 'its script never ran');
  assert.match((await statusFile(dirs[1]!, '50+1'))!, /^cancelled \d+\n$/);
  for (const i of [0, 2]) assert.match((await statusFile(dirs[i]!, `50+${i}`))!, /^start \d+\nend \d+ 0\n$/);
  const states = await pointStates(dirs, '50', job('COMPLETED'));
  assert.deepEqual(states.map(s => s.state), ['COMPLETED', 'CANCELLED', 'COMPLETED']);
  assert.equal(states[1]!.reason, 'cancelled by rx cancel before it started');
});

test('pack runner: a running point rx cancel marks is stopped with its process group (TERM), recorded cancelled, end 143; its sibling runs on and the next starts', async () => {
  const script = `#!/bin/bash
x=$(cat x)
case $x in
  0) sleep 300 & echo $! > child; echo $$ > pid; wait ;;
  1) echo $$ > pid; while [ ! -e ../go ]; do sleep 0.1; done ;;
esac
echo done > done
`;
  const { pd, dirs } = await packDir(3, script);
  const p = await startPack(pd, packRunner(script, 'run.sbatch', [], 2), { SLURM_JOB_ID: '51' });
  await eventually('points 0 and 1 running', 20_000, async () => (existsSync(join(dirs[0]!, 'child')) && existsSync(join(dirs[1]!, 'pid'))) || undefined);
  const [pid, child] = [await pidIn(join(dirs[0]!, 'pid')), await pidIn(join(dirs[0]!, 'child'))];
  await writeFile(join(dirs[0]!, '.rx/cancel-51+0'), '1\n');
  const st = await eventually('point 0 stopped', 20_000, async () => ((await statusFile(dirs[0]!, '51+0'))?.includes('end') ? statusFile(dirs[0]!, '51+0') : undefined));
  assert.match(st!, /^start \d+\ncancelled \d+\nend \d+ 143\n$/);
  assert.ok(!alive(pid) && !alive(child), 'its script and its background child are gone');
  await eventually('point 2 done in the freed slot', 20_000, async () => existsSync(join(dirs[2]!, 'done')) || undefined);
  assert.ok(!existsSync(join(dirs[1]!, 'done')) && alive(await pidIn(join(dirs[1]!, 'pid'))), 'point 1 still runs');
  await writeFile(join(pd, '../../go'), '');
  assert.equal(await p.done, 0, 'a cancelled point does not fail the pack');
  assert.ok(!existsSync(join(dirs[0]!, 'done')));
  const states = await pointStates(dirs, '51', job('COMPLETED'));
  assert.deepEqual(states.map(s => [s.state, s.signal ?? null]), [['CANCELLED', 15], ['COMPLETED', null], ['COMPLETED', null]]);
  assert.match(states[0]!.reason ?? '', /^cancelled by rx cancel/);
});

test('pack runner: a running point that ignores TERM gets KILL after the grace period (end 137); the next point runs', async () => {
  const script = '#!/bin/bash\nif [ "$(cat x)" = 0 ]; then trap "" TERM; echo $$ > pid; sleep 300; fi\necho done > done\n';
  const { pd, dirs } = await packDir(2, script);
  const p = await startPack(pd, packRunner(script, 'run.sbatch', [], 1, { grace: 1, stop: 1 }), { SLURM_JOB_ID: '52' });
  await eventually('point 0 running', 20_000, async () => existsSync(join(dirs[0]!, 'pid')) || undefined);
  await writeFile(join(dirs[0]!, '.rx/cancel-52+0'), '1\n');
  assert.equal(await p.done, 0);
  assert.match((await statusFile(dirs[0]!, '52+0'))!, /^start \d+\ncancelled \d+\nend \d+ 137\n$/);
  assert.ok(!alive(await pidIn(join(dirs[0]!, 'pid'))));
  assert.ok(existsSync(join(dirs[1]!, 'done')));
  assert.deepEqual((await pointStates(dirs, '52', job('COMPLETED'))).map(s => [s.state, s.signal ?? null]), [['CANCELLED', 9], ['COMPLETED', null]]);
});

test("pack runner: the job's own TERM (scancel, the shell scheduler's cancel) stops the running point's group, KILL after `stop` s, leaves its end unrecorded, starts no other; exit 143", async () => {
  const script = '#!/bin/bash\nif [ "$(cat x)" = 0 ]; then trap "" TERM; echo $$ > pid; sleep 300; fi\necho done > done\n';
  const { pd, dirs } = await packDir(3, script);
  const p = await startPack(pd, packRunner(script, 'run.sbatch', [], 1, { grace: 30, stop: 1 }), { SLURM_JOB_ID: '53' });
  await eventually('point 0 running', 20_000, async () => existsSync(join(dirs[0]!, 'pid')) || undefined);
  process.kill(-p.pid, 'SIGTERM'); // the job's process group, as the shell scheduler's cancel does
  assert.equal(await p.done, 143);
  assert.ok(!alive(await pidIn(join(dirs[0]!, 'pid'))), 'the point that ignored TERM was killed');
  assert.match((await statusFile(dirs[0]!, '53+0'))!, /^start \d+\n$/);
  assert.equal(await statusFile(dirs[1]!, '53+1'), null);
  const states = await pointStates(dirs, '53', job('CANCELLED'));
  assert.deepEqual(states.map(s => s.state), ['CANCELLED', 'CANCELLED', 'CANCELLED']);
  assert.match(states[0]!.reason ?? '', /started but did not finish/);
  assert.match(states[1]!.reason ?? '', /never started/);
});

test('pack runner: a marker written after the point ended changes nothing: it stays COMPLETED', async () => {
  const script = '#!/bin/bash\nif [ "$(cat x)" = 1 ]; then echo $$ > pid; while [ ! -e ../go ]; do sleep 0.1; done; fi\n';
  const { pd, dirs } = await packDir(2, script);
  const p = await startPack(pd, packRunner(script, 'run.sbatch', [], 1), { SLURM_JOB_ID: '54' });
  await eventually('point 1 running', 20_000, async () => existsSync(join(dirs[1]!, 'pid')) || undefined);
  await writeFile(join(dirs[0]!, '.rx/cancel-54+0'), '1\n');
  await new Promise(r => setTimeout(r, 1500)); // the runner looks at least once more
  await writeFile(join(pd, '../../go'), '');
  assert.equal(await p.done, 0);
  assert.match((await statusFile(dirs[0]!, '54+0'))!, /^start \d+\nend \d+ 0\n$/);
  assert.deepEqual((await pointStates(dirs, '54', job('COMPLETED'))).map(s => s.state), ['COMPLETED', 'COMPLETED']);
});

test('packed point state with rx cancel: marked and not started → CANCELLED; stopping → RUNNING; stopped → CANCELLED with its signal; succeeded first → COMPLETED', () => {
  assert.equal(packedPointStatus('9+1', job('PENDING'), pr(null, null, null, { marked: true }), 30).state, 'CANCELLED');
  assert.equal(packedPointStatus('9+1', job('RUNNING'), pr(null, null, null, { cancelled: 12, marked: true }), 30).end, '1970-01-01T00:00:12Z');
  const stopping = packedPointStatus('9+1', job('RUNNING'), pr(10, null, null, { cancelled: 12, marked: true }), 30);
  assert.deepEqual([stopping.state, stopping.reason], ['RUNNING', 'cancelled by rx cancel: stopping']);
  const stopped = packedPointStatus('9+1', job('RUNNING'), pr(10, 13, 143, { cancelled: 12, marked: true }), 30);
  assert.deepEqual([stopped.state, stopped.signal, stopped.exitCode, stopped.reason], ['CANCELLED', 15, null, 'cancelled by rx cancel (signal 15)']);
  assert.equal(packedPointStatus('9+1', job('RUNNING'), pr(10, 13, 0, { cancelled: 12, marked: true }), 30).state, 'COMPLETED');
  assert.equal(packedPointStatus('9+1', job('RUNNING'), pr(10, 13, 2, { marked: true }), 30).state, 'FAILED', 'failed on its own before the runner acted');
  const ended = packedPointStatus('9+1', job('TIMEOUT'), pr(10, null, null, { cancelled: 12, marked: true }), 30);
  assert.deepEqual([ended.state, ended.reason], ['CANCELLED', 'cancelled by rx cancel; its pack job 9 ended TIMEOUT before it recorded its end']);
  assert.equal(packedPointStatus('9+1', job('RUNNING'), pr(10, null, null), 30).reason, null);
});

test('cancel script: marks each point once (a rerun keeps the marker), fails for a run dir that is gone, runs the whole-job cancel, waits for running marked points to end', async () => {
  const { dirs } = await packDir(3, '#!/bin/bash\n');
  await writeFile(join(dirs[1]!, '.rx/status-7+1'), 'start 100\n');
  const points = [{ key: 'a', dir: dirs[0]!, jobId: '7+0' }, { key: 'b', dir: dirs[1]!, jobId: '7+1' }, { key: 'c', dir: join(dirs[2]!, 'gone'), jobId: '7+2' }];
  const t0 = Date.now();
  const first = await run(['bash', '-s'], { input: cancelPointsScript(points, 'echo WHOLE 8\nexit 3\n', 1) });
  assert.ok(Date.now() - t0 >= 900, 'it waited for point b, which started and has not ended');
  assert.deepEqual([...parseCancelMarks(first.stdout)], ['a', 'b']);
  assert.match(first.stdout, /^RXCMARK c fail$/m);
  assert.match(first.stdout, /^WHOLE 8$/m);
  assert.equal(first.exitCode, 0);
  const marker = await readFile(join(dirs[0]!, '.rx/cancel-7+0'), 'utf8');
  assert.match(marker, /^\d+\n$/);
  await writeFile(join(dirs[1]!, '.rx/status-7+1'), 'start 100\ncancelled 101\nend 102 143\n');
  await new Promise(r => setTimeout(r, 1100));
  const t1 = Date.now();
  const again = await run(['bash', '-s'], { input: cancelPointsScript(points.slice(0, 2), null, 5) });
  assert.ok(Date.now() - t1 < 3000, 'nothing left running: no wait');
  assert.deepEqual([...parseCancelMarks(again.stdout)], ['a', 'b']);
  assert.equal(await readFile(join(dirs[0]!, '.rx/cancel-7+0'), 'utf8'), marker, 'the marker of the first run is kept');
  const runs = parsePointRuns((await run(['bash', '-s'], { input: pointRunsScript([{ key: 'a', dir: dirs[0]!, jobId: '7+0' }, { key: 'c', dir: dirs[2]!, jobId: '7+2' }]) })).stdout);
  assert.deepEqual([...runs], [['a', { start: null, end: null, status: null, cancelled: null, marked: true }]]);
});

const point = (key: string, jobId: string, dir = `/r/${key}`): PointRecord => ({ key, params: {}, varied: {}, hash: key, base: 'b', repeat: 0, dir, jobs: [{ jobId, attempt: 1, at: '', scheduler: 'slurm' }], errors: [], plannedAt: '' });

test('cancel plan: a pack job is cancelled whole only when every live point of it is chosen; otherwise its chosen points are marked', () => {
  const live = [point('1', '10+0'), point('2', '10+1'), point('3', '10+2'), point('4', '11_2+0'), point('5', '11_2+1'), point('6', '12')];
  const by = (keys: string[]) => live.filter(p => keys.includes(p.key));
  const plan = (keys: string[]) => { const r = cancelPlan(live, by(keys)); return { jobs: r.jobs.sort(), points: r.points.map(p => p.key) }; };
  assert.deepEqual(plan(['2']), { jobs: [], points: ['2'] });
  assert.deepEqual(plan(['1', '2', '3']), { jobs: ['10'], points: [] });
  assert.deepEqual(plan(['2', '3', '4', '5', '6']), { jobs: ['11_2', '12'], points: ['2', '3'] });
  // A point that already ended is not live: the others of its pack are all there is.
  assert.deepEqual(cancelPlan(live.filter(p => p.key !== '1'), by(['2', '3'])).jobs, ['10']);
});

test('pack names, ids and parsers', () => {
  assert.equal(packName([{ dir: 'a', attempt: 1 }]), packName([{ dir: 'a', attempt: 1 }]));
  assert.notEqual(packName([{ dir: 'a', attempt: 1 }]), packName([{ dir: 'a', attempt: 2 }]));
  assert.notEqual(packName([{ dir: 'a', attempt: 1 }, { dir: 'b', attempt: 1 }]), packName([{ dir: 'ab', attempt: 1 }]));
  assert.equal(jobOf('12_3+4'), '12_3');
  assert.equal(jobOf('12'), '12');
  assert.equal(runnerName('sub/run.sbatch'), 'run.sbatch');
  const m = parseMarkers('RXMARK 1 pack:p.0123abcd 2\nRXMARK 2 77_1\nRXMARK 3 garbage\n');
  assert.deepEqual([...m], [['1', { pack: 'p.0123abcd', slot: 2 }], ['2', { jobId: '77_1' }]]);
  assert.deepEqual(parsePackMarker('pack:p.0a 3'), { pack: 'p.0a', slot: 3 });
  assert.equal(parsePackMarker('77_1'), null);
  assert.deepEqual([...parsePacks('RXPACK p.ab 4 5 6\nRXERR 7 x\nRXPACK p.cd 8\n')], [['p.ab', ['4', '5', '6']], ['p.cd', ['8']]]);
});

// Captured from the test cluster (sacctmgr 23.x, squeue) as rxcluster.
const LIMITS = `@@RXL assoc
||
@@RXL qos
normal||
rxlimit|5|
rxgrp||4
@@RXL jobs
rxlimit
rxlimit
normal
@@RXL end
`;

test('submit budget from sacctmgr/squeue output: the tightest limit of the association and the QOS used', () => {
  assert.deepEqual(parseBudget(LIMITS, null), { jobs: Infinity, why: null });
  assert.deepEqual(parseBudget(LIMITS, 'rxlimit'), { jobs: 3, why: 'MaxSubmitJobsPerUser=5 of QOS rxlimit (2 of your jobs in it already queued)' });
  assert.equal(parseBudget(LIMITS, 'rxgrp').jobs, 4);
  const assoc = LIMITS.replace('@@RXL assoc\n||\n', '@@RXL assoc\n10||rxlimit\n');
  assert.deepEqual(parseBudget(assoc, null).jobs, 3, 'the default QOS of the association applies');
  assert.equal(parseBudget(LIMITS.replace('@@RXL assoc\n||\n', '@@RXL assoc\n2||\n'), null).jobs, 0, 'never negative');
  assert.equal(parseBudget('', null).jobs, Infinity, 'unreadable: no limit known');
  assert.equal(qosOf(['--time=1', '--qos=a', '-q', 'b']), 'b');
  assert.equal(qosOf(['--qos', 'c']), 'c');
  assert.equal(qosOf([]), null);
  assert.ok(limitRefusal('sbatch: error: QOSMaxSubmitJobPerUserLimit'));
  assert.ok(limitRefusal("sbatch: error: Batch job submission failed: Job violates accounting/QOS policy (job submit limit, user's size and/or time limits)"));
  assert.ok(limitRefusal('sbatch: error: AssocMaxSubmitJobLimit'));
  assert.ok(!limitRefusal('sbatch: error: Batch job submission failed: Invalid qos specification'));
});

test('rx cancel selectors: a job id names its own point, its pack job names every member, an array job every task', async () => {
  const { namesJob } = await import('../../src/commands/cancel.ts');
  assert.ok(namesJob('123_4+2', '123_4+2'));
  assert.ok(namesJob('123_4', '123_4+2') && namesJob('123', '123_4+2') && namesJob('123', '123_4') && namesJob('77', '77'));
  assert.ok(!namesJob('123_4+1', '123_4+2') && !namesJob('123_5', '123_4') && !namesJob('12', '123_4') && !namesJob('1234', '123_4'));
});
