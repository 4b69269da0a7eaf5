// Non-finite numbers in parameters: their own canonical form in the hash (never the string "NaN"),
// refused as parameter values (JSON, hence the ledger and .rx/point.json, cannot hold them), and
// the hashes of ordinary points unchanged (ledgers de-duplicate by hash).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { canonicalJson, paramHash } from '../../src/sweep/hash.ts';
import { planPoints } from '../../src/sweep/plan.ts';
import { loadSweep, validateSweep } from '../../src/sweep/definition.ts';
import { ConfigError } from '../../src/errors.ts';

const base = { name: 's', branch: 'main', patcher: { type: 'mesa', file: 'inlist' } };

test('NaN and ±Infinity hash differently from the strings "NaN", "Infinity", "-Infinity" (and from null)', () => {
  for (const [num, str] of [[NaN, 'NaN'], [Infinity, 'Infinity'], [-Infinity, '-Infinity']] as const) {
    assert.notEqual(canonicalJson(num), canonicalJson(str), String(num));
    assert.notEqual(canonicalJson(num), canonicalJson(null), String(num));
    assert.notEqual(paramHash({ a: num }), paramHash({ a: str }), String(num));
    assert.notEqual(paramHash({ a: [num] }), paramHash({ a: [str] }), String(num));
  }
  assert.notEqual(paramHash({ a: Infinity }), paramHash({ a: -Infinity }));
  assert.equal(paramHash({ a: NaN }), paramHash({ a: 0 / 0 }));
  // -0 stays 0: JSON writes -0 as 0, so the ledger reads back 0 and must find the same hash.
  assert.equal(paramHash({ a: -0 }), paramHash({ a: 0 }));
});

test('planPoints keeps {a: NaN} and {a: "NaN"} as two points (not one dropped as a duplicate)', () => {
  const plan = planPoints({ points: [{ a: NaN }, { a: 'NaN' }, { a: Infinity }, { a: 'Infinity' }] });
  assert.equal(plan.points.length, 4);
  assert.equal(plan.duplicates, 0);
});

test('the hashes of ordinary points do not change (pinned: existing ledgers de-duplicate by them)', () => {
  const pts = [
    { initial_mass: 1.5, initial_z: 0.02 },
    { a: 1, b: -2.5, c: 1e-300, d: 1.7976931348623157e308, e: 5e-324, f: -0, g: 0.1 + 0.2, h: 123456789012345680000 },
    { s: 'NaN', t: 'Infinity', u: '-Infinity', v: 'null', w: '', x: 'é \u0000 "q" \\' },
    { flag: true, off: false, none: null, list: [1, 'two', [3, { four: 4 }]], nested: { z: 1, a: { y: [], x: {} } } },
    { 'x_ctrl(1)': 2, saved_model_name: 'a.mod', '2': 'two', '10': 10, 'ünï': 'code' },
  ];
  assert.deepEqual(pts.map(p => paramHash(p)), [
    '42d9b9e22cb9796025706bb11d8a55ca59292ffdf762b397b33d8626fb8a6bc5',
    'ebd8d903b63c803fada3b4f9b427bafe703694d0f7ee3b23b1d6efb019016c33',
    'f7f8363ccedd39655b7ea6c58d470abfad596fb31132789e48c1f9b254e0a5b3',
    'ae98c8e9de3fff3e152a20d450ad7e2c0e2b3a500b041a23d6a0783ff28d6bfa',
    'a2ef565bc16072eb01de718d7a3c4353cbe5265893b018cbcc1424b463fc043d',
  ]);
});

test('a non-finite parameter value is refused with a message naming it (the ledger and point.json are JSON)', () => {
  const cases: [unknown, RegExp][] = [
    [{ ...base, base_config: { a: NaN } }, /base_config\.a: NaN is not a finite number/],
    [{ ...base, base_config: { a: { b: [1, -Infinity] } } }, /base_config\.a: -Infinity is not a finite number/],
    [{ ...base, dimensions: { a: [1, Infinity] } }, /the value of 'a' in point .*: Infinity is not a finite number/],
    [{ ...base, points: [{ a: 'NaN' }, { a: NaN }] }, /the value of 'a' in point .*: NaN is not a finite number/],
    [{ ...base, sampler: { type: 'random', budget: 2, bounds: { a: { values: [NaN] } } } }, /NaN is not a finite number/],
  ];
  for (const [raw, msg] of cases) {
    assert.throws(() => validateSweep(raw, 'sweep.ts'), (e: Error) => e instanceof ConfigError && msg.test(e.message) && /JSON/.test(e.message + (e as ConfigError).hint), String(msg));
  }
  // The strings are ordinary strings.
  assert.equal(validateSweep({ ...base, dimensions: { a: ['NaN', 'Infinity', 1] } }, 'sweep.ts').points.length, 3);
});

test('YAML .nan / .inf are refused, not written as null', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'rx-sweep-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 's.yaml'), 'name: s\nbranch: main\npatcher: { type: mesa, file: inlist }\npoints: [{ a: .nan }, { a: "NaN" }]\n');
  await assert.rejects(loadSweep('s.yaml', dir), (e: Error) => e instanceof ConfigError && /NaN is not a finite number/.test(e.message));
  await writeFile(join(dir, 's.yaml'), 'name: s\nbranch: main\npatcher: { type: mesa, file: inlist }\nbase_config: { tmax: .inf }\n');
  await assert.rejects(loadSweep('s.yaml', dir), (e: Error) => e instanceof ConfigError && /base_config\.tmax: Infinity is not a finite number/.test(e.message));
});
