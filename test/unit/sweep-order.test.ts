// Dimensions vary in the order written (the last fastest), also when a dimension name looks like an
// integer ("2"), which JavaScript objects list before every other key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadSweep, validateSweep } from '../../src/sweep/definition.ts';
import { planPoints } from '../../src/sweep/plan.ts';
import { expandDimensions } from '../../src/sweep/points.ts';
import { ConfigError } from '../../src/errors.ts';

const base = { name: 's', branch: 'main', patcher: { type: 'mesa', file: 'inlist' } };
// b slowest, "2" fastest: the order written.
const written = [[1, 'x'], [1, 'y'], [2, 'x'], [2, 'y']];
const order = (pts: { varied: Record<string, unknown> }[]) => pts.map(p => [p.varied.b, p.varied['2']]);

test('YAML and JSON sweep files keep the written order of integer-like dimension names', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'rx-sweep-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 's.yaml'), 'name: s\nbranch: main\npatcher: { type: mesa, file: inlist }\ndimensions:\n  b: [1, 2]\n  2: [x, y]\n');
  await writeFile(join(dir, 'q.yaml'), 'name: s\nbranch: main\npatcher: { type: mesa, file: inlist }\ndimensions: { b: [1, 2], "2": { intspace: [7, 8] }, "10,c": [[1, 2]] }\n');
  await writeFile(join(dir, 's.json'), '{"name": "s", "branch": "main", "patcher": {"type": "mesa", "file": "inlist"},\n "dimensions": {"b": [1, 2], "2": ["x", "y"]}, "base_config": {"dimensions": {"9": 1}}}\n');
  // The dimensions reached through a YAML alias.
  await writeFile(join(dir, 'a.yaml'), 'name: s\nbranch: main\npatcher: { type: mesa, file: inlist }\nbase_config: { d: &d { b: [1, 2], "2": [x, y] } }\ndimensions: *d\n');
  for (const f of ['s.yaml', 's.json', 'a.yaml']) assert.deepEqual(order((await loadSweep(f, dir)).points), written, f);
  const q = await loadSweep('q.yaml', dir);
  assert.deepEqual(q.points.map(p => [p.varied.b, p.varied['2'], p.varied['10'], p.varied.c]), [[1, 7, 1, 2], [1, 8, 1, 2], [2, 7, 1, 2], [2, 8, 1, 2]]);
  // The stored definition is unchanged: still the object as written.
  assert.deepEqual(Object.keys(q.def.dimensions!).sort(), ['10,c', '2', 'b']);
});

test('a TypeScript/JS dimensions object with an integer-like name among several is refused, suggesting the ordered form', () => {
  for (const dims of [{ b: [1, 2], 2: ['x', 'y'] }, { b: [1, 2], '0': [1] }, { a: [1], '4294967294': [1] }]) {
    assert.throws(() => validateSweep({ ...base, dimensions: dims }, 'sweep.ts'), (e: Error) => e instanceof ConfigError
      && /dimensions: .*'(2|0|4294967294)'.*integer/.test(e.message) && /\[\['b', \[1, 2\]\], \['2', \['x', 'y'\]\]\]/.test((e as ConfigError).hint ?? ''), JSON.stringify(dims));
  }
  assert.throws(() => expandDimensions({}, { b: [1, 2], 2: ['x', 'y'] }), ConfigError);
  // Not integer-like (JavaScript keeps their order): fine.
  for (const k of ['-1', '01', '1.5', '4294967295', ' 2', '2,c']) {
    const plan = planPoints({ dimensions: { b: [1, 2], [k]: k.includes(',') ? [[1, 2]] : [3] } });
    assert.equal(plan.points[0]!.varied.b, 1, k);
    assert.equal(plan.points[1]!.varied.b, 2, k);
  }
  // One dimension alone has no order to lose.
  assert.equal(planPoints({ dimensions: { 2: ['x', 'y'] } }).points.length, 2);
});

test('the ordered form: a list of [name, values] pairs, the last fastest (TypeScript and YAML)', async t => {
  const pairs = [['b', [1, 2]], ['2', ['x', 'y']]] as const;
  assert.deepEqual(order(validateSweep({ ...base, dimensions: pairs }, 'sweep.ts').points), written);
  assert.deepEqual(order(expandDimensions({}, pairs)), written);
  const spaces = planPoints({ dimensions: [['2', { linspace: [0, 1, 3] }], ['b', [1]]] });
  assert.deepEqual(spaces.points.map(p => p.varied['2']), [0, 0.5, 1]);
  const tuple = planPoints({ dimensions: [['p,q', [[1, 'a'], [2, 'b']]], ['0', [5]]] });
  assert.deepEqual(tuple.points.map(p => [p.varied.p, p.varied.q, p.varied['0']]), [[1, 'a', 5], [2, 'b', 5]]);
  const dir = await mkdtemp(join(tmpdir(), 'rx-sweep-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 's.yaml'), 'name: s\nbranch: main\npatcher: { type: mesa, file: inlist }\ndimensions:\n  - [b, [1, 2]]\n  - ["2", [x, y]]\n');
  assert.deepEqual(order((await loadSweep('s.yaml', dir)).points), written);
  const bad: [unknown, RegExp][] = [
    [[['a']], /dimensions\[0\]: expected a \[name, values\] pair/],
    [[['a', [1]], 'b'], /dimensions\[1\]: expected a \[name, values\] pair/],
    [[[2, [1]]], /dimensions\[0\]: the name must be a string/],
    [[['a', [1]], ['a', [2]]], /parameter 'a' appears in two dimensions/],
    [[['a', []]], /dimensions\[0\] \(a\): the list of values is empty/],
  ];
  for (const [dims, msg] of bad) assert.throws(() => planPoints({ dimensions: dims as never }), (e: Error) => e instanceof ConfigError && msg.test(e.message), String(msg));
});
