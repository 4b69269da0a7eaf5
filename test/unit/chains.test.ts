// Per-point chains (`after:`): the pure parts — validation, the chained points, the dependency of a
// recorded job id, and the sbatch options a chained job gets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { chainHash, chainPoints, checkLinkName, dependencyOf, validateAfter } from '../../src/sweep/chains.ts';
import { chainSources } from '../../src/submission/chains.ts';
import { parsePointDoc } from '../../src/submission/reconcile.ts';
import { pointJson } from '../../src/git/commits.ts';
import { fold, type LedgerEvent } from '../../src/ledger/ledger.ts';
import { checkSweep } from '../../src/sweep/definition.ts';
import { planPoints } from '../../src/sweep/plan.ts';
import { paramHash } from '../../src/sweep/hash.ts';
import { ConfigError } from '../../src/errors.ts';
import { dependencyArgs, slurm } from '../../src/remote/scheduler/slurm.ts';

const own = planPoints({ dimensions: { stage: ['zams', 'evol'] } }).points;
const sources = [
  { key: '1', params: { m: 1, z: 0.02 }, varied: { m: 1 }, sha: 'a'.repeat(40) },
  { key: '2', params: { m: 2, z: 0.02 }, varied: { m: 2 }, sha: 'b'.repeat(40) },
];

test('chain points: every source point × every own point, source params merged, own values win, origin recorded', () => {
  const pts = chainPoints({ sweep: 'pms' }, sources, own, { z: 0.01, steps: 5 });
  assert.equal(pts.length, 4);
  assert.deepEqual(pts.map(p => p.params), [
    { m: 1, z: 0.01, steps: 5, stage: 'zams' }, { m: 1, z: 0.01, steps: 5, stage: 'evol' },
    { m: 2, z: 0.01, steps: 5, stage: 'zams' }, { m: 2, z: 0.01, steps: 5, stage: 'evol' },
  ]);
  assert.deepEqual(pts[3]!.varied, { m: 2, stage: 'evol' });
  assert.deepEqual(pts[2]!.from, { sweep: 'pms', key: '2', sha: 'b'.repeat(40) });
  for (const p of pts) assert.equal(p.hash, chainHash(p.params, 'pms', p.from.key));
  assert.notEqual(pts[0]!.hash, paramHash(pts[0]!.params), 'a chain is not the bare point of its params');
  assert.deepEqual(chainPoints({ sweep: 'pms' }, [], own, {}), []);
});

test('chain points (property): |sources| × |own| points; own varied values always win over the source', () => {
  fc.assert(fc.property(fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 6 }), fc.integer({ min: 1, max: 3 }), (ms, n) => {
    const src = ms.map((m, i) => ({ key: String(i + 1), params: { m, k: 99 }, varied: { m }, sha: null }));
    const mine = planPoints({ dimensions: { k: Array.from({ length: n }, (_, i) => i) } }).points;
    const pts = chainPoints({ sweep: 's' }, src, mine, {});
    assert.equal(pts.length, src.length * n);
    pts.forEach((p, i) => {
      assert.equal(p.params.k, i % n);
      assert.equal(p.params.m, src[Math.floor(i / n)]!.params.m);
      assert.equal(p.from.key, String(Math.floor(i / n) + 1));
    });
  }));
});

test('repeated source points (same params, other keys) each get their own chain: the hash names the source point', () => {
  const twins = [{ ...sources[0]!, key: '1' }, { ...sources[0]!, key: '7' }];
  const pts = chainPoints({ sweep: 'pms' }, twins, own, {});
  assert.deepEqual(pts[0]!.params, pts[2]!.params);
  assert.equal(new Set(pts.map(p => p.hash)).size, 4);
  // Stable: the same source point and params give the same hash in another plan (deduplication across submits).
  assert.deepEqual(chainPoints({ sweep: 'pms' }, twins, own, {}).map(p => p.hash), pts.map(p => p.hash));
  assert.notEqual(chainHash({ m: 1 }, 'pms', '1'), chainHash({ m: 1 }, 'other', '1'));
});

test('a chained point.json is one rx wrote (rx doctor / reconcile adopt it); a changed source key or params is refused', () => {
  const [p] = chainPoints({ sweep: 'pms' }, sources, own, { z: 0.01 });
  const text = pointJson('zams', { key: '1', params: p!.params, varied: p!.varied, hash: p!.hash, repeat: 0, from: p!.from }, 'c'.repeat(40)).toString();
  const read = parsePointDoc(text);
  assert.ok('doc' in read, JSON.stringify(read));
  assert.deepEqual(read.doc.from, { sweep: 'pms', key: '1', sha: 'a'.repeat(40) });
  const doc = JSON.parse(text);
  assert.deepEqual(parsePointDoc(JSON.stringify({ ...doc, from: { ...doc.from, key: '2' } })), { error: "'hash' is not the hash of its 'params'" });
  assert.deepEqual(parsePointDoc(JSON.stringify({ ...doc, params: { ...doc.params, m: 9 } })), { error: "'hash' is not the hash of its 'params'" });
  assert.deepEqual(parsePointDoc(JSON.stringify({ ...doc, from: { sweep: 'pms' } })), { error: "bad 'from'" });
});

test('chain sources: latest attempts with a job and a run dir, keyed by the lineage\'s first attempt', () => {
  const BASE = 'b'.repeat(40);
  const pt = (key: string, hash: string, supersedes?: string): LedgerEvent => ({ t: 'point', at: 'now', key, params: { m: hash }, varied: { m: hash }, hash, base: BASE, repeat: 0, ...(supersedes ? { supersedes } : {}) });
  const ran = (key: string, jobId: string): LedgerEvent => ({ t: 'job', at: 'now', key, jobId, attempt: 1, scheduler: 'slurm' });
  const st = fold('pms', [
    pt('1', 'h1'), pt('2', 'h2'), pt('3', 'h1'), ran('1', '10'), ran('2', '11'), ran('3', '12'),
    pt('4', 'h1', '1'), pt('5', 'h1', '4'), ran('5', '13'), pt('6', 'h6'),
  ]);
  // Run dirs are checked against a sweep record when folded; here only their presence matters.
  for (const k of ['1', '2', '3', '5', '6']) st.points.get(k)!.dir = `/o/r${k}`;
  const { sources, waiting } = chainSources(st);
  // 5 supersedes 4 supersedes 1: the chain of that point is still point 1's; 3 (a repeat of 1's params) is its own.
  assert.deepEqual(sources.map(s => s.key), ['2', '3', '1']);
  assert.deepEqual(waiting, ['6']);
});

test('the job a chained point waits for: plain jobs and array tasks as they are, a pack member its pack job', () => {
  assert.equal(dependencyOf('123'), '123');
  assert.equal(dependencyOf('123_4'), '123_4');
  assert.equal(dependencyOf('123_4+2'), '123_4');
  assert.equal(dependencyOf('77+0'), '77');
  assert.equal(dependencyOf('UNKNOWN'), null);
  assert.equal(dependencyOf('1;rm'), null);
});

test('after: validated (sweep name, not itself, link one safe name, default prev; not with from or propose)', () => {
  assert.deepEqual(validateAfter({ sweep: 'pms' }, 'zams'), { sweep: 'pms', link: 'prev' });
  assert.deepEqual(validateAfter({ sweep: 'pms', link: 'stage1' }, 'zams'), { sweep: 'pms', link: 'stage1' });
  assert.throws(() => validateAfter({ sweep: 'zams' }, 'zams'), /cannot be chained after itself/);
  assert.throws(() => validateAfter({ sweep: 'pms', wait: true }, 'zams'), /after.wait: unknown key/);
  assert.throws(() => validateAfter('pms', 'zams'), ConfigError);
  for (const bad of ['../x', 'a/b', '.rx', '.hidden', '-x', '', 'a b', 'slurm-1.out', 7, 'x'.repeat(101)]) {
    assert.throws(() => checkLinkName(bad), /after.link: expected one file name/, String(bad));
  }
  const base = { name: 'zams', branch: 'main', patcher: { type: 'mesa', file: 'inlist' } };
  assert.deepEqual(checkSweep({ ...base, after: { sweep: 'pms' } }, 'f').def.after, { sweep: 'pms', link: 'prev' });
  assert.throws(() => checkSweep({ ...base, after: { sweep: 'pms' }, from: { sweep: 'pms' } }, 'f'), /either .* \(from:\) or per point after it \(after:\)/);
  assert.throws(() => checkSweep({ ...base, after: { sweep: 'pms', link: '../up' } }, 'f'), /after.link/);
});

test('a chained Slurm job: --dependency=afterok:<job> and --kill-on-invalid-dep=yes, one sbatch per job', () => {
  const spec = { key: '3', dir: '~/out/run3', script: 'run.sbatch', args: ['--time=1'], after: '41_2' };
  assert.deepEqual(dependencyArgs(spec), ['--dependency=afterok:41_2', '--kill-on-invalid-dep=yes']);
  assert.deepEqual(dependencyArgs({ ...spec, after: undefined }), []);
  assert.throws(() => dependencyArgs({ ...spec, after: '41; rm -rf ~' }), /not a Slurm job id/);
  const script = slurm.submitScript([spec], '~/out/.rx-jobs');
  assert.match(script, /rx_submit 3 .* run\.sbatch --dependency=afterok:41_2 --kill-on-invalid-dep=yes --time=1\n/);
});
