// `__proto__`, `constructor` and `prototype` are refused as parameter names, dimension names and
// base_config keys (and keys inside parameter values): JavaScript objects treat them specially, so a
// `__proto__` parameter used to vanish silently (and its points collapsed into duplicates).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadSweep, validateSweep } from '../../src/sweep/definition.ts';
import { planPoints } from '../../src/sweep/plan.ts';
import { expandDimensions } from '../../src/sweep/points.ts';
import { expandPoints, grid, plist, star, zip } from '../../src/sweep/space.ts';
import { sample } from '../../src/sweep/samplers.ts';
import { stagePoints } from '../../src/sweep/stages.ts';
import { ConfigError } from '../../src/errors.ts';

const base = { name: 's', branch: 'main', patcher: { type: 'mesa', file: 'inlist' } };
/** An object with an own `__proto__` key, as JSON.parse and YAML give it. */
const own = (k: string, v: unknown, more: Record<string, unknown> = {}) => Object.assign(JSON.parse(`{${JSON.stringify(k)}: ${JSON.stringify(v)}}`), more) as Record<string, unknown>;
const reserved = (name: string) => (e: Error) => e instanceof ConfigError && e.message.includes(`'${name}'`) && /cannot be a parameter name/.test(e.message);

test('a YAML or JSON sweep file with __proto__ / constructor / prototype as a key is refused (not dropped)', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'rx-sweep-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const head = 'name: s\nbranch: main\npatcher: { type: mesa, file: inlist }\n';
  const files: [string, string, string, RegExp][] = [
    ['a.yaml', head + 'dimensions: { __proto__: [1, 2], b: [1] }\n', '__proto__', /dimensions/],
    ['b.yaml', head + 'base_config: { __proto__: 1 }\n', '__proto__', /base_config/],
    ['c.yaml', head + 'points: [{ a: 1, constructor: 2 }]\n', 'constructor', /points/],
    ['d.yaml', head + 'base_config: { out: { prototype: 1 } }\n', 'prototype', /base_config\.out/],
    ['e.yaml', head + 'sampler: { type: random, budget: 2, bounds: { __proto__: [0, 1] } }\n', '__proto__', /sampler\.bounds/],
    ['f.json', JSON.stringify(base).slice(0, -1) + ', "dimensions": { "a": [1, 2], "__proto__": [3, 4] } }', '__proto__', /dimensions/],
    ['g.yaml', head + 'points: { grid: [{ plist: { __proto__: [1, 2] } }, { plist: { b: [1] } }] }\n', '__proto__', /points\.grid\[0\]\.plist/],
    ['h.yaml', head + 'points: { star: { center: { a: 1, constructor: 0 }, vary: { a: [2] } } }\n', 'constructor', /points\.star/],
    ['i.yaml', head + 'dimensions: { "a, constructor": [[1, 2]] }\n', 'constructor', /dimensions/],
  ];
  for (const [f, text, name, where] of files) {
    await writeFile(join(dir, f), text);
    await assert.rejects(loadSweep(f, dir), (e: Error) => reserved(name)(e) && where.test(e.message), f);
  }
});

test('the pure planning functions refuse them too, before building any point', () => {
  assert.throws(() => planPoints({ base_config: own('__proto__', 1) }), reserved('__proto__'));
  assert.throws(() => planPoints({ dimensions: own('__proto__', [1, 2]) as never }), reserved('__proto__'));
  assert.throws(() => planPoints({ points: [own('__proto__', 1), { a: 2 }] }), reserved('__proto__'));
  assert.throws(() => planPoints({ sampler: { type: 'sobol', budget: 4, bounds: own('prototype', [0, 1]) as never } }), reserved('prototype'));
  assert.throws(() => expandDimensions({}, { constructor: [1, 2] }), reserved('constructor'));
  assert.throws(() => plist('__proto__', [1, 2]), reserved('__proto__'));
  assert.throws(() => grid([own('__proto__', 1)], plist('b', [1])), reserved('__proto__'));
  assert.throws(() => zip(plist('a', [1]), [own('constructor', 1)]), reserved('constructor'));
  assert.throws(() => star({ a: 1 }, own('__proto__', [1, 2]) as never), reserved('__proto__'));
  assert.throws(() => star(own('prototype', 1, { a: 1 }), { a: [2] }), reserved('prototype'));
  assert.throws(() => expandPoints([own('__proto__', { x: 1 })]), reserved('__proto__'));
  assert.throws(() => sample({ type: 'random', budget: 2, bounds: own('__proto__', [0, 1]) as never }), reserved('__proto__'));
});

test('a `__proto__:` key in a TypeScript object literal (which sets the prototype) is refused, not ignored', () => {
  const literal = { __proto__: { mass: 1 }, z: 0.02 } as Record<string, unknown>; // what a sweep.ts would write
  assert.throws(() => validateSweep({ ...base, base_config: literal }, 'sweep.ts'), (e: Error) => e instanceof ConfigError && /base_config: .*prototype/.test(e.message));
  assert.throws(() => validateSweep({ ...base, points: [literal] }, 'sweep.ts'), (e: Error) => e instanceof ConfigError && /points\[0\]: .*prototype/.test(e.message));
  assert.throws(() => validateSweep({ ...base, dimensions: { __proto__: { a: [1, 2] }, b: [1] } }, 'sweep.ts'), (e: Error) => e instanceof ConfigError && /dimensions: .*prototype/.test(e.message));
  // Objects without a prototype are fine.
  const bare = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
  assert.equal(validateSweep({ ...base, base_config: bare, dimensions: { b: [1, 2] } }, 'sweep.ts').points.length, 2);
});

test('a nested stage refuses them as selected names and as stage-1 columns', () => {
  const table = { columns: ['key', 'sha', 'state', 'm', '__proto__'], kinds: own('__proto__', 'result', { key: 'provenance', sha: 'provenance', state: 'provenance', m: 'param' }), rows: [own('__proto__', 5, { key: '1', sha: 's', state: 'COMPLETED', m: 1 })] } as never;
  const own1 = [{ params: {}, varied: {}, hash: '', origin: { kind: 'grid' as const, index: 0 } }];
  assert.throws(() => stagePoints({ sweep: 's1' }, table, own1, {}), reserved('__proto__'));
  assert.throws(() => stagePoints({ sweep: 's1', select: own('constructor', 'm') as never }, table, own1, {}), reserved('constructor'));
  assert.equal(stagePoints({ sweep: 's1', select: ['m'] }, table, own1, {}).points.length, 1);
});
