// The report's pure parts: column typing, varied parameters and their axes, grid vs scatter
// detection, LTTB downsampling of tracks, the page's escaping, and that the page script compiles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Script } from 'node:vm';
import fc from 'fast-check';
import { columnType, detectLayout, GRID_MAX_LEVELS, numericResults, shapeReport, stateCounts, variedParams, axisScale } from '../../src/report/shape.ts';
import { lttb, perRunLimit, trackColumns, trackOf, TRACK_BUDGET, PER_RUN } from '../../src/report/tracks.ts';
import { reportHtml, scriptJson, scriptCode } from '../../src/report/html.ts';
import { CLIENT_JS } from '../../src/report/client.ts';
import { buildDataset, type DatasetRun } from '../../src/results/dataset.ts';
import { ConfigError } from '../../src/errors.ts';

const runOf = (key: number, params: Record<string, unknown>, results: Record<string, unknown> = {}, state = 'COMPLETED'): DatasetRun => ({
  provenance: { sweep: 's', key: String(key), sha: 'a'.repeat(40), base: 'b'.repeat(40), dir: `/r/s_${key}`, job_id: String(key), state, exit_code: 0, attempts: 1, submitted_at: null, start: null, end: null, elapsed_s: null },
  params, results, notes: [],
});

test('columnType: numbers, booleans, strings, mixed, empty (null is no value)', () => {
  assert.equal(columnType([1, null, 2.5, NaN]), 'number');
  assert.equal(columnType([true, false, undefined]), 'boolean');
  assert.equal(columnType(['a', null]), 'string');
  assert.equal(columnType([1, 'a']), 'mixed');
  assert.equal(columnType([null, undefined]), 'empty');
  assert.equal(columnType([]), 'empty');
});

test('variedParams: only parameters with two or more values; numeric levels sorted; codes index the labels', () => {
  const rows = [{ m: 2, z: 'a', k: 1 }, { m: 1, z: 'b', k: 1 }, { m: 10, z: 'a', k: 1 }, { m: null, z: 'b', k: 1 }] as Record<string, unknown>[];
  const v = variedParams(['m', 'z', 'k'], n => rows.map(r => r[n]));
  assert.deepEqual(v.map(p => p.name), ['m', 'z'], 'k is fixed');
  assert.deepEqual(v[0]!.labels, ['1', '2', '10'], 'numbers ascending, not as text');
  assert.deepEqual(v[0]!.codes, [1, 0, 2, -1], 'no value → -1');
  assert.deepEqual(v[1]!.labels, ['a', 'b'], 'strings in order of first appearance');
  // Lists (e.g. a MESA array parameter) are compared as JSON text.
  const lists = variedParams(['x'], () => [[1, 2], [1, 2], [3]]);
  assert.deepEqual(lists[0]!.labels, ['[1,2]', '[3]']);
});

test('axisScale: few levels are categories; many numbers linear, or log over three decades', () => {
  const many = Array.from({ length: GRID_MAX_LEVELS + 1 }, (_, i) => i + 1);
  assert.equal(axisScale('number', [1, 2, 3], 3), 'category');
  assert.equal(axisScale('number', many, many.length), 'linear');
  assert.equal(axisScale('number', many.map(i => 10 ** (i / 10)), many.length), 'log');
  assert.equal(axisScale('number', [-1, ...many], many.length + 1), 'linear', 'non-positive values: never log');
  assert.equal(axisScale('string', many.map(String), many.length), 'category');
});

test('detectLayout: a full or mostly full grid is a grid, random samples are a scatter', () => {
  const grid: Record<string, unknown>[] = [];
  for (const a of [1, 2, 3, 4]) for (const b of ['x', 'y', 'z']) for (let rep = 0; rep < 2; rep++) grid.push({ a, b });
  let v = variedParams(['a', 'b'], n => grid.map(r => r[n]));
  assert.deepEqual(detectLayout(v, grid.length), { kind: 'grid', x: 'a', y: 'b' });
  // Half the grid missing still reads as a grid; much less does not.
  const half = grid.filter((_, i) => i % 4 < 2);
  v = variedParams(['a', 'b'], n => half.map(r => r[n]));
  assert.equal(detectLayout(v, half.length).kind, 'grid');
  // Latin hypercube / random: every value distinct.
  const rnd = Array.from({ length: 200 }, (_, i) => ({ m: 1 + i * 0.013, z: Math.sin(i) + 2, c: i % 3 }));
  v = variedParams(['c', 'm', 'z'], n => rnd.map(r => (r as Record<string, unknown>)[n]));
  const l = detectLayout(v, rnd.length);
  assert.deepEqual(l, { kind: 'scatter', x: 'm', y: 'z' }, 'by-value parameters come first on the axes');
  // Few random points, few levels each, but they fill little of the product: scatter.
  const few = Array.from({ length: 10 }, (_, i) => ({ p: i, q: (i * 7) % 10 }));
  v = variedParams(['p', 'q'], n => few.map(r => (r as Record<string, unknown>)[n]));
  assert.equal(detectLayout(v, few.length).kind, 'scatter');
  // A large grid (100 × 100) is still a grid; one parameter with many random values is not.
  const big: Record<string, unknown>[] = [];
  for (let i = 0; i < 100; i++) for (let j = 0; j < 100; j++) big.push({ p: i * 0.1, q: j });
  v = variedParams(['p', 'q'], n => big.map(r => r[n]));
  assert.deepEqual(detectLayout(v, big.length), { kind: 'grid', x: 'p', y: 'q' });
  const line = Array.from({ length: 200 }, (_, i) => ({ p: Math.sin(i) }));
  v = variedParams(['p'], n => line.map(r => (r as Record<string, unknown>)[n]));
  assert.deepEqual(detectLayout(v, line.length), { kind: 'scatter', x: 'p', y: null });
  assert.deepEqual(detectLayout([], 3), { kind: 'grid', x: null, y: null }, 'nothing varied: one cell');
  const one = variedParams(['p'], () => [1, 2, 3]);
  assert.deepEqual(detectLayout(one, 3), { kind: 'grid', x: 'p', y: null });
});

test('property: a full cartesian grid (any levels ≤ the limit, any repeats) is always detected as a grid', () => {
  fc.assert(fc.property(fc.integer({ min: 2, max: 12 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 3 }), (na, nb, reps) => {
    const rows: Record<string, unknown>[] = [];
    for (let a = 0; a < na; a++) for (let b = 0; b < nb; b++) for (let r = 0; r < reps; r++) rows.push({ a: a * 0.5, b: `b${b}` });
    const v = variedParams(['a', 'b'], n => rows.map(r => r[n]));
    const l = detectLayout(v, rows.length);
    return l.kind === 'grid' && l.x === 'a' && l.y === (nb > 1 ? 'b' : null);
  }));
});

test('shapeReport: fixed params go to the header, the table keeps provenance, numeric results become plots', () => {
  const runs = [runOf(1, { m: 1, fixed: 'same' }, { L: 1.5, label: 'x' }), runOf(2, { m: 2, fixed: 'same' }, { L: NaN, label: 'y' }, 'FAILED'), runOf(3, { m: 3, fixed: 'same' }, {}, 'PENDING')];
  const table = buildDataset(runs);
  const d = shapeReport(table, { sweep: 's', base: 'b'.repeat(40), branch: 'main', remote: 'local', made: '2026-01-01T00:00:00.000Z', rx: '0.1.0' }, [null, 'NonZeroExitCode', 'Priority']);
  assert.deepEqual(d.fixed, [['fixed', 'same']]);
  assert.deepEqual(d.varied.map(v => v.name), ['m']);
  const names = d.columns.map(c => c.name);
  assert.ok(!names.includes('sweep') && !names.includes('base') && !names.includes('fixed'), names.join(','));
  for (const c of ['key', 'sha', 'state', 'job_id', 'dir', 'm', 'L', 'label', 'notes']) assert.ok(names.includes(c), c);
  assert.deepEqual(d.results, ['L'], 'only numeric results are plotted');
  assert.deepEqual(d.data[names.indexOf('L')], [1.5, 'NaN', null], 'NaN survives JSON as text');
  assert.deepEqual(d.meta.counts, [['COMPLETED', 1], ['FAILED', 1], ['PENDING', 1]]);
  assert.equal(d.meta.runs, 3);
  for (const col of d.data) assert.equal(col.length, 3, 'one value per run in every column');
  assert.deepEqual(numericResults(buildDataset([runOf(1, {}, { s: 'x' })])), []);
  assert.deepEqual(stateCounts(['A', 'B', 'B']), [['B', 2], ['A', 1]]);
});

test('lttb keeps the first and last point, returns increasing indices of the requested length, drops non-finite points', () => {
  fc.assert(fc.property(fc.array(fc.double({ noNaN: true, min: -1e6, max: 1e6 }), { minLength: 0, maxLength: 400 }), fc.integer({ min: 3, max: 120 }), (ys, limit) => {
    const xs = ys.map((_, i) => i);
    const k = lttb(xs, ys, limit);
    const n = ys.length;
    if (n <= limit) return k.length === n;
    if (k.length !== limit || k[0] !== 0 || k.at(-1) !== n - 1) return false;
    return k.every((v, i) => i === 0 || v > k[i - 1]!);
  }));
  const xs = [0, 1, NaN, 3, 4], ys = [0, 1, 2, Infinity, 4];
  assert.deepEqual(lttb(xs, ys, 10), [0, 1, 4]);
  // A spike survives downsampling (every-k-th would skip it).
  const spike = Array.from({ length: 1000 }, (_, i) => (i === 503 ? 100 : 0));
  assert.ok(lttb(spike.map((_, i) => i), spike, 20).includes(503));
});

test('track budget, columns and a track per run', () => {
  assert.equal(perRunLimit(1), PER_RUN.max);
  assert.equal(perRunLimit(100), Math.floor(TRACK_BUDGET / 100));
  assert.equal(perRunLimit(1_000_000), PER_RUN.min);
  const t = { names: ['model', 'age', 'name', 'L'], columns: { model: new Float64Array([1, 2, 3]), age: [0, 1, 2], name: ['a', 'b', 'c'], L: [5, null, 7] }, length: 3, warnings: [] };
  assert.deepEqual(trackColumns(t), { x: 'model', y: 'age' }, 'first two numeric columns');
  assert.deepEqual(trackColumns(t, 'age', 'L'), { x: 'age', y: 'L' });
  assert.deepEqual(trackColumns(t, undefined, 'model'), { x: 'age', y: 'model' });
  assert.throws(() => trackColumns(t, 'nope'), (e: unknown) => e instanceof ConfigError && /--x nope: no such column/.test((e as Error).message));
  assert.throws(() => trackColumns({ names: ['s'], columns: { s: ['a'] } }), ConfigError);
  const tr = trackOf(4, t, { x: 'age', y: 'L' }, 100)!;
  assert.deepEqual(tr, { run: 4, xs: [0, 2], ys: [5, 7], rows: 3 }, 'rows with no value are left out of the line');
});

test('the page: data cannot close its script element, the page script compiles, no external URL', () => {
  const evil = { s: '</script><script>alert(1)</script><!--', u: '\u2028' };
  const j = scriptJson(evil);
  assert.ok(!j.includes('<'), j);
  assert.deepEqual(JSON.parse(j), evil);
  assert.equal(scriptCode('a="</script>"'), 'a="<\\/script>"');
  assert.doesNotThrow(() => new Script(CLIENT_JS, { filename: 'client.js' }));
  const table = buildDataset([runOf(1, { m: 1 }, { L: 1 }), runOf(2, { m: '</script>' }, { L: 2 })]);
  const html = reportHtml(shapeReport(table, { sweep: 's<b>', base: null, branch: null, remote: null, made: 'now', rx: '0' }, [null, null]));
  assert.equal((html.match(/<\/script>/g) ?? []).length, 3, 'exactly the three scripts close');
  assert.ok(html.includes('<title>rx report — s&lt;b&gt;</title>'));
  assert.ok(!/(src|href)="(https?:)?\/\//.test(html), 'nothing loaded from elsewhere');
  assert.ok(html.includes("default-src 'none'"), 'a CSP that forbids requests');
});

test('shapeReport: a sampled sweep puts numeric parameters on value axes, even with few distinct values', () => {
  const runs = Array.from({ length: 12 }, (_, i) => runOf(i + 1, { a: (i * 7919 % 101) / 101, b: 1 + (i * 104729 % 977) * 10 }));
  const d = shapeReport(buildDataset(runs), { sweep: 's', base: null, branch: null, remote: null, made: 'now', rx: '0' }, runs.map(() => null));
  assert.equal(d.layout.kind, 'scatter');
  assert.deepEqual(d.varied.map(v => [v.name, v.scale]), [['a', 'linear'], ['b', 'log']]);
});
