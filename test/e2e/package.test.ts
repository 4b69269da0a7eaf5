// The package as a user gets it: `npm pack`, installed into a fresh folder, used from a plain Node
// script (import and require) and through its `rx` command on a sweep.ts outside the package.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/proc.ts';
import { gitdir } from '../helpers/gitdir.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const INLIST = '&controls\n  initial_mass = 1\n  initial_z = 0.02\n/\n';

test('npm pack → install into a fresh folder → import, require and the rx command all work', { timeout: 300_000 }, async t => {
  const root = await mkdtemp(join(tmpdir(), 'rx-pack-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const packed = await run(['npm', 'pack', '--json', '--pack-destination', root], { cwd: REPO, where: 'npm pack' });
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  const paths = info!.files.map(f => f.path);
  // The examples (what `rx demo` runs, sweep.ts files included) ship; sources, tests, benchmarks and CI do not.
  const stray = paths.filter(p => /^(test|bench|\.ci|src|patchers|parsers)\//.test(p) || (p.endsWith('.ts') && !p.endsWith('.d.ts') && !p.startsWith('examples/')));
  assert.deepEqual(stray, [], 'the tarball holds only what runs: no sources, tests, benchmarks or CI files');
  assert.ok(paths.includes('dist/src/cli.js') && paths.includes('dist/src/index.d.ts') && paths.includes('bin/rx.js'));

  const app = join(root, 'app');
  await run(['mkdir', app]);
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  await run(['npm', 'install', '--no-audit', '--no-fund', '--prefer-offline', join(root, info!.filename)], { cwd: app, where: 'npm install <tarball>' });
  assert.deepEqual((await readdir(join(app, 'node_modules/remote-experiments'))).sort(), ['README.md', 'bin', 'dist', 'examples', 'package.json']);

  // A plain ESM script (no tsx, no loader) and a CommonJS one.
  await writeFile(join(app, 'patch.mjs'), `import { patchers, parsers, defineSweep } from 'remote-experiments';
const text = patchers.mesa(${JSON.stringify(INLIST)}, { initial_mass: 2.5 });
const back = parsers.mesaInlist(text);
console.log(JSON.stringify({ text, mass: back.controls?.initial_mass ?? back.initial_mass, sweep: defineSweep({ name: 'x' }).name }));
`);
  const esm = JSON.parse((await run([process.execPath, 'patch.mjs'], { cwd: app })).stdout) as { text: string; mass: number; sweep: string };
  assert.match(esm.text, /initial_mass = 2\.5/);
  assert.equal(esm.sweep, 'x');
  await writeFile(join(app, 'patch.cjs'), `const { patchers } = require('remote-experiments');
process.stdout.write(patchers.mesa(${JSON.stringify(INLIST)}, { initial_z: 0.01 }));
`);
  assert.match((await run([process.execPath, 'patch.cjs'], { cwd: app })).stdout, /initial_z = 0\.01/);

  // The installed rx dry-runs a sweep.ts that lives in a separate repository with no node_modules.
  const g = await gitdir(t, { files: { inlist: INLIST, 'run.sbatch': '#!/bin/bash\necho ok\n' } });
  await writeFile(join(g.work, 'sweep.ts'), `import { defineSweep } from 'remote-experiments';
const masses: number[] = [1, 2, 3];
export default defineSweep({ name: 'packed', branch: 'main', dimensions: { initial_mass: masses }, patcher: { type: 'mesa', file: 'inlist' } });
`);
  const rx = join(app, 'node_modules/.bin/rx');
  assert.equal((await run([rx, '--version'], { cwd: g.work })).stdout.trim(), JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')).version);
  const plan = JSON.parse((await run([rx, 'submit', '--sweep', 'sweep.ts', '--dry-run', '--json'], { cwd: g.work })).stdout) as { params: { initial_mass: number }; diff: string }[];
  assert.deepEqual(plan.map(p => p.params.initial_mass), [1, 2, 3]);
  assert.match(plan[1]!.diff, /\+\s*initial_mass = 2/);
});
