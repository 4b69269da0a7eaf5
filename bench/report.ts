// rx report over a synthetic 10,000-run sweep (a 100 × 100 grid; JSON results and a 300-row MESA
// history.data per finished run, put straight into the fetch mirror so no rsync is timed): the page's size, the
// time to make it, and its time to first render in headless Chromium (launch measured apart).
// `npm run bench -- report`; RX_BENCH_REPORT_N changes the number of runs.
import { mkdir, writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gitdir } from '../test/helpers/gitdir.ts';
import { Ledger, sweepDir } from '../src/ledger/ledger.ts';
import { defaultFetchDir, MIRROR } from '../src/results/mirror.ts';
import { report } from '../src/commands/report.ts';
import { makeOut } from '../src/ui.ts';
import { launchChromium, recordingPage } from '../test/browser/chromium.ts';

const N = Number(process.env.RX_BENCH_REPORT_N ?? 10_000);
const STATES = ['COMPLETED', 'COMPLETED', 'COMPLETED', 'COMPLETED', 'COMPLETED', 'COMPLETED', 'FAILED', 'RUNNING', 'PENDING', 'CANCELLED'];

/** A MESA-format history.data of `rows` rows (model_number, star_age, log_L, log_Teff). */
function mesaHistory(mass: number, rows: number): string {
  const f = (v: number | string) => String(v).padStart(40);
  const lines = [[1, 2].map(f).join(''), ['version_number', 'initial_mass'].map(f).join(''), ['"r24.03.1"', mass].map(f).join(''), '',
    [1, 2, 3, 4].map(f).join(''), ['model_number', 'star_age', 'log_L', 'log_Teff'].map(f).join('')];
  for (let r = 1; r <= rows; r++) {
    const age = r * 1e6 / mass;
    lines.push([f(r), f((age).toExponential(16)), f((Math.log10(mass) * 3.5 + Math.sin(r / 30) * 0.3).toExponential(16)), f((3.7 + 0.1 * Math.cos(r / 40 + mass)).toExponential(16))].join(''));
  }
  return lines.join('\n') + '\n';
}

/** A sweep of n runs on a grid (side × side) with results and a track file per finished run, ledger and mirror only. */
export async function syntheticSweep(work: string, name: string, n: number, trackRows = 300): Promise<void> {
  const side = Math.ceil(Math.sqrt(n));
  const rx = join(work, '.rx');
  const ledger = new Ledger(sweepDir(rx, name), name);
  const at = new Date().toISOString();
  const definition = { name, parse: { file: 'out.json', parser: 'json' } };
  ledger.append({ t: 'sweep', at, name, file: join(work, 'none.json'), branch: 'main', base: '0'.repeat(40), definition, functions: [], remote: { host: 'local', scheduler: 'shell', script: 'run.sbatch', label: 'local' } });
  const mirror = join(defaultFetchDir(rx, name), MIRROR);
  for (let i = 1; i <= n; i++) {
    const key = String(i);
    const sha = createHash('sha1').update(name + key).digest('hex');
    const base = `${name}_time_2026_01_01_00_00_00_sha_${sha.slice(0, 7)}`;
    const dir = join(rx, 'runs', base);
    const mass = 0.5 + ((i - 1) % side) * 0.1, z = 0.001 * (1 + Math.floor((i - 1) / side));
    const state = STATES[i % STATES.length]!;
    ledger.append(
      { t: 'point', at, key, params: { mass, z, mixing: 1.8 }, varied: { mass, z }, hash: sha, base: '0'.repeat(40), repeat: 0 },
      { t: 'commit', at, key, sha, ref: `refs/rx/${name}/${key}`, branch: `refs/heads/rx/${name}/${key}` },
      { t: 'dir', at, key, dir, remote: 'local' },
      { t: 'job', at, key, jobId: key, attempt: 1, scheduler: 'shell' },
      { t: 'state', at, key, jobId: key, status: { jobId: key, state, exitCode: state === 'FAILED' ? 3 : state === 'COMPLETED' ? 0 : null, start: at, end: at, reason: state === 'FAILED' ? 'NonZeroExitCode' : null } as never },
    );
    if (state !== 'COMPLETED') continue;
    await mkdir(join(mirror, base), { recursive: true });
    await writeFile(join(mirror, base, 'out.json'), JSON.stringify({ energy: mass * mass / z, steps: Math.round(100 * mass), residual: Math.exp(-mass) }));
    if (trackRows > 0) await writeFile(join(mirror, base, 'history.data'), mesaHistory(mass, trackRows));
  }
  ledger.close();
  await writeFile(join(work, 'none.json'), '{}');
}

export async function benchReport(say: (line: string) => void): Promise<void> {
  const g = await gitdir(null, { prefix: 'rx-bench-report-', files: { 'README': 'bench\n' } });
  const browser = await (async () => { const t0 = performance.now(); const b = await launchChromium(); return { b, ms: performance.now() - t0 }; })();
  try {
    await syntheticSweep(g.work, 'big', N);
    const quiet = makeOut({ json: true });
    const t0 = performance.now();
    const [r] = await report({ cwd: g.work, sweep: 'big', rows: 'history.data', noFetch: true, offline: true, out_: quiet });
    const made = performance.now() - t0;
    const size = (await stat(r!.file)).size;
    say(`- rx report, ${N} runs (${r!.layout} map, ${r!.results.length} result plots, ${r!.tracks?.runs ?? 0} tracks of 300-row history.data): made in **${(made / 1000).toFixed(2)} s**, page **${(size / 2 ** 20).toFixed(1)} MiB** (uPlot ${(51081 / 1024).toFixed(0)} kB of it)`);
    if (!browser.b) { say('  - time to first render: skipped (no Chromium; run test/browser/setup.sh as root)'); return; }
    say(`  - Chromium launch (not counted below): ${browser.ms.toFixed(0)} ms`);
    const renders: number[] = [];
    for (let k = 0; k < 3; k++) {
      const { page, log } = await recordingPage(browser.b);
      const t1 = performance.now();
      await page.goto(pathToFileURL(r!.file).href, { waitUntil: 'load' });
      await page.waitForFunction('window.rxReport && window.rxReport.ready', { timeout: 60_000 });
      const wall = performance.now() - t1;
      const ready = await page.evaluate('performance.getEntriesByName("rx-ready")[0].startTime') as number;
      if (log.pageErrors.length || log.consoleErrors.length) throw new Error(`page errors: ${[...log.pageErrors, ...log.consoleErrors].join('; ')}`);
      renders.push(ready);
      if (k === 0) say(`  - first load: navigation start → first render (map, visible plots, table page) ${ready.toFixed(0)} ms; goto + wait measured outside: ${wall.toFixed(0)} ms`);
      await page.close();
    }
    renders.sort((a, b) => a - b);
    say(`  - **time to first render: median ${renders[1]!.toFixed(0)} ms** of 3 loads (target ≤ 2000 ms)`);
  } finally {
    await browser.b?.close();
    await g.cleanup();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await benchReport(console.log);
