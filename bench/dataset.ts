// rx dataset over 1000 runs, each with a real MESA history.data, reduced with built-in reducers.
// Runs on the embedded default (local rsync), so no cluster is needed.
import { mkdir, copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { gitdir } from '../test/helpers/gitdir.ts';
import { Ledger, sweepDir } from '../src/ledger/ledger.ts';
import { dataset } from '../src/commands/dataset.ts';
import { makeOut } from '../src/ui.ts';

const N = Number(process.env.RX_BENCH_DATASET_N ?? 1000);
const HISTORY = fileURLToPath(new URL('../test/fixtures/mesa/r22-summer-school.history.data', import.meta.url));

export async function benchDataset(say: (line: string) => void): Promise<void> {
  const g = await gitdir(null, { prefix: 'rx-bench-ds-', files: { 'inlist': '&controls\n  x = 0\n/\n' } });
  try {
    const runs = join(g.work, '.rx/runs');
    const ledger = new Ledger(sweepDir(join(g.work, '.rx'), 'bench'), 'bench');
    const at = new Date().toISOString();
    const definition = { name: 'bench', parse: { file: 'history.data', parser: 'mesaHistory', reduce: [{ last: ['star_age', 'log_L'] }, { max: ['log_L'] }, { at: { where: 'model_number >= 3', columns: ['star_age'] } }] } };
    ledger.append({ t: 'sweep', at, name: 'bench', file: join(g.root, 'none.json'), branch: 'main', base: '0'.repeat(40), definition, functions: [], remote: { host: 'local', scheduler: 'shell', script: 'run.sbatch', label: 'local' } });
    for (let i = 1; i <= N; i++) {
      const key = String(i);
      const sha = createHash('sha1').update(key).digest('hex');
      const dir = join(runs, `bench_time_2026_01_01_00_00_00_sha_${sha.slice(0, 7)}`);
      await mkdir(dir, { recursive: true });
      await copyFile(HISTORY, join(dir, 'history.data'));
      ledger.append(
        { t: 'point', at, key, params: { x: i }, varied: { x: i }, hash: sha, base: '0'.repeat(40), repeat: 0 },
        { t: 'commit', at, key, sha, ref: `refs/rx/bench/${key}`, branch: `refs/heads/rx/bench/${key}` },
        { t: 'dir', at, key, dir, remote: 'local' },
        { t: 'job', at, key, jobId: key, attempt: 1, scheduler: 'shell' },
        { t: 'state', at, key, jobId: key, status: { jobId: key, state: 'COMPLETED', exitCode: 0 } },
      );
    }
    ledger.close();
    await writeFile(join(g.root, 'none.json'), '{}');
    const quiet = makeOut({ json: true });
    const t0 = performance.now();
    const first = await dataset({ cwd: g.work, sweep: 'bench', out_: quiet });
    const t1 = performance.now();
    await dataset({ cwd: g.work, sweep: 'bench', out_: quiet, format: 'parquet' });
    const t2 = performance.now();
    await dataset({ cwd: g.work, sweep: 'bench', out_: quiet, noFetch: true });
    const t3 = performance.now();
    if (first.sweeps[0]!.complete !== N) throw new Error(`dataset: ${first.sweeps[0]!.complete}/${N} rows complete`);
    say(`- rx dataset, ${N} runs × history.data (18 kB, mesaHistory + last/max/at reducers), CSV, fetch included (local rsync): **${((t1 - t0) / 1000).toFixed(2)} s** (target ≤ 5 s)`);
    say(`  - again as Parquet (fetch finds nothing new): ${((t2 - t1) / 1000).toFixed(2)} s; parse only (--no-fetch): ${((t3 - t2) / 1000).toFixed(2)} s`);
  } finally {
    await g.cleanup();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchDataset(console.log);
