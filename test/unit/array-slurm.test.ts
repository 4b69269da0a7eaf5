// Slurm job arrays: the array script builder and option finder, the parsers (on output captured
// from the real test cluster, Slurm 22.05), and the generated submit bash run against a fake sbatch
// with hostile run dirs: one array per group, markers of all tasks before any RXJOB line, idempotent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, readlink, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/proc.ts';
import { ConfigError } from '../../src/errors.ts';
import { arrayPlan, directiveWords, expandArrayId, findOptions, parseBatchScript, parseMaxArraySize } from '../../src/remote/scheduler/slurm-array.ts';
import { chunked } from '../../src/chunked.ts';
import { markerName, slurm } from '../../src/remote/scheduler/slurm.ts';
import { parseSubmitLine, type ArrayJob, type JobSpec } from '../../src/remote/scheduler/types.ts';
import { validateRemote } from '../../src/remote/config.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/slurm/${name}`, import.meta.url), 'utf8');

// ---------------------------------------------------------------------------------------------
// pure

test('parseBatchScript: shebang, header up to the first command, #SBATCH words', () => {
  const b = parseBatchScript('#!/usr/bin/env -S python3 -u\n#SBATCH -o "out %j.txt" --time=5 # a comment\n\n# plain comment\n#SBATCH -e err\nimport os\n#SBATCH --array=1-3\n');
  assert.deepEqual(b.interpreter, ['/usr/bin/env', '-S python3 -u']);
  assert.deepEqual(b.header, ['#SBATCH -o "out %j.txt" --time=5 # a comment', '', '# plain comment', '#SBATCH -e err']);
  assert.deepEqual(b.directives, ['-o', 'out %j.txt', '--time=5', '-e', 'err']);
  assert.equal(parseBatchScript('echo hi\n').interpreter, null);
  assert.deepEqual(directiveWords(`a 'b c' "d"e #f`), ['a', 'b c', 'de']);
});

test('findOptions: short, attached, long, long with a space, unambiguous prefixes', () => {
  assert.deepEqual(findOptions(['-o', 'a', '-ob', '--output=c', '--output', 'd', '--out=e', '-e', 'x', '--err=y', '-D', '/d', '--chdir=/e', '-a', '1-3', '--time=5', '-J', 'n']).map(o => `${o.opt}:${o.value}`),
    ['output:a', 'output:b', 'output:c', 'output:d', 'output:e', 'error:x', 'error:y', 'chdir:/d', 'chdir:/e', 'array:1-3']);
});

test('arrayPlan: output names inside each run dir (default slurm-%A_%a.out), the command line wins, and what an array cannot do', () => {
  const script = '#!/bin/bash\n#SBATCH --time=5\n#SBATCH -o my-%x-%j.out\necho hi\n';
  const p = arrayPlan(script, 'run.sbatch', []);
  assert.ok('script' in p);
  assert.deepEqual(p.args, ['--output=t/%a/my-%x-%j.out']);
  assert.match(p.script, /^#!\/bin\/bash\n#SBATCH --time=5\n#SBATCH -o my-%x-%j.out\n/);
  assert.match(p.script, /cd -P -- "t\/\$SLURM_ARRAY_TASK_ID"/);
  assert.match(p.script, /export SLURM_SUBMIT_DIR=\$PWD\nexec \/bin\/bash run\.sbatch\n$/);
  const d = arrayPlan('#!/bin/sh\necho\n', 'jobs/run.sbatch', ['-e', '/abs/err-%A.txt']);
  assert.ok('script' in d);
  assert.deepEqual(d.args, ['--output=t/%a/slurm-%A_%a.out', '--error=/abs/err-%A.txt']);
  assert.match(d.script, /exec \/bin\/sh jobs\/run\.sbatch\n$/);
  const o = arrayPlan(script, 'run.sbatch', ['--output=cli.out']);
  assert.ok('args' in o && o.args[0] === '--output=t/%a/cli.out');
  for (const [text, args] of [
    ['echo no shebang\n', []],
    ['#!/bin/bash\n#SBATCH --array=1-4\n', []],
    ['#!/bin/bash\n#SBATCH -D /elsewhere\n', []],
    ['#!/bin/bash\n', ['--chdir=/x']],
    ['#!/bin/bash\n#SBATCH -i in.txt\n', []],
    ['#!/bin/bash\n#SBATCH -o a\\\\b\n', []],
  ] as [string, string[]][]) assert.ok('reason' in arrayPlan(text, 'run.sbatch', args), text);
  // Hostile script names stay one word.
  const h = arrayPlan('#!/bin/bash\n', "it's $(x).sbatch", []);
  assert.ok('script' in h && h.script.includes(`exec /bin/bash 'it'\\''s $(x).sbatch'`));
});

test('parseMaxArraySize (real scontrol show config line), chunked, expandArrayId', () => {
  assert.equal(parseMaxArraySize('MaxArraySize            = 100001\n'), 100001);
  assert.equal(parseMaxArraySize('MaxJobCount = 10000\n'), null);
  assert.deepEqual(chunked([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
  assert.deepEqual(expandArrayId('12_[1-3%1]'), ['12_[1-3%1]', '12_1', '12_2', '12_3']);
  assert.deepEqual(expandArrayId('12_[0,4-5]'), ['12_[0,4-5]', '12_0', '12_4', '12_5']);
  assert.deepEqual(expandArrayId('12_7'), ['12_7']);
});

test('real: status of array tasks (squeue -r, sacct per task; a throttled array pending)', () => {
  const m = slurm.parseStatus(fixture('status-array.txt'));
  assert.equal(m.get('1838_0')?.state, 'COMPLETED');
  assert.equal(m.get('1838_1')?.state, 'FAILED');
  assert.equal(m.get('1838_1')?.exitCode, 3);
  assert.equal(m.get('1838_2')?.state, 'RUNNING');
  assert.equal(m.get('1854_0')?.state, 'RUNNING');
  for (const t of ['1854_1', '1854_2', '1854_3']) {
    assert.equal(m.get(t)?.state, 'PENDING');
    assert.equal(m.get(t)?.reason, 'JobArrayTaskLimit');
  }
  // Without -r squeue folds pending tasks: each is still found.
  const c = slurm.parseStatus(fixture('status-array-collapsed.txt'));
  assert.deepEqual(['1854_0', '1854_1', '1854_2', '1854_3'].map(t => c.get(t)?.state), ['RUNNING', 'PENDING', 'PENDING', 'PENDING']);
});

test('real: a held array cancelled before any task started is one record under the array id: each task is CANCELLED', () => {
  const m = slurm.parseStatus(fixture('status-array-cancelled-pending.txt'));
  for (const t of ['2142_0', '2142_1', '2142_2']) assert.deepEqual([m.get(t)?.jobId, m.get(t)?.state], [t, 'CANCELLED']);
  // Without the asked tasks listed, nothing is made up.
  assert.equal(slurm.parseStatus(fixture('status-array-cancelled-pending.txt').replace(/^@@RX tasks.*\n/, '')).has('2142_0'), false);
});

test('statusScript: array tasks are asked about through their array (one squeue -r, one sacct)', () => {
  const s = slurm.statusScript(['5_0', '5_1', '5_2', '7', '9_0']);
  assert.match(s, /rx_sq 5,7,9\n/);
  assert.match(s, /rx_sa 5,7,9\n/);
  assert.match(s, /squeue -h -r /);
});

test('remote.array option', () => {
  const base = { host: 'c', repo: 'r', output: 'o' };
  assert.equal(validateRemote({ ...base, array: false }).array, false);
  assert.deepEqual(validateRemote({ ...base, array: { maxSize: 10, throttle: 2 } }).array, { maxSize: 10, throttle: 2 });
  assert.throws(() => validateRemote({ ...base, array: { maxSize: 0 } }), ConfigError);
  assert.throws(() => validateRemote({ ...base, array: { size: 3 } }), /array\.size: unknown option/);
  assert.throws(() => validateRemote({ ...base, array: 'yes' }), ConfigError);
});

// ---------------------------------------------------------------------------------------------
// the generated bash, against a fake sbatch

const FAKE_SBATCH = String.raw`
sbatch() {
  { printf 'CALL\0%s\0' "$PWD"; printf '%s\0' "$@"; } >>"$RX_FAKE_LOG"
  [ -z "$RX_FAKE_FAIL" ] || { echo "sbatch: error: QOSMaxSubmitJobPerUserLimit" >&2; return 1; }
  local n
  n=$(cat "$RX_FAKE_CNT" 2>/dev/null || echo 500)
  n=$((n + 1))
  echo "$n" >"$RX_FAKE_CNT"
  echo "$n;rxtest"
}
`;

async function sandbox() {
  const root = await realpath(await mkdtemp(join(tmpdir(), 'rx-array-unit-')));
  const home = join(root, 'home');
  await mkdir(home);
  const log = join(root, 'sbatch.log');
  const env = { PATH: process.env.PATH, HOME: home, LC_ALL: 'C.UTF-8', RX_FAKE_LOG: log, RX_FAKE_CNT: join(root, 'counter') };
  const bash = (script: string, extra: NodeJS.ProcessEnv = {}) => run(['bash', '-s'], { input: script, cwd: home, env: { ...env, ...extra } });
  const calls = async () => {
    if (!existsSync(log)) return [];
    const parts = (await readFile(log, 'utf8')).split('\0');
    parts.pop();
    const out: { cwd: string; args: string[] }[] = [];
    for (let i = 0; i < parts.length; i++) {
      if (parts[i] === 'CALL') { out.push({ cwd: parts[++i]!, args: [] }); } else out.at(-1)!.args.push(parts[i]!);
    }
    return out;
  };
  return { root, home, bash, calls, cleanup: () => rm(root, { recursive: true, force: true }) };
}

const NAMES = ["it's", '$(touch pwned)', 'a;b && touch pwned', 'ünïcødé ☃', '-dash', ' spaced  out ', 'back\\slash'];

function ids(stdout: string): [string, string][] {
  return stdout.split('\n').flatMap(l => { const p = parseSubmitLine(l); return p && 'jobId' in p ? [[p.key, p.jobId] as [string, string]] : []; });
}

test('submitScript with arrays: one sbatch per array from its own directory, links to the run dirs, markers first, idempotent', async () => {
  const sb = await sandbox();
  try {
    const specs: JobSpec[] = [];
    for (const [i, name] of NAMES.entries()) {
      await mkdir(join(sb.root, 'runs', name), { recursive: true });
      specs.push({ key: String(i), dir: join(sb.root, 'runs', name), script: 'run.sbatch', args: ['-J', "x'y", '--time=5'] });
    }
    const plan = arrayPlan('#!/bin/bash\n#SBATCH -o o-%a\necho\n', 'run.sbatch', []);
    assert.ok('script' in plan);
    const arrays: ArrayJob[] = [{ specs: specs.slice(0, 4), ...plan, throttle: 2 }, { specs: specs.slice(4), ...plan }];
    const state = join(sb.root, 'state');
    const script = slurm.submitScript([], state, arrays);
    const first = await sb.bash(FAKE_SBATCH + script);
    assert.deepEqual(ids(first.stdout), [['0', '501_0'], ['1', '501_1'], ['2', '501_2'], ['3', '501_3'], ['4', '502_0'], ['5', '502_1'], ['6', '502_2']]);
    const calls = await sb.calls();
    assert.equal(calls.length, 2);
    assert.deepEqual(calls[0]!.args, ['--parsable', '--array=0-3%2', '-J', "x'y", '--time=5', '--output=t/%a/o-%a', 'run.sbatch']);
    assert.deepEqual(calls[1]!.args.slice(0, 2), ['--parsable', '--array=0-2']);
    assert.ok(calls[0]!.cwd.startsWith(join(state, 'arrays') + '/'));
    // The array's directory: the script as built, the run dirs in task order, t/<task> → run dir, the id.
    assert.equal(await readFile(join(calls[0]!.cwd, 'run.sbatch'), 'utf8'), plan.script);
    assert.deepEqual((await readFile(join(calls[0]!.cwd, 'dirs'), 'utf8')).split('\n').slice(0, -1), specs.slice(0, 4).map(s => s.dir));
    for (let i = 0; i < 4; i++) assert.equal(await readlink(join(calls[0]!.cwd, 't', String(i))), specs[i]!.dir);
    assert.equal((await readFile(join(calls[0]!.cwd, 'jobid'), 'utf8')).trim(), '501');
    for (const [i, s] of specs.entries()) assert.equal((await readFile(join(state, markerName(s.dir)), 'utf8')).trim(), i < 4 ? `501_${i}` : `502_${i - 4}`);
    assert.equal(existsSync(join(sb.home, 'pwned')), false);
    // Again: nothing is submitted, the same ids come back.
    const again = await sb.bash(FAKE_SBATCH + script);
    assert.deepEqual(ids(again.stdout), ids(first.stdout));
    assert.equal((await sb.calls()).length, 2);
    // The array script run as task 2 of the first array: cwd and SLURM_SUBMIT_DIR = its run dir, its script exec'd.
    await writeFile(join(specs[2]!.dir, 'run.sbatch'), '#!/bin/bash\nprintf "%s|%s|%s\\n" "$PWD" "$SLURM_SUBMIT_DIR" "$0"\n');
    const task = await run(['bash', 'run.sbatch'], { cwd: calls[0]!.cwd, env: { PATH: process.env.PATH, SLURM_ARRAY_TASK_ID: '2', SLURM_SUBMIT_DIR: calls[0]!.cwd } });
    assert.equal(task.stdout, `${specs[2]!.dir}|${specs[2]!.dir}|run.sbatch\n`);
  } finally {
    await sb.cleanup();
  }
});

test('submitScript with arrays: a task with a marker is left out; sbatch refusing → RXERR for each task, no marker; a missing run dir → its RXERR only', async () => {
  const sb = await sandbox();
  try {
    const specs: JobSpec[] = [];
    for (const i of [0, 1, 2]) {
      await mkdir(join(sb.root, 'runs', `d${i}`), { recursive: true });
      specs.push({ key: String(i), dir: join(sb.root, 'runs', `d${i}`), script: 'run.sbatch', args: [], attempt: 2 });
    }
    specs.push({ key: '3', dir: join(sb.root, 'runs', 'gone'), script: 'run.sbatch', args: [], attempt: 2 });
    const state = join(sb.root, 'state');
    await mkdir(state);
    await writeFile(join(state, slurm.markerName(specs[1]!.dir, 2)), '77_4\n');
    const plan = arrayPlan('#!/bin/bash\n', 'run.sbatch', []);
    assert.ok('script' in plan);
    const script = slurm.submitScript([], state, [{ specs, ...plan }]);
    const failed = await sb.bash(FAKE_SBATCH + script, { RX_FAKE_FAIL: '1' });
    const lines = failed.stdout.split('\n').map(l => parseSubmitLine(l)).filter(Boolean);
    assert.deepEqual(lines.map(l => [l!.key, 'jobId' in l! ? l.jobId : 'ERR']).sort(), [['0', 'ERR'], ['1', '77_4'], ['2', 'ERR'], ['3', 'ERR']]);
    assert.match(failed.stdout, /RXERR 0 sbatch: error: QOSMaxSubmitJobPerUserLimit/);
    assert.match(failed.stdout, /RXERR 3 cannot enter the run directory/);
    assert.equal(existsSync(join(state, slurm.markerName(specs[0]!.dir, 2))), false);
    const ok = await sb.bash(FAKE_SBATCH + script);
    assert.deepEqual(ids(ok.stdout).sort(), [['0', '501_0'], ['1', '77_4'], ['2', '501_1']]);
    const calls = await sb.calls();
    assert.equal(calls.at(-1)!.args[1], '--array=0-1');
    assert.equal((await readdir(join(state, 'arrays'))).length, 2);
  } finally {
    await sb.cleanup();
  }
});
