// Planning benchmark: 100 000 points planned with planPoints (expansion/sampling, overlay on
// base_config, paramHash of every point, de-duplication), each scenario in a fresh Node process so
// its time is a cold start (no JIT warm-up from earlier scenarios) and its peak RSS is its own.
// Targets: ≤ 2 s and ≤ 300 MB RSS per scenario.
// Then a million points (issue 10): a 100 × 100 × 100 grid planned in a fresh process (target ≤ 5 s,
// ≤ 500 MB), and whole `rx submit --dry-run --json` processes of 100 000 points on a temp repository
// (target ≤ 10 s; --limit 0 and the default 20 diffs), checked to be one parseable JSON array.
//
//   benchPlanning(say)                      from bench/run.ts
//   node --import tsx bench/points.ts       on its own (prints the same lines)
import { fileURLToPath } from 'node:url';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { run } from '../src/proc.ts';
import { planPoints, planStream, type PlanDefinition } from '../src/sweep/plan.ts';
import { grid, linspace, logspace, plist, zip, intspace } from '../src/sweep/space.ts';

const N = 100_000;
const TARGET_S = 2;
const TARGET_MB = 300;
const base_config = { n_steps: 30, model: 'toy', tolerance: 1e-8, output: { every: 10, format: 'hdf5' } };

const SCENARIOS: Record<string, { label: string; def: () => PlanDefinition }> = {
  sobol: {
    label: `sobol sampler, 6 parameters, budget ${N}`,
    def: () => ({
      base_config,
      sampler: {
        type: 'sobol', seed: 7, budget: N,
        bounds: { mass: { lo: 0.1, hi: 100, scale: 'log' }, z: [0.0001, 0.04], alpha: [1.2, 2.4], overshoot: [0, 0.05], rotation: { values: [0, 0.2, 0.4, 0.6] }, nrad: { int: [1, 64] } },
      },
    }),
  },
  lhs: {
    label: `LHS sampler, 6 parameters, budget ${N}`,
    def: () => ({
      base_config,
      sampler: { type: 'lhs', seed: 7, budget: N, bounds: { a: [0, 1], b: [0, 1], c: [-5, 5], d: { lo: 1e-3, hi: 1e3, scale: 'log' }, e: [0, 1], f: { int: [0, 9] } } },
    }),
  },
  dimensions: {
    label: `dimensions grid 100 × 100 × 10 = ${N}`,
    def: () => ({ base_config, dimensions: { a: linspace(0, 1, 100), b: logspace(1e-3, 1e3, 100), 'c,d': intspace(1, 10).map(i => [i, `run${i}`]) } }),
  },
  helpers: {
    label: `grid(plist, plist, zip(plist, plist)) = ${N}`,
    def: () => ({ base_config, points: grid(plist('a', linspace(0, 1, 100)), plist('b', logspace(1e-3, 1e3, 100)), zip(plist('c', intspace(1, 10)), plist('d', intspace(1, 10).map(i => `run${i}`)))) }),
  },
};

const MILLION: { label: string; def: () => PlanDefinition } = {
  label: 'dimensions grid 100 × 100 × 100 = 1 000 000',
  def: () => ({ base_config, maxPoints: 1_000_000, dimensions: { a: linspace(0, 1, 100), b: logspace(1e-3, 1e3, 100), c: linspace(-1, 1, 100) } }),
};
SCENARIOS.million = MILLION;
SCENARIOS['million-stream'] = MILLION;

interface Measure { points: number; seconds: number; rssStartMB: number; rssEndMB: number; peakMB: number }

/** Runs one scenario in this process and returns its measurements. */
function measure(name: string): Measure {
  const scenario = SCENARIOS[name];
  if (!scenario) throw new Error(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  if (name === 'million-stream') return measureStream(scenario.def(), rss0, t0);
  const plan = planPoints(scenario.def());
  const seconds = (performance.now() - t0) / 1000;
  const rss1 = process.memoryUsage().rss;
  const n = name === 'million' ? 1_000_000 : N;
  if (plan.points.length !== n || !plan.points.every(p => p.hash.length === 64)) throw new Error(`${name}: planned ${plan.points.length} points, expected ${N}`);
  return { points: plan.points.length, seconds, rssStartMB: rss0 / 2 ** 20, rssEndMB: rss1 / 2 ** 20, peakMB: process.resourceUsage().maxRSS / 1024 };
}

/** The same million points read one at a time from planStream (nothing held but the points' count). */
function measureStream(def: PlanDefinition, rss0: number, t0: number): Measure {
  let n = 0;
  for (const p of planStream(def).points()) {
    if (p.hash.length !== 64) throw new Error(`million-stream: point ${n} has no hash`);
    n++;
  }
  const seconds = (performance.now() - t0) / 1000;
  if (n !== 1_000_000) throw new Error(`million-stream: streamed ${n} points, expected 1 000 000`);
  return { points: n, seconds, rssStartMB: rss0 / 2 ** 20, rssEndMB: process.memoryUsage().rss / 2 ** 20, peakMB: process.resourceUsage().maxRSS / 1024 };
}

export async function benchPlanning(say: (line: string) => void): Promise<void> {
  say(`### Planning ${N.toLocaleString('en')} points (hashing included; each scenario in a fresh process)\n`);
  const self = fileURLToPath(import.meta.url);
  for (const [name, s] of Object.entries(SCENARIOS)) {
    if (name.startsWith('million')) continue;
    const r = await run([process.execPath, '--import', 'tsx', self, '--child', name], { cwd: fileURLToPath(new URL('..', import.meta.url)), where: `bench planning ${name}` });
    const m = JSON.parse(r.stdout.trim().split('\n').pop()!) as Measure;
    const ok = m.seconds <= TARGET_S && m.peakMB <= TARGET_MB;
    say(`- ${s.label}: **${m.seconds.toFixed(2)} s** (target ≤ ${TARGET_S} s), RSS ${m.rssStartMB.toFixed(0)} → ${m.rssEndMB.toFixed(0)} MB (+${(m.rssEndMB - m.rssStartMB).toFixed(0)} MB), **peak ${m.peakMB.toFixed(0)} MB** (target ≤ ${TARGET_MB} MB)${ok ? '' : ' — OVER TARGET'}`);
  }
  await benchMillion(say);
}

/** Peak RSS and wall time of a whole process (GNU time's %M: maximum resident set, KB). */
async function timed(argv: string[], cwd: string, stdout?: string): Promise<{ seconds: number; peakMB: number }> {
  const t0 = performance.now();
  const r = await run(['/usr/bin/time', '-f', '%M', 'sh', '-c', '"$@" > "$0"', stdout ?? '/dev/null', ...argv], { cwd, where: 'bench million' });
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, peakMB: Number(r.stderr.trim().split('\n').pop()) / 1024 };
}

/** Counts the elements of a JSON array written one per line by `rx submit --dry-run --json`, parsing each. */
async function countJsonArray(file: string): Promise<number> {
  let n = 0;
  let rest = '';
  let closed = false;
  for await (const chunk of createReadStream(file, 'utf8')) {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    for (const l of lines) {
      if (l === '[' || l === '') continue;
      if (l === ']') { closed = true; continue; }
      JSON.parse(l.endsWith(',') ? l.slice(0, -1) : l);
      n++;
    }
  }
  if (!closed) throw new Error('the JSON array is not closed');
  return n;
}

export async function benchMillion(say: (line: string) => void): Promise<void> {
  say('\n### A million points (issue 10)\n');
  const self = fileURLToPath(import.meta.url);
  const rootDir = fileURLToPath(new URL('..', import.meta.url));
  const r = await run([process.execPath, '--import', 'tsx', self, '--child', 'million'], { cwd: rootDir, where: 'bench planning million' });
  const m = JSON.parse(r.stdout.trim().split('\n').pop()!) as Measure;
  say(`- plan ${MILLION.label} (planPoints, fresh process): **${m.seconds.toFixed(2)} s** (target ≤ 5 s), **peak ${m.peakMB.toFixed(0)} MB** (target ≤ 500 MB)${m.seconds <= 5 && m.peakMB <= 500 ? '' : ' — OVER TARGET'}`);
  const st = await run([process.execPath, '--import', 'tsx', self, '--child', 'million-stream'], { cwd: rootDir, where: 'bench planning million-stream' });
  const ms = JSON.parse(st.stdout.trim().split('\n').pop()!) as Measure;
  say(`- the same points read one at a time (planStream, nothing held): **${ms.seconds.toFixed(2)} s**, **peak ${ms.peakMB.toFixed(0)} MB** (RSS at start ${ms.rssStartMB.toFixed(0)} MB)`);
  const tmp = await mkdtemp(join(tmpdir(), 'rx-bench-million-'));
  try {
    const work = join(tmp, 'work');
    await cp(join(rootDir, 'examples/quickstart'), work, { recursive: true });
    for (const argv of [['init', '-q', '-b', 'main'], ['config', 'user.name', 'bench'], ['config', 'user.email', 'bench@rx.invalid'], ['add', '-A'], ['commit', '-qm', 'base']]) await run(['git', ...argv], { cwd: work, where: 'bench git' });
    await writeFile(join(tmp, 'big.json'), JSON.stringify({
      name: 'big', branch: 'main', maxPoints: 100_000, patcher: { type: 'mesa', file: 'inlist' }, remote: { host: 'local', output: join(tmp, 'runs') },
      dimensions: { initial_mass: { linspace: [1, 10, 100] }, initial_z: { linspace: [0.001, 0.04, 100] }, n_steps: { intspace: [1, 10] } },
    }));
    const rxBin = join(rootDir, 'bin/rx.js');
    for (const extra of [['--limit', '0'], []]) {
      const out = join(tmp, 'plan.json');
      const t = await timed([process.execPath, rxBin, 'submit', '--sweep', join(tmp, 'big.json'), '--dry-run', '--json', ...extra], work, out);
      const n = await countJsonArray(out);
      if (n !== N) throw new Error(`dry run listed ${n} points, expected ${N}`);
      say(`- \`rx submit --dry-run --json${extra.length ? ' ' + extra.join(' ') : ''}\`, ${N.toLocaleString('en')} points (whole process, dist/): **${t.seconds.toFixed(2)} s** (target ≤ 10 s), peak ${t.peakMB.toFixed(0)} MB${t.seconds <= 10 ? '' : ' — OVER TARGET'}`);
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--child');
  if (i >= 0) console.log(JSON.stringify(measure(process.argv[i + 1]!)));
  else if (process.argv.includes('--million')) await benchMillion(line => console.log(line));
  else await benchPlanning(line => console.log(line));
}
