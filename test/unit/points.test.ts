import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { expandDimensions } from '../../src/sweep/points.ts';
import { ConfigError } from '../../src/errors.ts';

test('grid order matches RemoteExperiments make_grid: last key fastest', () => {
  // RemoteExperiments README: dimensions {'x_ctrl(1),saved_model_name': [(1, 'a'), (2, 'b')], 'initial_mass': [1, 2, 3]}
  const pts = expandDimensions({ base: true }, { 'x_ctrl(1),saved_model_name': [[1, 'a'], [2, 'b']], initial_mass: [1, 2, 3] });
  assert.deepEqual(pts.map(p => p.varied), [
    { 'x_ctrl(1)': 1, saved_model_name: 'a', initial_mass: 1 },
    { 'x_ctrl(1)': 1, saved_model_name: 'a', initial_mass: 2 },
    { 'x_ctrl(1)': 1, saved_model_name: 'a', initial_mass: 3 },
    { 'x_ctrl(1)': 2, saved_model_name: 'b', initial_mass: 1 },
    { 'x_ctrl(1)': 2, saved_model_name: 'b', initial_mass: 2 },
    { 'x_ctrl(1)': 2, saved_model_name: 'b', initial_mass: 3 },
  ]);
  assert.equal(pts[0]!.params.base, true);
});

test('dimension values overlay base_config', () => {
  const pts = expandDimensions({ a: 1, b: 2 }, { b: [3] });
  assert.deepEqual(pts[0]!.params, { a: 1, b: 3 });
});

test('no dimensions: one point, the base config', () => {
  assert.deepEqual(expandDimensions({ a: 1 }, {}).map(p => p.params), [{ a: 1 }]);
});

test('point count is the product of the dimension sizes, every combination once', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }), sizes => {
    const dims = Object.fromEntries(sizes.map((n, i) => [`p${i}`, Array.from({ length: n }, (_, j) => j)]));
    const pts = expandDimensions({}, dims);
    assert.equal(pts.length, sizes.reduce((a, b) => a * b, 1));
    assert.equal(new Set(pts.map(p => JSON.stringify(p.varied))).size, pts.length);
  }));
});

test('bad dimensions are config errors naming the key', () => {
  assert.throws(() => expandDimensions({}, { a: [] }), (e: Error) => e instanceof ConfigError && /dimensions\.a.*empty/.test(e.message));
  assert.throws(() => expandDimensions({}, { a: 5 as never }), /dimensions\.a: expected a list/);
  assert.throws(() => expandDimensions({}, { 'a,b': [[1]] }), /dimensions\.a,b\[0\]: expected a tuple of 2/);
  assert.throws(() => expandDimensions({}, { a: [1], 'a,b': [[1, 2]] }), /'a' appears in two dimensions/);
});
