// What a careless or unlucky day does to rx: two submits at once, a deleted ledger, a crash while
// run directories are being made, --repeat/--extend after a crash, a lost job, an origin that
// refuses deletions, a remote changed half-way. Each must end with exactly the intended jobs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile, chmod, access } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { gitdir } from '../helpers/gitdir.ts';
import { rx, rxJson, eventually } from '../helpers/rx.ts';
import { refs } from '../helpers/assertions.ts';
import { Ledger } from '../../src/ledger/ledger.ts';
import { run } from '../../src/proc.ts';

const files = {
  'inlist': '&controls\n  x = 0\n  nap = 0\n/\n',
  'run.sbatch': '#!/bin/bash\nsleep "$(awk \'$1 == "nap" { print $3 }\' inlist)"\n',
};
type Rec = { status: string; key: string; jobId: string | null; dir: string | null };

/** A private HOME, so the shell scheduler's queue (~/.rx/shell-queue) is this test's alone. */
async function home(t: import('node:test').TestContext): Promise<Record<string, string>> {
  const h = await mkdtemp(join(tmpdir(), 'rx-home-'));
  // Jobs may still be writing their queue entries when the test ends.
  t.after(() => rm(h, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 }));
  return { HOME: h };
}

async function sweep(dir: string, name: string, body: object, file = name): Promise<string> {
  const f = join(dir, `${file}.json`);
  await writeFile(f, JSON.stringify({ name, branch: 'main', patcher: { type: 'mesa', file: 'inlist' }, ...body }));
  return f;
}

function jobsPerPoint(work: string, name: string): number[] {
  return [...new Ledger(join(work, '.rx/sweeps', name), name).state().points.values()].map(p => p.jobs.length);
}

test('two rx submit of one sweep at once: the second is refused while the first plans; exactly one job per point', async t => {
  const env = await home(t);
  const g = await gitdir(t, { origin: true, files });
  // A slow function patcher keeps the first submit planning for a while.
  await writeFile(join(g.root, 'slow.ts'), `
    import { readFileSync, writeFileSync } from 'node:fs';
    export default { name: 'slow', branch: 'main', dimensions: { x: [1, 2, 3] },
      patcher: (dir: string, c: { x: number }) => { const end = Date.now() + 400; while (Date.now() < end); writeFileSync(dir + '/inlist', readFileSync(dir + '/inlist', 'utf8').replace('x = 0', 'x = ' + c.x)); } };`);
  const first = rx(['submit', '--sweep', join(g.root, 'slow.ts'), '--json'], { cwd: g.work, env, allowFailure: true });
  await eventually('the first submit holds the lock', 20_000, async () => { await access(join(g.work, '.rx/sweeps/slow/lock')); return true; });
  const second = await rx(['submit', '--sweep', join(g.root, 'slow.ts')], { cwd: g.work, env, allowFailure: true });
  assert.equal(second.exitCode, 5, second.stderr);
  assert.match(second.stderr, /sweep 'slow' is in use by another rx process \(pid \d+\)/);
  const r1 = await first;
  assert.equal(r1.exitCode, 0, r1.stderr);
  const again = await rxJson<Rec[]>(['submit', '--sweep', join(g.root, 'slow.ts')], { cwd: g.work, env });
  assert.equal(again.filter(r => r.status === 'submitted').length, 0);
  assert.deepEqual(jobsPerPoint(g.work, 'slow'), [1, 1, 1]);
});

test('a deleted ledger with its refs left behind is refused, never silently adopted with other params', async t => {
  const env = await home(t);
  const g = await gitdir(t, { origin: true, files });
  await rxJson(['submit', '--sweep', await sweep(g.root, 'race', { dimensions: { x: [1, 2] } })], { cwd: g.work, env });
  await rm(join(g.work, '.rx/sweeps/race'), { recursive: true });
  // Same keys 1 and 2, other parameters; and a crash right after planning makes rx look for refs to adopt.
  const f = await sweep(g.root, 'race', { dimensions: { x: [5, 6] } });
  const r = await rx(['submit', '--sweep', f], { cwd: g.work, env, allowFailure: true });
  assert.equal(r.exitCode, 5, r.stderr);
  assert.match(r.stderr, /refs\/rx\/race\/1 already exists and holds a different experiment/);
  assert.match(r.stderr, /Submit under a new sweep name/);
});

test('SIGKILL while 400 run directories are being made, immediate re-run: every directory complete, one job each, no scratch left', async t => {
  const env = await home(t);
  const g = await gitdir(t, { origin: true, files });
  const f = await sweep(g.root, 'many', { dimensions: { x: Array.from({ length: 400 }, (_, i) => i) } });
  const crashed = await rx(['submit', '--sweep', f], { cwd: g.work, env: { ...env, RX_CRASH_AFTER: 'create-1' }, allowFailure: true });
  assert.equal(crashed.signal, 'SIGKILL');
  // The creating script goes on (it ignores the lost parent, as on a cluster); the re-run waits for its lock.
  const recs = await rxJson<Rec[]>(['submit', '--sweep', f], { cwd: g.work, env });
  assert.equal(recs.filter(r => r.status === 'failed').length, 0, JSON.stringify(recs.filter(r => r.status === 'failed')));
  assert.deepEqual(jobsPerPoint(g.work, 'many'), Array(400).fill(1));
  const runs = join(g.work, '.rx/runs');
  const names = (await readdir(runs)).filter(n => !n.startsWith('.'));
  assert.equal(names.length, 400, names.filter(n => n.includes('partial')).join(' '));
  for (const n of names) {
    const inside = await readdir(join(runs, n));
    assert.ok(inside.includes('run.sbatch') && inside.includes('inlist') && inside.includes('.rx'), `${n}: ${inside.join(' ')}`);
    assert.ok(!inside.some(x => x.includes('rx-partial')), `${n} holds a scratch directory`);
  }
});

test('--repeat and --extend after a crash: the re-run finishes the interrupted submission, never adds to it', async t => {
  const env = await home(t);
  const g = await gitdir(t, { origin: true, files });
  const f = await sweep(g.root, 'rep', { dimensions: { x: [1] } });
  await rxJson(['submit', '--sweep', f], { cwd: g.work, env });
  const crashed = await rx(['submit', '--sweep', f, '--repeat'], { cwd: g.work, env: { ...env, RX_CRASH_AFTER: 'push' }, allowFailure: true });
  assert.equal(crashed.signal, 'SIGKILL');
  const again = await rx(['submit', '--sweep', f, '--repeat', '--json'], { cwd: g.work, env });
  assert.match(again.stderr, /finishing an interrupted submission \(1 points without a job\) first; --repeat was not applied/);
  assert.deepEqual(jobsPerPoint(g.work, 'rep'), [1, 1], 'two experiments: the original and one repeat');

  const s = await sweep(g.root, 'ext', { sampler: { type: 'random', budget: 2, seed: 3, bounds: { x: [0, 1] } } });
  await rxJson(['submit', '--sweep', s], { cwd: g.work, env });
  const c2 = await rx(['submit', '--sweep', s, '--extend', '2'], { cwd: g.work, env: { ...env, RX_CRASH_AFTER: 'commit' }, allowFailure: true });
  assert.equal(c2.signal, 'SIGKILL');
  await rx(['submit', '--sweep', s, '--extend', '2'], { cwd: g.work, env });
  assert.equal(jobsPerPoint(g.work, 'ext').length, 4, 'budget 2 + extend 2, not 6');
  // Now --extend applies again.
  await rx(['submit', '--sweep', s, '--extend', '2'], { cwd: g.work, env });
  assert.equal(jobsPerPoint(g.work, 'ext').length, 6);
});

test('dry run after a crash shows the interrupted points as to be submitted; changing remote.output half-way is refused', async t => {
  const env = await home(t);
  const g = await gitdir(t, { origin: true, files });
  const f = await sweep(g.root, 'half', { dimensions: { x: [1, 2] } });
  const crashed = await rx(['submit', '--sweep', f], { cwd: g.work, env: { ...env, RX_CRASH_AFTER: 'dirs' }, allowFailure: true });
  assert.equal(crashed.signal, 'SIGKILL');
  const dry = await rx(['submit', '--sweep', f, '--dry-run'], { cwd: g.work, env });
  assert.match(dry.stdout, /2 would be submitted \(2 finishing an interrupted submission\), 0 skipped/);
  const moved = await sweep(g.root, 'half', { dimensions: { x: [1, 2] }, remote: { host: 'local', output: join(g.root, 'elsewhere') } }, 'half-moved');
  const r = await rx(['submit', '--sweep', moved], { cwd: g.work, env, allowFailure: true });
  assert.equal(r.exitCode, 2);
  assert.match(r.stderr, /unfinished submission made with remote.output = null/);
  await rxJson(['submit', '--sweep', f], { cwd: g.work, env });
  assert.deepEqual(jobsPerPoint(g.work, 'half'), [1, 1]);
});

test('a job the scheduler no longer knows shows UNKNOWN (not PENDING forever) and is not cancelled', async t => {
  const env = await home(t);
  const g = await gitdir(t, { origin: true, files });
  const f = await sweep(g.root, 'lost', { base_config: { nap: 30 }, dimensions: { x: [1, 2] }, remote: { host: 'local', maxParallel: 1 } });
  const recs = await rxJson<Rec[]>(['submit', '--sweep', f], { cwd: g.work, env });
  await eventually('one RUNNING, one PENDING', 30_000, async () => {
    const rows = await rxJson<{ state: string }[]>(['status'], { cwd: g.work, env });
    return rows.some(r => r.state === 'RUNNING') && rows.some(r => r.state === 'PENDING') ? true : undefined;
  });
  // The queue loses the pending job (an admin purge, a wiped node).
  const pendingId = (await rxJson<{ jobId: string; state: string }[]>(['status'], { cwd: g.work, env })).find(r => r.state === 'PENDING')!.jobId;
  await run(['bash', '-c', `rm -rf "$HOME/.rx/shell-queue/pending/${pendingId}" "$HOME/.rx/shell-queue/jobs/${pendingId}"`], { env: { ...process.env, ...env } });
  const rows = await rxJson<{ jobId: string; state: string; reason: string }[]>(['status'], { cwd: g.work, env });
  const lost = rows.find(r => r.jobId === pendingId)!;
  assert.equal(lost.state, 'UNKNOWN');
  assert.match(lost.reason, /no longer knows job/);
  const c = await rxJson<{ cancelled: { jobId: string }[] }>(['cancel'], { cwd: g.work, env });
  assert.deepEqual(c.cancelled.map(x => x.jobId), recs.filter(r => r.jobId !== pendingId).map(r => r.jobId));
});

test('no temporary branches: an origin that refuses any rx branch still takes the submission; it gets only refs/rx/*', async t => {
  const env = await home(t);
  const g = await gitdir(t, { origin: true, files });
  const hook = join(g.origin!, 'hooks', 'pre-receive');
  await writeFile(hook, '#!/bin/sh\nwhile read old new ref; do case "$ref" in refs/heads/rx/*) echo "no rx branches here" >&2; exit 1;; esac; done\n');
  await chmod(hook, 0o755);
  const f = await sweep(g.root, 'keep', { dimensions: { x: [1, 2] } });
  const r = await rx(['submit', '--sweep', f], { cwd: g.work, env });
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal((await refs(g.origin!, 'refs/heads/rx/')).size, 0);
  assert.equal((await refs(join(g.work, '.git'), 'refs/heads/rx/')).size, 0);
  assert.equal((await refs(g.origin!, 'refs/rx/keep/')).size, 2);
  assert.deepEqual(jobsPerPoint(g.work, 'keep'), [1, 1]);
});
