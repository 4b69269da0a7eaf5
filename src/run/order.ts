// The order `rx run` drives several sweep files in: a nested stage (`from: { sweep }`) or a chained
// sweep (`after: { sweep }`) after the sweep it takes its points from, when that one is driven too.
// Pure.
import { ConfigError } from '../errors.ts';

export interface Staged {
  name: string;
  /** The sweep this one takes its points from (`from.sweep`), if any. */
  from?: string;
  /** The sweep this one is chained after, point by point (`after.sweep`), if any. */
  after?: string;
}

/** The sweeps in an order where each source comes before its stages (otherwise as given). */
export function stageOrder<T extends Staged>(sweeps: readonly T[]): T[] {
  const byName = new Map<string, T>();
  for (const s of sweeps) {
    if (byName.has(s.name)) throw new ConfigError(`--sweep: two files define sweep '${s.name}'`, { hint: 'Give each sweep file once.' });
    byName.set(s.name, s);
  }
  const done = new Set<string>();
  const order: T[] = [];
  const visit = (s: T, path: string[]) => {
    if (done.has(s.name)) return;
    if (path.includes(s.name)) throw new ConfigError(`from.sweep: the stages ${[...path, s.name].join(' → ')} take their points from each other`, { hint: 'A stage must come from an earlier sweep.' });
    const name = s.from ?? s.after;
    const source = name === undefined ? undefined : byName.get(name);
    if (source) visit(source, [...path, s.name]);
    done.add(s.name);
    order.push(s);
  };
  for (const s of sweeps) visit(s, []);
  return order;
}
