// Values that are not JSON data are refused with a ConfigError naming where they are, before
// anything hashes them (found by the adversarial suite: a function crashed the hash, a circular
// object overflowed the stack). Parameter names with line breaks cannot forge commit trailers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkSweep } from '../../src/sweep/definition.ts';
import { ConfigError } from '../../src/errors.ts';
import { commitMessage } from '../../src/git/commits.ts';

const sweep = (extra: Record<string, unknown>) => ({ name: 's', branch: 'main', patcher: { type: 'mesa', file: 'inlist' }, ...extra });

test('functions and circular objects among parameter values are ConfigErrors naming the place', () => {
  const circ: Record<string, unknown> = { a: 1 };
  circ.self = circ;
  const cases: [Record<string, unknown>, RegExp][] = [
    [sweep({ dimensions: { initial_mass: [1, () => 1] } }), /^dimensions\.initial_mass\[1\]: a parameter value must be .* not function/],
    [sweep({ base_config: { o: circ } }), /^base_config\.o: the value contains itself/],
    [sweep({ points: [{ a: 1 }, { a: [circ] }] }), /^points\[1\]\.a: the value contains itself/],
    [sweep({ dimensions: [['m', [Symbol('x')]]] }), /^dimensions\.m\[0\]: a parameter value must be .* not symbol/],
  ];
  for (const [raw, message] of cases) assert.throws(() => checkSweep(raw, 's.ts'), (e: Error) => e instanceof ConfigError && message.test(e.message), String(message));
  // A shared (not circular) object is fine.
  const shared = { k: 1 };
  assert.doesNotThrow(() => checkSweep(sweep({ base_config: { a: shared, b: shared } }), 's.ts'));
});

test('a parameter name with a line break cannot forge a commit trailer; ordinary messages are unchanged', () => {
  const forged = commitMessage('s', { key: '1', params: {}, varied: { 'nl\nrx-hash: fff': 1 }, hash: 'abc', repeat: 0 });
  assert.deepEqual(forged.split('\n').filter(l => l.startsWith('rx-hash:')), ['rx-hash: abc']);
  assert.equal(commitMessage('s', { key: '2', params: {}, varied: { m: 1.5, z: 'a' }, hash: 'h', repeat: 0 }), 'rx: s point 2\n\nm = 1.5\nz = "a"\n\nrx-sweep: s\nrx-hash: h\n');
});
