// Candidate points: a seeded scrambled Sobol pool over the bounds, and greedy space filling from it.
import type { Params } from '../sweep/points.ts';
import { sample } from '../sweep/samplers.ts';
import { SOBOL_MAX_DIMS } from '../sweep/sobol-directions.ts';
import type { Domain } from './domain.ts';
import type { Batch } from './propose.ts';

/** `count` distinct points of the seeded scrambled Sobol sequence over the bounds (random beyond 32 parameters). */
export function candidatePool(domain: Domain, seed: number, count: number): Params[] {
  const type = domain.names.length <= SOBOL_MAX_DIMS ? 'sobol' : 'random';
  const seenKeys = new Set<string>();
  const out: Params[] = [];
  for (const p of sample({ type, bounds: domain.bounds, budget: count, seed })) {
    const k = domain.key(p);
    if (!seenKeys.has(k)) {
      seenKeys.add(k);
      out.push(p);
    }
  }
  return out;
}

export const sqDist = (a: readonly number[], b: readonly number[]) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s;
};


/**
 * Fills the batch from the pool: with no runs, its first points (a Sobol sequence's first points
 * are balanced; farthest-first would start in the corners); else greedy maximin, the pool points
 * farthest from every run (`around`, unit coordinates) and from each other.
 */
export function spaceFill(batch: Batch, domain: Domain, pool: readonly Params[], around: readonly (readonly number[])[]): void {
  const units = pool.map(p => domain.toUnit(p)!);
  if (around.length === 0) {
    for (const u of units) {
      if (batch.full) return;
      batch.offer(u);
    }
    return;
  }
  const gap = units.map(u => around.reduce((m, s) => Math.min(m, sqDist(u, s)), Infinity));
  while (!batch.full) {
    let best = -1;
    gap.forEach((g, i) => { if (g > 0 && (best < 0 || g > gap[best]!)) best = i; });
    if (best < 0) return;
    const u = units[best]!;
    gap[best] = 0;
    if (!batch.offer(u)) continue;
    gap.forEach((g, i) => { gap[i] = Math.min(g, sqDist(units[i]!, u)); });
  }
}
