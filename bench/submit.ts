// rx submit and rx status at scale, as whole `rx` processes over ssh to the local Slurm, each
// against floors measured in the same run on the same cluster: one `sbatch` call, one array
// `sbatch` of 1000 tasks, one `git archive | tar -x` of a run dir. Phases come from the ledger's
// record times (the process is not instrumented). Jobs are submitted held (--hold) and cancelled
// afterwards: the benchmark measures rx, not the jobs.
//
// Rows: arrays N = 1000 (target ≤ 5 ms/point and ≤ 3× the floor), N = 10,000 (≤ 3 ms/point),
// `rx status` of those 10,000 (≤ 2 s), one job per point (array: false; within 1.5× of the
// sbatch + archive floor per point), packs of 10, and the one-point-at-a-time mode of RemoteExperiments.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { cluster, makeSshHome, runAsCluster, type SshHome } from '../test/helpers/cluster.ts';
import { gitdir, type GitDir } from '../test/helpers/gitdir.ts';
import { run } from '../src/proc.ts';
import { Ledger, sweepDir } from '../src/ledger/ledger.ts';

const RX = fileURLToPath(new URL('../bin/rx.js', import.meta.url));
const N = Number(process.env.RX_BENCH_N ?? 1000);
const BIG = Number(process.env.RX_BENCH_BIG ?? 10_000);
const PER_JOB = Number(process.env.RX_BENCH_PER_JOB_N ?? 300);
const ONE_AT_A_TIME = Number(process.env.RX_BENCH_SERIAL_N ?? 30);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${x.toFixed(x < 10 ? 2 : 1)} ms`;

interface Ctx { g: GitDir; ssh: SshHome; id: string; env: Record<string, string>; say: (line: string) => void }

/** Floors, timed on the cluster itself (bash's EPOCHREALTIME around each call). */
async function floors(c: Ctx): Promise<{ sbatch: number; array: number; archive: number }> {
  const sha = (await c.g.git.revparse(['HEAD'])).trim();
  const r = await runAsCluster(`set -e
d=~/bench-${c.id}/floor; mkdir -p "$d"; cd "$d"
git clone -q --bare ${c.g.origin} repo.git
t() { local a=$EPOCHREALTIME; "$@" >/dev/null; echo "$1 $(( (\${EPOCHREALTIME/./} - \${a/./}) ))"; }
for i in $(seq 10); do t sbatch --hold --time=1 --wrap true; done
for i in 1 2 3; do t sbatch --hold --time=1 --array=0-999 --wrap true; done
arch() { mkdir "x$1" && git -C repo.git archive ${sha} | tar -x -C "x$1"; }
for i in $(seq 20); do t arch $i; done
true`);
  const by = (what: string) => r.stdout.split('\n').filter(l => l.startsWith(what + ' ')).map(l => Number(l.split(' ')[1]) / 1000);
  const sb = by('sbatch');
  return { sbatch: median(sb.slice(0, 10)), array: median(sb.slice(10)), archive: median(by('arch')) };
}

async function sweepFile(c: Ctx, name: string, n: number, remote: Record<string, unknown> = {}): Promise<string> {
  const f = join(c.g.root, `${name}.json`);
  await writeFile(f, JSON.stringify({
    name, branch: 'main', dimensions: { x: Array.from({ length: n }, (_, i) => i) }, patcher: { type: 'mesa', file: 'inlist' },
    remote: { host: c.ssh.alias, repo: `~/bench-${c.id}/repo`, output: `~/bench-${c.id}/runs`, sbatchArgs: ['--time=1', '--hold'], ...remote },
  }));
  return f;
}

async function rxTimed(c: Ctx, args: string[]): Promise<number> {
  const t0 = performance.now();
  await run([process.execPath, RX, ...args], { cwd: c.g.work, env: c.env });
  return performance.now() - t0;
}

/** Phase durations (ms) from the ledger's record times: plan, commit, push, dirs, create, submit. */
function phases(c: Ctx, name: string, t0: number): string {
  const last = new Map<string, number>();
  for (const e of Ledger.read(join(sweepDir(join(c.g.work, '.rx'), name), 'ledger.jsonl'))) last.set(e.t, Date.parse(e.at));
  const order = ['point', 'commit', 'pushed', 'dir', 'created', 'cleaned', 'job'];
  const names = ['plan', 'commit', 'push', 'dirs', 'create', 'clean', 'submit'];
  let prev = t0;
  return order.map((t, i) => {
    const at = last.get(t) ?? prev;
    const d = at - prev;
    prev = at;
    return `${names[i]} ${d.toFixed(0)}`;
  }).join(', ');
}

async function submitRow(c: Ctx, label: string, name: string, n: number, remote: Record<string, unknown>, target: string): Promise<number> {
  const f = await sweepFile(c, name, n, remote);
  const wall = Date.now();
  const t = await rxTimed(c, ['submit', '--sweep', f, '--json']);
  return report(c, label, name, n, t, wall, target);
}

function report(c: Ctx, label: string, name: string, n: number, t: number, wall: number, target: string): number {
  console.log(`  (${label}: ${(t / 1000).toFixed(2)} s)`);
  c.say(`- ${label}, N = ${n.toLocaleString('en')}: whole process ${(t / 1000).toFixed(2)} s, **${ms(t / n)} per point** ${target}`);
  c.say(`  - phases from the ledger (ms): ${phases(c, name, wall)}`);
  return t / n;
}

export async function benchSubmit(say: (line: string) => void): Promise<void> {
  const info = await cluster();
  if (!info) throw new Error('bench needs the Slurm test cluster (run as root: bash test/cluster/up.sh)');
  const ssh = await makeSshHome(info);
  const id = randomBytes(3).toString('hex');
  const g = await gitdir(null, { origin: true, prefix: 'rx-bench-', files: { inlist: '&controls\n  x = 0\n/\n', 'run.sbatch': '#!/bin/bash\ntrue\n' } });
  const env: Record<string, string> = { ...process.env as Record<string, string>, HOME: ssh.home, NO_COLOR: '1' };
  delete env.SSH_AUTH_SOCK;
  const c: Ctx = { g, ssh, id, env, say };
  try {
    const f = await floors(c);
    say(`Floors in this run (on the cluster): one \`sbatch\` ${ms(f.sbatch)}, one array \`sbatch --array=0-999\` ${ms(f.array)} in all (${ms(f.array / 1000)} per task), one \`git archive | tar -x\` of a run dir ${ms(f.archive)}.\n`);
    const a = await submitRow(c, 'job arrays (default)', `arr${id}`, N, {}, '(target ≤ 5 ms)');
    // The array floor per point: its share of one array sbatch, plus making its run dir (one archive).
    const floorArr = f.array / N + f.archive;
    say(`  - against the array floor (one array sbatch for all + one \`git archive | tar\` per dir = ${ms(floorArr)} per point): **${(a / floorArr).toFixed(2)}×** (target ≤ 3×); against one sbatch per point (${ms(f.sbatch)}): ${(a / f.sbatch).toFixed(2)}×`);
    const big = await submitRow(c, 'job arrays (default)', `big${id}`, BIG, {}, '(target ≤ 3 ms)');
    say(`  - against the array floor (${ms(f.array / 1000 + f.archive)} per point): **${(big / (f.array / 1000 + f.archive)).toFixed(2)}×**`);
    const st: number[] = [];
    for (let i = 0; i < 3; i++) st.push(await rxTimed(c, ['status', '--sweep', `big${id}`, '--json']));
    say(`- \`rx status\` of ${BIG.toLocaleString('en')} experiments (held array tasks, asked with one squeue + one sacct), whole process over ssh: **${(median(st) / 1000).toFixed(2)} s** median of 3 (target ≤ 2 s)`);
    const pj = await submitRow(c, 'one job per point (`array: false`)', `pj${id}`, PER_JOB, { array: false }, '');
    say(`  - against the per-job floor (one sbatch + one archive per point = ${ms(f.sbatch + f.archive)}): **${(pj / (f.sbatch + f.archive)).toFixed(2)}×** (target ≤ 1.5×)`);
    await submitRow(c, 'packs of 10 points per array task (`pack: 10`)', `pk${id}`, N, { pack: 10 }, '');
    const name = `serial${id}`;
    const t1 = performance.now();
    for (let i = 0; i < ONE_AT_A_TIME; i++) await rxTimed(c, ['submit', '--sweep', await sweepFile(c, name, i + 1), '--json']);
    const serial = (performance.now() - t1) / ONE_AT_A_TIME;
    say(`- one point at a time (one \`rx submit\` per point: one push, one connection, one sbatch each, as RemoteExperiments), ${ONE_AT_A_TIME} points: **${ms(serial)} per point**; arrays are **${(serial / a).toFixed(0)}×** faster per point`);
  } finally {
    // Only this run's jobs (their working dirs are under ~/bench-<id>): tests may share the cluster.
    await runAsCluster(`squeue -h -u rxcluster -o '%A %Z' | awk -v d=bench-${id} 'index($2, d) { print $1 }' | sort -u | xargs -r scancel; rm -rf ~/bench-${id}`, { allowFailure: true });
    await ssh.cleanup();
    await g.cleanup();
  }
}
