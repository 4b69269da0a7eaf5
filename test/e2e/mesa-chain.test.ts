// The MESA example's two-stage chain (examples/mesa: zams.sweep.ts → evolve.sweep.ts, `after:`)
// through the real CLI on the embedded local default (local transport, shell scheduler). MESA is
// replaced by a stand-in (test/fixtures/mesa-chain: `mk` does nothing; `rn` reads inlist_project,
// saves a model holding the mass it was made with, or loads load_model_filename and fails when it
// is missing), so what is checked is the chain: every ZAMS run gets one evolve run per mixing
// length, each loading its own source's model through `prev`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, readFile, readlink, realpath, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gitdir, type GitDir } from '../helpers/gitdir.ts';
import { rx, rxJson, eventually } from '../helpers/rx.ts';
import { mesaHistory, mesaInlist } from '../../parsers/index.ts';
import evolveExample from '../../examples/mesa/evolve.sweep.ts';

const example = fileURLToPath(new URL('../../examples/mesa', import.meta.url));
const standIn = fileURLToPath(new URL('../fixtures/mesa-chain', import.meta.url));

type Params = Record<string, unknown>;
type Row = { key: string; dir: string; jobId: string; state: string; reason: string | null; params: Params; supersedes: string | null };
type Done = { event: 'done'; sweeps: { sweep: string; points: number; completed: number; failed: number }[] };

const MASSES = [1.5, 3];
const ALPHAS = [1.6, 2.0];

/**
 * The example's work directory in a git repository, `mk`/`rn` stand-ins committed next to it, and
 * the two sweep files as the test runs them (outside the work tree): the example's own, without
 * `remote` (so they run on this machine) and with fewer ZAMS points (2 masses × 1 Z).
 */
async function exampleRepo(t: Parameters<typeof gitdir>[0]): Promise<{ g: GitDir; zams: string; evolve: string }> {
  const g = await gitdir(t, { origin: true, copy: example, prefix: 'rx-mesa-chain-' });
  for (const f of ['mk', 'rn']) await cp(join(standIn, f), join(g.work, f)); // keeps the exec bit
  await g.commit('MESA stand-ins: mk, rn');
  const zams = join(g.root, 'zams.sweep.ts');
  const evolve = join(g.root, 'evolve.sweep.ts');
  await writeFile(zams, `import zams from './work/zams.sweep.ts';
const { remote: _cluster, ...sweep } = zams;
export default { ...sweep, dimensions: { ...sweep.dimensions, initial_mass: ${JSON.stringify(MASSES)}, initial_z: [0.02] } };
`);
  await writeFile(evolve, `import evolve from './work/evolve.sweep.ts';
const { remote: _cluster, ...sweep } = evolve;
export default sweep;
`);
  return { g, zams, evolve };
}

const statusOf = (g: GitDir, sweep: string) => rxJson<Row[]>(['status', '--sweep', sweep], { cwd: g.work });
const inlistOf = async (dir: string) => mesaInlist(await readFile(join(dir, 'inlist_project'), 'utf8'));
const modelMass = (text: string) => Number(/^\s*M\/Msun\s+(\S+)/m.exec(text)?.[1]);
const pointOf = async (dir: string) => JSON.parse(await readFile(join(dir, '.rx/point.json'), 'utf8')) as { from?: { sweep: string; key: string } };

/** Stage 1 runs: made a pre-main-sequence model, stopped near the ZAMS and saved zams.mod with its own mass. */
async function checkZams(rows: Row[]): Promise<void> {
  assert.deepEqual(rows.map(r => [r.params.initial_mass, r.state]).sort(), MASSES.map(m => [m, 'COMPLETED']));
  for (const r of rows) {
    const inl = await inlistOf(r.dir);
    assert.equal(inl['star_job.create_pre_main_sequence_model'], true);
    assert.equal(inl['star_job.save_model_when_terminate'], true);
    assert.equal(inl['star_job.save_model_filename'], 'zams.mod');
    assert.equal(inl['controls.stop_near_zams'], true);
    assert.equal(modelMass(await readFile(join(r.dir, 'zams.mod'), 'utf8')), r.params.initial_mass);
  }
}

/** Stage 2 runs: one per ZAMS run × mixing length, each linked to and loading its own source's model. */
async function checkEvolve(rows: Row[], zams: Row[]): Promise<void> {
  assert.equal(rows.length, zams.length * ALPHAS.length);
  assert.ok(rows.every(r => r.state === 'COMPLETED'), JSON.stringify(rows.map(r => [r.key, r.state, r.reason])));
  const pairs = rows.map(r => `${r.params.initial_mass}/${r.params.mixing_length_alpha}`).sort();
  assert.deepEqual(pairs, MASSES.flatMap(m => ALPHAS.map(a => `${m}/${a}`)).sort());
  for (const r of rows) {
    const from = (await pointOf(r.dir)).from;
    assert.ok(from && from.sweep === 'zams', `evolve ${r.key} records its source: ${JSON.stringify(from)}`);
    // The source point's latest attempt: the point itself, or the rebased attempt that replaced it.
    const src = zams.find(z => z.key === from.key || z.supersedes === from.key);
    assert.ok(src, `evolve ${r.key}: its source ${from.key} (or its rebased attempt) is a zams point`);
    // Parameters: the source's, overlaid with evolve's base_config, overlaid with its own value.
    assert.deepEqual(r.params, { ...src.params, ...evolveExample.base_config, mixing_length_alpha: r.params.mixing_length_alpha });
    assert.equal(await readlink(join(r.dir, 'prev')), await realpath(src.dir), 'prev is the source run dir');
    const inl = await inlistOf(r.dir);
    assert.equal(inl['star_job.load_saved_model'], true);
    assert.equal(inl['star_job.load_model_filename'], 'prev/zams.mod');
    assert.equal(inl['star_job.create_pre_main_sequence_model'], false);
    assert.equal(inl['controls.stop_near_zams'], false);
    assert.equal(inl['controls.initial_mass'], src.params.initial_mass);
    assert.equal(inl['controls.initial_z'], src.params.initial_z);
    assert.equal(inl['controls.mixing_length_alpha'], r.params.mixing_length_alpha);
    // What the stand-in read: the model of this very source (not another chain's), and its own alpha.
    const h = mesaHistory(await readFile(join(r.dir, 'LOGS/history.data')));
    assert.equal(h.header.loaded_from, join(await realpath(src.dir), 'zams.mod'));
    assert.equal(h.header.loaded_mass, src.params.initial_mass);
    assert.equal(h.header.mixing_length_alpha, r.params.mixing_length_alpha);
    assert.ok(h.column('star_mass').every(m => m === src.params.initial_mass));
  }
}

test('MESA chain: rx run --sweep zams --sweep evolve → each ZAMS run × 2 mixing lengths, each loading its own prev/zams.mod', async t => {
  const { g, zams, evolve } = await exampleRepo(t);
  const run = await rx(['run', '--sweep', zams, '--sweep', evolve, '--poll', '1', '--json'], { cwd: g.work });
  const done = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Done;
  assert.equal(done.event, 'done');
  assert.deepEqual(done.sweeps.map(s => [s.sweep, s.points, s.completed, s.failed]), [['zams', 2, 2, 0], ['evolve', 4, 4, 0]]);

  const zamsRows = await statusOf(g, 'zams');
  await checkZams(zamsRows);
  await checkEvolve(await statusOf(g, 'evolve'), zamsRows);

  // The example's parse entry: rx dataset reads each evolve run's LOGS/history.data.
  await rx(['dataset', '--sweep', 'evolve', '--format', 'jsonl'], { cwd: g.work });
  const rows = (await readFile(join(g.work, '.rx/datasets/evolve.jsonl'), 'utf8')).trim().split('\n').map(l => JSON.parse(l) as Params);
  assert.equal(rows.length, 4);
  for (const row of rows) assert.equal(row.star_mass, row.initial_mass, JSON.stringify(row));
  // The user's working tree is untouched (the links and outputs live in the run dirs).
  assert.equal((await g.git.status()).files.length, 0);
});

test('MESA chain: rx submit of both at once; a crashed ZAMS run leaves its evolve runs CANCELLED, resubmit --rebase re-creates them', async t => {
  const { g, zams, evolve } = await exampleRepo(t);
  // A "bug" that crashes the 3 Msun pre-main-sequence run (the stand-in exits 3 when its mass is
  // listed in crash_masses), fixed by a later commit.
  await g.write({ 'crash_masses': '3\n' });
  await g.commit('a bug');
  const opts = { cwd: g.work };
  await rx(['submit', '--sweep', zams], opts);
  const chained = await rxJson<{ status: string }[]>(['submit', '--sweep', evolve], opts);
  assert.equal(chained.length, 4);
  assert.ok(chained.every(r => r.status === 'submitted'), 'the chained points are submitted at once, not after stage 1');

  const ended = (rs: Row[]) => rs.length > 0 && rs.every(r => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(r.state));
  const zamsRows = await eventually('zams ended', 120_000, async () => { const rs = await statusOf(g, 'zams'); return ended(rs) ? rs : undefined; });
  assert.deepEqual(zamsRows.map(r => [r.params.initial_mass, r.state]).sort(), [[1.5, 'COMPLETED'], [3, 'FAILED']]);
  const rows = await eventually('evolve ended', 120_000, async () => { const rs = await statusOf(g, 'evolve'); return ended(rs) ? rs : undefined; });
  for (const r of rows) {
    if (r.params.initial_mass === 1.5) assert.equal(r.state, 'COMPLETED', JSON.stringify(r));
    else {
      assert.deepEqual([r.state, r.reason], ['CANCELLED', 'DependencyNeverSatisfied'], JSON.stringify(r));
      await assert.rejects(readFile(join(r.dir, 'LOGS/history.data')), 'it never ran');
    }
  }

  await g.write({ 'crash_masses': '' });
  await g.commit('fix the bug');
  const again = await rxJson<{ resubmitted: { sweep: string }[] }>(['resubmit', '--failed', '--rebase', '--sweep', 'zams'], opts);
  assert.deepEqual(again.resubmitted.map(r => r.sweep).sort(), ['evolve', 'evolve', 'zams']);
  const evolveRows = await eventually('evolve re-created and done', 120_000, async () => { const rs = await statusOf(g, 'evolve'); return rs.every(r => r.state === 'COMPLETED') ? rs : undefined; });
  const newZams = await statusOf(g, 'zams');
  await checkZams(newZams);
  await checkEvolve(evolveRows, newZams);
});
