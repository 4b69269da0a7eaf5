import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { loadSweep, validateSweep } from '../../src/sweep/definition.ts';
import { ConfigError } from '../../src/errors.ts';

const base = { name: 's', branch: 'main', patcher: { type: 'mesa', file: 'inlist' } };

test('YAML, JSON and TypeScript sweep files give the same sweep', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'rx-sweep-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 's.yaml'), `# a comment\nname: s\nbranch: main\nbase_config:\n  n_steps: 30\ndimensions:\n  initial_mass: [1.0, 1.5]\n  "x_ctrl(1),flag": [[1, true], [2, false]]\npatcher: { type: mesa, file: inlist }\n`);
  await writeFile(join(dir, 's.json'), JSON.stringify({ ...base, base_config: { n_steps: 30 }, dimensions: { initial_mass: [1, 1.5], 'x_ctrl(1),flag': [[1, true], [2, false]] } }));
  await writeFile(join(dir, 's.ts'), `const s: { name: string } & Record<string, unknown> = { name: 's', branch: 'main', base_config: { n_steps: 30 }, dimensions: { initial_mass: [1, 1.5], 'x_ctrl(1),flag': [[1, true], [2, false]] }, patcher: { type: 'mesa', file: 'inlist' } };\nexport default s;\n`);
  const [y, j, ts] = await Promise.all(['s.yaml', 's.json', 's.ts'].map(f => loadSweep(f, dir)));
  assert.equal(y!.points.length, 4);
  assert.deepEqual(y!.points, j!.points);
  assert.deepEqual(ts!.points, j!.points);
  assert.deepEqual(y!.points[1]!.params, { n_steps: 30, initial_mass: 1, 'x_ctrl(1)': 2, flag: false });
  assert.equal(y!.remote.host, 'local');
  assert.equal(y!.remote.scheduler, 'shell');
});

test('sweep validation names the offending key and says what to do', () => {
  const bad: [unknown, RegExp][] = [
    [{ ...base, nmae: 'x' }, /unknown key 'nmae'/],
    [{ ...base, name: undefined }, /name: the sweep needs a name/],
    [{ ...base, branch: '' }, /branch: expected the base branch/],
    [{ ...base, patcher: undefined }, /patcher: required/],
    [{ ...base, patcher: { type: 'nope', file: 'x' } }, /patcher\.type: unknown patcher "nope"/],
    [{ ...base, patcher: { type: 'mesa', file: '../x' } }, /patcher\.file: "\.\.\/x" is not a plain relative path/],
    [{ ...base, dimensions: { a: [] } }, /dimensions\.a: the list of values is empty/],
    [{ ...base, remote: { host: 'c', repo: '~/r' } }, /remote\.output: required for host 'c'/],
    [{ ...base, remote: { host: 'c', repo: '~/r', output: '~/o', scheduler: 'pbs' } }, /remote\.scheduler: expected 'slurm' or 'shell'/],
    [{ ...base, remote: { host: 'c; rm -rf /', repo: '~/r', output: '~/o' } }, /remote\.host: invalid host/],
    [{ ...base, remote: { host: 'c', repo: '~/r', output: '~/o', sbatchArgs: '--time=1' } }, /remote\.sbatchArgs: expected a list of strings/],
    [{ ...base, remote: { host: 'c', repo: '~/r', output: '~/o', colour: 1 } }, /remote\.colour: unknown option/],
    [{ ...base, base_config: { f: () => 1 } }, /a parameter value must be/],
    [{ ...base, base_config: { n: 1n } }, /not a BigInt \(write it as a number or string\)/],
    [{ ...base, dimensions: { d: [new Date(0), new Date(1)] } }, /not a Date \(write it as an ISO string\)/],
  ];
  for (const [raw, msg] of bad) assert.throws(() => validateSweep(raw, 'sweep.ts'), (e: Error) => e instanceof ConfigError && msg.test(e.message), String(msg));
});

test('a missing sweep file or a file without default export is a clear error', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'rx-sweep-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await assert.rejects(loadSweep('nope.ts', dir), /sweep file not found/);
  await writeFile(join(dir, 'x.mjs'), 'export const a = 1;\n');
  await assert.rejects(loadSweep('x.mjs', dir), /has no default export/);
  await writeFile(join(dir, 'x.toml'), '');
  await assert.rejects(loadSweep('x.toml', dir), /unknown sweep file type/);
});
