// Per-point chains (`after:`), through the real CLI: a chained sweep submitted right after its
// source (no waiting) runs each point after its own source point, with a `prev` link to the source
// run dir and the source's params; a failing source point leaves its chained point not run
// (CANCELLED, DependencyNeverSatisfied); `rx resubmit --failed --rebase` of the source, after the
// fix is committed, re-creates the chain. On the real Slurm cluster over ssh, and with the local
// shell scheduler.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readlink, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { clusterSession } from '../helpers/cluster.ts';
import { gitdir, type GitDir } from '../helpers/gitdir.ts';
import { rx, rxJson, eventually } from '../helpers/rx.ts';

type Rec = { key: string; dir: string; jobId: string; status: string; params: Record<string, unknown> };
type Row = { key: string; dir: string; jobId: string; state: string; reason: string | null; start: string | null; end: string | null; params: Record<string, unknown> };

// One script for both sweeps: a chained run reads its source's output through `prev`; a source
// run whose x is listed in bad.txt fails (the "bug" fixed later by a commit).
const SCRIPT = `#!/bin/bash
#SBATCH --ntasks=1
#SBATCH --time=00:05:00
. ./params.sh
if [ -L prev ]; then cp prev/done.txt from-prev.txt || exit 4
elif grep -qx "$x" bad.txt; then echo "x=$x is bad" >&2; exit 3; fi
sleep 2
echo "x=$x y=$y" > done.txt
`;

interface Setup { g: GitDir; env: Record<string, string>; onTarget: (p: string) => string }

async function setup(g: GitDir, remote: Record<string, unknown> | null, env: Record<string, string>, onTarget: (p: string) => string): Promise<Setup> {
  const r = remote ? `remote: ${JSON.stringify(remote)},` : '';
  await g.write({
    'src.sweep.ts': `import { defineSweep } from 'remote-experiments';
export default defineSweep({ name: 'src', branch: 'main', dimensions: { x: [1, 2, 3] }, patcher: { type: 'keyvalue', file: 'params.sh' }, ${r} });`,
    'chain.sweep.ts': `import { defineSweep } from 'remote-experiments';
export default defineSweep({ name: 'chain', branch: 'main', after: { sweep: 'src' }, dimensions: { y: [7] }, patcher: { type: 'keyvalue', file: 'params.sh' }, ${r} });`,
  });
  await g.commit('sweeps');
  if (remote) await g.git.push('origin', 'main');
  return { g, env, onTarget };
}

const statusOf = (s: Setup, sweep: string) => rxJson<Row[]>(['status', '--sweep', sweep], { cwd: s.g.work, env: s.env });
const final = (r: Row) => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(r.state);

async function scenario(s: Setup): Promise<void> {
  const opts = { cwd: s.g.work, env: s.env };
  // Chained before the source exists: a clear error.
  const early = await rx(['submit', '--sweep', 'chain.sweep.ts'], { ...opts, allowFailure: true });
  assert.equal(early.exitCode, 2);
  assert.match(early.stderr, /after.sweep: there is no sweep 'src'/);

  const src = await rxJson<Rec[]>(['submit', '--sweep', 'src.sweep.ts'], opts);
  const chain = await rxJson<Rec[]>(['submit', '--sweep', 'chain.sweep.ts'], opts);
  assert.equal(chain.length, 3);
  assert.ok(chain.every(r => r.status === 'submitted'), JSON.stringify(chain));
  const srcOf = (r: { params: Record<string, unknown> }) => src.find(x => x.params.x === r.params.x)!;
  for (const r of chain) {
    assert.deepEqual(r.params, { x: srcOf(r).params.x, y: 7 }, 'source params merged with its own');
    // The link is there at once (made before the job is submitted), pointing at the source run dir.
    const link = join(s.onTarget(r.dir), 'prev');
    assert.equal(await readlink(link), await realpath(s.onTarget(srcOf(r).dir)));
    const point = JSON.parse(await readFile(join(s.onTarget(r.dir), '.rx/point.json'), 'utf8'));
    assert.equal(point.from.sweep, 'src');
    assert.equal(point.from.key, srcOf(r).key);
  }

  const srcRows = await eventually('source finished', 180_000, async () => { const rows = await statusOf(s, 'src'); return rows.every(final) ? rows : undefined; });
  assert.deepEqual(srcRows.map(r => [r.params.x, r.state]), [[1, 'COMPLETED'], [2, 'FAILED'], [3, 'COMPLETED']]);
  const rows = await eventually('chain finished', 180_000, async () => { const rs = await statusOf(s, 'chain'); return rs.every(final) ? rs : undefined; });
  for (const r of rows) {
    const source = srcRows.find(x => x.params.x === r.params.x)!;
    if (source.state === 'COMPLETED') {
      assert.equal(r.state, 'COMPLETED', JSON.stringify(r));
      assert.ok(r.start! >= source.end!, `chain ${r.key} started ${r.start}, its source ended ${source.end}`);
      assert.equal(await readFile(join(s.onTarget(r.dir), 'from-prev.txt'), 'utf8'), `x=${r.params.x} y=0\n`, 'it read its source output through prev');
    } else {
      assert.equal(r.state, 'CANCELLED', JSON.stringify(r));
      assert.equal(r.reason, 'DependencyNeverSatisfied');
      assert.equal(r.start === null || r.start === r.end, true, `never ran: ${JSON.stringify(r)}`);
      await assert.rejects(readFile(join(s.onTarget(r.dir), 'from-prev.txt')), 'its script never ran');
    }
  }

  // Fix the "bug", rebase the failed source point: the chain is re-created after it.
  await s.g.write({ 'bad.txt': '' });
  await s.g.commit('fix');
  await s.g.git.push('origin', 'main');
  const again = await rxJson<{ resubmitted: { sweep: string; key: string }[] }>(['resubmit', '--failed', '--rebase', '--sweep', 'src'], opts);
  assert.deepEqual(again.resubmitted.map(r => r.sweep).sort(), ['chain', 'src']);
  const done = await eventually('chain re-created and finished', 180_000, async () => { const rs = await statusOf(s, 'chain'); return rs.every(r => r.state === 'COMPLETED') ? rs : undefined; });
  const newSrc = (await statusOf(s, 'src')).find(r => r.params.x === 2)!;
  assert.equal(newSrc.state, 'COMPLETED');
  const redone = done.find(r => r.params.x === 2)!;
  assert.equal(await readlink(join(s.onTarget(redone.dir), 'prev')), await realpath(s.onTarget(newSrc.dir)), 'prev now names the rebased source run');
  assert.equal(await readFile(join(s.onTarget(redone.dir), 'from-prev.txt'), 'utf8'), 'x=2 y=0\n');
}

const FILES = { 'run.sbatch': SCRIPT, 'params.sh': 'x=0\ny=0\n', 'bad.txt': '2\n' };

test('after: chains on the real Slurm cluster (one job each, afterok on the source task; a failed source cancels its chain; resubmit re-creates it)', async t => {
  const c = await clusterSession(t, 'rx-after');
  if (!c) return;
  const g = await gitdir(t, { origin: true, files: FILES });
  await scenario(await setup(g, c.remote(), c.env, p => p.replace(/^~\//, `${c.info.clusterHome}/`)));
});

test('after: chains with the local shell scheduler (waits for the source exit status)', async t => {
  const g = await gitdir(t, { origin: true, files: FILES });
  await scenario(await setup(g, null, {}, p => p));
});
