import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import { plist, grid, zip, star, linspace, logspace, intspace, expandPoints } from '../../src/sweep/space.ts';
import { expandDimensions, type Params } from '../../src/sweep/points.ts';
import { ConfigError } from '../../src/errors.ts';
import { canonicalJson } from '../../src/sweep/hash.ts';

const configError = (re: RegExp) => (e: unknown) => e instanceof ConfigError && re.test(e.message);

test('plist: one point per value', () => {
  assert.deepEqual(plist('a', [1, 2]), [{ a: 1 }, { a: 2 }]);
  assert.deepEqual(plist('x_ctrl(1)', [[1, 2], 'b']), [{ 'x_ctrl(1)': [1, 2] }, { 'x_ctrl(1)': 'b' }]);
  assert.throws(() => plist('a', []), configError(/plist\("a"\): the list of values is empty/));
  assert.throws(() => plist('', [1]), configError(/non-empty string/));
  assert.throws(() => plist('a', 3 as never), configError(/expected a list of values/));
});

test('grid order matches RemoteExperiments make_grid on its README example (last argument fastest)', () => {
  // make_grid({'x_ctrl(1),saved_model_name': [(1, 'a'), (2, 'b')], 'initial_mass': [1, 2, 3]})
  const viaHelpers = grid(zip(plist('x_ctrl(1)', [1, 2]), plist('saved_model_name', ['a', 'b'])), plist('initial_mass', [1, 2, 3]));
  const viaDimensions = expandDimensions({}, { 'x_ctrl(1),saved_model_name': [[1, 'a'], [2, 'b']], initial_mass: [1, 2, 3] }).map(p => p.varied);
  assert.deepEqual(viaHelpers, [
    { 'x_ctrl(1)': 1, saved_model_name: 'a', initial_mass: 1 },
    { 'x_ctrl(1)': 1, saved_model_name: 'a', initial_mass: 2 },
    { 'x_ctrl(1)': 1, saved_model_name: 'a', initial_mass: 3 },
    { 'x_ctrl(1)': 2, saved_model_name: 'b', initial_mass: 1 },
    { 'x_ctrl(1)': 2, saved_model_name: 'b', initial_mass: 2 },
    { 'x_ctrl(1)': 2, saved_model_name: 'b', initial_mass: 3 },
  ]);
  assert.deepEqual(viaHelpers, viaDimensions);
});

test('grid: size is the product, every combination once, in mixed-radix order with the last list fastest', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }), sizes => {
    const lists = sizes.map((n, a) => plist(`p${a}`, Array.from({ length: n }, (_, j) => j)));
    const pts = grid(...lists);
    assert.equal(pts.length, sizes.reduce((x, y) => x * y, 1));
    pts.forEach((p, i) => {
      let rest = i;
      for (let a = sizes.length - 1; a >= 0; a--) {
        assert.equal(p[`p${a}`], rest % sizes[a]!);
        rest = Math.floor(rest / sizes[a]!);
      }
    });
    // Same as dimensions with the same keys in the same order.
    assert.deepEqual(pts, expandDimensions({}, Object.fromEntries(lists.map((l, a) => [`p${a}`, l.map(x => x[`p${a}`])]))).map(p => p.varied));
  }));
});

test('grid: a parameter in two lists, an empty list or no list is a config error', () => {
  assert.throws(() => grid(plist('a', [1]), plist('a', [2])), configError(/grid: parameter 'a' is in lists 0 and 1/));
  assert.throws(() => grid(plist('a', [1]), []), configError(/grid\[1\]: the list of points is empty/));
  assert.throws(() => grid(), configError(/grid: needs at least one list/));
  assert.throws(() => grid([1] as never), configError(/grid\[0\]\[0\]: expected an object/));
});

test('grid composes with explicit point lists', () => {
  assert.deepEqual(grid([{ a: 1, b: 2 }, { a: 3, b: 4 }], plist('c', [5, 6])), [
    { a: 1, b: 2, c: 5 }, { a: 1, b: 2, c: 6 }, { a: 3, b: 4, c: 5 }, { a: 3, b: 4, c: 6 },
  ]);
});

test('zip: varied together, unequal lengths are an error (never truncated)', () => {
  assert.deepEqual(zip(plist('a', [1, 2]), plist('b', ['x', 'y'])), [{ a: 1, b: 'x' }, { a: 2, b: 'y' }]);
  assert.throws(() => zip(plist('a', [1, 2, 3]), plist('b', [1, 2])), configError(/zip: the lists have different lengths \(3, 2\)/));
  assert.throws(() => zip(plist('a', [1]), plist('a', [2])), configError(/parameter 'a' is in lists 0 and 1/));
  fc.assert(fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 4 }), (n, k) => {
    const lists = Array.from({ length: k }, (_, a) => plist(`p${a}`, Array.from({ length: n }, (_, j) => j * 10 + a)));
    const pts = zip(...lists);
    assert.equal(pts.length, n);
    pts.forEach((p, i) => { for (let a = 0; a < k; a++) assert.equal(p[`p${a}`], i * 10 + a); });
  }));
});

test('star: the centre once first, then one parameter at a time, centre values skipped', () => {
  assert.deepEqual(star({ a: 1, b: 'x', c: true }, { a: [0, 1, 2], b: ['x', 'y'] }), [
    { a: 1, b: 'x', c: true },
    { a: 0, b: 'x', c: true },
    { a: 2, b: 'x', c: true },
    { a: 1, b: 'y', c: true },
  ]);
  // 1 and 1.0 are the same value (canonical JSON), so 1.0 is skipped too.
  assert.equal(star({ a: 1 }, { a: [1.0, 2] }).length, 2);
  assert.throws(() => star({ a: 1 }, { b: [1] }), configError(/star\.vary\.b: 'b' has no value in the centre/));
  assert.throws(() => star({ a: 1 }, { a: [] }), configError(/star\.vary\.a: the list of values is empty/));
  assert.throws(() => star({ a: 1 }, {}), configError(/star\.vary: no parameters/));
});

test('star property: every other point differs from the centre in exactly one parameter; count = 1 + values ≠ centre', () => {
  const value = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom('a', 'b'), fc.boolean());
  fc.assert(fc.property(fc.dictionary(fc.constantFrom('p', 'q', 'r', 's'), fc.tuple(value, fc.array(value, { minLength: 1, maxLength: 5 })), { minKeys: 1 }), spec => {
    const center = Object.fromEntries(Object.entries(spec).map(([k, [c]]) => [k, c]));
    const vary = Object.fromEntries(Object.entries(spec).map(([k, [, vs]]) => [k, vs]));
    const pts = star(center, vary);
    assert.deepEqual(pts[0], center);
    const expected = 1 + Object.entries(vary).reduce((n, [k, vs]) => n + vs.filter(v => canonicalJson(v) !== canonicalJson(center[k])).length, 0);
    assert.equal(pts.length, expected);
    for (const p of pts.slice(1)) {
      const diff = Object.keys(center).filter(k => canonicalJson(p[k]) !== canonicalJson(center[k]));
      assert.equal(diff.length, 1);
    }
  }));
});

test('linspace: endpoints exact, evenly spaced, decimal-friendly', () => {
  assert.deepEqual(linspace(0, 1, 11), [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
  assert.deepEqual(linspace(0.1, 0.5, 5), [0.1, 0.2, 0.3, 0.4, 0.5]);
  assert.deepEqual(linspace(1, 0, 3), [1, 0.5, 0]);
  assert.deepEqual(linspace(2, 3, 1), [2]);
  assert.throws(() => linspace(0, 1, 0), configError(/linspace\(0, 1, 0\): n must be a positive integer/));
  assert.throws(() => linspace(0, NaN, 3), configError(/hi must be a finite number/));
  fc.assert(fc.property(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.integer({ min: 2, max: 50 }), (lo, hi, n) => {
    const xs = linspace(lo, hi, n);
    assert.equal(xs.length, n);
    assert.equal(xs[0], lo);
    assert.equal(xs[n - 1], hi);
    const step = (hi - lo) / (n - 1);
    xs.forEach((x, i) => assert.ok(Math.abs(x - (lo + i * step)) <= 1e-12 * Math.max(1, Math.abs(lo), Math.abs(hi))));
  }));
});

test('logspace: lo and hi are values (like numpy.geomspace), constant ratio', () => {
  assert.deepEqual(logspace(1e-3, 1, 4), [0.001, 0.01, 0.1, 1]);
  assert.deepEqual(logspace(1, 1000, 4), [1, 10, 100, 1000]);
  assert.deepEqual(logspace(100, 1, 3), [100, 10, 1]);
  assert.throws(() => logspace(0, 1, 3), configError(/log scale needs lo > 0/));
  fc.assert(fc.property(fc.double({ min: 1e-6, max: 1e6, noNaN: true }), fc.double({ min: 1e-6, max: 1e6, noNaN: true }), fc.integer({ min: 3, max: 30 }), (lo, hi, n) => {
    const xs = logspace(lo, hi, n);
    assert.equal(xs[0], lo);
    assert.equal(xs[n - 1], hi);
    const r = Math.log(hi / lo) / (n - 1);
    for (let i = 1; i < n; i++) assert.ok(Math.abs(Math.log(xs[i]! / xs[i - 1]!) - r) < 1e-9);
  }));
});

test('intspace: inclusive integers with a step', () => {
  assert.deepEqual(intspace(1, 5), [1, 2, 3, 4, 5]);
  assert.deepEqual(intspace(0, 10, 3), [0, 3, 6, 9]);
  assert.deepEqual(intspace(5, 1, -2), [5, 3, 1]);
  assert.deepEqual(intspace(4, 4), [4]);
  assert.throws(() => intspace(5, 1), configError(/lo \(5\) > hi \(1\)/));
  assert.throws(() => intspace(0, 3, 0), configError(/step must be a non-zero integer/));
  assert.throws(() => intspace(0.5, 3), configError(/lo and hi must be integers/));
});

test('expandPoints: the helpers as data (YAML) give the same points as the TypeScript helpers', () => {
  const yaml = `
points:
  grid:
    - zip:
        - plist: { x: { linspace: [0, 1, 3] } }
        - plist: { name: [a, b, c] }
    - plist: { n: { intspace: [1, 2] } }
    - star: { center: { m: 1.0, k: 2 }, vary: { m: { logspace: [0.1, 10, 3] }, k: [2, 3] } }
`;
  const fromYaml = expandPoints(parseYaml(yaml).points);
  const fromTs = grid(
    zip(plist('x', linspace(0, 1, 3)), plist('name', ['a', 'b', 'c'])),
    plist('n', intspace(1, 2)),
    star({ m: 1, k: 2 }, { m: logspace(0.1, 10, 3), k: [2, 3] }),
  );
  assert.deepEqual(fromYaml, fromTs);
  assert.equal(fromTs.length, 3 * 2 * 4);
  // An explicit list passes through.
  const list: Params[] = [{ a: 1 }, { a: 2, b: 3 }];
  assert.deepEqual(expandPoints(list), list);
});

test('expandPoints: errors name the path in the sweep file', () => {
  assert.throws(() => expandPoints({ grid: [{ plist: { a: [1] } }, { plist: { a: [2] } }] }), configError(/^points\.grid: parameter 'a' is in lists 0 and 1/));
  assert.throws(() => expandPoints({ grid: [{ plist: { a: [] } }] }), configError(/^points\.grid\[0\]\.plist\.a: the list of values is empty/));
  assert.throws(() => expandPoints({ zip: [{ plist: { a: [1, 2] } }, { plist: { b: [1] } }] }), configError(/^points\.zip: the lists have different lengths \(2, 1\)/));
  assert.throws(() => expandPoints({ plist: { a: { linspace: [0, 1] } } }), configError(/^points\.plist\.a\.linspace: expected \[lo, hi, n\]/));
  assert.throws(() => expandPoints({ plist: { a: { logspace: [-1, 1, 3] } } }), configError(/^points\.plist\.a\.logspace: a log scale needs lo > 0/));
  assert.throws(() => expandPoints({ star: { center: { a: 1 }, vary: { b: [2] } } }), configError(/^points\.star\.vary\.b: 'b' has no value in the centre/));
  assert.throws(() => expandPoints({ product: [] }), configError(/^points: expected a list of points or one of \{ plist \| grid \| zip \| star \}/));
  assert.throws(() => expandPoints([]), configError(/^points: the list of points is empty/));
  assert.throws(() => expandPoints([{ a: 1 }, 5]), configError(/^points\[1\]: expected an object/));
});
