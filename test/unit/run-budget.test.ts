// The pure parts of rx run: budget accounting from the ledger, de-duplication of proposals,
// poll backoff, the order of stages, and the adaptive keys of a sweep file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { acceptProposal, account, roundSlots } from '../../src/run/budget.ts';
import { MAX_FACTOR, nextDelay } from '../../src/run/backoff.ts';
import { stageOrder } from '../../src/run/order.ts';
import { fold, type SweepState } from '../../src/ledger/ledger.ts';
import { encodeRecord, readRecord, type ProposedPoint } from '../../src/ledger/records.ts';
import { checkSweep, planSweep } from '../../src/sweep/definition.ts';
import { paramHash } from '../../src/sweep/hash.ts';
import { ConfigError } from '../../src/errors.ts';

const BASE = 'a'.repeat(40);
const proposed = (varied: Record<string, unknown>, base: Record<string, unknown> = {}): ProposedPoint => {
  const params = { ...base, ...varied };
  return { params, varied, hash: paramHash(params) };
};

/** A ledger state: proposals, and points planned for some of their hashes. */
function stateOf(rounds: ProposedPoint[][], planned: ProposedPoint[] = []): SweepState {
  return fold('s', [
    ...rounds.map((points, round) => ({ t: 'proposal' as const, at: 't', round, points })),
    ...planned.map((p, i) => ({ t: 'point' as const, at: 't', key: String(i + 1), params: p.params, varied: p.varied, hash: p.hash, base: BASE, repeat: 0 })),
  ]);
}

test('the budget counts the initial design and every recorded proposal once; the round is the number of proposals', () => {
  const design = [proposed({ x: 0 }), proposed({ x: 1 })];
  const r0 = [proposed({ x: 0.5 }), proposed({ x: 0.25 })];
  const r1 = [proposed({ x: 0.375 })];
  const acc = account(10, design.map(p => p.hash), stateOf([r0, r1], [...design, r0[0]!]));
  assert.equal(acc.used, 5);
  assert.equal(acc.left, 5);
  assert.equal(acc.round, 2);
  for (const p of [...design, ...r0, ...r1]) assert.ok(acc.known.has(p.hash));
  // Spent: never negative.
  assert.equal(account(3, design.map(p => p.hash), stateOf([r0, r1])).left, 0);
});

test('points of the ledger outside the design and proposals (an older submission) are known but use no budget', () => {
  const old = proposed({ x: 9 });
  const acc = account(4, [], stateOf([], [old]));
  assert.equal(acc.used, 0);
  assert.ok(acc.known.has(old.hash));
});

test('a proposal keeps only new points, in order, at most the slots; duplicates use no budget', () => {
  const known = new Set([paramHash({ n: 1, x: 0 })]);
  const got = acceptProposal([{ x: 0 }, { x: 0.5 }, { x: 0.5 }, { x: 0.7 }, { x: 0.9 }], { n: 1 }, known, 2);
  assert.deepEqual(got.points.map(p => p.varied), [{ x: 0.5 }, { x: 0.7 }]);
  assert.deepEqual(got.points[0]!.params, { n: 1, x: 0.5 });
  assert.equal(got.points[0]!.hash, paramHash({ n: 1, x: 0.5 }));
  assert.equal(got.duplicates, 2);
  assert.equal(got.over, 1);
});

test('property: accepted points are distinct, new, at most the slots, and duplicates + accepted + over = answer', () => {
  fc.assert(fc.property(
    fc.array(fc.record({ x: fc.integer({ min: 0, max: 12 }) }), { maxLength: 30 }),
    fc.array(fc.integer({ min: 0, max: 12 }), { maxLength: 8 }),
    fc.integer({ min: 0, max: 10 }),
    (answer, earlier, slots) => {
      const known = new Set(earlier.map(x => paramHash({ x })));
      const got = acceptProposal(answer, {}, known, slots);
      const hashes = got.points.map(p => p.hash);
      assert.ok(hashes.length <= slots);
      assert.equal(new Set(hashes).size, hashes.length);
      assert.ok(hashes.every(h => !known.has(h)));
      assert.equal(got.points.length + got.duplicates + got.over, answer.length);
      // Budget: as many slots are used as new points are accepted, up to the slots.
      const fresh = new Set(answer.map(p => paramHash(p)).filter(h => !known.has(h))).size;
      assert.equal(got.points.length, Math.min(slots, fresh));
    },
  ));
});

test('a proposal that is not a list of plain points is a ConfigError naming the point', () => {
  assert.throws(() => acceptProposal({ x: 1 }, {}, new Set(), 4), (e: unknown) => e instanceof ConfigError && /propose: expected a list/.test(e.message));
  assert.throws(() => acceptProposal([{ x: 1 }, 3], {}, new Set(), 4), /propose: point 1: expected a \{ param: value \} object/);
  assert.throws(() => acceptProposal([{ x: Number.NaN }], {}, new Set(), 4), /propose: point 0, 'x': NaN is not a finite number/);
  assert.throws(() => acceptProposal([new Date()], {}, new Set(), 4), /expected a \{ param: value \} object, got Date/);
  assert.throws(() => acceptProposal([{ constructor: 2 }], {}, new Set(), 4), ConfigError);
});

test('roundSlots is min(batch, budget left), never negative', () => {
  assert.equal(roundSlots(4, 10), 4);
  assert.equal(roundSlots(4, 2), 2);
  assert.equal(roundSlots(4, 0), 0);
});

test('the proposal record reads back as written, and a bad hash is refused', () => {
  const e = { t: 'proposal' as const, at: '2026-01-01T00:00:00.000Z', round: 3, points: [proposed({ x: 0.5 }, { n: 1 })] };
  const line = encodeRecord(e);
  const { v: _v, c: _c, ...raw } = JSON.parse(line) as Record<string, unknown>;
  assert.deepEqual(readRecord(raw), e);
  assert.throws(() => readRecord({ ...raw, points: [{ params: {}, varied: {}, hash: 'x; rm -rf ~' }] }), /hash/);
  assert.throws(() => readRecord({ ...raw, round: -1 }), /round/);
});

test('backoff: the poll interval while things change, ×1.5 per quiet poll up to 4×', () => {
  let d = 10;
  const seen: number[] = [];
  for (let i = 0; i < 6; i++) seen.push(d = nextDelay(d, 10, false));
  assert.deepEqual(seen, [15, 22.5, 33.75, 40, 40, 40]);
  assert.equal(nextDelay(40, 10, true), 10);
  fc.assert(fc.property(fc.double({ min: 1, max: 1e4, noNaN: true }), fc.double({ min: 1, max: 1e3, noNaN: true }), fc.boolean(), (prev, poll, changed) => {
    const next = nextDelay(prev, poll, changed);
    assert.ok(next >= poll && next <= poll * MAX_FACTOR);
  }));
});

test('stages go after their source; others keep their order; cycles and two files of one sweep are refused', () => {
  const order = stageOrder([{ name: 'c', from: 'b' }, { name: 'x' }, { name: 'b', from: 'a' }, { name: 'a' }, { name: 'd', from: 'elsewhere' }]);
  assert.deepEqual(order.map(s => s.name), ['a', 'b', 'c', 'x', 'd']);
  assert.throws(() => stageOrder([{ name: 'a', from: 'b' }, { name: 'b', from: 'a' }]), /take their points from each other/);
  // Chains (after:) too, mixed with stages: pms → zams (after) → evol (after) → table (from).
  const chain = stageOrder([{ name: 'table', from: 'evol' }, { name: 'evol', after: 'zams' }, { name: 'pms' }, { name: 'zams', after: 'pms' }]);
  assert.deepEqual(chain.map(s => s.name), ['pms', 'zams', 'evol', 'table']);
  assert.throws(() => stageOrder([{ name: 'a', after: 'b' }, { name: 'b', from: 'a' }]), /take their points from each other/);
  assert.throws(() => stageOrder([{ name: 'a' }, { name: 'a' }]), /two files define sweep 'a'/);
});

const adaptive = (extra: Record<string, unknown>) => ({ name: 's', branch: 'main', patcher: { type: 'keyvalue', file: 'p.sh' }, budget: 10, batch: 4, propose: () => [], ...extra });

test('sweep file: budget, batch and propose come together and are checked', () => {
  assert.equal(planSweep(checkSweep(adaptive({}), 'f')).points.length, 0, 'no design: no initial points (not the base config alone)');
  assert.equal(planSweep(checkSweep(adaptive({ dimensions: { x: [0, 1] } }), 'f')).points.length, 2);
  assert.throws(() => checkSweep(adaptive({ propose: undefined }), 'f'), /budget, batch: an adaptive sweep needs budget, batch and propose together/);
  assert.throws(() => checkSweep(adaptive({ propose: 'boundary' }), 'f'), /propose: expected a function/);
  assert.throws(() => checkSweep(adaptive({ budget: 0 }), 'f'), /budget: expected a whole number ≥ 1/);
  assert.throws(() => checkSweep(adaptive({ batch: 1.5 }), 'f'), /batch: expected a whole number ≥ 1/);
  assert.throws(() => checkSweep(adaptive({ from: { sweep: 'other' } }), 'f'), /from: an adaptive sweep \(propose\) cannot be a nested stage/);
});

test('a step whose connection fails is tried again at the next poll, up to MAX_CONNECTION_FAILURES in a row; other errors are thrown at once', async () => {
  const { Reconnects, MAX_CONNECTION_FAILURES } = await import('../../src/run/steps.ts');
  const { ConnectionError, StateError } = await import('../../src/errors.ts');
  const warned: string[] = [];
  const net = new Reconnects(m => warned.push(m));
  const drop = () => Promise.reject(new ConnectionError('host: the ssh connection was lost while a command was running'));
  for (let i = 1; i < MAX_CONNECTION_FAILURES; i++) assert.equal(await net.attempt('s: polling', drop), undefined);
  assert.equal(warned.length, MAX_CONNECTION_FAILURES - 1);
  assert.match(warned[0]!, /^rx: s: polling failed \(host: the ssh connection was lost while a command was running\); trying again at the next poll/);
  // A success resets the count; then as many failures in a row are tolerated again.
  assert.equal(await net.attempt('s: polling', async () => 7), 7);
  for (let i = 1; i < MAX_CONNECTION_FAILURES; i++) assert.equal(await net.attempt('s: polling', drop), undefined);
  await assert.rejects(net.attempt('s: polling', drop), ConnectionError);
  await assert.rejects(new Reconnects(() => {}).attempt('s', () => Promise.reject(new StateError('damaged'))), StateError);
});
