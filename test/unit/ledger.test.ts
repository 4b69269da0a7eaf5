import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, appendFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir, hostname } from 'node:os';
import { Ledger, fold } from '../../src/ledger/ledger.ts';
import { acquireLock } from '../../src/ledger/lock.ts';
import { StateError } from '../../src/errors.ts';

const BASE = 'b'.repeat(40);
const SHA = 'a'.repeat(40);
const tmp = () => mkdtempSync(join(tmpdir(), 'rx-ledger-'));
const point = (key: string) => ({ t: 'point' as const, at: 'now', key, params: { a: Number(key) }, varied: {}, hash: 'h' + key, base: BASE, repeat: 0 });

test('append is durable and folds into per-point state', t => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const l = new Ledger(dir, 's');
  l.append(point('1'), point('2'));
  l.append({ t: 'commit', at: 'now', key: '1', sha: SHA, ref: 'refs/rx/s/1', branch: 'refs/heads/rx/s/1' });
  l.append({ t: 'job', at: 'now', key: '1', jobId: '42', attempt: 1, scheduler: 'slurm' });
  l.append({ t: 'state', at: 'now', key: '1', jobId: '42', status: { jobId: '42', state: 'COMPLETED', exitCode: 0 } });
  l.close();
  const st = new Ledger(dir, 's').state();
  assert.equal(st.points.size, 2);
  assert.equal(st.points.get('1')!.sha, SHA);
  assert.deepEqual(st.points.get('1')!.jobs.map(j => j.jobId), ['42']);
  assert.equal(st.points.get('1')!.status!.state, 'COMPLETED');
  assert.equal(st.points.get('2')!.jobs.length, 0);
});

test('a torn line (crash mid-write) is skipped, and the next append starts on a fresh line', t => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const l = new Ledger(dir, 's');
  l.append(point('1'));
  l.close();
  appendFileSync(join(dir, 'ledger.jsonl'), '{"v":1,"t":"point","key":"2","par');
  const l2 = new Ledger(dir, 's');
  assert.equal(l2.state().points.size, 1);
  l2.append(point('3'));
  l2.close();
  const lines = readFileSync(join(dir, 'ledger.jsonl'), 'utf8').trim().split('\n');
  assert.equal(lines.length, 4, 'nothing already written is ever rewritten; a torn marker follows the torn line');
  assert.equal(lines[1], '{"v":1,"t":"point","key":"2","par');
  assert.match(lines[2]!, /"t":"torn"/);
  assert.deepEqual([...new Ledger(dir, 's').state().points.keys()], ['1', '3']);
});

test('a damaged complete line (not a torn write) is refused, not guessed around', t => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'ledger.jsonl'), '{"v":1,"t":"point",,}\n' + JSON.stringify(point('1')) + '\n');
  assert.throws(() => new Ledger(dir, 's'), (e: Error) => e instanceof StateError && /ledger.jsonl:1: damaged/.test(e.message));
});

test('an unknown record kind is reported with file:line; a newer version is refused', () => {
  const dir = tmp();
  writeFileSync(join(dir, 'ledger.jsonl'), JSON.stringify(point('1')) + '\n' + JSON.stringify({ v: 2, t: 'future-thing', at: 'x' }) + '\n');
  assert.throws(() => new Ledger(dir, 's'), /ledger.jsonl:2: damaged ledger record: unknown record kind "future-thing"/);
  writeFileSync(join(dir, 'ledger.jsonl'), JSON.stringify({ v: 99, t: 'point' }) + '\n');
  assert.throws(() => new Ledger(dir, 's'), /newer rx/);
  rmSync(dir, { recursive: true, force: true });
});

test('the sweep lock refuses a second live holder and takes over a dead one', t => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const release = acquireLock(dir, 'sweep s');
  assert.throws(() => acquireLock(dir, 'sweep s'), /in use by another rx process/, 'held by this very process');
  release();
  writeFileSync(join(dir, 'lock'), `${hostname()} 1`); // pid 1 is alive (init)
  assert.throws(() => acquireLock(dir, 'sweep s'), /in use by another rx process \(pid 1\)/);
  writeFileSync(join(dir, 'lock'), `${hostname()} 999999999`); // no such process: a crash
  const again = acquireLock(dir, 'sweep s');
  assert.equal(readFileSync(join(dir, 'lock'), 'utf8'), `${hostname()} ${process.pid}`);
  again();
  writeFileSync(join(dir, 'lock'), 'login2 4242'); // another host: never guessed about
  assert.throws(() => acquireLock(dir, 'sweep s'), /locked by rx on login2 \(pid 4242\)[\s\S]*/);
});

test('a new attempt clears the previous attempt\'s state', () => {
  const st = fold('s', [
    point('1'),
    { t: 'job', at: 'a', key: '1', jobId: '7', attempt: 1, scheduler: 'slurm' },
    { t: 'state', at: 'b', key: '1', jobId: '7', status: { jobId: '7', state: 'FAILED', exitCode: 3 } },
    { t: 'job', at: 'c', key: '1', jobId: '9', attempt: 2, scheduler: 'slurm' },
  ]);
  assert.equal(st.points.get('1')!.status, undefined);
  assert.deepEqual(st.points.get('1')!.jobs.map(j => j.attempt), [1, 2]);
});

test('concurrent appends from several processes never interleave or lose events', async t => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  new Ledger(dir, 's').append(point('0'));
  const { run } = await import('../../src/proc.ts');
  const script = (w: number) => `import { Ledger } from ${JSON.stringify(new URL('../../src/ledger/ledger.ts', import.meta.url).href)};
    const l = new Ledger(${JSON.stringify(dir)}, 's');
    for (let i = 0; i < 200; i++) l.append({ t: 'error', at: 'x', key: '0', phase: 'w${'$'}{${w}}', message: 'm'.repeat(${w} * 500) + i });`;
  await Promise.all([1, 2, 3].map(w => run([process.execPath, '--import', 'tsx', '--input-type=module', '-e', script(w)])));
  const st = new Ledger(dir, 's').state();
  assert.equal(st.points.get('0')!.errors.length, 600);
});

test('a hand-edited record is reported with file:line and the field that is wrong', t => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const l = new Ledger(dir, 's');
  l.append(point('1'));
  l.close();
  appendFileSync(join(dir, 'ledger.jsonl'), JSON.stringify({ v: 2, t: 'commit', at: 'x', key: '1', sha: '--output=/tmp/x', ref: 'refs/rx/s/1', branch: 'b' }) + '\n');
  assert.throws(() => new Ledger(dir, 's'), (e: Error) => e instanceof StateError && /ledger.jsonl:2: damaged ledger record: field 'sha': expected a full hex commit sha/.test(e.message) && /fix or delete line 2/.test((e as StateError).hint ?? ''));
  writeFileSync(join(dir, 'ledger.jsonl'), JSON.stringify({ ...point('1'), key: '1; rm -rf ~' }) + '\n');
  assert.throws(() => new Ledger(dir, 's'), /ledger.jsonl:1: damaged ledger record: field 'key'/);
  writeFileSync(join(dir, 'ledger.jsonl'), JSON.stringify(point('1')) + '\n' + JSON.stringify({ v: 2, t: 'job', at: 'x', key: '1', jobId: '$(reboot)', attempt: 1, scheduler: 'slurm' }) + '\n');
  assert.throws(() => new Ledger(dir, 's'), /ledger.jsonl:2: damaged ledger record: field 'jobId'/);
});

test('a line torn right after a nested } (crash mid-write) is void once an append follows it', t => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const l = new Ledger(dir, 's');
  l.append(point('1'));
  l.close();
  appendFileSync(join(dir, 'ledger.jsonl'), '{"v":2,"t":"point","at":"x","key":"2","params":{"a":2}');
  const l2 = new Ledger(dir, 's');
  assert.deepEqual([...l2.state().points.keys()], ['1'], 'the unterminated last line is a crash, not damage');
  l2.append(point('3'));
  l2.close();
  assert.deepEqual([...new Ledger(dir, 's').state().points.keys()], ['1', '3']);
});

test('sweep definitions record exactly which parts were functions; version-1 markers are read as such', async () => {
  const { storeDefinition, readRecord } = await import('../../src/ledger/records.ts');
  const namer = (c: Record<string, unknown>) => `m${String(c.m)}`;
  const stored = storeDefinition({ name: 's', namer, parse: [{ file: 'a.csv', reduce: () => ({}) }, { file: 'b.csv', reduce: { last: ['x'] } }], note: '[function not-really]' });
  assert.deepEqual(stored.functions, ['namer', 'parse.0.reduce']);
  assert.equal(stored.definition.namer, null);
  assert.equal(stored.definition.note, '[function not-really]', 'a string that looks like a marker stays a string');
  const remote = { host: 'local', scheduler: 'shell', script: 'run.sbatch', label: 'local' };
  const v1 = readRecord({ v: 1, t: 'sweep', at: 'x', name: 's', file: 'f.ts', branch: 'main', base: BASE, definition: { name: 's', namer: '[function namer]', parse: { file: 'a', reduce: '[function anonymous]' } }, remote });
  assert.ok(v1.t === 'sweep');
  if (v1.t === 'sweep') {
    assert.deepEqual(v1.functions, ['namer', 'parse.reduce']);
    assert.equal(v1.definition.namer, null);
  }
  assert.throws(() => readRecord({ v: 2, t: 'sweep', at: 'x', name: 's', file: 'f.ts', branch: 'main', base: BASE, definition: {}, functions: [], remote: { ...remote, scheduler: 'pbs' } }), /remote.scheduler: expected 'slurm' or 'shell'/);
});
