import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, writeFileSync, appendFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir, hostname } from 'node:os';
import { Ledger, LedgerDamage, fold } from '../../src/ledger/ledger.ts';
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
  writeFileSync(join(dir, 'lock'), `${hostname()} 999999999`); // no such process: a crash (the plain-file lock of earlier versions)
  const again = acquireLock(dir, 'sweep s');
  const [holder] = readdirSync(join(dir, 'lock'));
  assert.equal(readFileSync(join(dir, 'lock', holder!), 'utf8'), `${hostname()} ${process.pid}`);
  assert.throws(() => acquireLock(dir, 'sweep s'), /in use by another rx process/);
  again();
  mkdirSync(join(dir, 'lock'));
  writeFileSync(join(dir, 'lock', 'holder.00aa'), `${hostname()} 999999999`); // a crashed rx's lock
  acquireLock(dir, 'sweep s')();
  assert.deepEqual(readdirSync(dir), [], 'taken over and released');
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

// ---- Version 3: every line checks itself ----

const sweepRecord = (remote: object) => ({ t: 'sweep' as const, at: 'now', name: 's', file: '/x/sweep.ts', branch: 'main', base: BASE, definition: { name: 's' }, functions: [], remote: remote as never });
const LOCAL = { host: 'local', scheduler: 'shell', script: 'run.sbatch', label: 'local' };
const lines = (dir: string) => readFileSync(join(dir, 'ledger.jsonl'), 'utf8').split('\n').filter(Boolean);

test('each line ends with a CRC-32 of its own text; an edited or bit-flipped line is damage with file:line', async t => {
  const { crc32, encodeRecord, LEDGER_VERSION } = await import('../../src/ledger/records.ts');
  const { crc32: zlibCrc } = await import('node:zlib') as { crc32?: (b: Buffer) => number };
  assert.equal(LEDGER_VERSION, 4);
  assert.equal(crc32('123456789'), 'cbf43926', 'the CRC-32 check value');
  if (zlibCrc) for (const text of ['', 'héllo ✓', '{"v":3}'.repeat(99)]) assert.equal(crc32(text), zlibCrc(Buffer.from(text)).toString(16).padStart(8, '0'));
  const line = encodeRecord(point('1'));
  assert.match(line, /^\{"v":4,"t":"point",.*,"c":"[0-9a-f]{8}"\}\n$/);
  assert.deepEqual(Object.keys(JSON.parse(line)).at(-1), 'c');

  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const l = new Ledger(dir, 's');
  l.append(point('1'), point('2'), point('3'));
  l.close();
  const good = lines(dir);
  assert.deepEqual([...new Ledger(dir, 's').state().points.keys()], ['1', '2', '3']);
  const write = (ls: string[]) => writeFileSync(join(dir, 'ledger.jsonl'), ls.join('\n') + '\n');
  const damage = (ls: string[], re: RegExp) => {
    write(ls);
    assert.throws(() => new Ledger(dir, 's'), (e: Error & { hint?: string }) => e instanceof StateError && re.test(e.message) && /fix or delete line 2/.test(e.hint ?? ''), re.source);
  };
  // A value changed by hand, and one flipped bit: still valid JSON and valid records, but not what rx wrote.
  damage([good[0]!, good[1]!.replace('"a":2', '"a":7'), good[2]!], /ledger\.jsonl:2: damaged ledger record: checksum mismatch/);
  const flipped = Buffer.from(good[1]!);
  flipped[flipped.indexOf('"h2"') + 2]! ^= 0x04; // "h2" → "h6"
  damage([good[0]!, flipped.toString(), good[2]!], /ledger\.jsonl:2: damaged ledger record: checksum mismatch/);
  // The checksum dropped, or no longer last; a version-2 line carrying a checksum is checked too.
  damage([good[0]!, good[1]!.replace(/,"c":"[0-9a-f]{8}"\}$/, '}'), good[2]!], /ledger\.jsonl:2: damaged ledger record: checksum missing/);
  damage([good[0]!, good[1]!.replace(/,"c":("[0-9a-f]{8}")\}$/, ',"c":$1,"x":1}'), good[2]!], /ledger\.jsonl:2: damaged ledger record: checksum mismatch/);
  damage([good[0]!, good[1]!.replace('"v":4', '"v":2'), good[2]!], /ledger\.jsonl:2: damaged ledger record: checksum mismatch/);
  // What the hint says: a line fixed by hand reads once it drops "c" and says "v":2.
  write([good[0]!, good[1]!.replace('"a":2', '"a":7').replace('"v":4', '"v":2').replace(/,"c":"[0-9a-f]{8}"\}$/, '}'), good[2]!]);
  assert.deepEqual(new Ledger(dir, 's').state().points.get('2')!.params, { a: 7 });
});

test('ledgers written before checksums (versions 1 and 2) still read, and an upgraded rx appends checked lines to them', t => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const v1 = JSON.stringify({ v: 1, t: 'sweep', at: 'x', name: 's', file: 'f.ts', branch: 'main', base: BASE, definition: { name: 's', namer: '[function namer]' }, remote: LOCAL });
  const v2 = JSON.stringify({ v: 2, ...point('1') });
  const unversioned = JSON.stringify(point('2'));
  writeFileSync(join(dir, 'ledger.jsonl'), [v1, v2, unversioned].join('\n') + '\n');
  const l = new Ledger(dir, 's');
  assert.deepEqual(l.state().sweep!.functions, ['namer']);
  l.append(point('3'));
  l.close();
  assert.match(lines(dir)[3]!, /^\{"v":4,.*"c":"[0-9a-f]{8}"\}$/);
  assert.deepEqual([...new Ledger(dir, 's').state().points.keys()], ['1', '2', '3']);
});

test('a record about a point never planned is damage with file:line, not a crash of the whole command', t => {
  const dir = tmp();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const l = new Ledger(dir, 's');
  l.append(point('1'), { t: 'job', at: 'now', key: '7', jobId: '42', attempt: 1, scheduler: 'slurm' });
  assert.throws(() => l.state(), /ledger\.jsonl \(a record this rx appended\): damaged ledger record: a 'job' record about point 7, which was never planned/);
  l.close();
  assert.throws(() => new Ledger(dir, 's').state(), (e: Error & { hint?: string }) => e instanceof LedgerDamage && /ledger\.jsonl:2: damaged ledger record: a 'job' record about point 7, which was never planned/.test(e.message) && /fix or delete line 2/.test(e.hint ?? ''));
});

// ---- Run directories: only where rx puts them ----

test('a run directory must be <output root>/<sweep>_time_…_sha_<hex of its commit>, else damage with file:line', t => {
  const top = tmp();
  t.after(() => rmSync(top, { recursive: true, force: true }));
  const dir = join(top, '.rx', 'sweeps', 's');
  const stamp = 's_time_2024_01_02_03_04_05_sha_';
  const ledgerWith = (remote: object, d: string, label = (remote as { label: string }).label) => {
    rmSync(dir, { recursive: true, force: true });
    const l = new Ledger(dir, 's');
    l.append(sweepRecord(remote), point('1'), { t: 'commit', at: 'now', key: '1', sha: SHA, ref: 'refs/rx/s/1', branch: 'refs/heads/rx/s/1' }, { t: 'pushed', at: 'now', keys: ['1'] });
    l.append({ t: 'dir', at: 'now', key: '1', dir: d, remote: label });
    l.close();
    return () => new Ledger(dir, 's').state();
  };
  // Local: below the repository's .rx/runs, or an absolute output.
  assert.equal(ledgerWith(LOCAL, `${top}/.rx/runs/${stamp}aaaaaaa`)().points.get('1')!.dir, `${top}/.rx/runs/${stamp}aaaaaaa`);
  assert.ok(ledgerWith({ ...LOCAL, output: '/scratch/runs' }, `/scratch/runs/${stamp}${SHA}`)());
  // ssh: remote.output as given, ~/… included.
  const C1 = { host: 'c1', repo: '~/r', output: '~/runs/', scheduler: 'slurm', script: 'run.sbatch', label: 'c1' };
  assert.ok(ledgerWith(C1, `~/runs/${stamp}aaaaaaaa`)());
  const refused: [object, string, RegExp, string?][] = [
    [LOCAL, `/tmp/elsewhere/${stamp}aaaaaaa`, /is not directly inside the sweep's output root .*\/\.rx\/runs/],
    [LOCAL, `${top}/.rx/runs/../../${stamp}aaaaaaa`, /is not directly inside/],
    [LOCAL, `${top}/.rx/runs/x/${stamp}aaaaaaa`, /is not directly inside/],
    [LOCAL, `${top}/.rx/runs/${stamp}aaaaaaa/..`, /is not directly inside/],
    [LOCAL, `${top}/.rx/runs/.rx-jobs`, /run directory name ".rx-jobs" is not s_time_YYYY_MM_DD_HH_MM_SS_sha_<hex>/],
    [LOCAL, `${top}/.rx/runs/t_time_2024_01_02_03_04_05_sha_aaaaaaa`, /is not s_time_/],
    [LOCAL, `${top}/.rx/runs/${stamp}aaaaaaa; rm -rf ~`, /is not directly inside|is not s_time_/],
    [LOCAL, `${top}/.rx/runs/${stamp}bbbbbbb`, /names commit bbbbbbb, but point 1 is commit aaaaaaaaaaaa/],
    [LOCAL, `${top}/.rx/runs/${stamp}aaaaaaa`, /is on remote 'c1', but the sweep was submitted to 'local'/, 'c1'],
    [C1, `/home/u/runs/${stamp}aaaaaaa`, /is not directly inside the sweep's output root ~\/runs/],
    [C1, `~/runs2/${stamp}aaaaaaa`, /is not directly inside/],
  ];
  for (const [remote, d, re, label] of refused) {
    const read = ledgerWith(remote, d, label);
    assert.throws(read, (e: Error) => e instanceof LedgerDamage && /ledger\.jsonl:5: damaged ledger record: run directory/.test(e.message) && re.test(e.message), `${d}: ${re.source}`);
  }
  // Recorded before any sweep record: no output root to check it against.
  rmSync(dir, { recursive: true, force: true });
  const l = new Ledger(dir, 's');
  l.append(point('1'), { t: 'commit', at: 'now', key: '1', sha: SHA, ref: 'refs/rx/s/1', branch: 'b' }, { t: 'dir', at: 'now', key: '1', dir: `${top}/.rx/runs/${stamp}aaaaaaa`, remote: 'local' });
  l.close();
  assert.throws(() => new Ledger(dir, 's').state(), /ledger\.jsonl:3: damaged ledger record: run directory .* recorded before the sweep record/);
});

test('a repository moved or renamed keeps its local ledger readable (run dirs recorded under the old path)', t => {
  const oldTop = mkdtempSync(join(tmpdir(), 'rx-moved-a-'));
  const newTop = mkdtempSync(join(tmpdir(), 'rx-moved-b-'));
  t.after(() => { rmSync(oldTop, { recursive: true, force: true }); rmSync(newTop, { recursive: true, force: true }); });
  const dir = join(oldTop, '.rx/sweeps/s');
  const l = new Ledger(dir, 's');
  l.append({ t: 'sweep', at: 'x', name: 's', file: 'f.json', branch: 'main', base: BASE, definition: {}, functions: [], remote: { host: 'local', scheduler: 'shell', script: 'run.sbatch', label: 'local' } });
  l.append(point('1'), { t: 'commit', at: 'x', key: '1', sha: SHA, ref: 'refs/rx/s/1', branch: 'refs/heads/rx/s/1' });
  l.append({ t: 'dir', at: 'x', key: '1', dir: `${oldTop}/.rx/runs/s_time_2026_01_01_00_00_00_sha_${SHA.slice(0, 7)}`, remote: 'local' });
  l.close();
  const moved = join(newTop, '.rx/sweeps/s');
  mkdirSync(moved, { recursive: true });
  writeFileSync(join(moved, 'ledger.jsonl'), readFileSync(join(dir, 'ledger.jsonl')));
  assert.equal(new Ledger(moved, 's').state().points.get('1')!.dir?.endsWith(`sha_${SHA.slice(0, 7)}`), true);
  // Still refused: a run dir outside any .rx/runs.
  const text = readFileSync(join(moved, 'ledger.jsonl'), 'utf8').split('\n').filter(Boolean);
  writeFileSync(join(moved, 'ledger.jsonl'), text.slice(0, -1).join('\n') + '\n');
  const bad = new Ledger(moved, 's');
  bad.append({ t: 'dir', at: 'x', key: '1', dir: `/tmp/elsewhere/s_time_2026_01_01_00_00_00_sha_${SHA.slice(0, 7)}`, remote: 'local' });
  bad.close();
  assert.throws(() => new Ledger(moved, 's').state(), /not directly inside the sweep's output root/);
});
