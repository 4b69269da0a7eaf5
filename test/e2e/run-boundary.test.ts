// The shipped example examples/adaptive (unchanged but for a `remote:` on the test cluster) does
// what its README says on real Slurm: `rx run` with strategies.boundary brackets the step at
// x = 0.37 to a width <= 0.02 within its budget of 14 points, no point run twice, and every run's
// `above` in the dataset (parsed from the cluster's result.json) agrees with x > 0.37.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { clusterSession } from '../helpers/cluster.ts';
import { gitdir } from '../helpers/gitdir.ts';
import { rx, rxJson } from '../helpers/rx.ts';

const EXAMPLE = fileURLToPath(new URL('../../examples/adaptive/', import.meta.url));
const STEP = 0.37;

type Done = { event: string; sweeps?: { sweep: string; reason: string; completed: number; points: number }[] };
type Row = { key: string; state: string; hash: string; params: { x: number } };
type DataRow = { key: string; state: string; x: number; x_?: unknown; above?: unknown };

/** The example's sweep.ts with a `remote:` added: the one change the README's own comment suggests. */
async function sweepOnCluster(remote: Record<string, unknown>): Promise<string> {
  const text = await readFile(join(EXAMPLE, 'sweep.ts'), 'utf8');
  const patched = text.replace(/\n\}\);\s*$/, `\n  remote: ${JSON.stringify(remote)},\n});\n`);
  assert.notEqual(patched, text, 'examples/adaptive/sweep.ts no longer ends with `});`');
  return patched;
}

/** The dataset rows (rx dataset --format jsonl), fetched from the cluster's run directories. */
async function datasetRows(cwd: string, env: Record<string, string>): Promise<DataRow[]> {
  const [summary] = await rxJson<{ file: string }[]>(['dataset', '--sweep', 'adaptive', '--format', 'jsonl'], { cwd, env });
  return (await readFile(summary!.file, 'utf8')).trim().split('\n').map(l => JSON.parse(l) as DataRow);
}

test('examples/adaptive on the cluster: rx run brackets x = 0.37 to <= 0.02 within 14 points, results from the runs', async t => {
  const c = await clusterSession(t, 'rx-boundary');
  if (!c) return;
  const g = await gitdir(t, { origin: true, copy: EXAMPLE });
  await g.write({ 'sweep.ts': await sweepOnCluster(c.remote()) });
  await g.commit('adaptive example on the test cluster');
  await g.git.push('origin', 'main');

  const r = await rx(['run', '--sweep', 'sweep.ts', '--poll', '1', '--json'], { cwd: g.work, env: c.env });
  const done = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Done;
  assert.equal(done.event, 'done', r.stdout);
  assert.equal(done.sweeps?.length, 1);
  assert.equal(done.sweeps![0]!.sweep, 'adaptive');

  // The ledger: at most the budget, every point COMPLETED, none twice.
  const rows = JSON.parse((await rx(['status', '--sweep', 'adaptive', '--json', '--offline'], { cwd: g.work, env: c.env })).stdout) as Row[];
  const xs = rows.map(p => p.params.x);
  assert.ok(rows.length > 0 && rows.length <= 14, `points: ${xs.join(', ')}`);
  assert.ok(rows.every(p => p.state === 'COMPLETED'), rows.map(p => p.state).join(' '));
  assert.equal(new Set(rows.map(p => p.hash)).size, rows.length, 'a point ran twice');
  assert.equal(done.sweeps![0]!.completed, rows.length);

  // The bracket: nearest runs on either side of the step.
  const below = Math.max(...xs.filter(x => x <= STEP));
  const above = Math.min(...xs.filter(x => x > STEP));
  assert.ok(below <= STEP && STEP < above && above - below <= 0.02, `bracket [${below}, ${above}] from ${xs.join(', ')}`);

  // The results came from the cluster runs: each run's parsed `above` (and the x it read) match.
  const data = await datasetRows(g.work, c.env);
  assert.equal(data.length, rows.length);
  for (const d of data) {
    assert.equal(d.state, 'COMPLETED');
    assert.equal(String(d.above), String(d.x > STEP), `run ${d.key}: x = ${d.x}, above = ${String(d.above)}`);
    assert.equal(Number(d.x_), d.x, `run ${d.key}: result.json's x ${String(d.x_)} vs param x ${d.x}`);
  }
  t.diagnostic(`bracket [${below}, ${above}] (width ${(above - below).toPrecision(3)}) after ${rows.length} points, reason ${done.sweeps![0]!.reason}`);
});
