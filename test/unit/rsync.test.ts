// rx fetch's rsync pieces: patterns and filter rules, -e quoting, argv, itemized output, names.
// Where rsync's own behaviour is the specification (filter matching, -e splitting), the real
// rsync binary is run on a temp tree / with a stand-in ssh that prints its argv.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { chmod, lstat, mkdir, mkdtemp, readdir, rename, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { filterRules, parseItemized, parseSize, parseSkipped, patternRegExp, pullArgs, remoteSource, rshCommand, rsyncExit, unescapeRsyncName, validateFetchPattern, OUT_FORMAT } from '../../src/remote/rsync.ts';
import { fitName, flatName, tmpPath } from '../../src/results/mirror.ts';
import { safeName, templateNamer, variedName } from '../../src/results/namers.ts';
import { run } from '../../src/proc.ts';

test('validateFetchPattern: names and globs inside the run directory only', () => {
  for (const ok of ['history.data', 'LOGS/profile*.data', 'slurm-*.out', '**/x.dat', 'a b/c\'d".txt', 'LOGS/**', '[ab]?.txt']) assert.equal(validateFetchPattern(ok), ok);
  for (const bad of ['', '/etc/passwd', '../x', 'a/../b', 'LOGS/', 'a//b', './x', 'a\nb', 'a\0b', '+ x', '- x', '!']) assert.throws(() => validateFetchPattern(bad), /pattern|file name/, JSON.stringify(bad));
});

test('filterRules: file rules first, the directories leading to them, one include per run dir, then - *', () => {
  assert.deepEqual(filterRules(['history.data', 'LOGS/profile*.data', '**/x.dat'], ['s_time_1_sha_a', 's_time_2_sha_b']), [
    '+ /*/history.data',
    '+ /*/LOGS/',
    '+ /*/LOGS/profile*.data',
    '+ /*/**/',
    '+ /*/**/x.dat',
    '+ /*/x.dat',
    '+ /s_time_1_sha_a/',
    '+ /s_time_2_sha_b/',
    '- *',
  ]);
  assert.throws(() => filterRules(['x'], ['bad*name']), /cannot be fetched/);
});

test('patternRegExp: * and ? stay in one component, ** crosses /, **/ matches zero or more dirs, classes, escapes', () => {
  const cases: [string, string[], string[]][] = [
    ['history.data', ['history.data'], ['LOGS/history.data', 'history.datax', 'historyXdata']],
    ['slurm-*.out', ['slurm-1.out', 'slurm-.out'], ['x/slurm-1.out', 'slurm-1.outx']],
    ['LOGS/profile*.data', ['LOGS/profile1.data'], ['LOGS/sub/profile1.data', 'profile1.data']],
    ['**/x.dat', ['x.dat', 'a/x.dat', 'a/b/x.dat'], ['ax.dat', 'a/x.datt']],
    ['LOGS/**', ['LOGS/a', 'LOGS/a/b'], ['LOGS', 'LOGSx/a']],
    ['a?c', ['abc'], ['a/c', 'ac']],
    ['[ab]x', ['ax', 'bx'], ['cx']],
    ['[!ab]x', ['cx'], ['ax']],
    ['\\*x*', ['*xyz'], ['axyz']],
    ["we ird 'q\" $x (1).dat", ["we ird 'q\" $x (1).dat"], ['we ird']],
  ];
  for (const [p, yes, no] of cases) {
    const re = patternRegExp(p);
    for (const s of yes) assert.ok(re.test(s), `${p} should match ${s}`);
    for (const s of no) assert.ok(!re.test(s), `${p} should not match ${s}`);
  }
});

test('filterRules select in real rsync exactly the files patternRegExp matches, only inside the listed run dirs', async t => {
  const root = await mkdtemp(join(tmpdir(), 'rx-rsync-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const rel = ['history.data', 'slurm-7.out', 'LOGS/profile1.data', 'LOGS/profile2.data', 'LOGS/history.data', 'LOGS/sub/profile3.data', 'LOGS/sub/deep/x.dat', 'x.dat', 'a/x.dat', "we ird 'q\" $x.dat", 'photos/1', '[ab]x', 'notes.txt'];
  const rundirs = ['sw_time_1_sha_aaaaaaa', 'sw_time_2_sha_bbbbbbb'];
  for (const d of [...rundirs, 'other_time_1_sha_ccccccc']) {
    for (const f of rel) {
      await mkdir(dirname(join(root, 'src', d, f)), { recursive: true });
      await writeFile(join(root, 'src', d, f), f);
    }
  }
  await mkdir(join(root, 'src', '.rx-jobs'));
  await writeFile(join(root, 'src', '.rx-jobs', rundirs[0]!), '1');
  const patternSets = [['history.data'], ['slurm-*.out', 'LOGS/profile*.data'], ['**/x.dat'], ['LOGS/**'], ['we ird*'], ['\\[ab]x'], ['*'], ['**/profile?.data', 'notes.txt']];
  for (const [i, patterns] of patternSets.entries()) {
    const dest = join(root, `dst${i}`) + '/';
    const r = await run(['rsync', ...pullArgs({ source: join(root, 'src') + '/', dest })], { input: filterRules(patterns, rundirs).join('\n') + '\n' });
    const got = parseItemized(r.stdout).filter(e => e.type === 'file').map(e => e.path).sort();
    const want = rundirs.flatMap(d => rel.filter(f => patterns.some(p => patternRegExp(p).test(f))).map(f => `${d}/${f}`)).sort();
    assert.deepEqual(got, want, patterns.join(' '));
    assert.ok(got.length > 0);
  }
});

test('rshCommand: rsync -e quoting (doubled quotes, no backslash escapes) round-trips through the real rsync', async t => {
  assert.equal(rshCommand(['ssh', '-p', '2222', '-o', 'UserKnownHostsFile="/a b/k"', "it's"]), `ssh -p 2222 -o 'UserKnownHostsFile="/a b/k"' 'it''s'`);
  const dir = await mkdtemp(join(tmpdir(), 'rx-rsh-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const fake = join(dir, 'fake ssh');
  // Prints its argv NUL-separated to a file, then fails (rsync then gives up).
  await writeFile(fake, `#!/bin/bash\nprintf '%s\\0' "$@" > "$(dirname "$0")/argv"\nexit 1\n`);
  await chmod(fake, 0o755);
  const hostile = ["it's", 'a "b" c', '$HOME', '\\x\\', '`id`', 'ünï 😀', "''", '"', 'a  b', ' lead', 'x\ty'];
  const samples = [...hostile, ...fc.sample(fc.string({ unit: 'grapheme', minLength: 1 }).filter(s => !/[\0\n\r]/.test(s)), 60)];
  const r = await run(['rsync', '-e', rshCommand([fake, ...samples]), 'somehost:x/', join(dir, 'dst') + '/'], { allowFailure: true });
  assert.notEqual(r.exitCode, 0);
  const argv = (await import('node:fs')).readFileSync(join(dir, 'argv'), 'utf8').split('\0').slice(0, -1);
  assert.deepEqual(argv.slice(0, samples.length), samples);
  assert.equal(argv[samples.length], 'somehost');
});

test('pullArgs: flags from node-rsync, raw values for what holds spaces, paths last', () => {
  const a = pullArgs({ source: 'h:runs dir/', dest: '/tmp/a b/', ssh: ['ssh', '-F', '/x y/config'] });
  assert.deepEqual(a.slice(-2), ['h:runs dir/', '/tmp/a b/']);
  assert.ok(a.includes(`--out-format=${OUT_FORMAT}`));
  assert.equal(a[a.indexOf('-e') + 1], "ssh -F '/x y/config'");
  const short = a.find(x => /^-[A-Za-z0-9]+$/.test(x))!;
  for (const f of 'rtSm8s') assert.ok(short.includes(f), `-${f} in ${short}`);
  // Symlinks are neither copied (-l) nor followed (-L) unless asked.
  assert.ok(!/[lL]/.test(short), short);
  for (const f of ['--info=name2,skip1,nonreg1', '--partial-dir=.rsync-partial', '--exclude-from=-', '--timeout=300']) assert.ok(a.includes(f), f);
  assert.ok(!a.some(x => x.startsWith('--max-size')));
  assert.ok(!a.some(x => x.includes('\\')), 'no shell escaping');
  assert.throws(() => pullArgs({ source: 'relative/', dest: '/tmp/x/' }), /absolute/);
  assert.throws(() => pullArgs({ source: '/a/', dest: 'rel/' }), /absolute/);
  const b = pullArgs({ source: '/a/', dest: '/b/', followLinks: true, maxSize: 1 << 30, timeoutSec: 0 });
  assert.ok(b.find(x => /^-[A-Za-z0-9]+$/.test(x))!.includes('L'));
  assert.ok(b.includes('--max-size=1073741824'));
  assert.ok(!b.some(x => x.startsWith('--timeout')), '--timeout 0: no time-out');
  assert.ok(pullArgs({ source: '/a/', dest: '/b/', timeoutSec: 7 }).includes('--timeout=7'));
  assert.throws(() => pullArgs({ source: '/a/', dest: '/b/', timeoutSec: -1 }), /timeout/);
});

test('parseSize: bytes, K/M/G/T/P (and KiB…) are 1024-based, KB/MB/… 1000-based, fractions; junk refused', () => {
  const cases: [string, number][] = [['0', 0], ['512', 512], ['1K', 1024], ['1k', 1024], ['1KiB', 1024], ['1KB', 1000], ['100M', 100 * 2 ** 20], ['1G', 2 ** 30], ['1.5G', 1.5 * 2 ** 30], ['2 GB', 2e9], ['1T', 2 ** 40], ['7b', 7], [' 3M ', 3 * 2 ** 20]];
  for (const [s, n] of cases) assert.equal(parseSize(s), n, s);
  for (const bad of ['', 'G', '1X', '-1G', '1e9', '1G2', '1 lightyear', '1GiBB']) assert.throws(() => parseSize(bad), /is not a size/, bad);
  assert.throws(() => parseSize('9999999P'), /too large/);
});

test('parseSkipped: symlinks / special files and files over --max-size, from rsync\'s own lines (escaped names)', () => {
  const out = [
    'rx:cd+++++++++:4096:r1/',
    'skipping non-regular file "r1/loop"',
    'skipping non-regular file "r1/a "quoted" \\#012name"',
    'r1/sparse.bin is over max-size',
    'r1/x is over max-size is over max-size',
    'rx:>f+++++++++:3:r1/skipping non-regular file "x"',
    'receiving incremental file list',
  ].join('\n');
  assert.deepEqual(parseSkipped(out), [
    { path: 'r1/loop', reason: 'not-regular' },
    { path: 'r1/a "quoted" \nname', reason: 'not-regular' },
    { path: 'r1/sparse.bin', reason: 'too-big' },
    { path: 'r1/x is over max-size', reason: 'too-big' },
  ]);
  assert.equal(rsyncExit(30), 'timeout');
  assert.equal(rsyncExit(35), 'timeout');
  assert.equal(rsyncExit(23), 'partial');
});

test('real rsync with pullArgs: a symlink loop and links out of the run dir are skipped and reported, ** finishes, a sparse file stays sparse, --max-size skips', async t => {
  const root = await mkdtemp(join(tmpdir(), 'rx-rsync-links-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const rd = join(root, 'src', 'sw_time_1_sha_aaaaaaa');
  await mkdir(join(rd, 'LOGS'), { recursive: true });
  await writeFile(join(rd, 'history.data'), 'h\n');
  await writeFile(join(rd, 'LOGS', 'p1.data'), 'p\n');
  await symlink('.', join(rd, 'loop'));
  await symlink('..', join(rd, 'up'));
  await symlink('/', join(rd, 'root'));
  await symlink('history.data', join(rd, 'alias.data'));
  await writeFile(join(rd, 'sparse.bin'), '');
  await truncate(join(rd, 'sparse.bin'), 256 << 20);
  const rules = filterRules(['**'], ['sw_time_1_sha_aaaaaaa']).join('\n') + '\n';
  const dest = join(root, 'dst') + '/';
  const t0 = Date.now();
  const r = await run(['rsync', ...pullArgs({ source: join(root, 'src') + '/', dest })], { input: rules });
  assert.ok(Date.now() - t0 < 20_000);
  const got = parseItemized(r.stdout).filter(e => e.type === 'file').map(e => e.path).sort();
  assert.deepEqual(got, ['history.data', 'LOGS/p1.data', 'sparse.bin'].map(f => `sw_time_1_sha_aaaaaaa/${f}`).sort());
  assert.deepEqual(parseSkipped(r.stdout).map(s => s.path).sort(), ['alias.data', 'loop', 'root', 'up'].map(f => `sw_time_1_sha_aaaaaaa/${f}`));
  assert.deepEqual((await readdir(join(dest, 'sw_time_1_sha_aaaaaaa'))).sort(), ['LOGS', 'history.data', 'sparse.bin']);
  const st = await stat(join(dest, 'sw_time_1_sha_aaaaaaa', 'sparse.bin'));
  assert.equal(st.size, 256 << 20);
  assert.ok(st.blocks * 512 < 1 << 20, `${st.blocks} blocks`);
  const capped = join(root, 'capped') + '/';
  const c = await run(['rsync', ...pullArgs({ source: join(root, 'src') + '/', dest: capped, maxSize: 1 << 20 })], { input: rules });
  assert.deepEqual(parseSkipped(c.stdout).filter(s => s.reason === 'too-big').map(s => s.path), ['sw_time_1_sha_aaaaaaa/sparse.bin']);
  await assert.rejects(lstat(join(capped, 'sw_time_1_sha_aaaaaaa', 'sparse.bin')));
});

test('remoteSource: ~/ is the remote home, absolute stays, trailing slash added', () => {
  assert.equal(remoteSource('c1', '~/runs/x'), 'c1:runs/x/');
  assert.equal(remoteSource('c1', '~'), 'c1:./');
  assert.equal(remoteSource('c1', '~/'), 'c1:./');
  assert.equal(remoteSource('c1', "/scratch/it's dir/"), "c1:/scratch/it's dir/");
  assert.equal(remoteSource('c1', 'runs'), 'c1:runs/');
  assert.equal(remoteSource('::1', '~/r'), '[::1]:r/');
  assert.throws(() => remoteSource('c1', '~bob/runs'), /~user/);
});

test('parseItemized: received, unchanged, dirs, escaped names, digit separators; other lines ignored', () => {
  const out = [
    'receiving incremental file list',
    'rx:.d         :4,096:./',
    'rx:cd+++++++++:4096:s_time_1_sha_a/',
    'rx:>f+++++++++:1,234,567:s_time_1_sha_a/history.data',
    'rx:>f.st......:12:s_time_1_sha_a/we ird \'q" \\#134#1 $x.data',
    'rx:.f         :1:s_time_1_sha_a/new\\#012line:x.data',
    'rx:.f...p.....:5:s_time_1_sha_a/LOGS/p 1.data',
    'rx:>f+++++++++:3:s_time_1_sha_a/rx:inner',
    '',
  ].join('\n');
  const e = parseItemized(out);
  assert.deepEqual(e.map(x => [x.type, x.change, x.size, x.path]), [
    ['dir', 'unchanged', 4096, '.'],
    ['dir', 'local', 4096, 's_time_1_sha_a'],
    ['file', 'received', 1234567, 's_time_1_sha_a/history.data'],
    ['file', 'received', 12, 's_time_1_sha_a/we ird \'q" \\#1 $x.data'],
    ['file', 'unchanged', 1, 's_time_1_sha_a/new\nline:x.data'],
    ['file', 'unchanged', 5, 's_time_1_sha_a/LOGS/p 1.data'],
    ['file', 'received', 3, 's_time_1_sha_a/rx:inner'],
  ]);
  assert.equal(unescapeRsyncName('a\\#011b'), 'a\tb');
});

test('names: flat names as RemoteExperiments, capped at 240 bytes with a hash; safe experiment names', () => {
  assert.equal(flatName('main_rho_test_time_2021_01_12_10_21_25_sha_694c', 'history.data'), 'main_rho_test_time_2021_01_12_10_21_25_sha_694c_history.data');
  assert.equal(flatName('r', 'LOGS/profile1.data'), 'r_LOGS_profile1.data');
  const long = fitName('é'.repeat(300), '_history.data');
  assert.ok(Buffer.byteLength(long) <= 240);
  assert.ok(long.endsWith('_history.data'));
  assert.notEqual(long, fitName('é'.repeat(301), '_history.data'));
  assert.ok(Buffer.byteLength(fitName('x', '_' + 'y'.repeat(400))) <= 255);
  assert.equal(variedName({ initial_mass: 1.5, initial_z: 0.02 }, '1'), 'initial_mass=1.5_initial_z=0.02');
  assert.equal(variedName({ s: 'a b', l: [1, 2] }, '1'), 's=a b_l=[1,2]');
  assert.equal(variedName({}, '7'), 'point7');
  assert.equal(safeName('a/b\0c\nd%'), 'a%2Fb%00c%0Ad%');
  assert.equal(templateNamer('m{initial_mass}_z{initial_z}')({ initial_mass: 1, initial_z: 0.02 }), 'm1_z0.02');
  assert.throws(() => templateNamer('m{nope}')({ initial_mass: 1 }), /no parameter 'nope'/);
  assert.throws(() => templateNamer('plain'), /at least one/);
});

test('names of 240-255 bytes (ASCII, 2-, 3-, 4-byte characters, nested paths) plus the temp suffix fit NAME_MAX, on a real file system too', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'rx-names-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const rundir = 'main_rho_test_time_2021_01_12_10_21_25_sha_694c0de';
  // The longest temp suffix rx can write: a 7-digit pid (Linux pid_max is at most 2^22).
  const worst = '.rx-tmp-4194304';
  assert.ok(Buffer.byteLength(tmpPath('x')) - 1 <= worst.length);
  const seen = new Set<string>();
  for (let total = 240; total <= 255; total++) {
    for (const ch of ['a', 'é', '€', '😀']) {
      for (const sub of ['', 'LOGS/']) {
        const room = total - Buffer.byteLength(`${rundir}_${sub}`) - Buffer.byteLength('.dat');
        let fill = ch.repeat(Math.floor(room / Buffer.byteLength(ch)));
        fill += 'x'.repeat(room - Buffer.byteLength(fill));
        const path = `${sub}${fill}.dat`;
        assert.equal(Buffer.byteLength(`${rundir}_${path.replace('/', '_')}`), total);
        const flat = flatName(rundir, path);
        assert.ok(Buffer.byteLength(flat + worst) <= 255, `${total} ${ch}: ${Buffer.byteLength(flat)} bytes + ${worst}`);
        if (total <= 240) assert.equal(flat, `${rundir}_${path.replace('/', '_')}`);
        assert.ok(flat.endsWith('.dat'));
        assert.ok(!flat.includes('\uFFFD') && Buffer.from(flat).toString('utf8') === flat, 'whole characters only');
        assert.ok(!seen.has(flat), 'distinct');
        seen.add(flat);
        // What exposeFile does: write the temp name, rename it over the flat name.
        await writeFile(tmpPath(join(dir, flat)), total + ch);
        await rename(tmpPath(join(dir, flat)), join(dir, flat));
      }
    }
  }
  assert.equal((await readdir(dir)).length, seen.size);
});
