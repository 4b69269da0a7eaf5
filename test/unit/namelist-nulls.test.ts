// Finding 12: a null value (`x = 1, , 3`, `x = , 2`, `2*`) leaves its element unchanged; it is not
// skipped (which would shift the values after it). The parser keeps its place as `null`; the
// patcher replaces the whole value, nulls included. Reference: gfortran 12.2 (see
// namelist-gfortran.test.ts): `x = 1, , 3` → x(1) = 1, x(2) unchanged, x(3) = 3.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsers } from '../../parsers/index.ts';
import { patchers } from '../../patchers/index.ts';

test('parser: a null value keeps its place as null (x(2) unchanged), also leading, across lines, r*', () => {
  assert.deepEqual(parsers.mesaInlist('&controls\n  x = 1, , 3\n/\n'), { 'controls.x': [1, null, 3] });
  assert.deepEqual(parsers.mesaInlist('&controls\n  x = , 2\n/\n'), { 'controls.x': [null, 2] });
  assert.deepEqual(parsers.mesaInlist('&controls\n  x = 1,\n    , 3\n  y = ,\n/\n'), { 'controls.x': [1, null, 3], 'controls.y': null });
  assert.deepEqual(parsers.mesaInlist("&c x = 1 ,, 3 s = 'a', , 'c' /\n"), { 'c.x': [1, null, 3], 'c.s': ['a', null, 'c'] });
  assert.deepEqual(parsers.mesaInlist('&c\n  x = 2*, 3\n/\n'), { 'c.x': [null, null, 3] });
  // a separator at the end of a line, before the next line's value, is not a null value
  assert.deepEqual(parsers.mesaInlist('&c\n  x = 1,\n    3\n/\n'), { 'c.x': [1, 3] });
});

test('parser: a key set twice merges element by element; a null keeps the earlier value', () => {
  const warnings: string[] = [];
  assert.deepEqual(parsers.mesaInlist('&c\n  x = 1, 2, 3\n  x = 5\n  x = , 8\n/\n', { warn: w => warnings.push(w) }), { 'c.x': [5, 8, 3] });
  assert.deepEqual(warnings, ["inlist: 'c.x' is set 3 times (lines 2, 3, 4); the last one wins (element by element: a null or missing value keeps the earlier one), as in MESA"]);
  assert.equal(parsers.mesaInlist('&c\n  y = 4\n  y = ,\n/\n')['c.y'], 4);
});

test('patcher: the value it replaces includes the null values (a leading null no longer shifts the new values)', () => {
  assert.equal(patchers.mesa('&controls\n  x = , 2\n/\n', { x: [7, 8] }), '&controls\n  x = 7, 8\n/\n');
  assert.equal(patchers.mesa('&controls\n  x = 1, , 3 ! c\n/\n', { x: [7, 8, 9] }), '&controls\n  x = 7, 8, 9 ! c\n/\n');
  assert.equal(patchers.mesa('&controls\n  x = 1,\n    , 3\n  y = 1\n/\n', { x: 4 }), '&controls\n  x = 4\n  y = 1\n/\n');
  assert.equal(patchers.mesa('&controls\n  x = ,\n/\n', { x: 4 }), '&controls\n  x = 4\n/\n');
  assert.equal(patchers.mesa('&controls\n  x = 1, ,\n  y = 2\n/\n', { x: 4 }), '&controls\n  x = 4\n  y = 2\n/\n');
  // and reads back as set
  for (const text of ['&c\n  x = , 2\n/\n', '&c\n  x = , , 3, ,\n/\n', '&c x = 2*, 1 /\n']) assert.deepEqual(parsers.mesaInlist(patchers.mesa(text, { x: [7, 8] }))['c.x'], [7, 8], text);
});
