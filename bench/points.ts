// Planning benchmark: 100 000 points planned with planPoints (expansion/sampling, overlay on
// base_config, paramHash of every point, de-duplication), each scenario in a fresh Node process so
// its time is a cold start (no JIT warm-up from earlier scenarios) and its peak RSS is its own.
// Targets: ≤ 2 s and ≤ 300 MB RSS per scenario.
//
//   benchPlanning(say)                      from bench/run.ts
//   node --import tsx bench/points.ts       on its own (prints the same lines)
import { fileURLToPath } from 'node:url';
import { run } from '../src/proc.ts';
import { planPoints, type PlanDefinition } from '../src/sweep/plan.ts';
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

interface Measure { points: number; seconds: number; rssStartMB: number; rssEndMB: number; peakMB: number }

/** Runs one scenario in this process and returns its measurements. */
function measure(name: string): Measure {
  const scenario = SCENARIOS[name];
  if (!scenario) throw new Error(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(', ')}`);
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  const plan = planPoints(scenario.def());
  const seconds = (performance.now() - t0) / 1000;
  const rss1 = process.memoryUsage().rss;
  if (plan.points.length !== N || !plan.points.every(p => p.hash.length === 64)) throw new Error(`${name}: planned ${plan.points.length} points, expected ${N}`);
  return { points: plan.points.length, seconds, rssStartMB: rss0 / 2 ** 20, rssEndMB: rss1 / 2 ** 20, peakMB: process.resourceUsage().maxRSS / 1024 };
}

export async function benchPlanning(say: (line: string) => void): Promise<void> {
  say(`### Planning ${N.toLocaleString('en')} points (hashing included; each scenario in a fresh process)\n`);
  const self = fileURLToPath(import.meta.url);
  for (const [name, s] of Object.entries(SCENARIOS)) {
    const r = await run([process.execPath, '--import', 'tsx', self, '--child', name], { cwd: fileURLToPath(new URL('..', import.meta.url)), where: `bench planning ${name}` });
    const m = JSON.parse(r.stdout.trim().split('\n').pop()!) as Measure;
    const ok = m.seconds <= TARGET_S && m.peakMB <= TARGET_MB;
    say(`- ${s.label}: **${m.seconds.toFixed(2)} s** (target ≤ ${TARGET_S} s), RSS ${m.rssStartMB.toFixed(0)} → ${m.rssEndMB.toFixed(0)} MB (+${(m.rssEndMB - m.rssStartMB).toFixed(0)} MB), **peak ${m.peakMB.toFixed(0)} MB** (target ≤ ${TARGET_MB} MB)${ok ? '' : ' — OVER TARGET'}`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--child');
  if (i >= 0) console.log(JSON.stringify(measure(process.argv[i + 1]!)));
  else await benchPlanning(line => console.log(line));
}
