// The one-line failure reason (src/results/reason.ts) from job states and real-looking log tails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { lastErrorLine, runReason } from '../../src/results/reason.ts';

// Tails as Slurm, the kernel's OOM killer, glibc/bash and MESA write them.
const TIME_LIMIT = [
  ' step     500   3.8732E+00   1.2345E+04   2.3456E+00',
  'slurmstepd: error: *** JOB 12 ON n1 CANCELLED AT 2024-03-05T14:07:31 DUE TO TIME LIMIT ***',
  '',
].join('\n');
const OOM = [
  'loading eos tables',
  'slurmstepd: error: Detected 1 oom-kill event(s) in StepId=4711.batch. Some of your processes may have been killed by the cgroup out-of-memory handler.',
  '',
].join('\n');
const SEGFAULT = [
  'Program received signal SIGSEGV: Segmentation fault - invalid memory reference.',
  '',
  'Backtrace for this error:',
  '#0  0x7f3c1d2a3b4c in ???',
  '/var/spool/slurmd/job00077/slurm_script: line 9: 81234 Segmentation fault      (core dumped) ./star',
  '',
].join('\n');
const MESA_MAX_AGE = [
  '      save LOGS/profile3.data for model 812',
  ' stop because star_age >= max_age',
  '',
  'termination code: max_age',
  '',
  'Total run time: 1.234E+02 s',
  '',
].join('\n');
const CANCELLED_BY_USER = 'slurmstepd: error: *** JOB 91 ON localhost CANCELLED AT 2026-01-02T03:04:05 ***\n';
const PYTHON = [
  'Traceback (most recent call last):',
  '  File "run.py", line 3, in <module>',
  '    raise ValueError("negative mass")',
  'ValueError: negative mass',
  '',
].join('\n');

test('Slurm time limit: from the log line, and from the state alone', () => {
  assert.equal(runReason({ state: 'TIMEOUT', exitCode: 0 }, TIME_LIMIT), 'TIME LIMIT');
  assert.equal(runReason({ state: 'TIMEOUT', exitCode: 0 }, null), 'TIME LIMIT');
  // The log says it even when accounting has not caught up (state still RUNNING/UNKNOWN).
  assert.equal(runReason({ state: 'UNKNOWN', exitCode: null }, TIME_LIMIT), 'TIME LIMIT');
});

test('out of memory: the oom-kill event, and the state OUT_OF_MEMORY', () => {
  assert.equal(runReason({ state: 'OUT_OF_MEMORY', exitCode: 0 }, OOM), 'OUT_OF_MEMORY');
  assert.equal(runReason({ state: 'OUT_OF_MEMORY', exitCode: 0 }, null), 'OUT_OF_MEMORY');
  assert.equal(runReason({ state: 'FAILED', exitCode: 137 }, OOM), 'OUT_OF_MEMORY; killed by signal 9 (SIGKILL)');
});

test('segmentation fault from the backtrace and bash\'s report', () => {
  assert.equal(runReason({ state: 'FAILED', exitCode: 139 }, SEGFAULT), 'segmentation fault');
  // No log: the exit status 128+11 still says it.
  assert.equal(runReason({ state: 'FAILED', exitCode: 139 }, null), 'killed by signal 11 (SIGSEGV (segmentation fault))');
  assert.equal(runReason({ state: 'FAILED', exitCode: 0, signal: 9 }, null), 'killed by signal 9 (SIGKILL)');
});

test('MESA termination code, on a completed run and on a failed one', () => {
  assert.equal(runReason({ state: 'COMPLETED', exitCode: 0 }, MESA_MAX_AGE), 'MESA termination code: max_age');
  assert.equal(runReason({ state: 'FAILED', exitCode: 1 }, MESA_MAX_AGE), 'MESA termination code: max_age; exit code 1');
});

test('cancelled by a user, and a plain failure with an error line', () => {
  assert.equal(runReason({ state: 'CANCELLED', exitCode: 0 }, CANCELLED_BY_USER), 'cancelled');
  assert.equal(runReason({ state: 'FAILED', exitCode: 1 }, PYTHON), 'exit code 1; ValueError: negative mass');
  assert.equal(runReason({ state: 'FAILED', exitCode: 3 }, 'step 1\nboom: input deck broken\n\n'), 'exit code 3; boom: input deck broken');
  assert.equal(runReason({ state: 'FAILED', exitCode: 3 }, ''), 'exit code 3');
  assert.equal(runReason({ state: 'NODE_FAIL', exitCode: null }, null), 'NODE_FAIL');
});

test('nothing to say about a run that completed normally', () => {
  assert.equal(runReason({ state: 'COMPLETED', exitCode: 0 }, 'all fine\n'), null);
  assert.equal(runReason({ state: 'RUNNING', exitCode: null }, 'step 3\n'), null);
});

test('lastErrorLine: the last error-looking line, carriage returns resolved, shortened', () => {
  assert.equal(lastErrorLine('ok\nerror: first\nprogress 10%\rprogress 100%\nfatal: second\ndone\n'), 'fatal: second');
  assert.equal(lastErrorLine('first\nlast words\n\n'), 'last words');
  assert.equal(lastErrorLine('\n \n'), null);
  assert.ok(lastErrorLine(`error: ${'x'.repeat(500)}`)!.length <= 160);
});

test('property: a reason is one line, and never invented for a clean COMPLETED run', () => {
  fc.assert(fc.property(fc.string(), fc.constantFrom('COMPLETED', 'FAILED', 'TIMEOUT', 'RUNNING'), fc.option(fc.integer({ min: 0, max: 255 })), (tail, state, exitCode) => {
    const r = runReason({ state, exitCode }, tail);
    if (r !== null) assert.ok(!r.includes('\n'));
    if (state === 'COMPLETED' && (exitCode === 0 || exitCode === null) && !/termination code:/.test(tail)) {
      assert.ok(r === null || /TIME LIMIT|OUT_OF_MEMORY|cancelled|PREEMPTION|NODE FAILURE/.test(r), r ?? '');
    }
  }));
});
