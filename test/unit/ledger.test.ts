import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, appendFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir, hostname } from 'node:os';
import { Ledger, acquireLock, fold } from '../../src/ledger/ledger.ts';
import { StateError } from '../../src/errors.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'rx-ledger-'));
const point = (key: string) => ({ t: 'point' as const, at: 'now', key, params: { a: Number(key) }, varied: {}, hash: 'h' + key, base: 'b', repeat: 0 });

test('append is durable and folds into per-point state', t => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const l = new Ledger(dir, 's');
  l.append(point('1'), point('2'));
  l.append({ t: 'commit', at: 'now', key: '1', sha: 'abc', ref: 'refs/rx/s/1', branch: 'refs/heads/rx/s/1' });
  l.append({ t: 'job', at: 'now', key: '1', jobId: '42', attempt: 1, scheduler: 'slurm' });
  l.append({ t: 'state', at: 'now', key: '1', jobId: '42', status: { jobId: '42', state: 'COMPLETED', exitCode: 0 } });
  l.close();
  const st = new Ledger(dir, 's').state();
  assert.equal(st.points.size, 2);
  assert.equal(st.points.get('1')!.sha, 'abc');
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
  assert.equal(lines.length, 3, 'nothing already written is ever rewritten');
  assert.equal(lines[1], '{"v":1,"t":"point","key":"2","par');
  assert.deepEqual([...new Ledger(dir, 's').state().points.keys()], ['1', '3']);
});

test('a damaged complete line (not a torn write) is refused, not guessed around', t => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'ledger.jsonl'), '{"v":1,"t":"point",,}\n' + JSON.stringify(point('1')) + '\n');
  assert.throws(() => new Ledger(dir, 's'), (e: Error) => e instanceof StateError && /ledger.jsonl:1: damaged/.test(e.message));
});

test('unknown event kinds from a newer rx are skipped; a newer version is refused', () => {
  const st = fold('s', [point('1'), { t: 'future-thing' } as never]);
  assert.equal(st.points.size, 1);
  const dir = tmp();
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
