// After a crash, the path chosen for a run directory may hold something rx did not make. rx adopts
// only a real directory whose .rx/point.json is its point's; a symlink, a file or a foreign
// directory blocks the point with a message saying how to resolve it (rx submit --new-dirs), and
// nothing in it ever runs. Also: a held run-directory lock on the target is waited for with a limit,
// naming who holds it. Embedded default: local transport + shell scheduler.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { gitdir } from '../helpers/gitdir.ts';
import { rx, rxJson, eventually } from '../helpers/rx.ts';
import { Ledger } from '../../src/ledger/ledger.ts';

const files = {
  'inlist': '&controls\n  x = 0\n/\n',
  'run.sbatch': '#!/bin/bash\necho ran > ran.txt\n',
};
type Rec = { status: string; key: string; jobId: string | null; dir: string | null; error?: string };

async function home(t: import('node:test').TestContext): Promise<Record<string, string>> {
  const h = await mkdtemp(join(tmpdir(), 'rx-home-'));
  t.after(() => rm(h, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 }));
  return { HOME: h };
}

async function sweep(dir: string, name: string, xs: number[]): Promise<string> {
  const f = join(dir, `${name}.json`);
  await writeFile(f, JSON.stringify({ name, branch: 'main', patcher: { type: 'mesa', file: 'inlist' }, dimensions: { x: xs } }));
  return f;
}

const exists = (p: string) => access(p).then(() => true, () => false);

test('a symlink, a foreign directory with .rx/point.json {} or a file where a run dir goes: the point is blocked (never adopted, nothing foreign runs); --new-dirs gives it a fresh run dir', async t => {
  const env = await home(t);
  const g = await gitdir(t, { origin: true, files });
  const f = await sweep(g.root, 'guard', [1, 2, 3]);
  const crashed = await rx(['submit', '--sweep', f], { cwd: g.work, env: { ...env, RX_CRASH_AFTER: 'dirs' }, allowFailure: true });
  assert.equal(crashed.signal, 'SIGKILL');
  const planned = [...new Ledger(join(g.work, '.rx/sweeps/guard'), 'guard').state().points.values()].map(p => p.dir!);
  assert.equal(planned.length, 3);

  // Something else takes each path before the re-run: a foreign batch script that must never run.
  const pwned = join(g.root, 'PWNED');
  const evil = join(g.root, 'elsewhere');
  await mkdir(join(evil, '.rx'), { recursive: true });
  await writeFile(join(evil, '.rx/point.json'), '{}');
  await writeFile(join(evil, 'run.sbatch'), `#!/bin/bash\ntouch ${pwned}\n`);
  await mkdir(join(g.work, '.rx/runs'), { recursive: true });
  await symlink(evil, planned[0]!);
  await mkdir(join(planned[1]!, '.rx'), { recursive: true });
  await writeFile(join(planned[1]!, '.rx/point.json'), '{}');
  await writeFile(join(planned[1]!, 'run.sbatch'), `#!/bin/bash\ntouch ${pwned}\n`);
  await writeFile(planned[2]!, 'a plain file\n');

  const r = await rx(['submit', '--sweep', f, '--json'], { cwd: g.work, env, allowFailure: true });
  assert.equal(r.exitCode, 6, r.stderr);
  const recs = JSON.parse(r.stdout) as Rec[];
  assert.deepEqual(recs.map(x => x.status), ['failed', 'failed', 'failed']);
  assert.match(recs[0]!.error!, /is a symbolic link, not a run directory rx made/);
  assert.match(recs[1]!.error!, /exists but holds another experiment/);
  assert.match(recs[2]!.error!, /exists and is not a directory/);
  for (const x of recs) assert.match(x.error!, /rx submit --new-dirs/);
  await new Promise(res => setTimeout(res, 1500));
  assert.equal(await exists(pwned), false, 'a foreign run.sbatch ran');

  const again = await rxJson<Rec[]>(['submit', '--sweep', f, '--new-dirs'], { cwd: g.work, env });
  assert.deepEqual(again.map(x => x.status), ['submitted', 'submitted', 'submitted']);
  for (const [i, x] of again.entries()) {
    assert.notEqual(x.dir, planned[i], 'a fresh run directory');
    await eventually(`point ${x.key} ran in its fresh run dir`, 30_000, async () => ((await exists(join(x.dir!, 'ran.txt'))) ? true : undefined));
  }
  assert.equal(await exists(pwned), false);
  // What was in the way is untouched.
  assert.equal(await readFile(planned[2]!, 'utf8'), 'a plain file\n');
  assert.equal(await readFile(join(planned[1]!, '.rx/point.json'), 'utf8'), '{}');
});

test('--new-dirs right away: a blocked run dir is found before anything is made, and the point gets a fresh one at once', async t => {
  const env = await home(t);
  const g = await gitdir(t, { origin: true, files });
  const f = await sweep(g.root, 'swift', [1]);
  const crashed = await rx(['submit', '--sweep', f], { cwd: g.work, env: { ...env, RX_CRASH_AFTER: 'dirs' }, allowFailure: true });
  assert.equal(crashed.signal, 'SIGKILL');
  const [dir] = [...new Ledger(join(g.work, '.rx/sweeps/swift'), 'swift').state().points.values()].map(p => p.dir!);
  await mkdir(join(g.work, '.rx/runs'), { recursive: true });
  await writeFile(dir!, 'in the way\n');
  const r = await rx(['submit', '--sweep', f, '--new-dirs', '--json'], { cwd: g.work, env });
  const recs = JSON.parse(r.stdout) as Rec[];
  assert.deepEqual(recs.map(x => x.status), ['submitted'], r.stderr);
  assert.notEqual(recs[0]!.dir, dir);
  assert.match(r.stderr, /--new-dirs: 1 point\(s\) get a fresh run directory/);
  assert.equal(await readFile(dir!, 'utf8'), 'in the way\n');
});

test('a run-directory lock held on the target: rx says who holds it and gives up after --lock-timeout with advice', async t => {
  const env = await home(t);
  const g = await gitdir(t, { origin: true, files });
  const f = await sweep(g.root, 'held', [1, 2]);
  const sd = join(g.work, '.rx/runs/.rx-jobs');
  await mkdir(sd, { recursive: true });
  const lock = join(sd, '.create.lock');
  await writeFile(lock, 'rx submit of sweep held from otherhost (pid 4242)\n');
  const holder = spawn('flock', [lock, 'sleep', '60'], { stdio: 'ignore' });
  t.after(() => { holder.kill('SIGKILL'); });
  await new Promise(res => setTimeout(res, 300));
  const started = Date.now();
  const r = await rx(['submit', '--sweep', f, '--lock-timeout', '2'], { cwd: g.work, env, allowFailure: true });
  assert.ok(Date.now() - started < 30_000, 'gave up in time');
  assert.equal(r.exitCode, 5, r.stderr);
  assert.match(r.stderr, /waiting up to 2 s/);
  assert.match(r.stderr, /held the run-directory lock .*\.create\.lock for over 2 s: rx submit of sweep held from otherhost \(pid 4242\)/);
  assert.match(r.stderr, /--lock-timeout/);
  // Once the holder is gone, the same command finishes.
  holder.kill('SIGKILL');
  await new Promise(res => holder.once('exit', res));
  const recs = await rxJson<Rec[]>(['submit', '--sweep', f], { cwd: g.work, env });
  assert.deepEqual(recs.map(x => x.status), ['submitted', 'submitted']);
  assert.equal((await readFile(lock, 'utf8')).trim(), '', 'the lock file names no holder once released');
  assert.equal((await readdir(join(g.work, '.rx/runs'))).filter(n => !n.startsWith('.')).length, 2);
});
