import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { mesa, fortranLiteral } from '../../patchers/mesa.ts';

const inlist = readFileSync(new URL('../fixtures/mesa/r22-summer-school.inlist_project', import.meta.url), 'utf8');
const line = (text: string, key: string) => text.split('\n').find(l => new RegExp(`^\\s*${key.replace(/[()]/g, '\\$&')}\\s*=`, 'i').test(l));

test('patches the real MESA inlist: keeps indentation and trailing comment', () => {
  const out = mesa(inlist, { initial_mass: 1.5, initial_z: 0.014 });
  assert.equal(line(out, 'initial_mass'), '    initial_mass = 1.5 ! in Msun units');
  assert.equal(line(out, 'initial_z'), '    initial_z = 0.014');
  // nothing else changed
  const a = inlist.split('\n'), b = out.split('\n');
  assert.equal(a.length, b.length);
  assert.deepEqual(a.filter((l, i) => l !== b[i]).length, 2);
});

test('exact key match: `mass` never touches `initial_mass` (RemoteExperiments substring bug)', () => {
  const text = '&controls\n  initial_mass = 1\n  mass = 2\n/\n';
  assert.equal(mesa(text, { mass: 5 }), '&controls\n  initial_mass = 1\n  mass = 5\n/\n');
  assert.throws(() => mesa('&controls\n  initial_mass = 1\n/\n', { mass: 5 }), /key 'mass' is not set in inlist; closest keys: initial_mass/);
});

test('case-insensitive keys, array elements, booleans and strings as Fortran literals', () => {
  const out = mesa(inlist, { 'X_LOGICAL_CTRL(1)': false, 'xa_central_lower_limit_species(1)': "he'4", pgstar_flag: false });
  assert.equal(line(out, 'x_logical_ctrl(1)')?.trim(), 'x_logical_ctrl(1) = .false.');
  assert.equal(line(out, 'xa_central_lower_limit_species(1)')?.trim(), "xa_central_lower_limit_species(1) = 'he''4'");
  assert.equal(line(out, 'pgstar_flag')?.trim(), 'pgstar_flag = .false.');
});

test('commented-out lines are never activated', () => {
  assert.throws(() => mesa(inlist, { save_model_filename: 'x.mod' }), /key 'save_model_filename' is not set/);
  const text = '&controls\n  ! initial_mass = 1\n  initial_mass = 2\n/\n';
  assert.equal(mesa(text, { initial_mass: 3 }), '&controls\n  ! initial_mass = 1\n  initial_mass = 3\n/\n');
});

test('group-qualified keys and ambiguity across groups', () => {
  const text = '&star_job\n  x = 1\n/\n&controls\n  x = 2\n/\n';
  assert.throws(() => mesa(text, { x: 3 }), /set in several groups of inlist \(&star_job, &controls\); qualify it/);
  assert.equal(mesa(text, { 'controls.x': 3 }), '&star_job\n  x = 1\n/\n&controls\n  x = 3\n/\n');
  assert.equal(mesa(text, { 'controls.y': 4 }, { add: true }), '&star_job\n  x = 1\n/\n&controls\n  x = 2\n    y = 4\n/\n');
});

test('missing key error names key, file and closest keys', () => {
  assert.throws(() => mesa(inlist, { initial_masss: 1 }, { file: 'inlist_project' }), /key 'initial_masss' is not set in inlist_project; closest keys: initial_mass/);
});

test('numbers: as written, optional d exponent; newline in a string is refused', () => {
  assert.equal(fortranLiteral(1e-12), '1e-12');
  assert.equal(fortranLiteral(1e-12, { exponent: 'd' }), '1d-12');
  assert.equal(fortranLiteral(0.5, { exponent: 'd' }), '0.5d0');
  assert.equal(fortranLiteral(3), '3');
  assert.throws(() => fortranLiteral('a\nb'), /cannot contain a line break/);
  assert.throws(() => fortranLiteral(NaN), /cannot be written/);
});

test('hostile string values stay inside their quotes: the namelist structure is unchanged', () => {
  const text = "&controls\n  note = 'x' ! c\n  other = 1\n/\n";
  fc.assert(fc.property(fc.string().filter(s => !/[\r\n]/.test(s)), s => {
    const out = mesa(text, { note: s });
    const lines = out.split('\n');
    assert.equal(lines.length, 5);
    assert.equal(lines[2], '  other = 1');
    assert.equal(lines[3], '/');
    const m = /^  note = '(.*)' ! c$/.exec(lines[1]!);
    assert.ok(m, lines[1]);
    assert.equal(m![1]!.replace(/''/g, "'"), s);
  }));
});
