// Finding 14: `x(01)`, `x( 1 )`, `X(+1)` are one element, x(1); and within one group a later
// assignment overrides an earlier one where they overlap (gfortran 12.2: `x(2) = 9` then
// `x(1:3) = 1, 2, 3` reads x(2) = 2). The parser reports what is read; the patcher patches the
// assignment that wins, or refuses naming both lines when it cannot (an element inside a slice).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsers } from '../../parsers/index.ts';
import { patchers } from '../../patchers/index.ts';
import { normKey } from '../../parsers/namelist.ts';

test('indices are normalised: leading zeros, a plus sign, blanks, case, a unit stride', () => {
  assert.equal(normKey('X_Ctrl( 01 )'), 'x_ctrl(1)');
  assert.equal(normKey('x(+3)'), 'x(3)');
  assert.equal(normKey('m(01, -002)'), 'm(1,-2)');
  assert.equal(normKey('x(-0)'), 'x(0)');
  assert.equal(normKey('x(1:5:1)'), 'x(1:5)');
  assert.equal(normKey('x(001:005:02)'), 'x(1:5:2)');
  const w: string[] = [];
  assert.deepEqual(parsers.mesaInlist('&c\n  x(01) = 5\n  x( 1 ) = 6\n  X(+3) = 7\n/\n', { warn: m => w.push(m) }), { 'c.x(1)': 6, 'c.x(3)': 7 });
  assert.deepEqual(w, ["inlist: 'c.x(1)' is set 2 times (lines 2, 3); the last one wins, as in MESA"]);
});

test('parser: where a later assignment overrides an earlier key, the earlier key shows what is read', () => {
  const w: string[] = [];
  assert.deepEqual(parsers.mesaInlist('&c\n  x(2) = 9\n  x(1:3) = 1, 2, 3\n/\n', { warn: m => w.push(m) }), { 'c.x(2)': 2, 'c.x(1:3)': [1, 2, 3] });
  assert.deepEqual(w, ["inlist:3: 'c.x(1:3)' overrides 'c.x(2)' (line 2) where they overlap; the later assignment wins, as in MESA"]);
  assert.deepEqual(parsers.mesaInlist('&c\n  x(1:3) = 1, 2, 3\n  x(2) = 9\n  x(1:3) = 4, , 6\n/\n'), { 'c.x(1:3)': [4, 9, 6], 'c.x(2)': 9 });
  assert.deepEqual(parsers.mesaInlist('&c\n  x(4) = 1, 2, 3\n  x(5) = 9\n/\n'), { 'c.x(4)': [1, 9, 3], 'c.x(5)': 9 });
  // without the array's bounds it cannot tell: both as written, and a warning
  const w2: string[] = [];
  assert.deepEqual(parsers.mesaInlist('&c\n  x = 1, 2, 3\n  x(2) = 9\n/\n', { warn: m => w2.push(m) }), { 'c.x': [1, 2, 3], 'c.x(2)': 9 });
  assert.match(w2[0]!, /^inlist:3: 'c\.x\(2\)' may override 'c\.x' \(line 2\): whether they overlap depends on the array's bounds or shape/);
  // disjoint elements: no warning
  const w3: string[] = [];
  parsers.mesaInlist('&c\n  x(1:3) = 1, , 3\n  x(2) = 9\n  x(4) = 1\n  m(1,2) = 1\n  m(2,1) = 2\n/\n', { warn: m => w3.push(m) });
  assert.deepEqual(w3, []);
});

test('patcher: another spelling of the same element is that element', () => {
  assert.equal(patchers.mesa('&c\n  x(01) = 1\n/\n', { 'x(1)': 4 }), '&c\n  x(01) = 4\n/\n');
  assert.equal(patchers.mesa('&c\n  X( 1 ) = 1\n/\n', { 'c.x(001)': 4 }), '&c\n  X( 1 ) = 4\n/\n');
  // all spellings in the group are set; the last one is what Fortran reads
  assert.equal(patchers.mesa('&c\n  x(2) = 9\n  x(1:3) = 1,2,3\n  x(02) = 7\n/\n', { 'x(2)': 4 }), '&c\n  x(2) = 4\n  x(1:3) = 1,2,3\n  x(02) = 4\n/\n');
  assert.throws(() => patchers.mesa('&c\n  x(1) = 1\n/\n', { 'x(1)': 1, 'c.x(01)': 2 }), /'x\(1\)' and 'c\.x\(01\)' set the same assignment/);
});

test('patcher: an element overridden by a later slice or array assignment is refused, naming both lines', () => {
  assert.throws(() => patchers.mesa('&controls\n  x(2) = 9\n  x(1:3) = 1, 2, 3\n/\n', { 'x(2)': 4 }, { file: 'inlist_p' }), {
    message: "'x(2)' cannot be patched precisely in inlist_p: 'x(1:3)' on line 3 comes after 'x(2)' on line 2 in &controls and overrides it (within a namelist group the later assignment wins); patch 'x(1:3)' instead, or merge the two lines in the base file",
  });
  assert.throws(() => patchers.mesa('&c\n  x(2) = 9\n  x = 1, 2, 3\n/\n', { 'x(2)': 4 }), /'x' on line 3 comes after 'x\(2\)' on line 2 in &c and may override it \(whether they overlap depends on the array's bounds or shape\)/);
  assert.throws(() => patchers.mesa('&c\n  x = 1, 2, 3\n  x(2) = 9\n/\n', { x: [4, 5, 6] }), /'x\(2\)' on line 3 comes after 'x' on line 2/);
  // the new value runs into a later element
  assert.throws(() => patchers.mesa('&c\n  x(2) = 9\n  x(3) = 1\n/\n', { 'x(2)': [4, 5] }), /'x\(3\)' on line 3 comes after 'x\(2\)' on line 2 in &c and overrides it/);
  // no overlap: patched
  assert.equal(patchers.mesa('&c\n  x(2) = 9\n  x(3) = 1\n/\n', { 'x(2)': 4 }), '&c\n  x(2) = 4\n  x(3) = 1\n/\n');
  assert.equal(patchers.mesa('&c\n  x(2) = 9\n  x(1:3) = 1, , 3\n/\n', { 'x(2)': 4 }), '&c\n  x(2) = 4\n  x(1:3) = 1, , 3\n/\n');
  assert.equal(patchers.mesa('&c\n  x(1:3) = 1, 2, 3\n  x(2) = 9\n/\n', { 'x(2)': 4 }), '&c\n  x(1:3) = 1, 2, 3\n  x(2) = 4\n/\n');
});

test('patcher: an element set only inside a slice is not patched in place; add: true adds it after, where it wins', () => {
  const text = '&c\n  x(1:3) = 1, 2, 3\n/\n';
  assert.throws(() => patchers.mesa(text, { 'x(2)': 4 }), {
    message: "key 'x(2)' is not set in inlist by itself: 'x(1:3)' on line 2 (&c) sets it, and rx does not patch one element of an array or slice assignment; set 'x(1:3)' whole, or with add: true add 'c.x(2)' (inserted at the end of the group, so it wins)",
  });
  const out = patchers.mesa(text, { 'c.x(2)': 4 }, { add: true });
  assert.equal(out, '&c\n  x(1:3) = 1, 2, 3\n    x(2) = 4\n/\n');
  assert.deepEqual(parsers.mesaInlist(out), { 'c.x(1:3)': [1, 4, 3], 'c.x(2)': 4 });
});
