// rx init's pure parts: the keys a config file offers (checked by the patchers), Host names of an
// ssh config, sweep names from folder names, and the sweep file it renders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { configKeys, trialValues } from '../../src/init/keys.ts';
import { configKindOf, parseSshHosts, type Discovery } from '../../src/init/discover.ts';
import { renderSweep, sweepNameFor } from '../../src/init/render.ts';
import { PATCHERS } from '../../patchers/index.ts';
import { validateSweepName } from '../../src/sweep/names.ts';

const fixture = (f: string) => readFileSync(new URL(`../fixtures/${f}`, import.meta.url), 'utf8');
const PROJECT = fixture('mesa/r22-summer-school.inlist_project');

test('a real MESA inlist_project: keys without their group where unambiguous, with values', () => {
  const keys = new Map(configKeys('mesa', PROJECT, 'inlist_project'));
  assert.equal(keys.get('initial_mass'), 2);
  assert.equal(keys.get('initial_z'), 0.02);
  assert.equal(keys.get('zbase'), 0.02);
  assert.equal(keys.get('x_logical_ctrl(1)'), true);
  for (const k of keys.keys()) assert.ok(PATCHERS.mesa.has(PROJECT, k), k);
  // The top inlist only points to inlist_project: its keys are there too, but strings and flags.
  const top = configKeys('mesa', fixture('init/inlist'), 'inlist');
  assert.ok(top.every(([, v]) => trialValues(v) === null));
});

test('JSON, YAML and key = value files: scalar leaves as paths the patchers accept', () => {
  assert.deepEqual(configKeys('json', fixture('init/settings.json'), 'settings.json'), [['solver.tolerance', 1e-6], ['solver.max_steps', 500], ['label', 'baseline']]);
  assert.deepEqual(configKeys('yaml', fixture('init/params.yaml'), 'params.yaml'), [['model.alpha', 0.5], ['model.name', 'test']]);
  assert.deepEqual(configKeys('keyvalue', fixture('init/run.cfg'), 'run.cfg'), [['dt', 0.1], ['steps', 10]]);
  assert.deepEqual(configKeys('json', '{ not json', 'x.json'), []);
});

test('which files are config files, by name', () => {
  assert.equal(configKindOf('work/inlist_project'), 'mesa');
  assert.equal(configKindOf('inlist'), 'mesa');
  assert.equal(configKindOf('inlist_notes.md'), null);
  assert.equal(configKindOf('a/b.yml'), 'yaml');
  assert.equal(configKindOf('x.ini'), 'keyvalue');
  assert.equal(configKindOf('main.f90'), null);
});

test('Host names of an ssh config: concrete names only', () => {
  const text = 'Host *\n  ServerAliveInterval 30\nHost mycluster login2\n  HostName a.b\n\thost   gpu-*  !bad  other\nMatch host x\n';
  assert.deepEqual(parseSshHosts(text), ['mycluster', 'login2', 'other']);
});

test('sweep names from folder names are always valid', () => {
  assert.equal(sweepNameFor('mesa work'), 'mesa_work');
  assert.equal(sweepNameFor('.hidden..dir.lock'), 'hidden.dir');
  assert.equal(sweepNameFor('ünïcode'), 'n_code');
  fc.assert(fc.property(fc.string(), s => { validateSweepName(sweepNameFor(s)); }));
});

test('trial values: the current value and one more', () => {
  assert.deepEqual(trialValues(2), [2, 4]);
  assert.deepEqual(trialValues(0), [0, 1]);
  assert.deepEqual(trialValues(0.02), [0.02, 0.04]);
  assert.equal(trialValues('x'), null);
  assert.equal(trialValues(true), null);
});

const discovery = (over: Partial<Discovery> = {}): Discovery => ({
  dirName: 'star work',
  branch: 'main',
  configs: [{ path: 'inlist_project', kind: 'mesa', keys: configKeys('mesa', PROJECT, 'inlist_project'), text: PROJECT }],
  script: 'run.sbatch',
  origin: 'git@example.org:me/star.git',
  sshHosts: [],
  ...over,
});

test('rendered sweep: varies mass and metallicity of inlist_project, with patches that apply', () => {
  const r = renderSweep(discovery(), { date: '2026-01-01' });
  assert.equal(r.name, 'star_work');
  assert.deepEqual(r.dimensions, { initial_mass: [2, 4], initial_z: [0.02, 0.04] });
  assert.equal(r.host, null);
  assert.deepEqual(r.todo, []);
  assert.match(r.text, /^import \{ defineSweep \} from 'remote-experiments';/);
  assert.match(r.text, /initial_mass: \[2, 4\],\n {4}initial_z: \[0\.02, 0\.04\],/);
  assert.match(r.text, /patcher: \{ type: 'mesa', file: 'inlist_project' \},/);
  assert.match(r.text, /\/\/ No remote: the embedded default/);
  const patched = PATCHERS.mesa.patch(PROJECT, { initial_mass: 4, initial_z: 0.04 });
  assert.match(patched, /initial_mass = 4/);
});

test('rendered sweep: the one ssh Host becomes the remote; a missing origin and script are TODOs', () => {
  const r = renderSweep(discovery({ sshHosts: ['mycluster'], origin: null, script: null }));
  assert.equal(r.host, 'mycluster');
  assert.match(r.text, /host: 'mycluster',/);
  assert.match(r.text, /repo: '~\/rx\/star_work',/);
  assert.equal(r.todo.length, 2);
  assert.match(r.text, /\/\/ TODO: no batch script was found/);
  // Several hosts: none is guessed, all are listed.
  const several = renderSweep(discovery({ sshHosts: ['a', 'b'] }));
  assert.equal(several.host, null);
  assert.match(several.text, /ssh hosts in ~\/\.ssh\/config: a, b/);
});

test('rendered sweep: file text never escapes its comments or strings', () => {
  const evil = discovery({ branch: "x'\n});process.exit(1)//", origin: 'u\nexport const x = 1', configs: [{ path: 'we"ird\n.json', kind: 'json', keys: [['a', 1]], text: '{"a":1}' }] });
  const r = renderSweep(evil);
  for (const line of r.text.split('\n')) assert.ok(!/^export const x|^\}\);process/.test(line), line);
  assert.match(r.text, /branch: 'x\\'\\n\}\);process\.exit\(1\)\/\/',/);
});
