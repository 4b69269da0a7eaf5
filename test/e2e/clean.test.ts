// rx clean end to end, through the real CLI: on the embedded default (local, shell scheduler) and
// over ssh on the real Slurm test cluster. It removes exactly the selected run directories rx made
// (never a symlink or a foreign directory at a run directory's path), keeps the ledger and the
// status history, changes nothing with --dry-run, is finished by a rerun after kill -9, and with
// --refs deletes the cleaned points' refs here and on origin.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, readFileSync, readdirSync, renameSync, mkdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onslurmSweep } from '../helpers/sweeps.ts';
import { gitdir, type GitDir } from '../helpers/gitdir.ts';
import { RX_BIN, rx, rxJson, eventually } from '../helpers/rx.ts';
import { run } from '../../src/proc.ts';
import { shJoin } from '../../src/quote.ts';
import { clusterSession, runAsCluster } from '../helpers/cluster.ts';
import { refs } from '../helpers/assertions.ts';
import type { CleanResult } from '../../src/commands/clean.ts';

const quickstart = fileURLToPath(new URL('../../examples/quickstart', import.meta.url));
type Rec = { key: string; sha: string; dir: string; params: Record<string, unknown> };
type Row = { key: string; state: string; dir: string; cleaned?: boolean; attempts: number };
const FINAL = new Set(['COMPLETED', 'FAILED']);

/** The quickstart project whose runs with initial_z = 0.02 fail (exit 3) after writing their output. */
async function project(t: TestContext): Promise<GitDir> {
  const g = await gitdir(t, { origin: true, copy: quickstart });
  const sbatch = readFileSync(join(g.work, 'run.sbatch'), 'utf8');
  writeFileSync(join(g.work, 'run.sbatch'), `${sbatch}grep -qiE '^ *initial_z *= *0?\\.02' inlist && exit 3\nexit 0\n`);
  await g.commit('runs with z=0.02 fail');
  await g.git.push('origin', 'main');
  return g;
}

async function settled(cwd: string, n: number, env?: Record<string, string>, ms = 90_000): Promise<Row[]> {
  return eventually(`${n} jobs final`, ms, async () => {
    const rows = await rxJson<Row[]>(['status'], { cwd, env });
    return rows.length === n && rows.every(r => FINAL.has(r.state)) ? rows : undefined;
  });
}

const ledgerFile = (g: GitDir, sweep: string) => join(g.work, '.rx/sweeps', sweep, 'ledger.jsonl');
const records = (g: GitDir, sweep: string) => readFileSync(ledgerFile(g, sweep), 'utf8').split('\n').filter(Boolean).map(l => JSON.parse(l) as { t: string; keys?: string[]; key?: string; phase?: string });
const keysOf = (es: { key: string }[]) => es.map(e => e.key).sort();
const clean = (g: GitDir, args: string[], env?: Record<string, string>) => rxJson<CleanResult>(['clean', ...args], { cwd: g.work, env });

test('local default: --dry-run changes nothing; --failed removes exactly those, never a symlink or foreign dir; fetch/resubmit skip cleaned points; kill -9 then rerun; --refs', async t => {
  const g = await project(t);
  const recs = await rxJson<Rec[]>(['submit', '--sweep', 'sweep.ts'], { cwd: g.work });
  const rows = await settled(g.work, 6);
  const failed = rows.filter(r => r.state === 'FAILED').map(r => r.key).sort();
  assert.equal(failed.length, 3);
  await rx(['fetch', 'history.data'], { cwd: g.work });
  await rx(['link'], { cwd: g.work });
  const fetched = join(g.work, '.rx/fetched/quickstart');
  const links = join(g.work, '.rx/links/quickstart');
  const dirOf = new Map(recs.map(r => [r.key, r.dir]));
  const flat = (key: string) => join(fetched, `${dirOf.get(key)!.split('/').pop()}_history.data`);

  // Two failed runs' paths hold something rx did not make: a symlink (to the real directory, moved
  // away) and a foreign directory.
  const [own, linked, foreign] = failed as [string, string, string];
  const aside = join(g.root, 'aside');
  mkdirSync(aside);
  renameSync(dirOf.get(linked)!, join(aside, 'linked'));
  symlinkSync(join(aside, 'linked'), dirOf.get(linked)!);
  renameSync(dirOf.get(foreign)!, join(aside, 'foreign'));
  mkdirSync(dirOf.get(foreign)!);
  writeFileSync(join(dirOf.get(foreign)!, 'mine.txt'), 'keep');

  // Without a terminal and without --yes: refused before anything happens.
  const refused = await rx(['clean', '--sweep', 'quickstart', '--failed'], { cwd: g.work, allowFailure: true });
  assert.equal(refused.exitCode, 2);
  assert.match(refused.stderr, /no terminal to ask on[\s\S]*--yes/);

  // --dry-run: lists what would go (with sizes) and what is left, changes nothing.
  const ledgerBefore = readFileSync(ledgerFile(g, 'quickstart'), 'utf8');
  const dry = await clean(g, ['--sweep', 'quickstart', '--failed', '--dry-run']);
  assert.deepEqual(keysOf(dry.removed), [own]);
  assert.ok(dry.removed[0]!.kb! > 0);
  assert.deepEqual(keysOf(dry.skipped), [foreign, linked].sort());
  assert.equal(readFileSync(ledgerFile(g, 'quickstart'), 'utf8'), ledgerBefore);
  assert.ok(existsSync(join(dirOf.get(own)!, 'history.data')) && existsSync(flat(own)));

  // On a terminal it asks first, with the count and size; no is no.
  const asked = await run(['script', '-qec', shJoin([process.execPath, RX_BIN, 'clean', '--sweep', 'quickstart', '--failed']), '/dev/null'], { cwd: g.work, input: 'n\n', env: { ...process.env, NO_COLOR: '1' } });
  assert.match(asked.stdout, /Remove 1 run directory \(\d+(\.\d)? KB\) of sweep quickstart on local\? \[y\/N\][\s\S]*nothing removed/);
  assert.equal(readFileSync(ledgerFile(g, 'quickstart'), 'utf8'), ledgerBefore);
  assert.ok(existsSync(join(dirOf.get(own)!, 'history.data')));

  // --failed --yes: only the failed run that is rx's own goes, with its fetched file and link.
  const r = await clean(g, ['--sweep', 'quickstart', '--failed', '--yes']);
  assert.deepEqual(keysOf(r.removed), [own]);
  assert.deepEqual(keysOf(r.skipped), [foreign, linked].sort());
  assert.match(r.skipped.find(s => s.key === linked)!.why!, /symbolic link/);
  assert.match(r.skipped.find(s => s.key === foreign)!.why!, /no \.rx\/point\.json/);
  assert.equal(existsSync(dirOf.get(own)!), false);
  assert.ok(lstatSync(dirOf.get(linked)!).isSymbolicLink() && existsSync(join(aside, 'linked', 'history.data')));
  assert.equal(readFileSync(join(dirOf.get(foreign)!, 'mine.txt'), 'utf8'), 'keep');
  for (const k of rows.map(x => x.key).filter(k => k !== own)) assert.ok(existsSync(flat(k)) || k === linked || k === foreign, `fetched file of ${k} kept`);
  assert.equal(existsSync(flat(own)), false);
  assert.deepEqual(r.files.map(f => f.replace(fetched + '/', '').split('/')[0]).sort(), ['.mirror', flat(own).split('/').pop()].sort(), 'its mirror copy and its flat name');
  assert.ok(r.links.length === 1 && r.links[0]!.startsWith(links + '/') && !existsSync(r.links[0]!));
  assert.deepEqual(readdirSync(join(g.work, '.rx/runs')).filter(n => n.startsWith('.rx-removing')), []);
  assert.ok(existsSync(join(g.work, '.rx/runs/.rx-jobs')), 'job-id markers stay');

  // The ledger and status keep every point; the cleaned one keeps its state and says cleaned.
  const after = await rxJson<Row[]>(['status'], { cwd: g.work });
  assert.equal(after.length, 6);
  assert.deepEqual(after.filter(x => x.cleaned).map(x => [x.key, x.state]), [[own, 'FAILED']]);
  const kinds = records(g, 'quickstart').map(e => e.t);
  assert.ok(kinds.indexOf('removing') < kinds.indexOf('removed'));

  // fetch and resubmit skip the cleaned point with a message, not an rsync or sbatch error.
  const f = await rx(['fetch', 'history.data', '--sweep', 'quickstart', '--json'], { cwd: g.work });
  assert.match(f.stderr, /1 run directory was removed by rx clean/);
  renameSync(dirOf.get(foreign)!, join(aside, 'foreign-junk'));
  renameSync(join(aside, 'foreign'), dirOf.get(foreign)!);
  unlinkSync(dirOf.get(linked)!);
  renameSync(join(aside, 'linked'), dirOf.get(linked)!);
  const re = await rx(['resubmit', '--failed', '--json'], { cwd: g.work });
  assert.deepEqual((JSON.parse(re.stdout) as { resubmitted: { key: string }[] }).resubmitted.map(x => x.key).sort(), [foreign, linked].sort());
  assert.match(re.stderr, new RegExp(`not resubmitting point ${own}: rx clean removed its run directory`));
  await settled(g.work, 6);

  // kill -9 right after the intent is recorded; one run directory half removed as rm -rf leaves it.
  const killed = await rx(['clean', '--sweep', 'quickstart', '--yes'], { cwd: g.work, env: { RX_CRASH_AFTER: 'clean-removing' }, allowFailure: true });
  assert.equal(killed.exitCode, null, 'SIGKILLed');
  const intent = records(g, 'quickstart').filter(e => e.t === 'removing').at(-1)!;
  const rest = rows.map(x => x.key).filter(k => k !== own).sort();
  assert.deepEqual([...intent.keys!].sort(), rest);
  const half = rest.find(k => !failed.includes(k))!;
  const halfAside = join(g.work, '.rx/runs/.rx-removing', dirOf.get(half)!.split('/').pop()!);
  mkdirSync(join(g.work, '.rx/runs/.rx-removing'));
  renameSync(dirOf.get(half)!, halfAside);
  rmSync(join(halfAside, '.rx'), { recursive: true });
  // The rerun (even with a narrower selection) finishes what the killed one started.
  const rerun = await clean(g, ['--sweep', 'quickstart', '--failed', '--yes']);
  assert.deepEqual(keysOf(rerun.removed), rest);
  assert.deepEqual(readdirSync(join(g.work, '.rx/runs')), ['.rx-jobs']);
  assert.deepEqual((await rxJson<Row[]>(['status'], { cwd: g.work })).filter(x => x.cleaned).length, 6);

  // --refs: the cleaned points' refs go here and on origin (their run directories are gone).
  const before = await refs(join(g.work, '.git'), 'refs/rx/quickstart/');
  assert.equal(before.size, 6);
  const rr = await clean(g, ['--sweep', 'quickstart', '--refs', '--yes']);
  assert.equal(rr.removed.length, 0);
  assert.equal(rr.refs.deleted.length, 6);
  assert.equal((await refs(join(g.work, '.git'), 'refs/rx/quickstart/')).size, 0);
  assert.equal((await refs(g.origin!, 'refs/rx/quickstart/')).size, 0);
  assert.equal((await rxJson<Row[]>(['status', '--offline'], { cwd: g.work })).length, 6, 'the ledger keeps every point');
});

test('slurm over ssh: one script removes the run dirs (not a symlink in place of one); kill -9 mid-clean and rerun; --refs on origin', async t => {
  const s = await clusterSession(t, 'rx-clean');
  if (!s) return;
  const g = await project(t);
  writeFileSync(join(g.work, 'cluster.sweep.ts'), onslurmSweep(JSON.stringify(s.remote())));
  await g.commit('cluster sweep');
  await g.git.push('origin', 'main');
  const recs = await rxJson<Rec[]>(['submit', '--sweep', 'cluster.sweep.ts'], { cwd: g.work, env: s.env });
  const rows = await settled(g.work, 6, s.env, 180_000);
  const failed = rows.filter(r => r.state === 'FAILED').map(r => r.key).sort();
  const onCluster = (p: string) => p.replace(/^~\//, `${s.info.clusterHome}/`);
  const dirOf = new Map(recs.map(r => [r.key, onCluster(r.dir)]));
  // A symlink at one completed run's path (the real directory moved next to it).
  const linked = rows.find(r => r.state === 'COMPLETED')!.key;
  await runAsCluster(`mv -- '${dirOf.get(linked)}' ~/${s.dir}/moved && ln -s ~/${s.dir}/moved '${dirOf.get(linked)}'`);

  // kill -9 once the target reported the first removal; the remote script goes on (it ignores SIGHUP).
  const killed = await rx(['clean', '--sweep', 'onslurm', '--failed', '--yes'], { cwd: g.work, env: { ...s.env, RX_CRASH_AFTER: 'clean-1' }, allowFailure: true });
  assert.equal(killed.exitCode, null, 'SIGKILLed');
  await eventually('the killed clean finished on the target', 30_000, async () => {
    const r = await runAsCluster(`ls -A ~/${s.dir}/runs`);
    return r.stdout.includes('.rx-removing') ? undefined : true;
  });
  const rerun = await clean(g, ['--sweep', 'onslurm', '--failed', '--yes'], s.env);
  assert.deepEqual([...rerun.removed, ...rerun.gone].map(e => e.key).sort(), failed);
  for (const k of failed) assert.equal((await runAsCluster(`test -e '${dirOf.get(k)}' || echo gone`)).stdout.trim(), 'gone');

  const all = await clean(g, ['--sweep', 'onslurm', '--yes', '--refs'], s.env);
  const completed = rows.filter(r => r.state === 'COMPLETED').map(r => r.key).filter(k => k !== linked).sort();
  assert.deepEqual(keysOf(all.removed), completed);
  assert.deepEqual(keysOf(all.skipped), [linked]);
  const left = await runAsCluster(`ls -A ~/${s.dir}/runs; test -f ~/${s.dir}/moved/history.data && echo target-kept`);
  assert.deepEqual(left.stdout.trim().split('\n').sort(), ['.rx-jobs', dirOf.get(linked)!.split('/').pop()!, 'target-kept'].sort());
  assert.deepEqual(all.refs.deleted.length, 5);
  assert.deepEqual([...(await refs(g.origin!, 'refs/rx/onslurm/')).keys()], [`refs/rx/onslurm/${linked}`]);
  const st = await rxJson<Row[]>(['status', '--offline'], { cwd: g.work, env: s.env });
  assert.equal(st.length, 6);
  assert.deepEqual(st.filter(x => x.cleaned).map(x => x.key).sort(), rows.map(r => r.key).filter(k => k !== linked).sort());
  assert.ok(st.every(x => FINAL.has(x.state)), 'states are kept');
});
