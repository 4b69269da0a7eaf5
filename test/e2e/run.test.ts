// rx run drives sweeps to completion through the real CLI: an adaptive sweep (strategies.boundary,
// budget 10, batch 4) on the real Slurm test cluster over ssh, the same killed with SIGKILL right
// after its first proposal and run again, and (on the local default) a nested stage that the driver
// submits as soon as its source has ended.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { clusterSession } from '../helpers/cluster.ts';
import { gitdir, type GitDir } from '../helpers/gitdir.ts';
import { spawn } from 'node:child_process';
import { RX_BIN, eventually, rx } from '../helpers/rx.ts';

// A step at x = 0.37: the run writes whether its x is above it.
const SCRIPT = `#!/bin/bash
#SBATCH --ntasks=1
#SBATCH --time=00:02:00
. ./params.sh
awk -v x="$x" 'BEGIN { printf "{\\"above\\": %s}\\n", (x > 0.37) ? "true" : "false" }' > result.json
`;

/** The sweep file: no initial design; each propose call appends what it saw to $RX_TEST_CALLS. */
const sweepFile = (remote: Record<string, unknown> | undefined) => `
import { appendFileSync } from 'node:fs';
import { defineSweep, strategies } from 'remote-experiments';
const boundary = strategies.boundary({ result: 'above', bounds: { x: [0, 1] } });
export default defineSweep({
  name: 'adapt',
  branch: 'main',
  patcher: { type: 'keyvalue', file: 'params.sh' },
  parse: { file: 'result.json', parser: 'json' },
  budget: 10,
  batch: 4,
  propose: ctx => {
    const finished = ctx.rows.filter(r => r.state === 'COMPLETED' && typeof r.above === 'boolean').length;
    appendFileSync(process.env.RX_TEST_CALLS!, JSON.stringify({ round: ctx.round, rows: ctx.rows.length, finished, budgetLeft: ctx.budgetLeft }) + '\\n');
    return boundary(ctx);
  },
  ${remote ? `remote: ${JSON.stringify(remote)},` : ''}
});
`;

type Call = { round: number; rows: number; finished: number; budgetLeft: number };
type Row = { key: string; state: string; hash: string; params: { x: number } };

async function adaptiveRepo(t: import('node:test').TestContext, remote?: Record<string, unknown>): Promise<GitDir> {
  const g = await gitdir(t, { origin: true, files: { 'run.sbatch': SCRIPT, 'params.sh': 'x=0\n', 'adapt.sweep.ts': sweepFile(remote) } });
  await g.git.push('origin', 'main');
  return g;
}

const calls = async (file: string): Promise<Call[]> => (await readFile(file, 'utf8')).trim().split('\n').map(l => JSON.parse(l) as Call);

async function statusRows(g: GitDir, env: Record<string, string>): Promise<Row[]> {
  return JSON.parse((await rx(['status', '--sweep', 'adapt', '--json', '--offline'], { cwd: g.work, env })).stdout) as Row[];
}

/** Exactly 10 points, all COMPLETED, no parameter twice; the ledger holds 10 distinct hashes. */
async function assertTenCompleted(g: GitDir, env: Record<string, string>): Promise<Row[]> {
  const rows = await statusRows(g, env);
  assert.equal(rows.length, 10, `points: ${rows.map(r => r.params.x).join(', ')}`);
  assert.ok(rows.every(r => r.state === 'COMPLETED'), rows.map(r => r.state).join(' '));
  assert.equal(new Set(rows.map(r => r.hash)).size, 10);
  const ledger = (await readFile(join(g.work, '.rx/sweeps/adapt/ledger.jsonl'), 'utf8')).trim().split('\n').map(l => JSON.parse(l) as { t: string; hash?: string; points?: unknown[] });
  const points = ledger.filter(e => e.t === 'point');
  assert.equal(points.length, 10);
  assert.equal(new Set(points.map(p => p.hash)).size, 10);
  assert.equal(ledger.filter(e => e.t === 'proposal').reduce((n, e) => n + e.points!.length, 0), 10);
  return rows;
}

/** Each propose call saw more finished results than the one before, and the budget went down. */
function assertRounds(cs: Call[], budgetFirst = 10): void {
  assert.deepEqual(cs.map(c => c.round), cs.map((_, i) => i));
  for (let i = 1; i < cs.length; i++) {
    assert.ok(cs[i]!.finished > cs[i - 1]!.finished, `call ${i} saw ${cs[i]!.finished} finished, call ${i - 1} ${cs[i - 1]!.finished}`);
    assert.ok(cs[i]!.budgetLeft < cs[i - 1]!.budgetLeft);
  }
  assert.equal(cs[0]!.budgetLeft, budgetFirst);
}

test('rx run: an adaptive sweep (budget 10, batch 4) on the cluster ends with exactly 10 COMPLETED points', async t => {
  const c = await clusterSession(t, 'rx-run');
  if (!c) return;
  const g = await adaptiveRepo(t, c.remote());
  const env = { ...c.env, RX_TEST_CALLS: join(g.root, 'calls.jsonl') };
  const r = await rx(['run', '--sweep', 'adapt.sweep.ts', '--poll', '1', '--json'], { cwd: g.work, env });
  const events = r.stdout.trim().split('\n').map(l => JSON.parse(l) as { event: string; sweeps?: { reason: string; completed: number; budgetLeft: number }[] });
  const done = events.at(-1)!;
  assert.equal(done.event, 'done');
  assert.deepEqual(done.sweeps!.map(s => [s.reason, s.completed, s.budgetLeft]), [['budget', 10, 0]]);
  assert.ok(events.some(e => e.event === 'proposal') && events.some(e => e.event === 'status'));
  const rows = await assertTenCompleted(g, env);
  // The boundary at 0.37 is bracketed: the nearest runs on either side are close to it.
  const below = Math.max(...rows.map(r => r.params.x).filter(x => x <= 0.37));
  const above = Math.min(...rows.map(r => r.params.x).filter(x => x > 0.37));
  assert.ok(above - below < 0.1, `bracket [${below}, ${above}]`);
  const cs = await calls(env.RX_TEST_CALLS);
  assertRounds(cs);
  assert.equal(cs.length, 3); // 4 + 4 + 2
});

test('rx run: SIGKILL right after the first proposal, then rx run again: exactly 10 points, none twice', async t => {
  const c = await clusterSession(t, 'rx-run-kill');
  if (!c) return;
  const g = await adaptiveRepo(t, c.remote());
  const env = { ...c.env, RX_TEST_CALLS: join(g.root, 'calls.jsonl') };
  const killed = await rx(['run', '--sweep', 'adapt.sweep.ts', '--poll', '1'], { cwd: g.work, env: { ...env, RX_CRASH_AFTER: 'proposal' }, allowFailure: true });
  assert.equal(killed.exitCode, null, `expected a SIGKILL, got exit ${killed.exitCode}: ${killed.stderr}`);
  // The proposal is recorded, none of its points planned yet.
  const ledger = await readFile(join(g.work, '.rx/sweeps/adapt/ledger.jsonl'), 'utf8');
  assert.equal(ledger.split('\n').filter(l => l.includes('"t":"proposal"')).length, 1);
  assert.equal(ledger.split('\n').filter(l => l.includes('"t":"point"')).length, 0);
  const again = await rx(['run', '--sweep', 'adapt.sweep.ts', '--poll', '1'], { cwd: g.work, env });
  assert.match(again.stdout, /adapt: 10 points: 10 completed, 3 round\(s\) proposed, budget left 0 \(the budget is spent\)/);
  await assertTenCompleted(g, env);
  const cs = await calls(env.RX_TEST_CALLS);
  // Round 0 was asked once: the re-run took its recorded proposal instead of asking again.
  assertRounds(cs);
  assert.equal(cs.length, 3);
});

test('rx run (local default): a stage with from: is submitted by the driver once its source has ended', async t => {
  const g = await gitdir(t, {
    files: {
      'config.sh': 'm=1\nk=0\n',
      'run.sbatch': '#!/bin/bash\n. ./config.sh\nsleep 1\necho "out = $((5 * m + k))" > result.txt\n',
      'stage1.yaml': 'name: stage1\nbranch: main\npatcher: { type: keyvalue, file: config.sh }\ndimensions: { m: [1, 2, 4] }\nparse: { file: result.txt, parser: keyvalue }\n',
      'stage2.yaml': 'name: stage2\nbranch: main\npatcher: { type: keyvalue, file: config.sh }\nfrom: { sweep: stage1, where: { state: COMPLETED, out: { gt: 8 } }, select: { m: out } }\ndimensions: { k: [0, 1] }\n',
    },
  });
  // Given stage 2 first: the driver still runs stage 1 first.
  const r = await rx(['run', '--sweep', 'stage2.yaml', '--sweep', 'stage1.yaml', '--poll', '1', '--json'], { cwd: g.work });
  const events = r.stdout.trim().split('\n').map(l => JSON.parse(l) as { event: string; sweep?: string; completed?: number; points?: number; sweeps?: { sweep: string; completed: number; reason: string }[] });
  const stage2Starts = events.findIndex(e => e.event === 'sweep' && e.sweep === 'stage2');
  const stage1Done = events.findIndex(e => e.event === 'status' && e.sweep === 'stage1' && e.completed === 3);
  assert.ok(stage1Done >= 0 && stage2Starts > stage1Done, 'stage 2 starts after every stage-1 point completed');
  assert.deepEqual(events.at(-1)!.sweeps!.map(s => [s.sweep, s.completed, s.reason]), [['stage1', 3, 'done'], ['stage2', 4, 'done']]);
  const rows = JSON.parse((await rx(['status', '--sweep', 'stage2', '--json', '--offline'], { cwd: g.work })).stdout) as { state: string; params: { m: number; k: number } }[];
  assert.deepEqual(rows.map(x => [x.params.m, x.params.k, x.state]), [[10, 0, 'COMPLETED'], [10, 1, 'COMPLETED'], [20, 0, 'COMPLETED'], [20, 1, 'COMPLETED']]);
});

test('rx run (local default): rx submit of an adaptive sweep submits only its initial design; Ctrl-C stops rx run with 130, and a re-run finishes the budget', async t => {
  const g = await gitdir(t, { files: { 'run.sbatch': SCRIPT.replace('. ./params.sh', '. ./params.sh\nsleep "${SLOW:-0}"'), 'params.sh': 'x=0\nSLOW=0\n' } });
  const file = sweepFile(undefined).replace("batch: 4,", "batch: 4,\n  dimensions: { x: [0, 1] },\n  base_config: { SLOW: 0 },");
  await g.write({ 'adapt.sweep.ts': file.replace("base_config: { SLOW: 0 }", "base_config: { SLOW: 3 }") });
  await g.commit('adaptive sweep with an initial design');
  const env = { RX_TEST_CALLS: join(g.root, 'calls.jsonl') };
  const sub = await rx(['submit', '--sweep', 'adapt.sweep.ts'], { cwd: g.work, env });
  assert.match(sub.stderr, /an adaptive sweep \(propose\): rx submit submits only its initial design \(2 point\(s\)\); rx run --sweep adapt\.sweep\.ts proposes and submits the rest/);
  assert.match(sub.stdout, /2 submitted/);
  // Ctrl-C while rx run waits for the jobs: it stops cleanly.
  const child = spawn(process.execPath, [RX_BIN, 'run', '--sweep', 'adapt.sweep.ts', '--poll', '1', '--json'], { cwd: g.work, env: { ...process.env, ...env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', b => { stdout += b; });
  child.stderr.on('data', b => { stderr += b; });
  const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)));
  await eventually('a status event', 30_000, async () => (stdout.includes('"event":"status"') ? true : undefined));
  child.kill('SIGINT');
  assert.equal(await exited, 130, stderr);
  assert.match(stderr, /rx run stopped; run it again to continue/);
  const again = await rx(['run', '--sweep', 'adapt.sweep.ts', '--poll', '1'], { cwd: g.work, env });
  assert.match(again.stdout, /adapt: 10 points: 10 completed, \d round\(s\) proposed, budget left 0 \(the budget is spent\)/);
  const rows = await statusRows(g, {});
  assert.equal(rows.length, 10);
  assert.deepEqual(rows.slice(0, 2).map(r => r.params.x), [0, 1]);
  const cs = await calls(env.RX_TEST_CALLS);
  assertRounds(cs, 8);
});
