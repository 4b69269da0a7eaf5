// rx fetch at its limits, on the embedded default (local rsync): symlinks inside run directories
// (a loop, a link out of the run dir, an alias), a sparse 1 GiB file, --max-size, flat and link
// names of 240–255 bytes (multi-byte too) next to their temp names, and a stalled rsync.
// One submitted quickstart sweep is shared by the tests; fetch/link are called in-process.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, link as hardLink, lstat, mkdir, readFile, readdir, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gitdir, type GitDir } from '../helpers/gitdir.ts';
import { eventually, rx, rxJson } from '../helpers/rx.ts';
import { fetch } from '../../src/commands/fetch.ts';
import { link } from '../../src/commands/link.ts';
import { fetchFiles } from '../../src/results/fetch.ts';
import { repoContext } from '../../src/git/repo.ts';
import { RxError } from '../../src/errors.ts';
import { makeOut } from '../../src/ui.ts';

const quickstart = fileURLToPath(new URL('../../examples/quickstart', import.meta.url));
const quiet = makeOut({ json: true });
type Rec = { key: string; sha: string; dir: string; params: Record<string, unknown> };
type Row = { state: string };
const bytes = (s: string) => Buffer.byteLength(s);

// The quickstart sweep (6 runs on this machine), submitted once for all tests here.
let shared: Promise<{ g: GitDir; recs: Rec[] }> | null = null;
function project(): Promise<{ g: GitDir; recs: Rec[] }> {
  shared ??= (async () => {
    const g = await gitdir(null, { origin: true, copy: quickstart });
    const recs = await rxJson<Rec[]>(['submit', '--sweep', 'sweep.ts'], { cwd: g.work });
    assert.equal(recs.length, 6);
    await eventually('6 jobs COMPLETED', 60_000, async () => {
      const rows = await rxJson<Row[]>(['status'], { cwd: g.work });
      return rows.length === 6 && rows.every(r => r.state === 'COMPLETED') ? true : undefined;
    });
    return { g, recs };
  })();
  return shared;
}
after(async () => { if (shared) await (await shared).g.cleanup(); });

test('local default: symlinks in run dirs are not followed (a loop, a link out of the run dir; ** finishes), a sparse file stays sparse, --max-size skips and reports, --follow-links copies an alias', async () => {
  const { g, recs } = await project();
  const outside = join(g.root, 'shared-tree');
  await mkdir(join(outside, 'deep'), { recursive: true });
  await writeFile(join(outside, 'deep', 'big-shared.dat'), 'not this run\'s\n');
  for (const rec of recs) {
    await symlink('.', join(rec.dir, 'loop'));
    await symlink(outside, join(rec.dir, 'shared'));
    await symlink('history.data', join(rec.dir, 'alias.data'));
  }
  const sparseRun = recs[0]!;
  await writeFile(join(sparseRun.dir, 'sparse.bin'), '');
  await truncate(join(sparseRun.dir, 'sparse.bin'), 1 << 30); // 1 GiB of holes
  const regular = async (dir: string) => (await readdir(dir, { recursive: true, withFileTypes: true })).filter(e => e.isFile()).length;

  const t0 = Date.now();
  const r = await fetch({ cwd: g.work, files: ['**'], out: quiet });
  const took = Date.now() - t0;
  assert.ok(took < 30_000, `fetch '**' took ${took} ms`);
  // Every regular file of every run dir once, nothing through a link.
  let want = 0;
  for (const rec of recs) want += await regular(rec.dir);
  assert.equal(r.fetched, want, JSON.stringify(r.files.filter(f => /loop|shared/.test(f.path)).slice(0, 3)));
  assert.ok(!r.files.some(f => /(^|\/)(loop|shared)\//.test(f.path) || f.path === 'alias.data'), 'nothing fetched through a symlink');
  // The links a pattern matched are reported (not missing, not fetched), and said in a warning.
  const skipped = r.skipped.map(s => `${s.rundir}/${s.path}:${s.reason}`).sort();
  assert.deepEqual(skipped, recs.flatMap(rec => ['alias.data', 'loop', 'shared'].map(p => `${basename(rec.dir)}/${p}:not-regular`)).sort());
  assert.equal(r.missing.length, 0);
  assert.ok(r.warnings.some(w => /18 matching symlinks .*not followed.*--follow-links/s.test(w)), r.warnings.join('\n'));
  const dest = join(g.work, '.rx/fetched/quickstart');
  await assert.rejects(lstat(join(dest, '.mirror', basename(sparseRun.dir), 'loop')), 'no symlink in the mirror');
  // The sparse file: all its bytes, (almost) none of them on disk.
  const flat = join(dest, `${basename(sparseRun.dir)}_sparse.bin`);
  const st = await stat(flat);
  const src = await stat(join(sparseRun.dir, 'sparse.bin'));
  assert.equal(st.size, 1 << 30);
  assert.ok(st.blocks * 512 <= Math.max(src.blocks * 512, 0) + (1 << 20), `sparse file takes ${st.blocks * 512} bytes on disk (source: ${src.blocks * 512})`);
  assert.equal((await stat(join(dest, '.mirror', basename(sparseRun.dir), 'sparse.bin'))).blocks, st.blocks);

  // --max-size: the big file is skipped and reported (not missing), the rest fetched.
  const rm = await fetch({ cwd: g.work, files: ['sparse.bin', 'history.data'], to: 'capped', maxSize: '100M', out: quiet });
  assert.deepEqual(rm.skipped.map(s => [s.rundir, s.path, s.reason]), [[basename(sparseRun.dir), 'sparse.bin', 'too-big']]);
  assert.equal(rm.fetched, 6);
  assert.ok(rm.files.every(f => f.path === 'history.data'));
  assert.equal(rm.missing.filter(m => m.pattern === 'sparse.bin').length, 5, 'only the runs without it miss it');
  assert.ok(rm.warnings.some(w => /1 file larger than --max-size 104857600 bytes not fetched/.test(w)), rm.warnings.join('\n'));
  assert.ok(rm.commands[0]!.includes('--max-size=104857600'));
  await assert.rejects(stat(join(g.work, 'capped', `${basename(sparseRun.dir)}_sparse.bin`)));
  await assert.rejects(fetch({ cwd: g.work, files: ['x'], maxSize: '1 lightyear', out: quiet }), /--max-size: "1 lightyear" is not a size/);

  // An alias named on purpose: not followed by default, copied with --follow-links.
  const ra = await fetch({ cwd: g.work, files: ['alias.data'], to: 'alias', out: quiet });
  assert.equal(ra.fetched, 0);
  assert.equal(ra.skipped.length, 6);
  const rf = await fetch({ cwd: g.work, files: ['alias.data'], to: 'alias', followLinks: true, out: quiet });
  assert.equal(rf.fetched, 6);
  for (const rec of recs) assert.deepEqual(await readFile(join(g.work, 'alias', `${basename(rec.dir)}_alias.data`)), await readFile(join(rec.dir, 'history.data')));

  // The CLI takes the options (and refuses a bad --timeout before anything runs).
  const cli = await rxJson<{ skipped: unknown[]; fetched: number }>(['fetch', 'sparse.bin', '--max-size', '1M', '--to', 'cli', '--timeout', '60'], { cwd: g.work });
  assert.equal(cli.skipped.length, 1);
  assert.equal(cli.fetched, 0);
  const bad = await rx(['fetch', 'history.data', '--timeout', 'soon'], { cwd: g.work, allowFailure: true });
  assert.equal(bad.exitCode, 2);
  assert.match(bad.stderr, /--timeout/);
});

test('flat and link names of 240-255 bytes (ASCII and 2-, 3-, 4-byte characters) fit NAME_MAX with their temp suffix', async () => {
  const { g, recs } = await project();
  const fills = { a: 'a', e: 'é', u: '€', s: '😀' } as const;
  const expected = new Map<string, { rundir: string; name: string; total: number }>();
  for (const rec of recs) {
    const rd = basename(rec.dir);
    for (let total = 240; total <= 255; total++) {
      for (const [kind, ch] of Object.entries(fills)) {
        const head = `n${total}${kind}_`;
        const room = total - bytes(rd) - 1 - bytes(head) - bytes('.dat');
        let fill = ch.repeat(Math.floor(room / bytes(ch)));
        fill += 'x'.repeat(room - bytes(fill));
        const name = `${head}${fill}.dat`;
        assert.equal(bytes(`${rd}_${name}`), total);
        await writeFile(join(rec.dir, name), `${rd} ${total}${kind}\n`);
        expected.set(`${rd}/${name}`, { rundir: rd, name, total });
      }
    }
  }
  const r = await fetch({ cwd: g.work, files: ['n2*'], out: quiet });
  assert.deepEqual(r.warnings, []);
  assert.equal(r.fetched, expected.size);
  const dest = join(g.work, '.rx/fetched/quickstart');
  const listed = new Set(await readdir(dest));
  const flats = new Set<string>();
  for (const f of r.files) {
    const e = expected.get(`${f.rundir}/${f.path}`)!;
    assert.ok(e, f.path);
    assert.equal(dirname(f.local), dest, `${f.path} has a flat name`);
    const flat = basename(f.local);
    assert.ok(bytes(flat) <= 240, `${bytes(flat)} bytes: ${flat}`);
    assert.ok(listed.has(flat), 'the name on disk is the name reported (whole characters only)');
    if (e.total <= 240) assert.equal(flat, `${e.rundir}_${e.name}`, 'short enough: the RemoteExperiments name');
    else assert.match(flat, /~[0-9a-f]{10}.*\.dat$/u);
    flats.add(flat);
    assert.equal(await readFile(f.local, 'utf8'), await readFile(join(recs.find(x => basename(x.dir) === e.rundir)!.dir, e.name), 'utf8'));
  }
  assert.equal(flats.size, expected.size, 'distinct names stay distinct');
  // Again: nothing to do, nothing to complain about.
  const again = await fetch({ cwd: g.work, files: ['n2*'], out: quiet });
  assert.deepEqual(again.warnings, []);
  assert.equal(again.unchanged, expected.size);

  // A flat name an earlier rx gave (the 250-byte name in full) is replaced by today's name.
  const manifestFile = join(dest, '.rx-fetched.json');
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
  const rd0 = basename(recs[0]!.dir);
  const old = [...expected.values()].find(e => e.rundir === rd0 && e.total === 250)!;
  const oldFlat = `${rd0}_${old.name}`;
  const newFlat = manifest.runs[rd0].files[old.name].flat as string;
  manifest.runs[rd0].files[old.name].flat = oldFlat;
  await writeFile(manifestFile, JSON.stringify(manifest));
  await hardLink(join(dest, newFlat), join(dest, oldFlat));
  await fetch({ cwd: g.work, files: ['n2*'], out: quiet });
  await assert.rejects(lstat(join(dest, oldFlat)), 'the old name is gone');
  assert.ok((await stat(join(dest, newFlat))).isFile());

  // Link names as long: a namer that gives each experiment a name as long as its run directory's.
  const n = bytes(rd0);
  await writeFile(join(g.root, 'long-namer.ts'), `export default (c: Record<string, unknown>) => { const s = \`m\${c.initial_mass}_z\${c.initial_z}_\`; return s + 'p'.repeat(${n} - s.length); };\n`);
  const l1 = await link({ cwd: g.work, files: ['n2*'], namer: join(g.root, 'long-namer.ts'), to: 'links', out: quiet });
  assert.deepEqual(l1.warnings, []);
  assert.equal(l1.created, expected.size);
  assert.ok(l1.links.every(l => bytes(basename(l.link)) <= 240));
  // Re-pointed (through a temp name next to each link): every link, to a second fetch directory.
  await fetch({ cwd: g.work, files: ['n2*'], to: 'fetched2', out: quiet });
  const l2 = await link({ cwd: g.work, files: ['n2*'], namer: join(g.root, 'long-namer.ts'), to: 'links', from: 'fetched2', out: quiet });
  assert.equal(l2.updated, expected.size);
  for (const l of l2.links.slice(0, 20)) assert.equal(await readFile(l.link, 'utf8'), await readFile(join(g.work, 'fetched2', basename(l.target)), 'utf8'));
});

test('a stalled rsync is reported while it runs, and its time-out (exit code 30) is a clear error', async t => {
  const { g } = await project();
  // A stand-in rsync: takes the filter rules, then says nothing for 3 s and exits as rsync does
  // when no data moved for --timeout seconds.
  const bin = join(g.root, 'fake-bin');
  await mkdir(bin);
  await writeFile(join(bin, 'rsync'), `#!/bin/bash\nprintf '%s\\n' "$@" > "${bin}/argv"\ncat > /dev/null\nsleep 3\necho '[generator] io timeout after 2 seconds -- exiting' >&2\necho 'rsync error: timeout in data send/receive (code 30) at io.c(201) [generator=3.5.0]' >&2\nexit 30\n`);
  await chmod(join(bin, 'rsync'), 0o755);
  const path = process.env.PATH;
  process.env.PATH = `${bin}:${path}`;
  t.after(() => { process.env.PATH = path; });
  const notices: string[] = [];
  const ctx = await repoContext(g.work);
  await assert.rejects(
    fetchFiles(ctx, { cwd: g.work, files: ['history.data'], to: 'stalled', timeoutSec: 2, stallNoticeSec: 0.5, notice: l => notices.push(l) }),
    (e: Error) => e instanceof RxError && /rsync gave up: no data moved for 2 s \(rsync exit code 30: timeout in data send\/receive\)/.test(e.message) && /run the same rx fetch again to resume/.test(e.message) && /--timeout/.test(e.hint ?? ''),
  );
  process.env.PATH = path;
  assert.ok((await readFile(join(bin, 'argv'), 'utf8')).split('\n').includes('--timeout=2'));
  // Reported at 0.5 s, 1 s and 2 s of silence: a stall is never silent.
  assert.ok(notices.length >= 2, JSON.stringify(notices));
  assert.match(notices[0]!, /fetch \(quickstart\): rsync has listed no file for \d+ s: a large file on its way, or the transfer stalled; rsync gives up after 2 s without any data moving \(--timeout\)/);
});
