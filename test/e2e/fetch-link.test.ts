// rx fetch and rx link end to end: on the embedded default (local rsync) and over ssh to the real
// Slurm test cluster. submit/status go through the real CLI; fetch/link are called in-process.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, readFile, readdir, readlink, stat, unlink, utimes, writeFile, appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { onslurmSweep } from '../helpers/sweeps.ts';
import { gitdir, type GitDir } from '../helpers/gitdir.ts';
import { rxJson, eventually } from '../helpers/rx.ts';
import { cluster, makeSshHome, runAsCluster } from '../helpers/cluster.ts';
import { fetch, type FetchResult } from '../../src/commands/fetch.ts';
import { link } from '../../src/commands/link.ts';
import { ConfigError, ConnectionError } from '../../src/errors.ts';
import { makeOut } from '../../src/ui.ts';
import { Ledger } from '../../src/ledger/ledger.ts';

const quickstart = fileURLToPath(new URL('../../examples/quickstart', import.meta.url));
const quiet = makeOut({ json: true });
type Rec = { key: string; sha: string; dir: string; params: Record<string, unknown> };
type Row = { state: string };

/** A file name with spaces, both quotes, a `$`, a backslash and `#`: what the jobs below write. */
const HOSTILE = `we ird 'single' "double" $HOME \\#1.dat`;
const HOSTILE_CONTENT = 'hostile\n';

/** The quickstart project whose job also writes LOGS/profile1.data and a file with a hostile name. */
async function project(t: TestContext): Promise<GitDir> {
  const g = await gitdir(t, { origin: true, copy: quickstart });
  const sbatch = await readFile(join(g.work, 'run.sbatch'), 'utf8');
  // printf %s with the name as a single-quoted word: the job writes exactly HOSTILE.
  const q = `'${HOSTILE.replace(/'/g, `'\\''`)}'`;
  await writeFile(join(g.work, 'run.sbatch'), `${sbatch}mkdir -p LOGS && echo "profile of $(pwd)" > LOGS/profile1.data\nprintf '${HOSTILE_CONTENT.replace('\n', '\\n')}' > ${q}\n`);
  await g.commit('jobs write more files');
  await g.git.push('origin', 'main');
  return g;
}

async function allDone(cwd: string, n: number, env?: Record<string, string>, ms = 60_000): Promise<void> {
  await eventually(`${n} jobs COMPLETED`, ms, async () => {
    const rows = await rxJson<Row[]>(['status'], { cwd, env });
    return rows.length === n && rows.every(r => r.state === 'COMPLETED') ? true : undefined;
  });
}

const base = (d: string) => d.split('/').pop()!;
const byStatus = (r: FetchResult, s: 'fetched' | 'unchanged') => r.files.filter(f => f.status === s);
const name = (p: Record<string, unknown>) => `initial_mass=${p.initial_mass}_initial_z=${p.initial_z}`;

test('local default: fetch (flat and --tree, incremental, changed file re-fetched, missing listed) and link (idempotent, stale removed, never touches foreign files, duplicates)', async t => {
  const g = await project(t);
  const recs = await rxJson<Rec[]>(['submit', '--sweep', 'sweep.ts'], { cwd: g.work });
  assert.equal(recs.length, 6);
  await allDone(g.work, 6);
  const files = ['history.data', 'slurm-*.out', 'LOGS/profile*.data', 'we ird*', 'nope.txt'];

  // First fetch: one rsync run, 4 files per run directory, the RemoteExperiments flat names.
  const r1 = await fetch({ cwd: g.work, files, out: quiet });
  assert.equal(r1.rsyncRuns, 1);
  assert.equal(byStatus(r1, 'fetched').length, 24, JSON.stringify(r1.warnings));
  assert.equal(r1.unchanged, 0);
  const dest = join(g.work, '.rx/fetched/quickstart');
  for (const rec of recs) {
    const rd = base(rec.dir);
    assert.deepEqual(await readFile(join(dest, `${rd}_history.data`)), await readFile(join(rec.dir, 'history.data')));
    assert.deepEqual(await readFile(join(dest, `${rd}_LOGS_profile1.data`)), await readFile(join(rec.dir, 'LOGS/profile1.data')));
    assert.equal(await readFile(join(dest, `${rd}_${HOSTILE}`), 'utf8'), HOSTILE_CONTENT);
    const outs = (await readdir(rec.dir)).filter(f => /^slurm-\d+\.out$/.test(f));
    assert.equal(outs.length, 1);
    assert.ok((await stat(join(dest, `${rd}_${outs[0]}`))).isFile());
  }
  // Missing: every run directory × the pattern nothing matched; listed, not an error.
  assert.equal(r1.missing.length, 6);
  assert.ok(r1.missing.every(m => m.pattern === 'nope.txt'));
  assert.deepEqual(r1.missing.map(m => m.rundir).sort(), recs.map(r => base(r.dir)).sort());

  // Again: nothing transferred.
  const r2 = await fetch({ cwd: g.work, files, out: quiet });
  assert.equal(r2.fetched, 0);
  assert.equal(r2.unchanged, 24);
  assert.equal(r2.bytes, 0);

  // A file changed in a run directory is fetched again, and its flat name shows the new content.
  const changed = recs[2]!;
  await appendFile(join(changed.dir, 'history.data'), 'one more line\n');
  await utimes(join(changed.dir, 'history.data'), new Date(), new Date(Date.now() + 5000));
  const r3 = await fetch({ cwd: g.work, files, out: quiet });
  assert.deepEqual(byStatus(r3, 'fetched').map(f => [f.rundir, f.path]), [[base(changed.dir), 'history.data']]);
  assert.equal(r3.unchanged, 23);
  assert.match(await readFile(join(dest, `${base(changed.dir)}_history.data`), 'utf8'), /one more line\n$/);

  // --tree, --to relative to cwd.
  const rt = await fetch({ cwd: g.work, files: ['history.data', 'we ird*'], tree: true, to: 'out/tree', out: quiet });
  assert.equal(rt.fetched, 12);
  for (const rec of recs) {
    assert.deepEqual(await readFile(join(g.work, 'out/tree', base(rec.dir), 'history.data')), await readFile(join(rec.dir, 'history.data')));
    assert.equal(await readFile(join(g.work, 'out/tree', base(rec.dir), HOSTILE), 'utf8'), HOSTILE_CONTENT);
  }
  await assert.rejects(fetch({ cwd: g.work, files: ['../x'], out: quiet }), ConfigError);
  await assert.rejects(fetch({ cwd: g.work, files: ['/etc/passwd'], out: quiet }), ConfigError);

  // link: <name>_<file> → the fetched file, for every experiment and fetched file.
  const links = join(g.work, '.rx/links/quickstart');
  const l1 = await link({ cwd: g.work, out: quiet });
  assert.equal(l1.created, 24);
  for (const rec of recs) {
    for (const f of ['history.data', 'LOGS_profile1.data', HOSTILE]) {
      const p = join(links, `${name(rec.params)}_${f}`);
      assert.ok((await lstat(p)).isSymbolicLink(), p);
      assert.deepEqual(await readFile(p), await readFile(join(dest, `${base(rec.dir)}_${f}`)));
    }
  }
  const config = JSON.parse(await readFile(join(links, 'sweep_config.json'), 'utf8'));
  assert.deepEqual(config.base_config, { n_steps: 30 });
  assert.equal(config.experiments.length, 6);
  // The link follows a re-fetched file.
  assert.match(await readFile(join(links, `${name(changed.params)}_history.data`), 'utf8'), /one more line\n$/);

  // Idempotent: nothing changes on a re-run.
  const snapshot = async () => Promise.all((await readdir(links)).sort().map(async f => [f, (await lstat(join(links, f))).mtimeMs, (await lstat(join(links, f))).isSymbolicLink() ? await readlink(join(links, f)) : '']));
  const before = await snapshot();
  const l2 = await link({ cwd: g.work, out: quiet });
  assert.equal(l2.unchanged, 24);
  assert.equal(l2.created + l2.updated + l2.removed.length, 0);
  assert.deepEqual(await snapshot(), before);

  // A file of the user's in the link directory is never touched; a file in the way is an error
  // that changes nothing.
  await writeFile(join(links, 'notes.txt'), 'mine');
  const victim = join(links, `${name(recs[0]!.params)}_history.data`);
  await unlink(victim);
  await writeFile(victim, 'my own file');
  await assert.rejects(link({ cwd: g.work, out: quiet }), (e: Error) => e instanceof ConfigError && e.message.includes(victim) && /nothing was changed/.test(e.message));
  assert.equal(await readFile(victim, 'utf8'), 'my own file');
  await unlink(victim);

  // --files links only those files and leaves the other files' links as they are.
  const before3 = (await readdir(links)).filter(f => !f.startsWith('.')).length;
  const l3 = await link({ cwd: g.work, files: ['history.data'], out: quiet });
  assert.equal(l3.removed.length, 0);
  assert.equal(l3.created, 1); // the one removed above
  assert.equal(l3.unchanged, 5);
  assert.equal((await readdir(links)).filter(f => !f.startsWith('.')).length, before3 + 1);
  // Stale links of this sweep are removed (here: a fetched file that is gone); the user's file stays.
  const gone = (await readdir(g.work + '/.rx/fetched/quickstart')).find(f => f.endsWith('_LOGS_profile1.data'))!;
  await unlink(join(g.work, '.rx/fetched/quickstart', gone));
  const l4 = await link({ cwd: g.work, out: quiet });
  assert.equal(l4.removed.length, 1);
  assert.equal(await readFile(join(links, 'notes.txt'), 'utf8'), 'mine');

  // Two experiments with the same name: an error naming both (nothing created), or --dedupe.
  await assert.rejects(link({ cwd: g.work, files: ['history.data'], namer: 'z{initial_z}', to: 'dup', out: quiet }), (e: Error) => e instanceof ConfigError && /name 'z0\.01'.*3 experiments/.test(e.message) && recs.filter(r => r.params.initial_z === 0.01).every(r => e.message.includes(base(r.dir))));
  await assert.rejects(stat(join(g.work, 'dup')));
  const ld = await link({ cwd: g.work, files: ['history.data'], namer: 'z{initial_z}', to: 'dup', dedupe: true, out: quiet });
  assert.equal(ld.created, 6);
  for (const rec of recs) {
    const sha = /_sha_([0-9a-f]+)$/.exec(rec.dir)![1];
    assert.ok((await lstat(join(g.work, 'dup', `z${rec.params.initial_z}_${sha}_history.data`))).isSymbolicLink());
  }

  // A namer function from a file; an unknown template parameter is an error.
  await writeFile(join(g.root, 'namer.ts'), 'export default (c: Record<string, unknown>) => `M${c.initial_mass}/Z${c.initial_z}`;\n');
  const ln = await link({ cwd: g.work, files: ['history.data'], namer: join(g.root, 'namer.ts'), to: 'named', out: quiet });
  assert.equal(ln.created, 6);
  assert.ok((await readdir(join(g.work, 'named'))).includes('M1.5%2FZ0.02_history.data'));
  await assert.rejects(link({ cwd: g.work, namer: 'm{mass}', to: 'bad', out: quiet }), /no parameter 'mass'/);

  // The sweep's own namer: a template in the definition, or a function (re-loaded from the sweep
  // file the ledger names, since the ledger keeps only that `namer` was a function).
  const ledger = new Ledger(join(g.work, '.rx/sweeps/quickstart'), 'quickstart');
  const sweepEvent = ledger.state().sweep!;
  const def = sweepEvent.definition as Record<string, unknown>;
  ledger.append({ ...sweepEvent, definition: { ...def, namer: 'T{initial_mass}-{initial_z}' } });
  await link({ cwd: g.work, files: ['history.data'], to: 'by-template', out: quiet });
  assert.ok((await readdir(join(g.work, 'by-template'))).includes('T1.5-0.02_history.data'));
  await writeFile(join(g.work, 'named.sweep.ts'), "export default { name: 'quickstart', namer: (c: Record<string, number>) => `fn_${c.initial_mass * 10}_${c.initial_z * 100}` };\n");
  ledger.append({ ...sweepEvent, file: 'named.sweep.ts', definition: { ...def, namer: null }, functions: ['namer'] });
  await link({ cwd: g.work, files: ['history.data'], to: 'by-function', out: quiet });
  assert.ok((await readdir(join(g.work, 'by-function'))).includes('fn_15_2_history.data'));
  ledger.append(sweepEvent);
  ledger.close();
});

test('slurm over ssh: fetch with one rsync over ssh, incremental, remote change re-fetched, hostile names (also in the output path) survive fetch and link', async t => {
  const info = await cluster();
  if (!info) {
    t.skip('no Slurm test cluster (needs root; see test/cluster/up.sh)');
    return;
  }
  const ssh = await makeSshHome(info);
  t.after(() => ssh.cleanup());
  const id = randomBytes(4).toString('hex');
  const clusterDir = `rx-fetch-${id}`;
  t.after(async () => { await runAsCluster(`rm -rf ~/${clusterDir}`, { allowFailure: true }); });
  const g = await project(t);
  const output = `~/${clusterDir}/runs it's "here"`;
  await writeFile(join(g.work, 'cluster.sweep.ts'), onslurmSweep(`{ host: ${JSON.stringify(ssh.alias)}, repo: '~/${clusterDir}/repo', output: ${JSON.stringify(output)}, sbatchArgs: ['--time=5'] }`));
  await g.commit('cluster sweep');
  await g.git.push('origin', 'main');
  const env = { HOME: ssh.home, SSH_AUTH_SOCK: '' };
  const recs = await rxJson<Rec[]>(['submit', '--sweep', 'cluster.sweep.ts'], { cwd: g.work, env });
  assert.equal(recs.length, 6);
  await allDone(g.work, 6, env, 120_000);
  const onCluster = (p: string) => p.replace(/^~\//, `${info.clusterHome}/`);

  // In-process: the ssh client's HOME for the duration of each call.
  const home = process.env.HOME;
  const agent = process.env.SSH_AUTH_SOCK;
  const withSshHome = async <T>(f: () => Promise<T>): Promise<T> => {
    process.env.HOME = ssh.home;
    delete process.env.SSH_AUTH_SOCK;
    try {
      return await f();
    } finally {
      process.env.HOME = home;
      if (agent !== undefined) process.env.SSH_AUTH_SOCK = agent;
    }
  };
  const files = ['history.data', 'slurm-*.out', 'we ird*', 'nope.txt'];
  // What an interrupted fetch leaves (rsync --partial-dir): the first half of one file. It is
  // resumed (used as the basis of the transfer) and cleaned up.
  const dest = join(g.work, '.rx/fetched/onslurm');
  const partial = join(dest, '.mirror', base(recs[0]!.dir), '.rsync-partial');
  await mkdir(partial, { recursive: true });
  const whole = await readFile(onCluster(join(recs[0]!.dir, 'history.data')));
  await writeFile(join(partial, 'history.data'), whole.subarray(0, whole.length >> 1));
  const r1 = await withSshHome(() => fetch({ cwd: g.work, files, out: quiet }));
  assert.equal(r1.rsyncRuns, 1);
  assert.equal(r1.commands.length, 1);
  assert.ok(r1.commands[0]!.includes('-e'), 'rsync over ssh');
  assert.equal(r1.fetched, 18, JSON.stringify(r1.warnings));
  assert.equal(r1.missing.length, 6);
  await assert.rejects(stat(partial), 'the partial file was used and removed');
  for (const rec of recs) {
    assert.ok(rec.dir.startsWith(output + '/'), rec.dir);
    const rd = base(rec.dir);
    assert.deepEqual(await readFile(join(dest, `${rd}_history.data`)), await readFile(onCluster(join(rec.dir, 'history.data'))));
    assert.equal(await readFile(join(dest, `${rd}_${HOSTILE}`), 'utf8'), HOSTILE_CONTENT);
  }

  // Re-fetch: nothing transferred.
  const r2 = await withSshHome(() => fetch({ cwd: g.work, files, out: quiet }));
  assert.equal(r2.fetched, 0);
  assert.equal(r2.unchanged, 18);

  // Changed on the cluster → fetched again.
  const changed = recs[4]!;
  await runAsCluster(`cd ${JSON.stringify(onCluster(changed.dir))} && echo 'changed remotely' >> history.data && touch -d '+10 seconds' history.data`);
  const r3 = await withSshHome(() => fetch({ cwd: g.work, files, out: quiet }));
  assert.deepEqual(byStatus(r3, 'fetched').map(f => f.rundir), [base(changed.dir)]);
  assert.match(await readFile(join(dest, `${base(changed.dir)}_history.data`), 'utf8'), /changed remotely\n$/);

  // link: hostile names in links and targets.
  const l = await link({ cwd: g.work, out: quiet });
  assert.equal(l.created, 18);
  const links = join(g.work, '.rx/links/onslurm');
  for (const rec of recs) {
    assert.equal(await readFile(join(links, `${name(rec.params)}_${HOSTILE}`), 'utf8'), HOSTILE_CONTENT);
    assert.deepEqual(await readFile(join(links, `${name(rec.params)}_history.data`)), await readFile(onCluster(join(rec.dir, 'history.data'))));
  }
  assert.equal((await link({ cwd: g.work, out: quiet })).unchanged, 18);

  // An unknown host key: refused by rx's own ssh client, with the fingerprint; nothing fetched.
  await writeFile(ssh.knownHostsPath, '');
  await mkdir(join(g.work, 'refused'));
  await assert.rejects(withSshHome(() => fetch({ cwd: g.work, files: ['history.data'], to: 'refused', out: quiet })), (e: Error) => e instanceof ConnectionError && /SHA256:/.test(e.message));
  assert.deepEqual((await readdir(join(g.work, 'refused'))).filter(f => !f.startsWith('.')), []);
});

test('review fixes: --tree never overwrites foreign files; link --files leaves other links; dataset keeps outputs of purged run dirs', async t => {
  const g = await project(t);
  const recs = await rxJson<Rec[]>(['submit', '--sweep', 'sweep.ts'], { cwd: g.work });
  await allDone(g.work, 6);
  // A file rx did not fetch, where --tree would write.
  const tree = join(g.root, 'tree');
  await mkdir(join(tree, base(recs[0]!.dir)), { recursive: true });
  await writeFile(join(tree, base(recs[0]!.dir), 'history.data'), 'MY NOTES\n');
  await assert.rejects(fetch({ cwd: g.work, files: ['history.data'], to: tree, tree: true, out: quiet }), (e: Error) => e instanceof ConfigError && /--tree: 1 file\(s\) in the destination were not fetched by rx/.test(e.message));
  assert.equal(await readFile(join(tree, base(recs[0]!.dir), 'history.data'), 'utf8'), 'MY NOTES\n');

  // link --files history.data after linking everything: the other files' links stay.
  await fetch({ cwd: g.work, files: ['history.data', 'LOGS/profile*.data'], out: quiet });
  const all = await link({ cwd: g.work, out: quiet });
  assert.equal(all.links.length, 12);
  const some = await link({ cwd: g.work, files: ['history.data'], out: quiet });
  assert.equal(some.removed.length, 0);
  const left = (await readdir(join(g.work, '.rx/links/quickstart'))).filter(n => !n.startsWith('.') && !n.startsWith('sweep_config'));
  assert.equal(left.length, 12);

  // A run directory purged on the cluster (here: moved away) keeps its fetched outputs in the dataset.
  const { rename } = await import('node:fs/promises');
  await rename(recs[0]!.dir, recs[0]!.dir + '.purged');
  const { dataset } = await import('../../src/commands/dataset.ts');
  const ds = await dataset({ cwd: g.work, sweep: 'quickstart', out_: quiet, noWrite: true });
  assert.equal(ds.sweeps[0]!.complete, 6, 'all six rows keep their results');
});
