// Finding 13: a Fortran READ of a namelist group stops at the FIRST `&name` group in the file, so
// with `&controls x=1 /` then `&controls x=2 /` MESA reads x = 1 (checked with gfortran 12.2,
// test/fixtures/namelist/cases/06-repeated-group.nml). The parser reads the first occurrence and
// warns that the repeated one is ignored; the patcher patches (and adds to) the first occurrence.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsers } from '../../parsers/index.ts';
import { patchers } from '../../patchers/index.ts';
import { mesaHas } from '../../patchers/mesa.ts';

const text = '&controls\n  x = 1\n/\n&star_job\n  n = 4\n/\n&controls\n  x = 2\n  y = 7\n/\n';

test('parser: the first occurrence of a group is the one read; the warning says so', () => {
  const warnings: string[] = [];
  const d = parsers.namelist(text, { file: 'inlist_a', warn: w => warnings.push(w) });
  assert.deepEqual(d.values, { 'controls.x': 1, 'star_job.n': 4 });
  assert.deepEqual(d.groups, ['controls', 'star_job', 'controls']);
  assert.deepEqual(d.duplicates, []);
  assert.deepEqual(warnings, ['inlist_a:7: &controls appears again (first at line 1); a namelist READ stops at the first &controls, so MESA reads only that one and this one is ignored']);
  assert.ok(!warnings.some(w => /last one wins/.test(w)));
});

test('patcher: patches the group Fortran reads, never the repeated one', () => {
  assert.equal(patchers.mesa(text, { x: 5 }), text.replace('x = 1', 'x = 5'));
  assert.equal(patchers.mesa(text, { 'controls.x': 5 }), text.replace('x = 1', 'x = 5'));
  // a key only in the repeated group is not in the file as MESA reads it
  assert.equal(mesaHas(text, 'y'), false);
  assert.throws(() => patchers.mesa(text, { y: 1 }, { file: 'inlist_a' }), {
    message: "key 'y' is not set in inlist_a: it is only in a repeated &controls group (line 9), which MESA never reads: a namelist READ stops at the first &controls (line 1); move it there",
  });
  // add: true inserts into the first group
  assert.equal(patchers.mesa(text, { 'controls.y': 3 }, { add: true }), text.replace('x = 1\n', 'x = 1\n    y = 3\n'));
  const out = patchers.mesa(text, { 'controls.y': 3, x: 6 }, { add: true });
  assert.deepEqual(parsers.mesaInlist(out), { 'controls.x': 6, 'controls.y': 3, 'star_job.n': 4 });
});
