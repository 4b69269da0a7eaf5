// Where a run's Slurm output is (src/remote/logs.ts): Slurm's % patterns as globs, #SBATCH -o/-e
// and sbatchArgs, and the tail script run by a real bash on real files (hostile names included).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { logsScript, outputGlob, outputSpec, parseLogs, type LogQuery } from '../../src/remote/logs.ts';
import { run } from '../../src/proc.ts';

test('outputGlob: known fields filled in, unknown ones a wildcard, literals escaped', () => {
  assert.equal(outputGlob('slurm-%j.out', '4711', 'run.sbatch'), 'slurm-4711.out');
  assert.equal(outputGlob('slurm-%A_%a.out', '4711_3', 'run.sbatch'), 'slurm-4711_3.out');
  // An array task's own %j is not recorded.
  assert.equal(outputGlob('logs/%x-%j.err', '4711_3', 'deck'), 'logs/deck-*.err');
  assert.equal(outputGlob('%x.%u.%N.out', '12', 'job'), 'job.*.*.out');
  assert.equal(outputGlob('out-%8j-%%.txt', '12', 'x'), 'out-00000012-%.txt');
  assert.equal(outputGlob('job-%a.out', '12', 'x'), 'job-4294967294.out');
  assert.equal(outputGlob('a*b?[c].%j', '5', 'x'), 'a[*]b[?][[]c].5');
  // A backslash turns expansion off in Slurm: the name is literal (without backslashes).
  assert.equal(outputGlob('my\\%j.out', '5', 'x'), 'my%j.out');
  // A run directory adopted without its job id.
  assert.equal(outputGlob('slurm-%A_%a.out', 'UNKNOWN', 'x'), 'slurm-*_*.out');
});

test('outputSpec: #SBATCH lines, then sbatchArgs (the command line wins); -e only when it differs', () => {
  const script = '#!/bin/bash\n#SBATCH --job-name=mesa\n#SBATCH -o run-%x-%j.log\n#SBATCH --error=run-%x-%j.log\necho\n#SBATCH -o ignored-after-code\n';
  assert.deepEqual(outputSpec(script, [], '99', 'slurm', 'run.sbatch'), { patterns: ['run-mesa-99.log'] });
  assert.deepEqual(outputSpec(script, ['--output=o.%j', '-e', 'e.%j'], '99', 'slurm', 'run.sbatch'), { patterns: ['o.99', 'e.99'] });
  assert.deepEqual(outputSpec('#!/bin/bash\n', [], '99_2', 'slurm', 'run.sbatch'), { patterns: ['slurm-99_2.out'] });
  assert.deepEqual(outputSpec(null, [], '99', 'slurm', 'sub/run.sbatch'), { patterns: ['slurm-99.out'] });
  assert.deepEqual(outputSpec('#!/bin/bash\n#SBATCH -J x\n#SBATCH -o %x.out\n', [], '1', 'slurm', 'run.sbatch'), { patterns: ['x.out'] });
  // A packed point: its own run dir, the same names expanded for its pack job; default slurm-<recorded id>.out.
  assert.deepEqual(outputSpec('#!/bin/bash\n', [], '99+3', 'slurm', 'run.sbatch'), { patterns: ['slurm-99+3.out'] });
  assert.deepEqual(outputSpec('#!/bin/bash\n', [], '99_2+3', 'slurm', 'run.sbatch'), { patterns: ['slurm-99_2+3.out'] });
  assert.deepEqual(outputSpec(script, [], '99_2+3', 'slurm', 'run.sbatch'), { patterns: ['run-mesa-*.log'] });
  assert.deepEqual(outputSpec('#!/bin/bash\n#SBATCH -o o-%A-%a.txt\n', [], '99+3', 'slurm', 'run.sbatch'), { patterns: ['o-99-4294967294.txt'] });
  assert.deepEqual(outputSpec('#!/bin/bash\n', [], '7+1', 'shell', 'run.sbatch'), { patterns: ['slurm-7+1.out'] });
  // The shell scheduler always writes slurm-<id>.out.
  assert.deepEqual(outputSpec(script, ['-o', 'x'], '7', 'shell', 'run.sbatch'), { patterns: ['slurm-7.out'] });
});

test('property: a name without % or glob characters is its own glob', () => {
  fc.assert(fc.property(fc.stringMatching(/^[A-Za-z0-9._/-]{1,30}$/), name => {
    assert.equal(outputGlob(name, '3', 'x'), name);
  }));
});

async function tailInBash(queries: LogQuery[], lines: number) {
  const r = await run(['bash', '-s'], { input: logsScript(queries, lines) });
  return parseLogs(r.stdout, queries);
}

test('the tail script in a real bash: newest match, last lines, any bytes, names that look like code', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rx-logs-'));
  try {
    const run1 = join(dir, "run 1 'q'");
    await mkdir(join(run1, 'logs'), { recursive: true });
    await writeFile(join(run1, 'logs', 'deck-100.err'), 'old\n');
    await writeFile(join(run1, 'logs', 'deck-200.err'), 'a\nb\nc\nboom: ünïcödé\n');
    await utimes(join(run1, 'logs', 'deck-100.err'), new Date(1000), new Date(1000));
    const hostile = '$(touch PWNED) *.out';
    await writeFile(join(run1, hostile), 'x\n');
    await writeFile(join(run1, 'slurm-7.out'), 'no newline at the end');
    const queries: LogQuery[] = [
      { key: '1', dir: run1, patterns: ['logs/deck-*.err', 'slurm-7.out', '$([*]) [*].out', 'missing-*.out'] },
      { key: '2', dir: join(dir, 'gone'), patterns: ['slurm-1.out'] },
    ];
    const got = await tailInBash(queries, 2);
    const r1 = got.get('1')!;
    assert.equal(r1.dirMissing, false);
    assert.deepEqual(r1.files.map(f => [f.pattern, f.path, f.text]), [
      ['logs/deck-*.err', 'logs/deck-200.err', 'c\nboom: ünïcödé\n'],
      ['slurm-7.out', 'slurm-7.out', 'no newline at the end'],
    ]);
    assert.equal(r1.files[0]!.size, Buffer.byteLength('a\nb\nc\nboom: ünïcödé\n'));
    // The hostile name is data: its glob (with bracketed literals) does not match it ([*] is a literal *), and nothing ran.
    assert.deepEqual(r1.notFound, ['$([*]) [*].out', 'missing-*.out']);
    assert.equal(got.get('2')!.dirMissing, true);
    const again = await tailInBash([{ key: '3', dir: run1, patterns: [outputGlobLiteral(hostile)] }], 5);
    assert.equal(again.get('3')!.files[0]!.path, hostile);
    assert.equal(existsSync(join(run1, 'PWNED')), false, 'nothing in a file name ran');
    assert.equal(existsSync(join(process.cwd(), 'PWNED')), false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** A literal file name as outputGlob would write it (no % fields). */
function outputGlobLiteral(name: string): string {
  return outputGlob(name.replace(/%/g, '%%'), '1', 'x');
}
