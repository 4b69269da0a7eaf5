import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { validateSweepName, validateRepoPath } from '../../src/sweep/names.ts';
import { runDirName, uniquePrefixes } from '../../src/remote/rundir.ts';
import { ConfigError } from '../../src/errors.ts';
import { run } from '../../src/proc.ts';

test('sweep names: git ref rules and the documented charset', async () => {
  for (const ok of ['main_rho_test', 'mass-scan.2', 'a']) assert.equal(validateSweepName(ok), ok);
  for (const bad of ['', 'a b', 'a/b', '../x', 'a..b', '.hidden', '-x', 'x.lock', 'x.', 'ünï', "a'b", 'a;b', 'a\nb', 'x'.repeat(101)]) {
    assert.throws(() => validateSweepName(bad), ConfigError, bad);
  }
  // whatever passes is also accepted by git as a ref component
  const names = fc.sample(fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/), 200).filter(n => { try { validateSweepName(n); return true; } catch { return false; } });
  for (const n of names.slice(0, 40)) {
    const c = await run(['git', 'check-ref-format', `refs/rx/${n}/1`], { allowFailure: true });
    assert.equal(c.exitCode, 0, n);
  }
});

test('repo paths stay inside the repository', () => {
  assert.equal(validateRepoPath('work/inlist', 'x'), 'work/inlist');
  for (const bad of ['/etc/passwd', '../x', 'a/../b', '', 'a//b', '.git/config', './a']) assert.throws(() => validateRepoPath(bad, 'x'), ConfigError, bad);
});

test('run directory names: RemoteExperiments format, UTC', () => {
  assert.equal(runDirName('main_rho_test', new Date('2021-01-12T10:21:25Z'), '694c8a1'), 'main_rho_test_time_2021_01_12_10_21_25_sha_694c8a1');
});

test('short shas are at least 7 digits and unique among the sweep', () => {
  const a = 'abcdef0123456789abcdef0123456789abcdef01';
  const b = 'abcdef0123999999999999999999999999999999';
  const c = '1234567000000000000000000000000000000000';
  const p = uniquePrefixes([a, b, c]);
  assert.equal(p.get(c), '1234567');
  assert.equal(p.get(a), 'abcdef01234');
  assert.equal(p.get(b), 'abcdef01239');
  fc.assert(fc.property(fc.uniqueArray(fc.stringMatching(/^[0-9a-f]{40}$/), { minLength: 1, maxLength: 50 }), shas => {
    const m = uniquePrefixes(shas);
    const prefixes = shas.map(s => m.get(s)!);
    assert.equal(new Set(prefixes).size, shas.length);
    shas.forEach((s, i) => { assert.ok(s.startsWith(prefixes[i]!)); assert.ok(prefixes[i]!.length >= 7); });
  }));
});
