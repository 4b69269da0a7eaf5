// Benchmark for rx fetch / rx link over ssh to the test cluster: N run directories (default 1000)
// with one ~100 kB file each, created directly as the cluster user, and a ledger describing them
// (written with the Ledger class, as rx submit would). Measured in the same run: the first fetch
// (one rsync for everything), a no-change re-fetch, rx link (first and no-change), and for
// comparison one rsync per file (RemoteExperiments' getter) on a sample, extrapolated to N.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { cluster, makeSshHome, runAsCluster } from '../test/helpers/cluster.ts';
import { gitdir } from '../test/helpers/gitdir.ts';
import { Ledger, now, sweepDir, type LedgerEvent } from '../src/ledger/ledger.ts';
import { fetch } from '../src/commands/fetch.ts';
import { link } from '../src/commands/link.ts';
import { remoteSource, rshCommand } from '../src/remote/rsync.ts';
import { rsyncShell } from '../src/remote/target.ts';
import { run } from '../src/proc.ts';
import { makeOut } from '../src/ui.ts';

const N = Number(process.env.RX_BENCH_FETCH_N ?? 1000);
const PER_FILE_SAMPLE = Number(process.env.RX_BENCH_FETCH_SERIAL_N ?? 100);
const SIZE = 100_000;

export async function benchFetch(say: (line: string) => void): Promise<void> {
  const info = await cluster();
  if (!info) throw new Error('bench needs the Slurm test cluster (run as root: bash test/cluster/up.sh)');
  const ssh = await makeSshHome(info);
  const id = randomBytes(3).toString('hex');
  const name = `fetchbench${id}`;
  const root = `bench-fetch-${id}`;
  const output = `~/${root}/runs`;
  const g = await gitdir(null, { prefix: 'rx-bench-fetch-', files: { 'README.md': 'fetch benchmark\n' } });
  const quiet = makeOut({ json: true });
  const home = process.env.HOME;
  const agent = process.env.SSH_AUTH_SOCK;
  const shas = Array.from({ length: N }, (_, i) => (i.toString(16).padStart(7, '0') + randomBytes(20).toString('hex')).slice(0, 40));
  const rundirs = shas.map(s => `${name}_time_2024_01_01_00_00_00_sha_${s.slice(0, 7)}`);
  try {
    // The run directories and their files, on the cluster.
    const t0 = performance.now();
    await runAsCluster(`set -e; mkdir -p ~/${root}/runs && cd ~/${root}/runs\nwhile read -r d; do mkdir "$d"; head -c ${SIZE} /dev/urandom > "$d/history.data"; echo x > "$d/other.txt"; done <<'EOF'\n${rundirs.join('\n')}\nEOF\n`);
    const setup = performance.now() - t0;

    // The ledger, as rx submit would have left it.
    const remote = { host: ssh.alias, scheduler: 'slurm' as const, script: 'run.sbatch', repo: `~/${root}/repo`, output, label: ssh.alias };
    const at = now();
    const ledger = new Ledger(sweepDir(join(g.work, '.rx'), name), name);
    const events: LedgerEvent[] = [{ t: 'sweep', at, name, file: 'sweep.json', branch: 'main', base: shas[0]!, definition: { name, branch: 'main', base_config: { y: 0 }, dimensions: { x: shas.map((_, i) => i) } }, functions: [], remote }];
    shas.forEach((sha, i) => {
      const key = String(i + 1);
      events.push({ t: 'point', at, key, params: { x: i, y: 0 }, varied: { x: i }, hash: sha, base: shas[0]!, repeat: 0 });
      events.push({ t: 'commit', at, key, sha, ref: `refs/rx/${name}/${key}`, branch: `rx/${name}/${key}` });
      events.push({ t: 'dir', at, key, dir: `${output}/${rundirs[i]}`, remote: ssh.alias });
    });
    ledger.append(...events);
    ledger.close();

    process.env.HOME = ssh.home;
    delete process.env.SSH_AUTH_SOCK;
    const time = async <T>(f: () => Promise<T>): Promise<[T, number]> => {
      const t = performance.now();
      const r = await f();
      return [r, performance.now() - t];
    };
    const [first, tFirst] = await time(() => fetch({ cwd: g.work, files: ['history.data'], out: quiet }));
    if (first.fetched !== N || first.rsyncRuns !== 1) throw new Error(`fetch: ${first.fetched}/${N} fetched in ${first.rsyncRuns} rsync runs; ${first.warnings.join('; ')}`);
    const [again, tAgain] = await time(() => fetch({ cwd: g.work, files: ['history.data'], out: quiet }));
    if (again.fetched !== 0 || again.unchanged !== N) throw new Error(`re-fetch: ${again.fetched} fetched, ${again.unchanged} unchanged`);
    const [l1, tLink] = await time(() => link({ cwd: g.work, out: quiet }));
    if (l1.created !== N) throw new Error(`link: ${l1.created} created`);
    const [l2, tLink2] = await time(() => link({ cwd: g.work, out: quiet }));
    if (l2.unchanged !== N) throw new Error(`link again: ${l2.unchanged} unchanged`);

    // One rsync (one ssh connection) per file, as RemoteExperiments' getter does.
    const shell = (await rsyncShell(remote))!;
    const rsh = rshCommand(shell.ssh);
    const dst = join(g.root, 'per-file');
    await mkdir(dst);
    const sample = Math.min(PER_FILE_SAMPLE, N);
    const t1 = performance.now();
    for (let i = 0; i < sample; i++) {
      const src = remoteSource(shell.destination, `${output}/${rundirs[i]}`) + 'history.data';
      await run(['rsync', '-t', '-s', '-e', rsh, src, join(dst, `${rundirs[i]}_history.data`)]);
    }
    const perFile = (performance.now() - t1) / sample;

    const mb = (N * SIZE) / 1e6;
    say(`- ${N} run dirs × 1 file of ${SIZE / 1000} kB (${mb.toFixed(0)} MB) over ssh to the local test cluster (setup ${(setup / 1000).toFixed(1)} s, not measured)`);
    say(`  - **fetch: ${(tFirst / 1000).toFixed(2)} s** (target ≤ 5 s), one rsync run, ${(mb / (tFirst / 1000)).toFixed(0)} MB/s`);
    say(`  - **no-change re-fetch: ${(tAgain / 1000).toFixed(2)} s** (target ≤ 1 s)`);
    say(`  - **link: ${(tLink / 1000).toFixed(2)} s** first (${N} links, target ≤ 1 s), ${(tLink2 / 1000).toFixed(2)} s no-change re-run`);
    say(`  - one rsync per file (RemoteExperiments' getter), measured on ${sample} files: ${perFile.toFixed(0)} ms per file → **≈ ${((perFile * N) / 1000).toFixed(1)} s for ${N} files (extrapolated)**, ${((perFile * N) / tFirst).toFixed(0)}× the single-rsync fetch`);
  } finally {
    process.env.HOME = home;
    if (agent !== undefined) process.env.SSH_AUTH_SOCK = agent;
    await runAsCluster(`rm -rf ~/${root}`, { allowFailure: true });
    await ssh.cleanup();
    await g.cleanup();
    await rm(join(g.root), { recursive: true, force: true });
  }
}
