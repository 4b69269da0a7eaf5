// npm run bench: measurements appended to BENCHMARKS.md (`npm run bench -- startup fetch` runs only
// those sections). Needs the built CLI (npm run build) and the test cluster (root): test/cluster/up.sh.
//
// startup: whole rx processes against `node -e 0`.
// submit: a 1000-point sweep over ssh to the local Slurm, total and per phase, and in the same run
// the "one point at a time" mode RemoteExperiments uses (one push and one ssh connection per point)
// on a sample of points, for the per-point ratio.
import { appendFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, totalmem } from 'node:os';
import { randomBytes } from 'node:crypto';
import { cluster, makeSshHome, runAsCluster } from '../test/helpers/cluster.ts';
import { gitdir } from '../test/helpers/gitdir.ts';
import { submit } from '../src/commands/submit.ts';
import { benchPlanning } from './points.ts';
import { benchFetch } from './fetch.ts';
import { benchDataset } from './dataset.ts';
import { benchParsers } from './parsers.ts';
import { benchStartup } from './startup.ts';
import { makeOut } from '../src/ui.ts';

const N = Number(process.env.RX_BENCH_N ?? 1000);
const ONE_AT_A_TIME = Number(process.env.RX_BENCH_SERIAL_N ?? 50);
const quiet = makeOut({ json: true });
const lines: string[] = [];
const say = (s: string) => { console.log(s); lines.push(s); };

async function benchSubmit(): Promise<void> {
  const info = await cluster();
  if (!info) throw new Error('bench needs the Slurm test cluster (run as root: bash test/cluster/up.sh)');
  const ssh = await makeSshHome(info);
  const id = randomBytes(3).toString('hex');
  const g = await gitdir(null, { origin: true, prefix: 'rx-bench-', files: {
    'inlist': '&controls\n  x = 0\n  y = 0\n/\n',
    // Jobs do nothing: the benchmark measures rx, not the simulation.
    'run.sbatch': '#!/bin/bash\ntrue\n',
  } });
  const home = process.env.HOME;
  process.env.HOME = ssh.home; // ~/.ssh/config and known_hosts of the test client
  delete process.env.SSH_AUTH_SOCK;
  const sweepFile = (name: string, xs: number[]) => {
    const f = join(g.root, `${name}.json`);
    return writeFile(f, JSON.stringify({
      name, branch: 'main', dimensions: { x: xs }, patcher: { type: 'mesa', file: 'inlist' },
      remote: { host: ssh.alias, repo: `~/bench-${id}/repo`, output: `~/bench-${id}/runs`, sbatchArgs: ['--time=1', '--hold'] },
    })).then(() => f);
  };
  try {
    // Batched: the whole sweep in one command.
    const f = await sweepFile(`batched${id}`, Array.from({ length: N }, (_, i) => i));
    const t0 = performance.now();
    const r = await submit({ cwd: g.work, sweep: f, out: quiet });
    const total = performance.now() - t0;
    if (r.submitted !== N) throw new Error(`batched: ${r.submitted}/${N} submitted`);
    say(`- batched, N = ${N}: total ${(total / 1000).toFixed(2)} s, **${(total / N).toFixed(2)} ms per point** (target ≤ 25 ms)`);
    say(`  - phases (ms): ${Object.entries(r.timings).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ')}`);
    say(`  - per point (ms): ${Object.entries(r.timings).map(([k, v]) => `${k} ${(v / N).toFixed(2)}`).join(', ')}`);

    // One point at a time: each command adds one new point, so each does its own push and connection.
    const name = `serial${id}`;
    const t1 = performance.now();
    for (let i = 0; i < ONE_AT_A_TIME; i++) {
      const s = await sweepFile(name, Array.from({ length: i + 1 }, (_, j) => j));
      const ri = await submit({ cwd: g.work, sweep: s, out: quiet });
      if (ri.submitted !== 1) throw new Error(`serial step ${i}: ${ri.submitted} submitted`);
    }
    const serial = (performance.now() - t1) / ONE_AT_A_TIME;
    say(`- one point at a time (one push + one ssh connection per point, as RemoteExperiments), ${ONE_AT_A_TIME} points: **${serial.toFixed(1)} ms per point**`);
    say(`- ratio: batched is **${(serial / (total / N)).toFixed(1)}×** faster per point`);
  } finally {
    process.env.HOME = home;
    // Held jobs (--hold) never run; remove them and the bench's files from the cluster.
    await runAsCluster(`scancel -u rxcluster; rm -rf ~/bench-${id}`, { allowFailure: true });
    await ssh.cleanup();
    await g.cleanup();
  }
}

async function main() {
  const which = process.argv.slice(2);
  say(`\n## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}\n`);
  // name (for `npm run bench -- <name>…`), heading, measurement; the planning bench writes its own heading.
  const sections: [string, string | null, () => Promise<void>][] = [
    ['startup', 'Start-up of the rx command', () => benchStartup(say)],
    ['submit', 'rx submit over ssh to the local Slurm', benchSubmit],
    ['points', null, () => benchPlanning(say)],
    ['fetch', 'rx fetch / rx link over ssh to the local Slurm', () => benchFetch(say)],
    ['parsers', 'Parsers and patchers', () => benchParsers(say)],
    ['dataset', 'rx dataset', () => benchDataset(say)],
  ];
  for (const [name, heading, measure] of sections) {
    if (which.length && !which.includes(name)) continue;
    say(heading ? `\n### ${heading}\n` : '');
    await measure();
  }
  const file = new URL('../BENCHMARKS.md', import.meta.url);
  if (!existsSync(file)) await writeFile(file, '# Benchmarks\n\nAppended by `npm run bench` (newest last). Machine: the project\'s 2-core, 24 GiB workplace.\n');
  await appendFile(file, lines.join('\n') + '\n');
}

await main();
