// rx logs / rx status --failed / rx show / rx diff end to end: on the real Slurm over ssh (job
// arrays, #SBATCH -o/-e names with %x/%j/%A/%a), and on the embedded default (shell scheduler).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gitdir } from '../helpers/gitdir.ts';
import { rx, rxJson, eventually } from '../helpers/rx.ts';
import { clusterSession } from '../helpers/cluster.ts';

type Row = { key: string; sha: string; jobId: string; state: string; exitCode: number | null; reason: string | null; params: Record<string, unknown>; dir: string };
type Logs = { key: string; state: string; exitCode: number | null; reason: string | null; files: { path: string; lines: string[] }[]; notFound: string[] };

/** A job that prints to stdout and, when fail = 1, an error to stderr and exits 3. */
const script = (header: string[]) => [
  '#!/bin/bash',
  ...header,
  'get() { awk -v k="$1" \'$1 == k { print $3 }\' config.inlist; }',
  'echo "step 1 of the run"',
  'if [ "$(get fail)" = 1 ]; then echo "boom: input deck broken at line 7" >&2; exit 3; fi',
  'echo "termination code: max_age"',
  '',
].join('\n');

async function submitAndWait(cwd: string, sweepFile: string, env: Record<string, string>): Promise<Row[]> {
  await rxJson(['submit', '--sweep', sweepFile], { cwd, env });
  return eventually('both jobs final', 120_000, async () => {
    const rows = await rxJson<Row[]>(['status'], { cwd, env });
    return rows.every(r => ['COMPLETED', 'FAILED'].includes(r.state)) ? rows : undefined;
  });
}

async function sweepFile(root: string, remote: Record<string, unknown>): Promise<string> {
  const f = join(root, 'logs-sweep.json');
  await writeFile(f, JSON.stringify({ name: 'logs', branch: 'main', dimensions: { fail: [0, 1] }, patcher: { type: 'mesa', file: 'config.inlist' }, remote }));
  return f;
}

test('slurm: rx logs shows the stderr of a failed array task by sha, job id and run dir; status --failed gives the reason', async t => {
  const s = await clusterSession(t, 'rx-logs');
  if (!s) return;
  const g = await gitdir(t, { origin: true, files: { 'config.inlist': '&controls\n  fail = 0\n/\n', 'run.sbatch': script([]) } });
  const rows = await submitAndWait(g.work, await sweepFile(g.root, s.remote()), s.env);
  const bad = rows.find(r => r.params.fail === 1)!;
  const good = rows.find(r => r.params.fail === 0)!;
  assert.match(bad.jobId, /^\d+_\d+$/, 'submitted as a job array');

  for (const what of [bad.sha.slice(0, 10), bad.jobId, bad.dir.split('/').pop()!]) {
    const l: Logs = await rxJson<Logs>(['logs', what], { cwd: g.work, env: s.env });
    assert.equal(l.key, bad.key, `rx logs ${what}`);
    assert.equal(l.files.length, 1);
    assert.equal(l.files[0]!.path, `slurm-${bad.jobId}.out`);
    assert.ok(l.files[0]!.lines.includes('boom: input deck broken at line 7'), l.files[0]!.lines.join('\n'));
    assert.equal(l.reason, 'exit code 3; boom: input deck broken at line 7');
  }
  const human = await rx(['logs', bad.sha.slice(0, 10), '--tail', '1'], { cwd: g.work, env: s.env });
  assert.match(human.stdout, /reason: exit code 3; boom: input deck broken/);
  assert.match(human.stdout, /==> slurm-\d+_\d+\.out .*last 1 line/);
  assert.doesNotMatch(human.stdout, /step 1 of the run/, '--tail 1 shows one line');

  const ok = await rxJson<Logs>(['logs', good.jobId], { cwd: g.work, env: s.env });
  assert.equal(ok.reason, 'MESA termination code: max_age');

  const failed = await rxJson<Row[]>(['status', '--failed'], { cwd: g.work, env: s.env });
  assert.deepEqual(failed.map(r => [r.key, r.state, r.reason]), [[bad.key, 'FAILED', 'exit code 3; boom: input deck broken at line 7']]);
  const text = await rx(['status', '--failed'], { cwd: g.work, env: s.env });
  assert.match(text.stdout, /REASON/);
  assert.match(text.stdout, /boom: input deck broken/);
  assert.doesNotMatch(text.stdout, new RegExp(`\\b${good.jobId}\\b`));

  const shown = await rxJson<{ key: string; reason: string; log: { path: string; lines: string[] }[] }>(['show', bad.jobId], { cwd: g.work, env: s.env });
  assert.equal(shown.key, bad.key);
  assert.ok(shown.log![0]!.lines.includes('boom: input deck broken at line 7'));

  const d = await rxJson<{ params: Record<string, unknown[]>; diff: string }>(['diff', good.jobId, bad.sha.slice(0, 8)], { cwd: g.work, env: s.env });
  assert.deepEqual(d.params, { fail: [0, 1] });
  assert.match(d.diff, /-\s*fail = 0/);
  assert.match(d.diff, /\+\s*fail = 1/);
});

test('slurm: #SBATCH -o/-e with %x, %j, %A and %a: rx logs finds both files', async t => {
  const s = await clusterSession(t, 'rx-logs-oe');
  if (!s) return;
  const header = ['#SBATCH --job-name=deck', '#SBATCH -o out-%x-%A_%a.txt', '#SBATCH --error=err-%j.txt'];
  const g = await gitdir(t, { origin: true, files: { 'config.inlist': '&controls\n  fail = 0\n/\n', 'run.sbatch': script(header) } });
  const rows = await submitAndWait(g.work, await sweepFile(g.root, s.remote()), s.env);
  const bad = rows.find(r => r.params.fail === 1)!;
  const l = await rxJson<Logs>(['logs', bad.jobId], { cwd: g.work, env: s.env });
  const [array, task] = bad.jobId.split('_');
  assert.deepEqual(l.files.map(f => f.path).sort((a, b) => a.localeCompare(b)), [`out-deck-${array}_${task}.txt`, l.files.find(f => f.path.startsWith('err-'))!.path].sort((a, b) => a.localeCompare(b)));
  // %j of an array task is its own numeric id (not recorded): found through the glob err-*.txt.
  assert.match(l.files.find(f => f.path.startsWith('err-'))!.path, /^err-\d+\.txt$/);
  assert.ok(l.files.some(f => f.lines.includes('boom: input deck broken at line 7')));
  assert.ok(l.files.some(f => f.lines.includes('step 1 of the run')));
  // --file: any file of the run directory, by glob.
  const cfg = await rxJson<Logs>(['logs', bad.jobId, '--file', '*.inlist'], { cwd: g.work, env: s.env });
  assert.equal(cfg.files[0]!.path, 'config.inlist');
  assert.ok(cfg.files[0]!.lines.some(x => /fail = 1/.test(x)));
});

test('slurm: a job over its time limit: TIMEOUT, and the reason TIME LIMIT from Slurm\'s own line in the output', async t => {
  const s = await clusterSession(t, 'rx-logs-time');
  if (!s) return;
  const g = await gitdir(t, { origin: true, files: { 'config.inlist': '&controls\n  fail = 0\n/\n', 'run.sbatch': '#!/bin/bash\necho "started"\nsleep 600\n' } });
  const f = join(g.root, 'time-sweep.json');
  await writeFile(f, JSON.stringify({ name: 'slow', branch: 'main', dimensions: { fail: [0] }, patcher: { type: 'mesa', file: 'config.inlist' }, remote: s.remote({ sbatchArgs: ['--time=1'] }) }));
  await rxJson(['submit', '--sweep', f], { cwd: g.work, env: s.env });
  const [row] = await eventually('the job timed out', 240_000, async () => {
    const rows = await rxJson<Row[]>(['status'], { cwd: g.work, env: s.env });
    return rows.every(r => r.state === 'TIMEOUT') ? rows : undefined;
  });
  const l = await rxJson<Logs>(['logs', row!.jobId], { cwd: g.work, env: s.env });
  assert.ok(l.files[0]!.lines.some(x => /\*\*\* JOB \d+ ON \S+ CANCELLED AT \S+ DUE TO TIME LIMIT \*\*\*/.test(x)), l.files[0]!.lines.join('\n'));
  assert.equal(l.reason, 'TIME LIMIT');
  const failed = await rxJson<Row[]>(['status', '--failed', '--state', 'TIMEOUT'], { cwd: g.work, env: s.env });
  assert.deepEqual(failed.map(r => r.reason), ['TIME LIMIT']);
});

test('local: rx logs on the shell scheduler, a missing --file, and a job id that names nothing', async t => {
  const g = await gitdir(t, { origin: true, files: { 'config.inlist': '&controls\n  fail = 0\n/\n', 'run.sbatch': script([]) } });
  const rows = await submitAndWait(g.work, await sweepFile(g.root, { host: 'local' }), {});
  const bad = rows.find(r => r.params.fail === 1)!;
  const l = await rxJson<Logs>(['logs', bad.sha.slice(0, 8)], { cwd: g.work });
  assert.equal(l.files[0]!.path, `slurm-${bad.jobId}.out`);
  assert.equal(l.reason, 'exit code 3; boom: input deck broken at line 7');
  const none = await rxJson<Logs>(['logs', bad.sha.slice(0, 8), '--file', 'LOGS/history.data'], { cwd: g.work });
  assert.deepEqual(none.files, []);
  assert.deepEqual(none.notFound, ['LOGS/history.data']);
  const bogus = await rx(['logs', '999999999'], { cwd: g.work, allowFailure: true });
  assert.equal(bogus.exitCode, 2);
  assert.match(bogus.stderr, /^rx: no experiment with commit, run directory, job id or link name '999999999'/m);
  const escape = await rx(['logs', bad.jobId, '--file', '../../etc/passwd'], { cwd: g.work, allowFailure: true });
  assert.equal(escape.exitCode, 2);
  // By the names rx link gives: the link's name, the experiment's name, or the link's path.
  await rxJson(['fetch', 'config.inlist'], { cwd: g.work });
  await rxJson(['link'], { cwd: g.work });
  for (const what of ['fail=1', 'fail=1_config.inlist', '.rx/links/logs/fail=1_config.inlist']) {
    const byLink = await rxJson<Logs>(['logs', what], { cwd: g.work });
    assert.equal(byLink.key, bad.key, what);
  }
  const shown = await rxJson<{ key: string; reason: string }>(['show', 'fail=0'], { cwd: g.work });
  assert.equal(shown.key, rows.find(r => r.params.fail === 0)!.key);
  assert.equal(shown.reason, 'MESA termination code: max_age');
});

test('local: rx status --watch without a terminal prints a line per refresh and ends with the table when all jobs are final', async t => {
  const g = await gitdir(t, { origin: true, files: { 'config.inlist': '&controls\n  fail = 0\n/\n', 'run.sbatch': '#!/bin/bash\nsleep 3\necho done\n' } });
  await rxJson(['submit', '--sweep', await sweepFile(g.root, { host: 'local' })], { cwd: g.work });
  const r = await rx(['status', '--watch', '--interval', '1'], { cwd: g.work });
  const lines = r.stdout.trim().split('\n');
  const progress = lines.filter(l => /^\d\d:\d\d:\d\d {2}\[[#.]{20}\] \d\/2 final/.test(l));
  assert.ok(progress.length >= 2, `several refreshes:\n${r.stdout}`);
  assert.match(progress.at(-1)!, /\[#{20}\] 2\/2 final {2}COMPLETED 2/);
  assert.ok(lines.some(l => /^SWEEP\s+N\s+JOB/.test(l)), 'the final table');
  assert.doesNotMatch(r.stdout, /\x1b\[/, 'no cursor movement without a terminal');
  const json = await rxJson<Row[]>(['status', '--watch', '--interval', '1', '--state', 'COMPLETED'], { cwd: g.work });
  assert.equal(json.length, 2);
  const bad = await rx(['status', '--interval', '1'], { cwd: g.work, allowFailure: true });
  assert.equal(bad.exitCode, 2);
  const typo = await rx(['status', '--state', 'RUNING'], { cwd: g.work, allowFailure: true });
  assert.equal(typo.exitCode, 2);
  assert.match(typo.stderr, /^rx: --state: not a state: RUNING$/m);
});
