// rx run drives a chained sweep (`after:`) with its source, through the real CLI: each round's
// chained points are submitted right after the source's points (before those have ended: the
// chained jobs wait in the scheduler, not in rx), every chain starts after its own source point
// and reads it through `prev`; on the real Slurm cluster over ssh and with the local shell
// scheduler. Repeated source points (rx submit --repeat) each get a chain of their own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readlink, realpath, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { clusterSession } from '../helpers/cluster.ts';
import { gitdir } from '../helpers/gitdir.ts';
import { rx, rxJson } from '../helpers/rx.ts';

// A source run (no prev) takes 4 s, so a chained job submitted "right after" is submitted while
// its source still runs; a chained run copies its source's output through prev.
const SCRIPT = `#!/bin/bash
#SBATCH --ntasks=1
#SBATCH --time=00:05:00
. ./params.sh
if [ -L prev ]; then cp prev/done.txt from-prev.txt || exit 4; else sleep 4; fi
echo "x=$x y=$y" > done.txt
`;

const sweep = (body: string, remote: Record<string, unknown> | null) => `import { defineSweep } from 'remote-experiments';
export default defineSweep({ branch: 'main', patcher: { type: 'keyvalue', file: 'params.sh' }, ${body} ${remote ? `remote: ${JSON.stringify(remote)},` : ''} });
`;

// An adaptive source (1 design point, then one proposed point per round, budget 3) and a chain
// after it with two own points: 3 × 2 chained points.
const ADAPTIVE_SRC = "name: 'src', dimensions: { x: [1] }, budget: 3, batch: 1, propose: ({ round }) => [{ x: round + 2 }],";
const CHAIN = "name: 'chain', after: { sweep: 'src' }, dimensions: { y: [7, 8] },";

type Event = { event: string; sweep?: string; submitted?: number; sweeps?: { sweep: string; completed: number; reason: string }[] };
type Row = { key: string; dir: string; state: string; start: string | null; end: string | null; params: { x: number; y: number } };
type LedgerLine = { t: string; at: string; key: string; jobId?: string };

async function chainRun(remote: Record<string, unknown> | null, env: Record<string, string>, onTarget: (p: string) => string, t: import('node:test').TestContext): Promise<void> {
  const g = await gitdir(t, { origin: true, files: { 'run.sbatch': SCRIPT, 'params.sh': 'x=0\ny=0\n', 'src.sweep.ts': sweep(ADAPTIVE_SRC, remote), 'chain.sweep.ts': sweep(CHAIN, remote) } });
  await g.git.push('origin', 'main');
  const opts = { cwd: g.work, env };
  // Given chain first: the driver still drives src first and chains each of its rounds.
  const r = await rx(['run', '--sweep', 'chain.sweep.ts', '--sweep', 'src.sweep.ts', '--poll', '1', '--json'], opts);
  const events = r.stdout.trim().split('\n').map(l => JSON.parse(l) as Event);
  assert.deepEqual(events.at(-1)!.sweeps!.map(s => [s.sweep, s.completed, s.reason]), [['src', 3, 'budget'], ['chain', 6, 'done']]);
  // Every submission of src is followed by one of chain, before src's next proposal.
  const order = events.filter(e => (e.event === 'submitted' && (e.submitted ?? 0) > 0) || (e.event === 'proposal' && e.sweep === 'src')).map(e => `${e.event}:${e.sweep}`);
  assert.deepEqual(order, ['submitted:src', 'submitted:chain', 'proposal:src', 'submitted:src', 'submitted:chain', 'proposal:src', 'submitted:src', 'submitted:chain']);

  const src = await rxJson<Row[]>(['status', '--sweep', 'src', '--offline'], opts);
  const chain = await rxJson<Row[]>(['status', '--sweep', 'chain', '--offline'], opts);
  assert.deepEqual(chain.map(c => [c.params.x, c.params.y, c.state]), [[1, 7, 'COMPLETED'], [1, 8, 'COMPLETED'], [2, 7, 'COMPLETED'], [2, 8, 'COMPLETED'], [3, 7, 'COMPLETED'], [3, 8, 'COMPLETED']]);
  const jobs = (await readFile(join(g.work, '.rx/sweeps/chain/ledger.jsonl'), 'utf8')).trim().split('\n').map(l => JSON.parse(l) as LedgerLine).filter(l => l.t === 'job');
  for (const c of chain) {
    const s = src.find(x => x.params.x === c.params.x)!;
    const submitted = jobs.find(j => j.key === c.key)!.at;
    // Submitted while its source still ran (not after rx saw it end), started after it ended.
    assert.ok(Date.parse(submitted) < Date.parse(s.end!), `chain ${c.key} submitted ${submitted}, its source ended ${s.end}`);
    assert.ok(c.start! >= s.end!, `chain ${c.key} started ${c.start}, its source ended ${s.end}`);
    assert.equal(await readlink(join(onTarget(c.dir), 'prev')), await realpath(onTarget(s.dir)));
    assert.equal(await readFile(join(onTarget(c.dir), 'from-prev.txt'), 'utf8'), `x=${c.params.x} y=0\n`);
  }
}

test('rx run drives an adaptive source and its after: chain on the real Slurm cluster: each round chained at once', async t => {
  const c = await clusterSession(t, 'rx-run-chain');
  if (!c) return;
  await chainRun(c.remote(), c.env, p => p.replace(/^~\//, `${c.info.clusterHome}/`), t);
});

test('rx run drives an adaptive source and its after: chain with the local shell scheduler', async t => {
  await chainRun(null, {}, p => p, t);
});

test('repeated source points (rx submit --repeat) each get their own chained point, linked to their own run dir', async t => {
  const g = await gitdir(t, { files: { 'run.sbatch': SCRIPT, 'params.sh': 'x=0\ny=0\n', 'src.sweep.ts': sweep("name: 'src', dimensions: { x: [1, 2] },", null), 'chain.sweep.ts': sweep("name: 'chain', after: { sweep: 'src' }, dimensions: { y: [7] },", null) } });
  const opts = { cwd: g.work };
  await rx(['submit', '--sweep', 'src.sweep.ts'], opts);
  await rx(['submit', '--sweep', 'src.sweep.ts', '--repeat'], opts);
  const r = await rx(['run', '--sweep', 'src.sweep.ts', '--sweep', 'chain.sweep.ts', '--poll', '1', '--json'], opts);
  const done = (JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Event).sweeps!;
  assert.deepEqual(done.map(s => [s.sweep, s.completed, s.reason]), [['src', 4, 'done'], ['chain', 4, 'done']]);
  const chain = await rxJson<Row[]>(['status', '--sweep', 'chain', '--offline'], opts);
  const src = await rxJson<Row[]>(['status', '--sweep', 'src', '--offline'], opts);
  const links = await Promise.all(chain.map(c => readlink(join(c.dir, 'prev'))));
  assert.deepEqual(links.sort(), (await Promise.all(src.map(s => realpath(s.dir)))).sort(), 'one chain per source run dir, twins included');
  const from = await Promise.all(chain.map(async c => (JSON.parse(await readFile(join(c.dir, '.rx/point.json'), 'utf8')) as { from: { key: string } }).from.key));
  assert.deepEqual(from.sort(), src.map(s => s.key).sort());
  // A second rx run (and rx submit) of the chain finds nothing new: the chains are recognised.
  const again = await rxJson<{ status: string }[]>(['submit', '--sweep', 'chain.sweep.ts'], opts);
  assert.ok(again.every(x => x.status !== 'submitted'), JSON.stringify(again));
  // rx doctor takes the chained run dirs as rx's own (their hash names the source point); with the
  // chain's ledger gone, --rebuild recovers all 4 points and a submit then finds nothing new.
  const doc = await rxJson<{ findings: { kind: string }[] }>(['doctor', '--sweep', 'chain'], opts);
  assert.deepEqual(doc.findings.filter(f => f.kind === 'blocked'), []);
  await rm(join(g.work, '.rx/sweeps/chain'), { recursive: true });
  // (exit 5: the ledger lacked what it rebuilt)
  const rebuilt = JSON.parse((await rx(['doctor', '--sweep', 'chain.sweep.ts', '--rebuild', '--json'], { ...opts, allowFailure: true })).stdout) as { recovered: string[]; findings: { kind: string }[] };
  assert.equal(rebuilt.recovered.length, 4, JSON.stringify(rebuilt.findings));
  assert.deepEqual((await rxJson<Row[]>(['status', '--sweep', 'chain'], opts)).map(c => c.state), ['COMPLETED', 'COMPLETED', 'COMPLETED', 'COMPLETED']);
  const third = await rxJson<{ status: string }[]>(['submit', '--sweep', 'chain.sweep.ts'], opts);
  assert.ok(third.every(x => x.status !== 'submitted'), JSON.stringify(third));
});

test('rx run with a failing source point: its chain ends CANCELLED (DependencyNeverSatisfied) and the summary says where to look and how to rerun', async t => {
  const script = SCRIPT.replace('. ./params.sh\n', '. ./params.sh\nif [ ! -L prev ] && [ "$x" = 2 ]; then sleep 1; echo "x=2 fails" >&2; exit 3; fi\n');
  const g = await gitdir(t, { files: { 'run.sbatch': script, 'params.sh': 'x=0\ny=0\n', 'src.sweep.ts': sweep("name: 'src', dimensions: { x: [1, 2] },", null), 'chain.sweep.ts': sweep("name: 'chain', after: { sweep: 'src' }, dimensions: { y: [7] },", null) } });
  const opts = { cwd: g.work };
  const r = await rx(['run', '--sweep', 'src.sweep.ts', '--sweep', 'chain.sweep.ts', '--poll', '1'], opts);
  assert.match(r.stdout, /^src: 2 points: 1 completed, 1 failed \(every point has ended\)$/m);
  assert.match(r.stdout, /^chain: 2 points: 1 completed, 1 failed \(every point has ended\)$/m);
  for (const s of ['src', 'chain']) assert.match(r.stdout, new RegExp(`^  ${s}: why: rx status --failed --sweep ${s}; rerun after a fix: rx resubmit --failed \\[--rebase\\] --sweep ${s}$`, 'm'));
  const chain = await rxJson<(Row & { reason: string | null })[]>(['status', '--sweep', 'chain', '--offline'], opts);
  assert.deepEqual(chain.map(c => [c.params.x, c.state, c.reason]), [[1, 'COMPLETED', null], [2, 'CANCELLED', 'DependencyNeverSatisfied']]);
});
