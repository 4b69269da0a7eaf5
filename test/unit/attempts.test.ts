// Attempts of a point: the `supersedes` field of a point record (rx resubmit --failed --rebase),
// how the fold links a lineage and numbers its runs, which attempt the views count, and the pure
// parts of the drift warnings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import fc from 'fast-check';
import { Ledger, LedgerDamage, fold, latestPoints, latestState, type LedgerEvent } from '../../src/ledger/ledger.ts';
import { encodeRecord, readRecord, RecordError } from '../../src/ledger/records.ts';
import { latestOf, toStatus } from '../../src/ledger/status.ts';
import { sweepSummary } from '../../src/results/experiments.ts';
import { behind, changedPaths, inputFiles } from '../../src/submission/drift.ts';

const BASE = 'b'.repeat(40);
const TIP = 'c'.repeat(40);
const point = (key: string, hash: string, extra: { base?: string; supersedes?: string } = {}): LedgerEvent => ({ t: 'point', at: 'now', key, params: { h: hash }, varied: { h: hash }, hash, base: extra.base ?? BASE, repeat: 0, ...(extra.supersedes ? { supersedes: extra.supersedes } : {}) });
const job = (key: string, jobId: string, attempt = 1): LedgerEvent => ({ t: 'job', at: 'now', key, jobId, attempt, scheduler: 'slurm' });
const state = (key: string, jobId: string, s: 'FAILED' | 'COMPLETED'): LedgerEvent => ({ t: 'state', at: 'now', key, jobId, status: { jobId, state: s, exitCode: s === 'FAILED' ? 3 : 0 } });

test('a rebased attempt supersedes the failed point: views count the point once, by its latest attempt', () => {
  const st = fold('s', [
    point('1', 'h1'), point('2', 'h2'), point('3', 'h3'),
    job('1', '10'), job('2', '11'), job('3', '12'),
    state('1', '10', 'FAILED'), state('2', '11', 'COMPLETED'), state('3', '12', 'FAILED'),
    // point 3 is resubmitted in its run dir first (attempt 2), fails again, then rebased
    job('3', '13', 2), state('3', '13', 'FAILED'),
    point('4', 'h1', { base: TIP, supersedes: '1' }), point('5', 'h3', { base: TIP, supersedes: '3' }),
    job('4', '20'), job('5', '21'), state('4', '20', 'COMPLETED'), state('5', '21', 'COMPLETED'),
  ]);
  assert.equal(st.points.get('1')!.supersededBy, '4');
  assert.equal(st.points.get('4')!.supersedes, '1');
  assert.equal(st.points.get('2')!.supersededBy, undefined);
  assert.deepEqual([1, 2, 3, 4, 5].map(k => st.points.get(String(k))!.attempt), [1, 1, 2, 2, 3], 'runs counted along each lineage, same-dir resubmits included');
  assert.deepEqual(latestPoints(st).map(p => p.key), ['2', '4', '5']);
  assert.equal(latestPoints(st, true).length, 5);
  assert.deepEqual([...latestState(st).points.keys()], ['2', '4', '5']);
  assert.equal(latestState(st, true), st);
  // A fixed failure no longer counts as FAILED.
  const summary = sweepSummary(st);
  assert.deepEqual(summary.states, { COMPLETED: 3 });
  assert.equal(summary.points, 3);
  assert.equal(summary.superseded, 2);
  // An older attempt, shown with --all-attempts, says which attempt it was and how many the point has had.
  const old = toStatus('s', st.points.get('3')!, st);
  assert.deepEqual({ attempt: old.attempt, attempts: old.attempts, state: old.state, by: old.supersededBy }, { attempt: 2, attempts: 3, state: 'FAILED', by: '5' });
  const latest = toStatus('s', st.points.get('5')!, st);
  assert.deepEqual({ attempt: latest.attempt, attempts: latest.attempts, supersedes: latest.supersedes }, { attempt: 3, attempts: 3, supersedes: '3' });
  assert.equal(latestOf(st.points.get('1')!, st).key, '4');
});

test('a successor planned but not yet submitted counts as its own attempt (UNSUBMITTED), and is the latest', () => {
  const st = fold('s', [point('1', 'h1'), job('1', '10'), state('1', '10', 'FAILED'), point('2', 'h1', { base: TIP, supersedes: '1' })]);
  assert.equal(st.points.get('2')!.attempt, 2);
  assert.deepEqual(latestPoints(st).map(p => toStatus('s', p, st).state), ['UNSUBMITTED']);
});

test('supersedes is validated: a point number, an earlier point, the same parameters, one successor each', () => {
  assert.throws(() => readRecord({ ...point('2', 'h'), supersedes: '../1' }), (e: Error) => e instanceof RecordError && /field 'supersedes': expected a point number/.test(e.message));
  assert.throws(() => readRecord({ ...point('2', 'h'), supersedes: 1 }), RecordError);
  assert.equal((readRecord(JSON.parse(encodeRecord(point('2', 'h', { supersedes: '1' })))) as { supersedes?: string }).supersedes, '1');
  assert.equal('supersedes' in readRecord(JSON.parse(encodeRecord(point('2', 'h')))), false);
  const cases: [LedgerEvent[], RegExp][] = [
    [[point('2', 'h1', { supersedes: '1' })], /supersedes point 1, which was not planned before it/],
    [[point('1', 'h1'), point('2', 'h2', { supersedes: '1' })], /which has other parameters/],
    [[point('1', 'h1'), point('2', 'h1', { supersedes: '1' }), point('3', 'h1', { supersedes: '1' })], /which point 2 already supersedes/],
    [[point('1', 'h1'), point('1', 'h1', { supersedes: '1' })], /point 1 is planned twice/],
  ];
  for (const [events, why] of cases) assert.throws(() => fold('s', events), (e: Error) => e instanceof LedgerDamage && why.test(e.message), String(why));
});

test('a damaged supersedes in a ledger file is reported with its file:line', t => {
  const dir = mkdtempSync(join(tmpdir(), 'rx-attempts-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'ledger.jsonl'), [point('1', 'h1'), point('2', 'h1', { supersedes: '7' })].map(encodeRecord).join(''));
  assert.throws(() => new Ledger(dir, 's').state(), (e: Error) => e instanceof LedgerDamage && /ledger\.jsonl:2: damaged ledger record: point 2 supersedes point 7/.test(e.message));
});

/**
 * Random histories: points are planned, get jobs, fail, are resubmitted in their run dir or rebased
 * (a successor only for a latest attempt, as rx does). Whatever the order, each point has exactly
 * one latest attempt, the latest is the highest-numbered, and its number is the lineage's job count.
 */
test('property: for any sequence of resubmits and rebases the latest attempt is unique per point', () => {
  type Op = { kind: 'resubmit' | 'rebase'; pick: number };
  fc.assert(fc.property(fc.integer({ min: 1, max: 6 }), fc.array(fc.record({ kind: fc.constantFrom<'resubmit' | 'rebase'>('resubmit', 'rebase'), pick: fc.nat() }), { maxLength: 30 }), (n: number, ops: Op[]) => {
    const events: LedgerEvent[] = [];
    const latest = new Map<string, string>(); // root → latest key
    const jobsOf = new Map<string, number>();
    let next = 1;
    let jobId = 100;
    const run = (key: string) => {
      jobsOf.set(key, (jobsOf.get(key) ?? 0) + 1);
      const id = String(jobId++);
      events.push(job(key, id, jobsOf.get(key)!), state(key, id, 'FAILED'));
    };
    for (let i = 0; i < n; i++) {
      const key = String(next++);
      events.push(point(key, `h${key}`));
      latest.set(key, key);
      run(key);
    }
    for (const op of ops) {
      const roots = [...latest.keys()];
      const root = roots[op.pick % roots.length]!;
      const cur = latest.get(root)!;
      if (op.kind === 'resubmit') run(cur);
      else {
        const key = String(next++);
        events.push(point(key, `h${root}`, { base: TIP, supersedes: cur }));
        latest.set(root, key);
        if (op.pick % 3) run(key); // sometimes left without a job (an interrupted rebase)
      }
    }
    const st = fold('s', events);
    const shown = latestPoints(st);
    assert.deepEqual(shown.map(p => p.key).sort(), [...latest.values()].sort(), 'one latest attempt per point');
    for (const [root, key] of latest) {
      const chain = [st.points.get(root)!];
      while (chain.at(-1)!.supersededBy) chain.push(st.points.get(chain.at(-1)!.supersededBy!)!);
      assert.equal(chain.at(-1)!.key, key);
      const attempts = chain.map(p => p.attempt!);
      assert.ok(attempts.every((a, i) => i === 0 || a > attempts[i - 1]!), `attempts increase along the lineage: ${attempts}`);
      assert.equal(attempts.at(-1), chain.reduce((s, p) => s + Math.max(1, p.jobs.length), 0));
      assert.ok(chain.every(p => latestOf(p, st).key === key));
    }
  }), { numRuns: 300 });
});

test('drift: git status -z parsing, the files a sweep takes from its base, points behind the tip', () => {
  assert.deepEqual(changedPaths(' M inlist_project\0M  run.sbatch\0R  new name\0old name\0'), ['inlist_project', 'run.sbatch', 'new name']);
  assert.deepEqual(changedPaths(''), []);
  const changes = new Map([['1', [{ path: 'src/params.h', content: Buffer.from(''), mode: '100644' as const }, { path: '.rx/point.json', content: Buffer.from(''), mode: '100644' as const }]]]);
  assert.deepEqual(inputFiles([{ type: 'mesa', file: 'inlist_project' }, { type: 'sbatch', file: 'run.sbatch' }], 'run.sbatch', changes), ['inlist_project', 'run.sbatch', 'src/params.h']);
  assert.deepEqual(inputFiles(null, 'job.sh'), ['job.sh'], 'a function patcher (stored as null) names no file');
  const st = fold('s', [point('1', 'h1'), point('2', 'h2', { base: TIP })]);
  const b = behind([...st.points.values()], TIP);
  assert.deepEqual({ keys: b.points.map(p => p.key), from: b.from }, { keys: ['1'], from: BASE });
  assert.equal(behind([st.points.get('2')!], TIP).from, null);
});
