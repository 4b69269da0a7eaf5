// A lost or rolled-back ledger must not make rx submit everything again: the run directories, the
// job-id markers, the scheduler's jobs and the refs are evidence, and rx submit adopts what is there
// (rx doctor reports it and --rebuild appends it). Embedded default: local transport + shell scheduler.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { gitdir } from '../helpers/gitdir.ts';
import { rx, rxJson, eventually } from '../helpers/rx.ts';
import { refs } from '../helpers/assertions.ts';
import { Ledger } from '../../src/ledger/ledger.ts';
import { shellScheduler } from '../../src/remote/scheduler/shell.ts';
import { run } from '../../src/proc.ts';

const files = {
  'inlist': '&controls\n  x = 0\n/\n',
  'run.sbatch': '#!/bin/bash\necho "x is $(awk \'$1 == "x" { print $3 }\' inlist)"\n',
};
type Rec = { status: string; key: string; jobId: string | null; dir: string | null; sha: string | null };
type Row = { key: string; jobId: string; state: string; dir: string; reason: string | null; params: Record<string, unknown> };

async function home(t: import('node:test').TestContext): Promise<Record<string, string>> {
  const h = await mkdtemp(join(tmpdir(), 'rx-home-'));
  t.after(() => rm(h, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 }));
  return { HOME: h };
}

async function sweepFile(dir: string, name: string, xs: number[], file = `${name}-${xs.length}`): Promise<string> {
  const f = join(dir, `${file}.json`);
  await writeFile(f, JSON.stringify({ name, branch: 'main', patcher: { type: 'mesa', file: 'inlist' }, dimensions: { x: xs } }));
  return f;
}

const runDirs = async (work: string) => (await readdir(join(work, '.rx/runs'))).filter(n => !n.startsWith('.')).sort();
const ledgerJobs = (work: string, name: string) => [...new Ledger(join(work, '.rx/sweeps', name), name).state().points.values()].map(p => ({ key: p.key, x: p.params.x, jobs: p.jobs.map(j => j.jobId) }));
const completed = (cwd: string, env: Record<string, string>, n: number) => eventually(`${n} jobs COMPLETED`, 60_000, async () => {
  const rows = await rxJson<Row[]>(['status'], { cwd, env });
  return rows.length === n && rows.every(r => r.state === 'COMPLETED') ? rows : undefined;
});

test('a rolled-back ledger (an older copy restored): rx submit adopts the run dirs and jobs it forgot; 6 points, 6 run dirs, 6 jobs', async t => {
  const env = await home(t);
  const g = await gitdir(t, { origin: true, files });
  await rxJson(['submit', '--sweep', await sweepFile(g.root, 'roll', [1, 2, 3])], { cwd: g.work, env });
  const ledger = join(g.work, '.rx/sweeps/roll/ledger.jsonl');
  await copyFile(ledger, join(g.root, 'backup.jsonl'));
  await new Promise(r => setTimeout(r, 1100)); // another second: another run dir name if one were made
  const six = await sweepFile(g.root, 'roll', [1, 2, 3, 4, 5, 6]);
  await rxJson(['submit', '--sweep', six], { cwd: g.work, env });
  const before = ledgerJobs(g.work, 'roll');
  const dirsBefore = await runDirs(g.work);
  assert.equal(dirsBefore.length, 6);
  await completed(g.work, env, 6);

  await copyFile(join(g.root, 'backup.jsonl'), ledger); // the older copy: it knows points 1-3 only
  await new Promise(r => setTimeout(r, 1100));
  const r = await rx(['submit', '--sweep', six, '--json'], { cwd: g.work, env });
  const recs = JSON.parse(r.stdout) as Rec[];
  assert.equal(recs.filter(x => x.status === 'submitted').length, 0, r.stdout);
  assert.match(r.stderr, /the ledger did not know .* 3 experiment\(s\)/);
  assert.deepEqual(await runDirs(g.work), dirsBefore, 'no second run directory');
  assert.deepEqual(ledgerJobs(g.work, 'roll'), before, 'the same points, numbers and job ids');
  const rows = await completed(g.work, env, 6);
  assert.deepEqual(rows.map(x => x.jobId).sort(), before.flatMap(p => p.jobs).sort());
});

test('a deleted ledger and deleted refs (no origin): the run dirs are recovered under their own point numbers and refs; nothing runs twice', async t => {
  const env = await home(t);
  const g = await gitdir(t, { origin: false, files });
  const f = await sweepFile(g.root, 'lost', [1, 2, 3, 4, 5, 6]);
  const first = await rxJson<Rec[]>(['submit', '--sweep', f], { cwd: g.work, env });
  const refsBefore = await refs(join(g.work, '.git'), 'refs/rx/lost/');
  await completed(g.work, env, 6);
  await rm(join(g.work, '.rx/sweeps'), { recursive: true });
  await run(['sh', '-c', "git for-each-ref --format='delete %(refname)' refs/rx/ | git update-ref --stdin"], { cwd: g.work });
  assert.equal((await refs(join(g.work, '.git'), 'refs/rx/')).size, 0);
  await new Promise(r => setTimeout(r, 1100));

  const again = await rxJson<Rec[]>(['submit', '--sweep', f], { cwd: g.work, env });
  assert.equal(again.filter(x => x.status === 'submitted').length, 0, JSON.stringify(again));
  assert.equal((await runDirs(g.work)).length, 6, '6 run dirs for 6 points, not 12');
  assert.deepEqual(await refs(join(g.work, '.git'), 'refs/rx/lost/'), refsBefore, 'refs/rx/lost/<n> restored with the same numbers');
  const byKey = new Map(first.map(x => [x.key, x]));
  for (const p of ledgerJobs(g.work, 'lost')) assert.deepEqual(p.jobs, [byKey.get(p.key)!.jobId], `point ${p.key}`);
  // And the sweep goes on normally: a new point is numbered after the recovered ones.
  const seven = await rxJson<Rec[]>(['submit', '--sweep', await sweepFile(g.root, 'lost', [1, 2, 3, 4, 5, 6, 7])], { cwd: g.work, env });
  assert.deepEqual(seven.filter(x => x.status === 'submitted').map(x => x.key), ['7']);
});

test('rx doctor: reports what a lost ledger lacks (exit 5); --rebuild recovers points, run dirs and job ids from markers and from the scheduler', async t => {
  const env = await home(t);
  const g = await gitdir(t, { origin: true, files });
  const f = await sweepFile(g.root, 'doc', [1, 2, 3, 4]);
  const first = await rxJson<Rec[]>(['submit', '--sweep', f], { cwd: g.work, env });
  await completed(g.work, env, 4);
  const ok = await rxJson<{ records: number; findings: unknown[] }>(['doctor', '--sweep', 'doc'], { cwd: g.work, env });
  assert.equal(ok.records, 0);
  assert.deepEqual(ok.findings, []);

  await rm(join(g.work, '.rx/sweeps'), { recursive: true });
  // One job-id marker is gone too: its job is found by its work dir in the scheduler's queue.
  const lost = first.find(x => x.key === '2')!;
  await rm(join(g.work, '.rx/runs/.rx-jobs', shellScheduler().markerName(lost.dir!, 1)));
  const byName = await rx(['doctor', '--sweep', 'doc'], { cwd: g.work, env, allowFailure: true });
  assert.equal(byName.exitCode, 2);
  assert.match(byName.stderr, /give its sweep file/i);

  const report = await rx(['doctor', '--sweep', f], { cwd: g.work, env, allowFailure: true });
  assert.equal(report.exitCode, 5, report.stderr);
  assert.match(report.stdout, /point 2 \(\{"x":2\}\) was not in the ledger: recovered from its run directory .* \(job \d+\)/);
  assert.match(report.stdout, /--rebuild appends them/);
  assert.equal((await readdir(join(g.work, '.rx/sweeps/doc')).catch(() => [])).filter(n => n === 'ledger.jsonl').length, 0, 'without --rebuild nothing is written');

  const rebuilt = await rxJson<{ rebuilt: boolean; recovered: string[] }>(['doctor', '--sweep', f, '--rebuild'], { cwd: g.work, env });
  assert.equal(rebuilt.rebuilt, true);
  assert.deepEqual(rebuilt.recovered, ['1', '2', '3', '4']);
  const rows = await rxJson<Row[]>(['status', '--sweep', 'doc'], { cwd: g.work, env });
  assert.deepEqual(rows.map(r => [r.key, r.jobId, r.state, r.dir]), first.map(x => [x.key, x.jobId, 'COMPLETED', x.dir]));
  const again = await rxJson<Rec[]>(['submit', '--sweep', f], { cwd: g.work, env });
  assert.equal(again.filter(x => x.status === 'submitted').length, 0);
  assert.equal((await runDirs(g.work)).length, 4);
});

test('a forgotten run dir that ran but whose job nobody knows any more is adopted as UNKNOWN, never submitted again', async t => {
  const env = await home(t);
  const g = await gitdir(t, { origin: true, files });
  const f = await sweepFile(g.root, 'unk', [1, 2]);
  const first = await rxJson<Rec[]>(['submit', '--sweep', f], { cwd: g.work, env });
  await completed(g.work, env, 2);
  // Ledger, markers and the queue's job records all gone; the run dirs hold the jobs' output.
  await rm(join(g.work, '.rx/sweeps'), { recursive: true });
  await rm(join(g.work, '.rx/runs/.rx-jobs'), { recursive: true });
  await rm(join(env.HOME!, '.rx/shell-queue/jobs'), { recursive: true });
  const r = await rx(['submit', '--sweep', f, '--json'], { cwd: g.work, env });
  assert.equal((JSON.parse(r.stdout) as Rec[]).filter(x => x.status === 'submitted').length, 0, r.stdout);
  assert.match(r.stderr, /holds output but no job id was found .* recorded as UNKNOWN, not submitted again/);
  assert.equal((await runDirs(g.work)).length, 2);
  const rows = await rxJson<Row[]>(['status'], { cwd: g.work, env });
  assert.deepEqual(rows.map(x => [x.key, x.state, x.dir]), first.map(x => [x.key, 'UNKNOWN', x.dir]));
  assert.match(rows[0]!.reason ?? '', /without its job id/);
  // cancel and resubmit --failed leave it alone.
  assert.deepEqual((await rxJson<{ cancelled: unknown[] }>(['cancel'], { cwd: g.work, env })).cancelled, []);
  assert.deepEqual((await rxJson<{ resubmitted: unknown[] }>(['resubmit', '--failed'], { cwd: g.work, env })).resubmitted, []);
});
