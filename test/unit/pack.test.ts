// Pure parts of packing and submit limits: the pack runner run by real bash (output names expanded
// as Slurm does, per-point status files, parallelism), per-point states from a pack job's state,
// the marker/pack/limit parsers on captured output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { run } from '../../src/proc.ts';
import { jobOf, packName, packRunner, packedPointStatus, parseMarkers, parsePacks, parsePointRuns, runnerName } from '../../src/remote/scheduler/pack.ts';
import { limitRefusal, parseBudget, qosOf } from '../../src/remote/scheduler/slurm-limits.ts';
import type { JobStatus } from '../../src/remote/scheduler/types.ts';

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
  assert.deepEqual(runs.get('1'), { start: 100, end: 105, status: 7 });
  assert.deepEqual(runs.get('2'), { start: 100, end: null, status: null });
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

test('packed point state: own exit status wins; an unfinished point of a finished job takes its end, never COMPLETED', () => {
  assert.equal(packedPointStatus('9+0', job('RUNNING'), { start: 10, end: 20, status: 0 }, 30).state, 'COMPLETED');
  const failed = packedPointStatus('9+1', job('COMPLETED'), { start: 10, end: 20, status: 3 }, 30);
  assert.deepEqual([failed.state, failed.exitCode, failed.elapsedSeconds, failed.start], ['FAILED', 3, 10, '1970-01-01T00:00:10Z']);
  assert.deepEqual([packedPointStatus('9+1', job('COMPLETED'), { start: 10, end: 20, status: 137 }, 30)].map(s => [s.state, s.signal]), [['FAILED', 9]]);
  assert.equal(packedPointStatus('9+2', job('TIMEOUT'), { start: 10, end: null, status: null }, 30).state, 'TIMEOUT');
  assert.equal(packedPointStatus('9+3', job('TIMEOUT'), undefined, 30).state, 'TIMEOUT');
  assert.equal(packedPointStatus('9+3', job('COMPLETED'), undefined, 30).state, 'UNKNOWN');
  assert.equal(packedPointStatus('9+2', job('RUNNING'), { start: 10, end: null, status: null }, 30).elapsedSeconds, 20);
  assert.equal(packedPointStatus('9+3', job('RUNNING'), undefined, 30).state, 'PENDING');
  assert.equal(packedPointStatus('9+3', job('PENDING', { reason: 'Priority' }), undefined, 30).reason, 'Priority');
  assert.equal(packedPointStatus('9+3', undefined, undefined, 30).state, 'UNKNOWN');
  fc.assert(fc.property(
    fc.constantFrom<JobStatus['state']>('PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY'),
    fc.option(fc.record({ start: fc.option(fc.nat(), { nil: null }), end: fc.constant(null), status: fc.constant(null) }), { nil: undefined }),
    (st, run) => packedPointStatus('9+0', job(st), run, 100).state !== 'COMPLETED',
  ));
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
