// The remote script builders go through sh`…`: hostile values make valid bash, missing values throw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../../src/proc.ts';
import { createDirsScript } from '../../src/remote/scripts.ts';
import { slurm } from '../../src/remote/scheduler/slurm.ts';
import { shellScheduler } from '../../src/remote/scheduler/shell.ts';
import type { JobSpec } from '../../src/remote/scheduler/types.ts';

const nasty = "it's $(touch /tmp/rx-pwned) `id` \"q\" a\nb ~ -n";
const specs: JobSpec[] = [
  { key: 'k1', dir: `~/runs/${nasty}`, script: 'run.sbatch', args: [] },
  { key: "k'2", dir: `/abs/${nasty}`, script: `-${nasty}`, args: ['--mem=1G', nasty, ''], attempt: 2 },
];
const shell = shellScheduler({ queueDir: `~/q ${nasty}` });
const dirs = (fetchUrl: string | null) => createDirsScript({
  repo: `~/${nasty}`, fetchUrl, sweep: nasty, stateDir: `~/.rx/${nasty}`, script: nasty,
  dirs: [{ key: nasty, sha: 'abc', dir: `~/r/${nasty}` }], branches: [`refs/heads/rx/${nasty}`],
});

test('scripts built from hostile values are valid bash (bash -n, one run)', async () => {
  const scripts = [
    dirs(null), dirs(`ssh://h/${nasty}.git`),
    slurm.submitScript(specs, `~/${nasty}`), slurm.statusScript(['1', '2_3']), slurm.cancelScript(['1']),
    shell.submitScript(specs, `~/${nasty}`), shell.statusScript(['1']), shell.cancelScript(['1']),
  ];
  // Each script as a function body: one syntax check for all of them.
  const all = scripts.map((s, i) => `rx_script_${i}() {\n${s}\n}`).join('\n');
  const r = await run(['bash', '-n'], { input: all, allowFailure: true });
  assert.equal(r.exitCode, 0, r.stderr);
});

test('a missing value is refused when the script is built, not sent as text', () => {
  const undef = undefined as unknown as string;
  assert.throws(() => slurm.submitScript([{ key: 'k', dir: 'd', script: 's', args: [undef] }], '/st'), /refusing to interpolate undefined/);
  assert.throws(() => shell.submitScript([{ key: 'k', dir: 'd', script: 's', args: ['ok', undef] }], '/st'), /refusing to interpolate undefined/);
  assert.throws(() => shell.submitScript([{ key: 'k', dir: undef, script: 's', args: [] }], '/st'), /sh\.path/);
  assert.throws(() => shell.submitScript([], undef), /sh\.path/);
  assert.throws(() => createDirsScript({ repo: '/r', fetchUrl: null, sweep: 's', stateDir: '/st', script: undef, dirs: [], branches: [] }), /refusing to interpolate undefined/);
  assert.throws(() => createDirsScript({ repo: '/r', fetchUrl: null, sweep: 's', stateDir: '/st', script: 's', dirs: [{ key: 'k', sha: undef, dir: 'd' }], branches: [] }), /refusing to interpolate undefined/);
});
