import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stagePoints, validateFrom } from '../../src/sweep/stages.ts';
import { buildDataset, PROVENANCE } from '../../src/results/dataset.ts';
import { planPoints } from '../../src/sweep/plan.ts';
import { ConfigError } from '../../src/errors.ts';

const prov = (key: string, state = 'COMPLETED') => Object.fromEntries(PROVENANCE.map(c => [c, c === 'key' ? key : c === 'state' ? state : c === 'sha' ? `sha${key}` : null])) as never;
const own = planPoints({ dimensions: { k: [0, 1] } }).points;

test('rows × own points; where filters; select renames; provenance on every point', () => {
  const t = buildDataset([
    { provenance: prov('1'), params: { m: 1 }, results: { out: 5 }, notes: [] },
    { provenance: prov('2'), params: { m: 2 }, results: { out: 10 }, notes: [] },
    { provenance: prov('3', 'FAILED'), params: { m: 3 }, results: {}, notes: [] },
  ]);
  const r = stagePoints({ sweep: 's1', where: { out: { gt: 6 } }, select: { m: 'out' } }, t, own, { base: true });
  assert.deepEqual(r.points.map(p => p.params), [{ base: true, m: 10, k: 0 }, { base: true, m: 10, k: 1 }]);
  assert.deepEqual(r.points[0]!.from, { sweep: 's1', key: '2', sha: 'sha2' });
  const all = stagePoints({ sweep: 's1' }, t, own, {});
  assert.equal(all.points.length, 4, 'default where: COMPLETED rows only');
});

test('rows with a missing or non-finite selected value are left out and counted, never made into null params', () => {
  const t = buildDataset([
    { provenance: prov('1'), params: { m: 1 }, results: { out: 5 }, notes: [] },
    { provenance: prov('2'), params: { m: 2 }, results: {}, notes: ['result.txt: not produced (yet)'] },
    { provenance: prov('3'), params: { m: 3 }, results: { out: NaN }, notes: [] },
  ]);
  const r = stagePoints({ sweep: 's1', select: ['out'] }, t, own, {});
  assert.equal(r.dropped, 2);
  assert.deepEqual(r.points.map(p => p.params.out), [5, 5]);
});

test('without select, the first submission\'s columns are kept: a new result column does not change earlier hashes', () => {
  const t1 = buildDataset([{ provenance: prov('1'), params: { m: 1 }, results: { out: 5 }, notes: [] }]);
  const first = stagePoints({ sweep: 's1' }, t1, own, {});
  const t2 = buildDataset([
    { provenance: prov('1'), params: { m: 1 }, results: { out: 5 }, notes: [] },
    { provenance: prov('2'), params: { m: 2 }, results: { out: 10, converged_at: 3 }, notes: [] },
  ]);
  const later = stagePoints({ sweep: 's1' }, t2, own, {}, first.select);
  assert.deepEqual(later.points.slice(0, 2).map(p => p.hash), first.points.map(p => p.hash));
  assert.ok(!('converged_at' in later.points[2]!.params));
});

test('from is validated with messages naming the key', () => {
  assert.throws(() => validateFrom({ sweep: 'a' }, 'a'), /cannot take its points from itself/);
  assert.throws(() => validateFrom({ sweep: 'x', where: { out: { above: 1 } } }, 'b'), (e: Error) => e instanceof ConfigError && /from.where.out.above: unknown comparison/.test(e.message));
  assert.throws(() => validateFrom({ sweep: 'x', select: [1] }, 'b'), /from.select: expected a list/);
  assert.throws(() => validateFrom({ sweep: 'x', limit: 3 }, 'b'), /from.limit: unknown key/);
});
