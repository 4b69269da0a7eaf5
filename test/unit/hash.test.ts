import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalJson, paramHash } from '../../src/sweep/hash.ts';

test('hash is independent of key order, at every depth', () => {
  fc.assert(fc.property(fc.dictionary(fc.string(), fc.jsonValue()), obj => {
    const reversed = Object.fromEntries(Object.entries(obj).reverse());
    assert.equal(paramHash(obj), paramHash(reversed));
  }));
  assert.equal(paramHash({ a: { x: 1, y: 2 }, b: 1 }), paramHash({ b: 1, a: { y: 2, x: 1 } }));
});

test('1 and 1.0 (the same number once parsed) hash the same; -0 is 0; strings differ from numbers', () => {
  assert.equal(paramHash({ m: 1 }), paramHash(JSON.parse('{"m": 1.0}')));
  assert.equal(paramHash({ m: -0 }), paramHash({ m: 0 }));
  assert.notEqual(paramHash({ m: 1 }), paramHash({ m: '1' }));
  assert.equal(canonicalJson({ b: [1, 1.5e-12], a: 'x' }), '{"a":"x","b":[1,1.5e-12]}');
});

test('hash is a pinned sha256 (changing the canonical form would orphan every ledger)', () => {
  // sha256('{"initial_mass":1.5,"initial_z":0.02}')
  assert.equal(paramHash({ initial_z: 0.02, initial_mass: 1.5 }), '42d9b9e22cb9796025706bb11d8a55ca59292ffdf762b397b33d8626fb8a6bc5');
  assert.match(paramHash({}), /^[0-9a-f]{64}$/);
  // sha256('{}')
  assert.equal(paramHash({}), '44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
});
