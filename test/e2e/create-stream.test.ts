// Run directories in one stream: the create script makes all run directories of a submission with a
// number of processes that does not grow with their number (one git cat-file, one git mktree, one
// git archive | tar, a few mv), each directory equal to its commit's tree and appearing by one
// rename. A creator killed mid-way leaves nothing half-made under a run directory's name, and the
// re-run finishes: every directory once, complete, no staging left, one job per point.
// Local transport (counting PATH shims of the real programs) and ssh to the test Slurm.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { access, chmod, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { gitdir, type GitDir } from '../helpers/gitdir.ts';
import { rx, rxJson, eventually } from '../helpers/rx.ts';
import { clusterSession, runAsCluster } from '../helpers/cluster.ts';
import { run } from '../../src/proc.ts';
import { Ledger } from '../../src/ledger/ledger.ts';
import { createDirsScript } from '../../src/remote/scripts.ts';

const WEIRD = `we ird 'q' "d" $(x)\nnl.txt`;
const files = {
  'inlist': '&controls\n  x = 0\n/\n',
  'run.sbatch': '#!/bin/bash\necho ran > ran.txt\n',
  'src/nested/deep.txt': 'deep\n',
  'bin/tool.sh': '#!/bin/sh\necho tool\n',
  [WEIRD]: 'weird\n',
};
type Rec = { status: string; key: string; sha: string; dir: string | null };

/** A repository with the files above, an executable and a symlink, pushed to its origin. */
async function repo(t: import('node:test').TestContext, extra: Record<string, string> = {}): Promise<GitDir> {
  const g = await gitdir(t, { origin: true, files: { ...files, ...extra } });
  await chmod(join(g.work, 'bin/tool.sh'), 0o755);
  await symlink('src/nested/deep.txt', join(g.work, 'link'));
  await g.commit('executable and symlink');
  await g.git.push('origin', 'main');
  return g;
}

async function home(t: import('node:test').TestContext): Promise<string> {
  const h = await mkdtemp(join(tmpdir(), 'rx-home-'));
  t.after(() => rm(h, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 }));
  return h;
}

async function sweep(g: GitDir, name: string, n: number, remote?: Record<string, unknown>): Promise<string> {
  const f = join(g.root, `${name}.json`);
  await writeFile(f, JSON.stringify({ name, branch: 'main', patcher: { type: 'mesa', file: 'inlist' }, dimensions: { x: Array.from({ length: n }, (_, i) => i) }, ...(remote ? { remote } : {}) }));
  return f;
}

const PROGRAMS = ['git', 'tar', 'mv', 'xargs', 'mkdir', 'rm'];

/**
 * A PATH directory of shims: each appends its name (and git's verb) to `log`, then execs the real
 * program. `RX_SHIM_CRASH=tar` makes tar extract only the first 40 kB of its archive and then
 * SIGKILL the create script (its parent); `RX_SHIM_CRASH=mv` moves the first half of the run
 * directories it was given, then SIGKILLs the create script (the parent of xargs).
 */
async function shims(t: import('node:test').TestContext): Promise<{ path: string; log: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'rx-shims-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const log = join(dir, 'calls.log');
  for (const p of PROGRAMS) {
    const real = (await run(['which', p])).stdout.trim();
    const crash = p === 'tar'
      ? `if [ "\${RX_SHIM_CRASH-}" = tar ]; then head -c 40000 | ${real} "$@"; kill -9 "$PPID"; exit 1; fi`
      : p === 'mv'
        ? `if [ "\${RX_SHIM_CRASH-}" = mv ]; then a=("$@"); n=\${#a[@]}; h=$(( (n - 4) / 2 )); ${real} "\${a[@]:0:4+h}"; read -r _ _ _ gp _ < /proc/$PPID/stat; kill -9 "$gp"; exit 1; fi`
        : '';
    const verb = p === 'git' ? ` $(for a; do case "$a" in -C|-c) skip=1 ;; -*) ;; *) [ -n "\${skip-}" ] && { skip=; continue; }; printf %s "$a"; break ;; esac; done)` : '';
    await writeFile(join(dir, p), `#!/bin/bash\nprintf '%s\\n' "${p}${verb}" >> ${JSON.stringify(log)}\n${crash}\nexec ${real} "$@"\n`, { mode: 0o755 });
  }
  await writeFile(log, '');
  return { path: `${dir}:${process.env.PATH}`, log };
}

/** How often each program (git: each verb) was started, from a shim log. */
async function counts(log: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const l of (await readFile(log, 'utf8')).split('\n').filter(Boolean)) out[l] = (out[l] ?? 0) + 1;
  return out;
}

const exists = (p: string) => access(p).then(() => true, () => false);

const blobId = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');

/**
 * `dir` holds exactly the tree of `sha` (paths, contents, symlinks, executable bits), plus only
 * files matching `extra` (what a job writes).
 */
async function assertIsTree(dir: string, cwd: string, sha: string, extra = /^$/): Promise<void> {
  const ls = await run(['git', 'ls-tree', '-r', '-z', '--full-tree', sha], { cwd });
  const want = new Map<string, [string, string]>();
  for (const e of ls.stdout.split('\0').filter(Boolean)) {
    const tab = e.indexOf('\t');
    const [mode, , id] = e.slice(0, tab).split(' ');
    want.set(e.slice(tab + 1), [mode!, id!]);
  }
  const have = new Map<string, [string, string]>();
  const walk = async (rel: string): Promise<void> => {
    for (const n of await readdir(join(dir, rel))) {
      const r = rel ? `${rel}/${n}` : n;
      const st = await lstat(join(dir, r));
      if (st.isDirectory()) await walk(r);
      else if (st.isSymbolicLink()) have.set(r, ['120000', blobId(Buffer.from(await readlink(join(dir, r))))]);
      else have.set(r, [st.mode & 0o100 ? '100755' : '100644', blobId(await readFile(join(dir, r)))]);
    }
  };
  await walk('');
  for (const [p, v] of want) assert.deepEqual(have.get(p), v, `${dir}/${p} differs from ${sha.slice(0, 12)}:${p}`);
  for (const p of have.keys()) if (!want.has(p)) assert.match(p, extra, `unexpected ${p} in ${dir}`);
}

/** Names of rx's scratch directories (new staging, old per-dir partial) in `root`. */
const scratch = async (root: string) => (await readdir(root)).filter(n => n.startsWith('.rx-staging.') || n.includes('.rx-partial.'));

const points = (g: GitDir, name: string) => [...new Ledger(join(g.work, '.rx/sweeps', name), name).state().points.values()];

/** Every point: created, one job, its run dir (the only one with that name) equal to its tree. */
async function assertComplete(g: GitDir, name: string, n: number, onDisk: (dir: string) => string, extra?: RegExp): Promise<void> {
  const ps = points(g, name);
  assert.equal(ps.length, n);
  assert.deepEqual(ps.map(p => [p.created, p.jobs.length]), Array(n).fill([true, 1]), 'every point created once with one job');
  assert.equal(new Set(ps.map(p => p.dir)).size, n);
  for (const p of ps) await assertIsTree(onDisk(p.dir!), g.work, p.sha!, extra);
}

test('local: 20 and 200 run dirs are made with the same processes (one mktree, archive, tar, xargs, mv); each equals its commit tree', async t => {
  const seen: Record<number, Record<string, number>> = {};
  for (const n of [20, 200]) {
    const g = await repo(t);
    const sh = await shims(t);
    const env = { HOME: await home(t), PATH: sh.path };
    const name = `cnt${n}`;
    // Stop right after the create phase: what ran until then is rx + the create script, no jobs.
    const r = await rx(['submit', '--sweep', await sweep(g, name, n)], { cwd: g.work, env: { ...env, RX_CRASH_AFTER: 'create' }, allowFailure: true });
    assert.equal(r.signal, 'SIGKILL', r.stderr);
    seen[n] = await counts(sh.log);
    const ps = points(g, name);
    assert.equal(ps.filter(p => p.created).length, n, 'every run dir reported');
    for (const p of ps) await assertIsTree(p.dir!, g.work, p.sha!);
    assert.deepEqual(await scratch(join(g.work, '.rx/runs')), []);
  }
  const c = seen[200]!;
  for (const [what, k] of [['git mktree', 1], ['git archive', 1], ['tar', 1], ['mv', 1], ['xargs', 1]] as const) assert.equal(c[what], k, `${what}: ${JSON.stringify(c)}`);
  // Not one process more for ten times the run directories, counting everything rx and the script started.
  assert.deepEqual(seen[200], seen[20]);
});

for (const where of ['tar', 'mv'] as const) {
  test(`local: the create script SIGKILLed ${where === 'tar' ? 'half-way through extracting' : 'after moving half of the run dirs'}: nothing half-made has a run dir's name; the re-run makes every dir once, no staging left, one job each`, async t => {
    const g = await repo(t);
    const sh = await shims(t);
    const env = { HOME: await home(t), PATH: sh.path };
    const f = await sweep(g, `kill${where}`, 80);
    const crashed = await rx(['submit', '--sweep', f], { cwd: g.work, env: { ...env, RX_SHIM_CRASH: where }, allowFailure: true });
    assert.notEqual(crashed.exitCode, 0, 'the create script was killed');
    const runs = join(g.work, '.rx/runs');
    const left = await scratch(runs);
    assert.equal(left.length, 1, `the killed creator's staging dir is left: ${left.join(' ')}`);
    const ps = points(g, `kill${where}`);
    assert.equal(ps.filter(p => p.created).length, 0, 'nothing was reported');
    const named = (await readdir(runs)).filter(n => !n.startsWith('.'));
    assert.equal(named.length, where === 'mv' ? 40 : 0, `run dirs in place after the kill: ${named.length}`);
    // What has a run dir's name is complete (the moved half), never partial.
    for (const p of ps) if (named.includes(p.dir!.split('/').pop()!)) await assertIsTree(p.dir!, g.work, p.sha!);

    const recs = await rxJson<Rec[]>(['submit', '--sweep', f], { cwd: g.work, env });
    assert.deepEqual(recs.filter(r => r.status !== 'submitted'), []);
    assert.deepEqual(await scratch(runs), [], 'the stale staging dir was removed');
    await assertComplete(g, `kill${where}`, 80, d => d, /^(ran\.txt|slurm-\d+\.out)$/);
    assert.equal((await readdir(runs)).filter(n => !n.startsWith('.')).length, 80);
    // Each job ran in its run directory (and is done before the test's files go).
    await eventually('every job ran', 120_000, async () => ((await Promise.all(recs.map(r => exists(join(r.dir!, 'ran.txt'))))).every(Boolean) ? true : undefined));
  });
}

test('the create script itself: odd paths, two parents, a path named twice, a missing commit or batch script, an existing dir; one staging per parent, all removed', async t => {
  const g = await repo(t);
  const shas: string[] = [];
  for (const x of [1, 2, 3]) {
    await g.write({ '.rx/point.json': JSON.stringify({ x }) + '\n' });
    await run(['git', 'add', '-f', '.rx/point.json'], { cwd: g.work });
    shas.push(await g.commit(`point ${x}`));
  }
  await run(['git', 'rm', '-q', 'run.sbatch'], { cwd: g.work });
  const noScript = await g.commit('no batch script');
  const out = await mkdtemp(join(tmpdir(), 'rx-out-'));
  t.after(() => rm(out, { recursive: true, force: true }));
  const a = join(out, `a dir 'q' $(touch x)\n"`);
  const b = join(out, 'b');
  const dirs = [
    { key: '1', sha: shas[0]!, dir: `${b}/one two` },
    { key: '2', sha: shas[1]!, dir: `${b}/-two` },
    { key: '3', sha: shas[2]!, dir: `${a}/three` },
    { key: '4', sha: shas[0]!, dir: `${b}/one two` }, // the same path again, same commit: adopted
    { key: '5', sha: shas[1]!, dir: `${b}/one two` }, // the same path, another commit: blocked
    { key: '6', sha: 'f'.repeat(40), dir: `${b}/missing` },
    { key: '7', sha: noScript, dir: `${b}/noscript` },
  ];
  const sd = join(out, '.rx-jobs');
  const script = (ds: typeof dirs) => createDirsScript({ repo: g.work, fetchUrl: null, sweep: 's', dirs: ds, stateDir: sd, script: 'run.sbatch', branches: [] });
  await mkdir(b);
  await mkdir(join(b, '.rx-staging.999999999')); // a dead creator's
  await mkdir(join(b, 'old.rx-partial.999999998')); // an older rx's
  const r = await run(['bash', '-s'], { input: script(dirs), cwd: out });
  const lines = r.stdout.split('\n').filter(Boolean).sort();
  assert.deepEqual(lines.filter(l => l.startsWith('RXDIR')), ['RXDIR 1', 'RXDIR 2', 'RXDIR 3', 'RXDIR 4']);
  assert.match(r.stdout, /^RXERR 5 .*one two exists but holds another experiment/m);
  assert.match(r.stdout, new RegExp(`^RXERR 6 cannot create .*/missing from ffffffffffff: commit f{40} is not in the repository`, 'm'));
  assert.match(r.stdout, /^RXERR 7 cannot create .*\/noscript from [0-9a-f]{12}: commit [0-9a-f]{40} has no batch script run\.sbatch$/m);
  await assertIsTree(`${b}/one two`, g.work, shas[0]!);
  await assertIsTree(`${b}/-two`, g.work, shas[1]!);
  await assertIsTree(`${a}/three`, g.work, shas[2]!);
  assert.deepEqual((await readdir(b)).sort(), ['-two', 'one two']);
  assert.deepEqual((await readdir(a)).sort(), ['three']);
  assert.equal((await readdir(out)).includes('x'), false, 'nothing in a path ran');
  // Again: everything exists; adopted one by one, nothing extracted.
  const again = await run(['bash', '-s'], { input: script(dirs.slice(0, 3)), cwd: out });
  assert.deepEqual(again.stdout.split('\n').filter(Boolean).sort(), ['RXDIR 1', 'RXDIR 2', 'RXDIR 3']);
});

/** Runs `body`, then cancels the sweep's jobs (submitted --hold, they never run) before the test's files go. */
async function thenCancel(g: GitDir, name: string, env: Record<string, string>, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } finally {
    await rx(['cancel', '--sweep', name], { cwd: g.work, env, allowFailure: true });
  }
}

test('slurm over ssh: 200 run dirs, the create script SIGKILLed on the cluster while extracting; the re-run makes each dir once, equal to its tree, no staging or partial left, one job each', async t => {
  const c = await clusterSession(t, 'rx-stream');
  if (!c) return;
  // A larger file per run dir keeps the extraction busy long enough to be caught.
  const g = await repo(t, { 'data/big.txt': 'y'.repeat(200_000) });
  const name = 'stream';
  const f = await sweep(g, name, 200, c.remote({ sbatchArgs: ['--time=1', '--hold'] }));
  const runs = `~/${c.dir}/runs`;
  const onDisk = (d: string) => d.replace(/^~\//, `${c.info.clusterHome}/`);
  const root = onDisk(runs);
  await thenCancel(g, name, c.env, async () => {
    // Watches for the creator's staging dir (.rx-staging.<its pid>) and SIGKILLs that creator.
    const killer = runAsCluster(`for i in $(seq 1 6000); do for f in ${runs}/.rx-staging.*; do [ -d "$f" ] && kill -9 "\${f##*.}" && { echo killed; exit 0; }; done; sleep 0.005; done; echo never`, { allowFailure: true });
    const crashed = await rx(['submit', '--sweep', f], { cwd: g.work, env: c.env, allowFailure: true });
    assert.equal((await killer).stdout.trim(), 'killed');
    assert.notEqual(crashed.exitCode, 0);
    assert.equal(points(g, name).filter(p => p.created).length, 0, 'nothing was reported');
    // An older rx's scratch dir, left by a crash before the upgrade: removed too.
    await runAsCluster(`mkdir -p ${runs}/${name}_time_old.rx-partial.999999999/x`);
    const recs = await rxJson<Rec[]>(['submit', '--sweep', f], { cwd: g.work, env: c.env });
    assert.deepEqual(recs.filter(r => r.status !== 'submitted'), []);
    assert.deepEqual(await scratch(root), []);
    await assertComplete(g, name, 200, onDisk);
    assert.equal((await readdir(root)).filter(n => !n.startsWith('.')).length, 200);
  });
});

test('slurm over ssh: rx SIGKILLed after the first run dir was reported, re-run at once: every dir once and complete, one job each', async t => {
  const c = await clusterSession(t, 'rx-stream');
  if (!c) return;
  const g = await repo(t);
  const name = 'early';
  const f = await sweep(g, name, 60, c.remote({ sbatchArgs: ['--time=1', '--hold'] }));
  const onDisk = (d: string) => d.replace(/^~\//, `${c.info.clusterHome}/`);
  const root = onDisk(`~/${c.dir}/runs`);
  await thenCancel(g, name, c.env, async () => {
    const crashed = await rx(['submit', '--sweep', f], { cwd: g.work, env: { ...c.env, RX_CRASH_AFTER: 'create-1' }, allowFailure: true });
    assert.equal(crashed.signal, 'SIGKILL');
    const recs = await rxJson<Rec[]>(['submit', '--sweep', f], { cwd: g.work, env: c.env });
    assert.deepEqual(recs.filter(r => r.status !== 'submitted'), []);
    assert.deepEqual(await scratch(root), []);
    await assertComplete(g, name, 60, onDisk);
    assert.equal((await readdir(root)).filter(n => !n.startsWith('.')).length, 60);
  });
});
