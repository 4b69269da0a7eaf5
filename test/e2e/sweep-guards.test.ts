// Sweep-file guards through the real command line: a plan too big for memory, reserved parameter
// names and non-finite values are refused with exit code 2, nothing created and no lock left
// behind; integer-like dimension names keep their written order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gitdir } from '../helpers/gitdir.ts';
import { rx, rxJson } from '../helpers/rx.ts';
import { refs } from '../helpers/assertions.ts';

const quickstart = fileURLToPath(new URL('../../examples/quickstart', import.meta.url));
const head = 'name: huge\nbranch: main\npatcher: { type: mesa, file: inlist }\n';
// 10^5 × 10^4 = 10^9 points, under a raised maxPoints.
const huge = head + 'maxPoints: 2000000000\ndimensions: { initial_mass: { intspace: [1, 100000] }, initial_z: { intspace: [1, 10000] } }\n';
// A small heap makes a missing guard die quickly (out of memory) instead of after gigabytes.
const smallHeap = { NODE_OPTIONS: '--max-old-space-size=192' };

async function snapshot(g: { work: string; origin: string | null }) {
  return { work: await refs(join(g.work, '.git'), 'refs/'), origin: await refs(g.origin!, 'refs/') };
}

test('a 10⁹-point grid (maxPoints 2e9) is refused for memory: exit 2, the memory needed and available named, nothing created, no lock left', async t => {
  const g = await gitdir(t, { origin: true, copy: quickstart });
  const file = join(g.root, 'huge.yaml');
  await writeFile(file, huge);
  const before = await snapshot(g);
  const r = await rx(['submit', '--sweep', file], { cwd: g.work, allowFailure: true, env: smallHeap });
  assert.equal(r.signal, null, `rx was killed (${r.signal}): ${r.stderr.slice(-400)}`);
  assert.equal(r.exitCode, 2, r.stderr.slice(-800));
  assert.doesNotMatch(r.stderr, /heap out of memory/);
  assert.match(r.stderr, /planning 1000000000 points needs about [\d.]+ [GT]B of memory; this rx process has about [\d.]+ [MG]B/);
  assert.equal(existsSync(join(g.work, '.rx')), false, 'no .rx/ (no lock, no ledger) is left behind');
  assert.deepEqual(await snapshot(g), before, 'no refs created');
});

test('the same refusal for a sweep submitted before: its lock is released, its ledger untouched', async t => {
  const g = await gitdir(t, { origin: true, copy: quickstart });
  const file = join(g.root, 'huge.yaml');
  await writeFile(file, head + 'dimensions: { initial_mass: [1], initial_z: [0.01] }\n');
  const first = await rxJson<{ status: string }[]>(['submit', '--sweep', file], { cwd: g.work });
  assert.deepEqual(first.map(x => x.status), ['submitted']);
  const dir = join(g.work, '.rx/sweeps/huge');
  const ledger = await readFile(join(dir, 'ledger.jsonl'), 'utf8');
  const files = (await readdir(dir)).sort();
  const before = await snapshot(g);
  await writeFile(file, huge);
  const r = await rx(['submit', '--sweep', file], { cwd: g.work, allowFailure: true, env: smallHeap });
  assert.equal(r.signal, null);
  assert.equal(r.exitCode, 2, r.stderr.slice(-800));
  assert.match(r.stderr, /needs about [\d.]+ [GT]B of memory/);
  assert.equal(existsSync(join(dir, 'lock')), false, 'the sweep lock is released');
  assert.deepEqual((await readdir(dir)).sort(), files);
  assert.equal(await readFile(join(dir, 'ledger.jsonl'), 'utf8'), ledger);
  assert.deepEqual(await snapshot(g), before);
});

test('reserved names and non-finite values are refused through the CLI (exit 2, nothing created)', async t => {
  const g = await gitdir(t, { origin: true, copy: quickstart });
  const cases: [string, RegExp][] = [
    [head + 'dimensions: { __proto__: [1, 2], initial_mass: [1] }\n', /dimensions: '__proto__' cannot be a parameter name/],
    [head + 'base_config: { constructor: 1 }\n', /base_config: 'constructor' cannot be a parameter name/],
    [head + 'points: [{ initial_mass: .nan }, { initial_mass: "NaN" }]\n', /NaN is not a finite number/],
  ];
  for (const [text, msg] of cases) {
    await writeFile(join(g.root, 'bad.yaml'), text);
    for (const extra of [[], ['--dry-run']]) {
      const r = await rx(['submit', '--sweep', join(g.root, 'bad.yaml'), ...extra], { cwd: g.work, allowFailure: true });
      assert.equal(r.exitCode, 2, r.stderr);
      assert.match(r.stderr, msg);
      assert.equal(existsSync(join(g.work, '.rx')), false);
    }
  }
});

test('integer-like dimension names keep the written order in a YAML sweep (dry-run plan)', async t => {
  const g = await gitdir(t, { origin: true, files: { 'run.sbatch': '#!/bin/bash\n', 'config.json': '{ "initial_mass": 0, "2": "a" }\n' } });
  await writeFile(join(g.root, 'order.yaml'), 'name: order\nbranch: main\npatcher: { type: json, file: config.json }\ndimensions:\n  initial_mass: [1, 2]\n  2: [x, y]\n');
  const plan = await rxJson<{ params: Record<string, unknown> }[]>(['submit', '--sweep', join(g.root, 'order.yaml'), '--dry-run'], { cwd: g.work });
  assert.deepEqual(plan.map(p => [p.params.initial_mass, p.params['2']]), [[1, 'x'], [1, 'y'], [2, 'x'], [2, 'y']]);
});
