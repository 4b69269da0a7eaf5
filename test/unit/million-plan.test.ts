// A million points: planning a 100 × 100 × 100 grid holds only what each point needs (params,
// varied, hash, origin) — measured in a child process so the heap is its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/proc.ts';

const plan = new URL('../../src/sweep/plan.ts', import.meta.url).href;
const space = new URL('../../src/sweep/space.ts', import.meta.url).href;
const root = fileURLToPath(new URL('../..', import.meta.url));

test('planning 1 000 000 grid points keeps the heap under 500 MB (no per-point copies)', { timeout: 120_000 }, async () => {
  const script = `
    const { planPoints } = await import(${JSON.stringify(plan)});
    const { linspace } = await import(${JSON.stringify(space)});
    const t0 = performance.now();
    const p = planPoints({ base_config: { n: 30 }, maxPoints: 1_000_000, dimensions: { a: linspace(0, 1, 100), b: linspace(0, 2, 100), c: linspace(0, 3, 100) } });
    const seconds = (performance.now() - t0) / 1000;
    globalThis.gc();
    const heap = process.memoryUsage().heapUsed;
    const last = p.points.at(-1);
    console.log(JSON.stringify({ n: p.points.length, heap, seconds, last: { varied: last.varied, params: last.params }, shared: p.points[0].params === p.points[0].varied }));`;
  const r = await run([process.execPath, '--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, where: 'million plan' });
  const m = JSON.parse(r.stdout.trim().split('\n').pop()!) as { n: number; heap: number; seconds: number; last: { varied: object; params: object }; shared: boolean };
  assert.equal(m.n, 1_000_000);
  assert.deepEqual(m.last.varied, { a: 1, b: 2, c: 3 });
  assert.deepEqual(m.last.params, { n: 30, a: 1, b: 2, c: 3 });
  assert.equal(m.shared, false);
  assert.ok(m.heap <= 500 * 2 ** 20, `heap after planning ${(m.heap / 2 ** 20).toFixed(0)} MB (limit 500 MB, ${(m.heap / m.n).toFixed(0)} bytes per point)`);
});
