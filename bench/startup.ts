// Start-up: whole `rx` processes as a user runs them (the compiled CLI, bin/rx.js), each against
// the floor measured in the same run: `node -e 0`. Median of several runs, interleaved so that a
// noisy moment on the shared machine hits every command alike.
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gitdir } from '../test/helpers/gitdir.ts';
import { Ledger, sweepDir } from '../src/ledger/ledger.ts';
import type { LedgerEvent } from '../src/ledger/records.ts';
import { run } from '../src/proc.ts';

const RX = fileURLToPath(new URL('../bin/rx.js', import.meta.url));
const RUNS = Number(process.env.RX_BENCH_STARTUP_RUNS ?? 15);
const EXPERIMENTS = 1000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A ledger of `n` finished experiments, as `rx submit` + `rx status` would have left it. */
function writeLedger(rxDir: string, name: string, n: number): void {
  const at = new Date().toISOString();
  const base = createHash('sha1').update('base').digest('hex');
  const events: LedgerEvent[] = [{ t: 'sweep', at, name, file: 'sweep.json', branch: 'main', base, definition: { name, branch: 'main' }, functions: [], remote: { host: 'local', scheduler: 'shell', script: 'run.sbatch', label: 'local' } }];
  for (let i = 1; i <= n; i++) {
    const key = String(i);
    const sha = createHash('sha1').update(key).digest('hex');
    const jobId = `local-${i}`;
    events.push(
      { t: 'point', at, key, params: { x: i, y: i % 7 }, varied: { x: i }, hash: sha, base, repeat: 0 },
      { t: 'commit', at, key, sha, ref: `refs/rx/${name}/${key}`, branch: `refs/heads/rx/${name}/${key}` },
      { t: 'dir', at, key, dir: `${rxDir}/runs/${name}_time_2026_01_01_00_00_00_sha_${sha.slice(0, 7)}`, remote: 'local' },
      { t: 'job', at, key, jobId, attempt: 1, scheduler: 'shell' },
      { t: 'state', at, key, jobId, status: { jobId, state: 'COMPLETED', exitCode: 0 } },
    );
  }
  const ledger = new Ledger(sweepDir(rxDir, name), name);
  ledger.append(...events);
  ledger.close();
}

export async function benchStartup(say: (line: string) => void): Promise<void> {
  const g = await gitdir(null, { prefix: 'rx-bench-start-', files: { inlist: '&controls\n/\n' } });
  try {
    writeLedger(join(g.work, '.rx'), 'big', EXPERIMENTS);
    const cases: [string, string[]][] = [
      ['node -e 0 (floor)', ['-e', '0']],
      ['rx --version', [RX, '--version']],
      ['rx --help', [RX, '--help']],
      [`rx status --offline (${EXPERIMENTS} experiments)`, [RX, 'status', '--offline']],
      [`rx sweeps (${EXPERIMENTS} experiments)`, [RX, 'sweeps']],
    ];
    const times = new Map<string, number[]>(cases.map(([label]) => [label, []]));
    for (let i = 0; i < RUNS; i++) {
      for (const [label, argv] of cases) {
        const t0 = performance.now();
        await run([process.execPath, ...argv], { cwd: g.work, env: { ...process.env, NO_COLOR: '1' } });
        times.get(label)!.push(performance.now() - t0);
      }
    }
    const floor = median(times.get('node -e 0 (floor)')!);
    say(`Whole processes, median of ${RUNS} interleaved runs each (ms); floor = \`node -e 0\` in the same run.\n`);
    for (const [label] of cases) {
      const m = median(times.get(label)!);
      const target = label === 'rx --version' ? ` (target ≤ 2× floor + 60 = ${(2 * floor + 60).toFixed(0)} ms: ${m <= 2 * floor + 60 ? 'met' : 'NOT met'})`
        : label.startsWith('rx status --offline') ? ` (target ≤ 400 ms: ${m <= 400 ? 'met' : 'NOT met'})` : '';
      say(`- ${label}: **${m.toFixed(0)} ms**, ${(m / floor).toFixed(2)}× floor${target}`);
    }
  } finally {
    await g.cleanup();
  }
}
