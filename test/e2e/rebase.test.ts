// Rebased resubmits and "the latest attempt wins", end to end through the real CLI: a sweep whose
// run.sbatch is broken for some points fails; the fix is committed on main; rx submit and
// rx resubmit say that main moved (and warn about uncommitted edits first);
// rx resubmit --failed --rebase — killed with SIGKILL twice on the way — builds each failed point
// again on the new main as its next attempt; status, sweeps, link and dataset then count each
// point once, by its latest attempt. On the Slurm test cluster over ssh, and locally for the
// plain-resubmit warning and a failed point already on the tip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gitdir, type GitDir } from '../helpers/gitdir.ts';
import { rx, rxJson, eventually } from '../helpers/rx.ts';
import { clusterSession } from '../helpers/cluster.ts';
import { Ledger } from '../../src/ledger/ledger.ts';

type Row = { key: string; sha: string; dir: string; jobId: string; state: string; attempt: number; attempts: number; supersedes: string | null; supersededBy: string | null; params: Record<string, unknown> };
type Resubmitted = { key: string; jobId: string; attempt: number; dir: string; previousState: string; rebased: { supersedes: string; sha: string; base: string } | null; note?: string };

/** Fails (exit 3) for x ≥ 1 until fixed; writes result.txt either way, so every attempt has an output. */
const script = (fixed: boolean) => `#!/bin/bash
#SBATCH --ntasks=1
#SBATCH --time=00:05:00
. ./params.sh
echo "x=$x ${fixed ? 'fixed' : 'broken'}" > result.txt
${fixed ? '' : 'if [ "$x" -ge 1 ]; then echo "broken for x=$x"; exit 3; fi\n'}exit 0
`;

async function setup(g: GitDir, remote: Record<string, unknown>, xs: number[]): Promise<string> {
  const f = join(g.root, 'reb.json');
  await writeFile(f, JSON.stringify({ name: 'reb', branch: 'main', dimensions: { x: xs }, patcher: { type: 'keyvalue', file: 'params.sh' }, remote }));
  return f;
}

const status = (cwd: string, env: Record<string, string>, extra: string[] = []) => rxJson<Row[]>(['status', '--sweep', 'reb', ...extra], { cwd, env });
const final = (cwd: string, env: Record<string, string>, n: number, ok: (rows: Row[]) => boolean = () => true) =>
  eventually(`${n} jobs final`, 180_000, async () => {
    const rows = await status(cwd, env);
    return rows.length === n && rows.every(r => r.state === 'COMPLETED' || r.state === 'FAILED') && ok(rows) ? rows : undefined;
  });
const ledgerOf = (g: GitDir) => new Ledger(join(g.work, '.rx/sweeps/reb'), 'reb').state();

test('slurm over ssh: fix on main → resubmit --failed --rebase (SIGKILLed twice) → all COMPLETED on the new main; status, sweeps, link, dataset count 3 points', { timeout: 600_000 }, async t => {
  const s = await clusterSession(t, 'rx-rebase');
  if (!s) return;
  const { env } = s;
  const g = await gitdir(t, { origin: true, files: { 'run.sbatch': script(false), 'params.sh': 'x=0\n' } });
  const f = await setup(g, s.remote(), [0, 1, 2]);
  const oldMain = (await g.git.revparse(['main'])).trim();

  const recs = await rxJson<{ status: string }[]>(['submit', '--sweep', f], { cwd: g.work, env });
  assert.equal(recs.filter(r => r.status === 'submitted').length, 3);
  const first = await final(g.work, env, 3);
  const failed = first.filter(r => r.state === 'FAILED').map(r => r.key).sort();
  assert.deepEqual(first.map(r => [r.params.x, r.state]).sort(), [[0, 'COMPLETED'], [1, 'FAILED'], [2, 'FAILED']]);

  // The fix, not yet committed (and a stray edit of the patched file): the runs would not have it.
  await g.write({ 'run.sbatch': script(true), 'params.sh': 'x=9\n' });
  const dirty = await rx(['submit', '--sweep', f, '--json'], { cwd: g.work, env });
  assert.match(dirty.stderr, /params\.sh, run\.sbatch have uncommitted changes: the runs use the version committed on 'main'/);
  assert.doesNotMatch(dirty.stderr, /moved since/, 'main has not moved yet');
  assert.ok((JSON.parse(dirty.stdout) as { status: string }[]).every(r => r.status === 'skipped'));

  // Committed: main moved, and rx submit says what skipping means and which command reruns on the new base.
  await g.write({ 'params.sh': 'x=0\n' });
  const newMain = await g.commit('fix run.sbatch');
  await g.git.push('origin', 'main');
  const moved = await rx(['submit', '--sweep', f, '--json'], { cwd: g.work, env });
  assert.match(moved.stderr, new RegExp(`branch 'main' moved since this sweep was submitted \\(${oldMain.slice(0, 7)} → ${newMain.slice(0, 7)}\\): rx submit skips the 3 point\\(s\\) already submitted on the older base \\(2 of them did not complete\\); to run the failed ones on the new base: rx resubmit --failed --rebase --sweep reb; to run every point again on the new base as new experiments \\(the old ones stay\\): rx submit --sweep .*reb\\.json --repeat`));
  assert.doesNotMatch(moved.stderr, /uncommitted/);
  assert.equal((JSON.parse(moved.stdout) as { status: string }[]).filter(r => r.status === 'submitted').length, 0);

  // SIGKILL right after the successors are recorded, then after their run dirs are made.
  for (const at of ['plan', 'create']) {
    const crashed = await rx(['resubmit', '--failed', '--rebase', '--sweep', 'reb'], { cwd: g.work, env: { ...env, RX_CRASH_AFTER: at }, allowFailure: true });
    assert.equal(crashed.signal, 'SIGKILL', `crashed after ${at}: ${crashed.stderr}`);
    const st = ledgerOf(g);
    const succ = [...st.points.values()].filter(p => p.supersedes);
    assert.deepEqual(succ.map(p => p.supersedes).sort(), failed, `after ${at}: one successor per failed point`);
    assert.ok(succ.every(p => p.base === newMain && p.jobs.length === 0));
    if (at === 'create') assert.ok(succ.every(p => p.created && p.sha));
  }
  const re = await rxJson<{ resubmitted: Resubmitted[]; errors: unknown[] }>(['resubmit', '--failed', '--rebase', '--sweep', 'reb'], { cwd: g.work, env });
  assert.deepEqual(re.errors, []);
  assert.deepEqual(re.resubmitted.map(r => r.rebased?.supersedes).sort(), failed, 'the re-run finishes the successors');
  assert.ok(re.resubmitted.every(r => r.attempt === 2 && r.rebased!.base === newMain && r.previousState === 'FAILED'));
  // Running it again while they run adds nothing.
  const again = await rxJson<{ resubmitted: unknown[] }>(['resubmit', '--failed', '--rebase', '--sweep', 'reb'], { cwd: g.work, env });
  assert.equal(again.resubmitted.length, 0);
  assert.equal(ledgerOf(g).points.size, 5, '3 points + 2 rebased attempts, no more');

  const rows = await final(g.work, env, 3, rs => rs.every(r => r.state === 'COMPLETED'));
  assert.equal(rows.length, 3, 'status shows 3 points');
  for (const r of rows.filter(r => r.supersedes)) {
    assert.equal((await g.git.raw(['rev-parse', `${r.sha}^`])).trim(), newMain, "the new commit's parent is the new main");
    assert.equal(r.attempt, 2);
  }
  const all = await status(g.work, env, ['--all-attempts']);
  assert.equal(all.length, 5);
  assert.deepEqual(all.filter(r => r.supersededBy).map(r => [r.key, r.state, r.attempt, r.attempts]).sort(), failed.map(k => [k, 'FAILED', 1, 2]));
  const [sw] = await rxJson<{ points: number; superseded: number; states: Record<string, number> }[]>(['sweeps'], { cwd: g.work, env });
  assert.deepEqual({ points: sw!.points, superseded: sw!.superseded, states: sw!.states }, { points: 3, superseded: 2, states: { COMPLETED: 3 } });
  const after = await rxJson<{ status: string }[]>(['submit', '--sweep', f], { cwd: g.work, env });
  assert.equal(after.filter(r => r.status === 'submitted').length, 0);

  // Links: only the latest attempt of each point, no name clash between attempts (no --dedupe).
  await rx(['fetch', 'result.txt', '--sweep', 'reb'], { cwd: g.work, env });
  const links = await rxJson<{ links: { key: string; name: string; link: string }[] }>(['link', '--sweep', 'reb'], { cwd: g.work, env });
  assert.deepEqual(links.links.map(l => l.key).sort(), rows.map(r => r.key).sort());
  for (const l of links.links) assert.match(await readFile(l.link, 'utf8'), new RegExp(`^x=\\d ${l.name === 'x=0' ? 'broken' : 'fixed'}\\n$`));
  const allLinks = await rxJson<{ links: { name: string }[] }>(['link', '--sweep', 'reb', '--all-attempts', '--to', join(g.root, 'all-links')], { cwd: g.work, env });
  assert.deepEqual(allLinks.links.map(l => l.name).sort(), ['x=0', 'x=1', 'x=1_attempt1', 'x=2', 'x=2_attempt1']);

  // Dataset: one row per point, the latest attempt, with its attempt number; every attempt when asked.
  const read = async (extra: string[]) => {
    const [sum] = await rxJson<{ file: string }[]>(['dataset', '--sweep', 'reb', '--format', 'jsonl', '--offline', '--no-fetch', ...extra], { cwd: g.work, env });
    return (await readFile(sum!.file, 'utf8')).trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>);
  };
  const ds = await read([]);
  assert.deepEqual(ds.map(r => [r.x, r.state, r.attempt]).sort(), [[0, 'COMPLETED', 1], [1, 'COMPLETED', 2], [2, 'COMPLETED', 2]]);
  const dsAll = await read(['--all-attempts', '--out', join(g.root, 'all.jsonl')]);
  assert.deepEqual(dsAll.map(r => [r.x, r.state, r.attempt]).sort(), [[0, 'COMPLETED', 1], [1, 'COMPLETED', 2], [1, 'FAILED', 1], [2, 'COMPLETED', 2], [2, 'FAILED', 1]]);
});

test('local: --rebase with the branch unmoved resubmits in place; a plain resubmit after main moved says so; the rebased attempt counts every run before it', { timeout: 300_000 }, async t => {
  const g = await gitdir(t, { origin: true, files: { 'run.sbatch': script(false), 'params.sh': 'x=0\n' } });
  const f = await setup(g, { host: 'local' }, [1, 2]);
  const env = {};
  await rxJson(['submit', '--sweep', f], { cwd: g.work, env });
  const first = await final(g.work, env, 2);
  assert.ok(first.every(r => r.state === 'FAILED'));

  // Nothing to rebase onto: each point is resubmitted in its own run directory, and told so.
  const inPlace = await rx(['resubmit', '--failed', '--rebase', '--json'], { cwd: g.work, env });
  assert.match(inPlace.stderr, /point 1, 2 already on the tip of 'main' \(\w{7}\): nothing to rebase, resubmitted in its run directory/);
  const r1 = (JSON.parse(inPlace.stdout) as { resubmitted: Resubmitted[] }).resubmitted;
  assert.deepEqual(r1.map(r => [r.rebased, r.attempt, r.dir]).sort(), first.map(r => [null, 2, r.dir]).sort());
  await final(g.work, env, 2, rs => rs.every(r => r.attempt === 2));

  // main moves; a plain resubmit reruns the old commits and says how to run them on the new base.
  await g.write({ 'run.sbatch': script(true) });
  const newMain = await g.commit('fix run.sbatch');
  const plain = await rx(['resubmit', '--failed', '--json'], { cwd: g.work, env });
  assert.match(plain.stderr, /branch 'main' moved since these 2 points were submitted \(\w{7} → \w{7}\): rx resubmit --failed reruns their old commits; to run them on the new base: rx resubmit --failed --rebase --sweep reb/);
  await final(g.work, env, 2, rs => rs.every(r => r.attempt === 3));

  const rebased = await rxJson<{ resubmitted: Resubmitted[] }>(['resubmit', '--failed', '--rebase'], { cwd: g.work, env });
  assert.equal(rebased.resubmitted.length, 2);
  assert.ok(rebased.resubmitted.every(r => r.attempt === 4 && r.rebased?.base === newMain));
  const rows = await final(g.work, env, 2, rs => rs.every(r => r.state === 'COMPLETED'));
  assert.deepEqual(rows.map(r => [r.attempt, r.attempts]), [[4, 4], [4, 4]]);
  assert.equal((await status(g.work, env, ['--all-attempts'])).length, 4);
});
