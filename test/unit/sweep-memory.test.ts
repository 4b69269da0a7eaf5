// The memory guard: a plan larger than this machine can hold is refused before anything is expanded,
// saying how much memory it would take and how much there is, instead of Node dying out of memory.
// Each huge case runs in a child Node with a small heap, so a missing guard fails the test (the
// child is killed) instead of taking the test runner down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/proc.ts';
import { availableMemory, BYTES_PER_POINT, BYTES_PER_PARAMETER, planningBytes } from '../../src/sweep/points.ts';
import { planPoints } from '../../src/sweep/plan.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Runs `code` (which may use planPoints, planStream, grid, plist, intspace, sample) in a Node with a 192 MB heap. */
async function child(code: string): Promise<{ exitCode: number | null; signal: string | null; out: string }> {
  const script = `import { planPoints, planStream } from './src/sweep/plan.ts'; import { grid, plist, intspace } from './src/sweep/space.ts'; import { sample } from './src/sweep/samplers.ts';
    try { ${code}; console.log('PLANNED'); } catch (e) { console.log(e.name + ': ' + e.message + '\\nhint: ' + e.hint); process.exitCode = 2; }`;
  const r = await run([process.execPath, '--max-old-space-size=192', '--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, allowFailure: true });
  return { exitCode: r.exitCode, signal: r.signal, out: r.stdout + r.stderr };
}

function refused(r: { exitCode: number | null; signal: string | null; out: string }, points: string): void {
  assert.equal(r.signal, null, `killed by ${r.signal}: ${r.out.slice(-500)}`);
  assert.equal(r.exitCode, 2, r.out.slice(-800));
  assert.match(r.out, /^ConfigError: /m);
  assert.match(r.out, new RegExp(`planning ${points} points needs about [\\d.]+ [GT]B of memory; this rx process has about [\\d.]+ [MG]B \\(Node heap limit [\\d.]+ [MG]B, [\\d.]+ [MG]B of free system memory\\)`));
  assert.match(r.out, /hint: .*max-old-space-size/);
}

test('a 10⁹-point dimensions grid with maxPoints 2e9 is refused before it is expanded (no out-of-memory)', async () => {
  refused(await child(`planPoints({ maxPoints: 2e9, dimensions: { a: { intspace: [1, 100000] }, b: { intspace: [1, 10000] } } })`), '1000000000');
});

test('a sampler budget beyond memory is refused before sampling; a grid × samples product too', async () => {
  refused(await child(`planPoints({ maxPoints: 2e9, sampler: { type: 'sobol', budget: 1e9, bounds: { x: [0, 1] } } })`), '1000000000');
  refused(await child(`planPoints({ maxPoints: 2e9, dimensions: { a: { intspace: [1, 1000] } }, sampler: { type: 'random', budget: 1e6, bounds: { x: [0, 1] } } })`), '1000000000');
});

test('point lists too big for memory are refused where they are built: grid helpers, the same as data, sample()', async () => {
  refused(await child(`grid(plist('a', intspace(1, 5000)), plist('b', intspace(1, 2000)))`), '10000000');
  refused(await child(`planPoints({ maxPoints: 2e9, points: { grid: [{ plist: { a: { intspace: [1, 5000] } } }, { plist: { b: { intspace: [1, 2000] } } }] } })`), '10000000');
  refused(await child(`sample({ type: 'lhs', budget: 10, bounds: { x: [0, 1] } }, { count: 5e7 })`), '50000000');
});

test('the estimate is the measured cost of a planned point (bench/points.ts), and ordinary plans pass', async () => {
  // Measured peak RSS per planned point: ≈ 600 B + ≈ 20–60 B per parameter (bench/points.ts: ≈ 950 B at 10 parameters).
  assert.ok(BYTES_PER_POINT >= 500 && BYTES_PER_POINT <= 1000);
  assert.ok(BYTES_PER_PARAMETER >= 40 && BYTES_PER_PARAMETER <= 100);
  const est = planningBytes(100_000, 10);
  assert.ok(est >= 90e6 && est <= 200e6, String(est));
  const m = availableMemory();
  assert.ok(m.bytes > 0 && m.bytes <= m.heapFree && m.bytes <= m.system);
  assert.equal(planPoints({ dimensions: { a: { intspace: [1, 1000] }, b: { intspace: [1, 100] } } }).points.length, 100_000);
  const small = await child(`planPoints({ maxPoints: 2e9, dimensions: { a: { intspace: [1, 1000] }, b: { intspace: [1, 10] } } })`);
  assert.match(small.out, /PLANNED/);
});

test('a plan too big to hold is still read one point at a time (planStream holds no points, so the memory guard is not its)', async () => {
  const huge = `{ maxPoints: 2e9, base_config: { n: 1 }, dimensions: { a: { intspace: [1, 100000] }, b: { intspace: [1, 10000] } } }`;
  refused(await child(`planPoints(${huge})`), '1000000000');
  const r = await child(`const s = planStream(${huge}); let n = 0, last; for (const p of s.points()) { last = p; if (++n === 300000) break; } console.log(JSON.stringify({ size: s.size, last: last.params }))`);
  assert.equal(r.exitCode, 0, r.out.slice(-800));
  assert.match(r.out, /PLANNED/);
  assert.match(r.out, /\{"size":1000000000,"last":\{"n":1,"a":30,"b":10000\}\}/);
});
