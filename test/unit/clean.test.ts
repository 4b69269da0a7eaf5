// rx clean's pure parts (durations, which points, the script's output) and its removal script,
// run by bash on real directories: only rx's own run directory of the point goes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/proc.ts';
import { blobId } from '../../src/git/objects.ts';
import { fold, type PointRecord } from '../../src/ledger/ledger.ts';
import { encodeRecord, readRecord } from '../../src/ledger/records.ts';
import { toStatus } from '../../src/ledger/status.ts';
import { REMOVING_DIR, parseRemoveOutput, removeDirsScript, type DirToRemove } from '../../src/remote/clean.ts';
import { parseDuration, runTime, selectForClean } from '../../src/results/clean.ts';
import { ConfigError } from '../../src/errors.ts';

test('durations: units add up; anything else is a ConfigError with a hint', () => {
  assert.equal(parseDuration('30m'), 30 * 60_000);
  assert.equal(parseDuration('12h'), 12 * 3_600_000);
  assert.equal(parseDuration('7d'), 7 * 86_400_000);
  assert.equal(parseDuration('2w'), 14 * 86_400_000);
  assert.equal(parseDuration('1d12h'), 36 * 3_600_000);
  assert.equal(parseDuration('0s'), 0);
  for (const bad of ['', '7', 'd', '7 d', '-1d', '1.5h', '7days', '1d 2h', '1y']) {
    assert.throws(() => parseDuration(bad), (e: unknown) => e instanceof ConfigError && /not a duration/.test(e.message) && Boolean(e.hint), bad);
  }
});

test('property: a duration written from parts reads back as their sum', () => {
  const unit = fc.constantFrom(['s', 1], ['m', 60], ['h', 3600], ['d', 86400], ['w', 604800]);
  fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 100_000 }), unit), { minLength: 1, maxLength: 5 }), parts => {
    const text = parts.map(([n, [u]]) => `${n}${u}`).join('');
    assert.equal(parseDuration(text), parts.reduce((ms, [n, [, s]]) => ms + n * (s as number) * 1000, 0));
  }));
});

// ---- Which points ----

const SHA = 'a'.repeat(40);
let n = 0;
function pt(state: string | null, extra: Partial<PointRecord> = {}): PointRecord {
  const key = String(n++);
  const jobs = state === null ? [] : [{ jobId: `j${key}`, attempt: 1, at: '2024-01-01T00:00:00.000Z', scheduler: 'slurm' }];
  const status = state && state !== 'PENDING' ? { jobId: `j${key}`, state: state as never, exitCode: 0, end: state === 'RUNNING' ? null : '2024-01-02T00:00:00Z' } : undefined;
  return { key, params: {}, varied: {}, hash: 'h', base: SHA, repeat: 0, sha: SHA, dir: `/out/s_time_2024_01_01_00_00_00_sha_aaaaaaa${key}`, created: true, jobs, ...(status ? { status } : {}), errors: [], plannedAt: 'x', ...extra } as PointRecord;
}
const keys = (ps: PointRecord[]) => ps.map(p => p.key);

test('selection: finished runs by default, live ones left for rx cancel, no job or no dir never', () => {
  const [done, failed, running, pending, nojob, nodir, gone] = [pt('COMPLETED'), pt('FAILED'), pt('RUNNING'), pt('PENDING'), pt(null), pt('COMPLETED', { dir: undefined }), pt('COMPLETED', { dirRemoved: true })];
  const all = [done, failed, running, pending, nojob, nodir, gone];
  const s = selectForClean(all, { nowMs: Date.parse('2024-06-01T00:00:00Z') });
  assert.deepEqual(keys(s.chosen), keys([done, failed]));
  assert.deepEqual(keys(s.live), keys([running, pending]));
  assert.deepEqual(keys(s.removed), keys([gone]));
  const f = selectForClean(all, { failed: true, nowMs: 0 });
  assert.deepEqual(keys(f.chosen), keys([failed]));
  assert.deepEqual(f.live, []);
});

test('selection: --older-than uses the end time, else the submit time; a started removal is always finished', () => {
  const ended = pt('COMPLETED'); // ended 2024-01-02
  const noEnd = pt('CANCELLED', { status: { jobId: 'x', state: 'CANCELLED', exitCode: null, end: null } }); // submitted 2024-01-01
  noEnd.status!.jobId = noEnd.jobs[0]!.jobId;
  const started = pt('COMPLETED', { dirRemoving: true, status: undefined });
  assert.equal(runTime(ended), Date.parse('2024-01-02T00:00:00Z'));
  assert.equal(runTime(noEnd), Date.parse('2024-01-01T00:00:00.000Z'));
  const at = (iso: string) => selectForClean([ended, noEnd, started], { olderThanMs: 86_400_000, nowMs: Date.parse(iso) });
  assert.deepEqual(keys(at('2024-01-02T12:00:00Z').chosen), keys([noEnd, started]));
  assert.deepEqual(keys(at('2024-01-03T00:00:00Z').chosen), keys([ended, noEnd, started]));
  assert.deepEqual(keys(selectForClean([started], { failed: true, nowMs: 0 }).chosen), keys([started]));
});

// ---- The ledger records ----

test('removing/removed records round-trip and fold: history kept, status says cleaned', () => {
  const at = '2024-01-01T00:00:00.000Z';
  const recs = [
    { t: 'sweep', at, name: 's', file: 'f', branch: 'main', base: SHA, definition: {}, functions: [], remote: { host: 'local', scheduler: 'shell', label: 'local', output: '/out' } },
    { t: 'point', at, key: '1', params: {}, varied: {}, hash: 'h1', base: SHA, repeat: 0 },
    { t: 'point', at, key: '2', params: {}, varied: {}, hash: 'h2', base: SHA, repeat: 0 },
    { t: 'job', at, key: '1', jobId: '7', attempt: 1, scheduler: 'shell' },
    { t: 'state', at, key: '1', jobId: '7', status: { jobId: '7', state: 'FAILED', exitCode: 1 } },
    { t: 'removing', at, keys: ['1', '2'] },
    { t: 'removed', at, keys: ['1'] },
    { t: 'error', at, key: '2', phase: 'clean', message: 'not rx' },
  ];
  const events = recs.map(r => readRecord(JSON.parse(encodeRecord(r as never))));
  assert.deepEqual(events.slice(5).map(e => e.t), ['removing', 'removed', 'error']);
  const st = fold('s', events);
  const p1 = st.points.get('1')!, p2 = st.points.get('2')!;
  assert.equal(p1.dirRemoved, true);
  assert.equal(p1.dirRemoving, false);
  assert.equal(p2.dirRemoved, undefined);
  assert.equal(p2.dirRemoving, false, 'a clean error ends the attempt');
  const s1 = toStatus('s', p1);
  assert.equal(s1.state, 'FAILED');
  assert.equal(s1.cleaned, true);
  assert.equal('cleaned' in toStatus('s', p2), false);
  assert.throws(() => readRecord({ v: 2, t: 'removed', at, keys: ['1; rm -rf /'] }), /point numbers/);
});

// ---- The script, on real directories ----

const pointJson = (k: string) => JSON.stringify({ sweep: 's', key: k }) + '\n';
const blob = (k: string) => blobId(Buffer.from(pointJson(k)));

function runDir(parent: string, name: string, key: string, files: Record<string, string> = { 'out.txt': 'x'.repeat(5000) }): string {
  const d = join(parent, name);
  mkdirSync(join(d, '.rx'), { recursive: true });
  writeFileSync(join(d, '.rx', 'point.json'), pointJson(key));
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(join(d, f, '..'), { recursive: true });
    writeFileSync(join(d, f), text);
  }
  return d;
}

async function bash(script: string) {
  const r = await run(['bash', '-s'], { input: script, allowFailure: true });
  assert.equal(r.exitCode, 0, r.stderr);
  return parseRemoveOutput(r.stdout);
}

test('script: removes exactly the run directories that are the points\' own, says why it left the others', async t => {
  const root = mkdtempSync(join(tmpdir(), "rx clean 'q' $(x) "));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const out = join(root, 'out');
  mkdirSync(out);
  const elsewhere = runDir(root, 'elsewhere', '3');
  const dirs: DirToRemove[] = [
    { key: '1', dir: runDir(out, 's_1 "x"', '1', { 'a/b/c.txt': 'c', 'big.bin': 'y'.repeat(100_000) }), pointJson: blob('1') },
    { key: '2', dir: runDir(out, 's_2', '1'), pointJson: blob('2') }, // holds another point's point.json
    { key: '3', dir: join(out, 's_3'), pointJson: blob('3') }, // a symlink to a real run dir
    { key: '4', dir: join(out, 's_4'), pointJson: blob('4') }, // a foreign directory
    { key: '5', dir: join(out, 's_5'), pointJson: blob('5') }, // a file
    { key: '6', dir: join(out, 's_6'), pointJson: blob('6') }, // nothing
    { key: '7', dir: join(out, 's_7'), pointJson: blob('7') }, // set aside by a killed clean, point.json already gone
  ];
  symlinkSync(elsewhere, join(out, 's_3'));
  mkdirSync(join(out, 's_4'));
  writeFileSync(join(out, 's_4', 'mine.txt'), 'keep');
  writeFileSync(join(out, 's_5'), 'keep');
  mkdirSync(join(out, REMOVING_DIR, 's_7', 'LOGS'), { recursive: true });
  writeFileSync(join(out, REMOVING_DIR, 's_7', 'LOGS', 'left.txt'), 'half');

  const check = await bash(removeDirsScript(dirs, { check: true }));
  assert.deepEqual([...check.values()].map(o => [o.key, o.kind]).sort(), [['1', 'removed'], ['2', 'skipped'], ['3', 'skipped'], ['4', 'skipped'], ['5', 'skipped'], ['6', 'gone'], ['7', 'removed']]);
  const kb1 = (check.get('1') as { kb: number }).kb;
  assert.ok(kb1 >= 100, `size of point 1 in KiB: ${kb1}`);
  assert.ok(existsSync(dirs[0]!.dir) && existsSync(join(out, REMOVING_DIR, 's_7')), 'a check changes nothing');

  const done = await bash(removeDirsScript(dirs, { check: false }));
  assert.deepEqual([...done.values()].map(o => [o.key, o.kind]).sort(), [['1', 'removed'], ['2', 'skipped'], ['3', 'skipped'], ['4', 'skipped'], ['5', 'skipped'], ['6', 'gone'], ['7', 'removed']]);
  assert.match((done.get('2') as { why: string }).why, /holds another experiment/);
  assert.match((done.get('3') as { why: string }).why, /symbolic link/);
  assert.match((done.get('4') as { why: string }).why, /no \.rx\/point\.json/);
  assert.match((done.get('5') as { why: string }).why, /not a directory/);
  assert.equal(existsSync(dirs[0]!.dir), false);
  assert.equal(existsSync(dirs[1]!.dir), true);
  assert.ok(lstatSync(join(out, 's_3')).isSymbolicLink());
  assert.equal(readFileSync(join(elsewhere, 'out.txt'), 'utf8').length, 5000, 'what the symlink points to is untouched');
  assert.equal(readFileSync(join(out, 's_4', 'mine.txt'), 'utf8'), 'keep');
  assert.equal(readFileSync(join(out, 's_5'), 'utf8'), 'keep');
  assert.deepEqual(readdirSync(out).sort(), ['s_2', 's_3', 's_4', 's_5'], 'the aside directory goes once empty');

  const again = await bash(removeDirsScript([dirs[0]!, dirs[6]!], { check: false }));
  assert.deepEqual([...again.values()].map(o => o.kind), ['gone', 'gone'], 'a rerun finds them gone');
});

test('script: an aside path that is a symlink is never moved into nor removed through', async t => {
  const root = mkdtempSync(join(tmpdir(), 'rx-clean-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const out = join(root, 'out');
  const victim = join(root, 'victim');
  mkdirSync(join(victim, 's_9'), { recursive: true });
  writeFileSync(join(victim, 's_9', 'precious'), 'p');
  const d = runDir(out, 's_1', '1');
  symlinkSync(victim, join(out, REMOVING_DIR));
  const r = await bash(removeDirsScript([{ key: '1', dir: d, pointJson: blob('1') }, { key: '9', dir: join(out, 's_9'), pointJson: blob('9') }], { check: false }));
  assert.equal(r.get('1')!.kind, 'failed');
  assert.equal(r.get('9')!.kind, 'gone');
  assert.ok(existsSync(join(d, '.rx', 'point.json')));
  assert.equal(readFileSync(join(victim, 's_9', 'precious'), 'utf8'), 'p');
});

test('parse: one outcome per key, the first line counts, other lines ignored', () => {
  const m = parseRemoveOutput('RXCLEANED 1 12\nRXGONE 2\nRXSKIP 3 /x is a symbolic link\nRXFAIL 4 could not\nRXCLEANED 1\nnoise\nRXSKIP 5\nRXCLEANED x1\n');
  assert.deepEqual([...m.values()], [
    { key: '1', kind: 'removed', kb: 12 }, { key: '2', kind: 'gone' },
    { key: '3', kind: 'skipped', why: '/x is a symbolic link' }, { key: '4', kind: 'failed', why: 'could not' },
    { key: '5', kind: 'skipped', why: 'no reason given' },
  ]);
});

test('script: hostile paths make valid bash and are passed as one word each', async () => {
  const nasty = "it's $(touch /tmp/rx-pwned) `id` \"q\" ~ -n";
  const s = removeDirsScript([{ key: '1', dir: `~/r/${nasty}/d`, pointJson: 'b'.repeat(40) }, { key: '2', dir: `/abs/${nasty}`, pointJson: 'c'.repeat(40) }], { check: false });
  const r = await run(['bash', '-n'], { input: s, allowFailure: true });
  assert.equal(r.exitCode, 0, r.stderr);
  assert.ok(!existsSync('/tmp/rx-pwned'));
});
