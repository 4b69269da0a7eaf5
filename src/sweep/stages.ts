// Nested stages (enchanted-surrogates' run orders): a sweep whose points are the product of an
// earlier sweep's dataset rows (its params and parsed results) with its own points, so code 2 is
// driven by code 1's outputs.
import { ConfigError } from '../errors.ts';
import { paramHash } from './hash.ts';
import { validateSweepName } from './names.ts';
import { checkName, checkParamKeys, checkPlanMemory, type Params } from './points.ts';
import type { PlannedPoint } from './plan.ts';
import type { Dataset } from '../results/dataset.ts';
import { isObject } from '../json.ts';

type Cond = { eq?: unknown; ne?: unknown; gt?: number; gte?: number; lt?: number; lte?: number; in?: unknown[] };

export interface FromSpec {
  /** The earlier sweep (in this repository). */
  sweep: string;
  /** Rows to take: column → value (equality) or { eq, ne, gt, gte, lt, lte, in }. Default: { state: 'COMPLETED' }. */
  where?: Record<string, unknown>;
  /** Columns that become this sweep's parameters: a list, or { newName: column }. Default: the earlier sweep's params and results. */
  select?: string[] | Record<string, string>;
}

/** Where a staged point came from; written to the ledger and `.rx/point.json`. */
export interface StageOrigin {
  sweep: string;
  key: string;
  sha: string | null;
}

const OPS = new Set(['eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in']);

export function validateFrom(raw: unknown, own: string): FromSpec {
  if (!isObject(raw)) throw new ConfigError("from: expected { sweep: 'stage1', where?, select? }");
  for (const k of Object.keys(raw)) if (!['sweep', 'where', 'select'].includes(k)) throw new ConfigError(`from.${k}: unknown key; known: sweep, where, select`);
  const sweep = validateSweepName(raw.sweep, 'from.sweep');
  if (sweep === own) throw new ConfigError(`from.sweep: a sweep cannot take its points from itself ('${own}')`);
  if (raw.where !== undefined) {
    if (!isObject(raw.where)) throw new ConfigError('from.where: expected { column: value | { gt, gte, lt, lte, eq, ne, in } }');
    for (const [c, v] of Object.entries(raw.where)) {
      if (isObject(v)) for (const op of Object.keys(v)) if (!OPS.has(op)) throw new ConfigError(`from.where.${c}.${op}: unknown comparison; use eq, ne, gt, gte, lt, lte or in`);
    }
  }
  const sel = raw.select;
  if (sel !== undefined && !(Array.isArray(sel) && sel.every(x => typeof x === 'string')) && !(isObject(sel) && Object.values(sel).every(x => typeof x === 'string'))) {
    throw new ConfigError("from.select: expected a list of column names, or { newName: 'column' }");
  }
  if (Array.isArray(sel)) for (const c of sel) checkName(c, 'from.select');
  else if (isObject(sel)) checkParamKeys(sel, 'from.select');
  return raw as unknown as FromSpec;
}

function matches(v: unknown, cond: unknown): boolean {
  if (!isObject(cond)) return v === cond || (typeof v === 'number' && typeof cond === 'number' && v === cond);
  const c = cond as Cond;
  const n = typeof v === 'number' ? v : NaN;
  return (!('eq' in c) || v === c.eq) && (!('ne' in c) || v !== c.ne)
    && (c.gt === undefined || n > c.gt) && (c.gte === undefined || n >= c.gte)
    && (c.lt === undefined || n < c.lt) && (c.lte === undefined || n <= c.lte)
    && (c.in === undefined || c.in.includes(v));
}

/**
 * The staged points: every selected row of the earlier sweep's dataset × every own point.
 * Config = base_config, overlaid with the row's selected values, overlaid with the own point's.
 * Rows whose selected values are missing (null) or not finite are left out and counted: a
 * parameter is never made of a run's missing output. `recorded` is the column selection of the
 * stage's first submission: without an explicit `select`, later submissions keep it, so a result
 * column appearing later never changes the parameters (and hashes) of rows already submitted.
 */
export function stagePoints(from: FromSpec, table: Dataset, own: PlannedPoint[], base: Params, recorded?: [string, string][]): { points: (PlannedPoint & { from: StageOrigin })[]; dropped: number; select: [string, string][] } {
  const where = from.where ?? { state: 'COMPLETED' };
  const hint = { hint: `Result columns come from stage 1's parse entries and its fetched outputs; a dry run uses only what is already fetched (rx dataset --sweep ${from.sweep} fetches them).` };
  for (const c of Object.keys(where)) if (!table.columns.includes(c)) throw new ConfigError(`from.where.${c}: sweep '${from.sweep}' has no such column; columns: ${table.columns.join(', ')}`, hint);
  const pairs: [string, string][] = from.select !== undefined
    ? Array.isArray(from.select) ? from.select.map(c => [c, c]) : Object.entries(from.select)
    : recorded ?? table.columns.filter(c => table.kinds[c] === 'param' || table.kinds[c] === 'result').map(c => [c, c]);
  // Each name becomes a parameter: never one JavaScript objects treat specially (a column of stage 1's results could be one).
  for (const [name] of pairs) checkName(name, from.select !== undefined ? 'from.select' : `from: sweep '${from.sweep}' column`);
  for (const [, c] of pairs) if (!table.columns.includes(c)) throw new ConfigError(`from.select: sweep '${from.sweep}' has no column '${c}'; columns: ${table.columns.join(', ')}`, hint);
  const rows = table.rows.filter(r => Object.entries(where).every(([c, cond]) => matches(r[c], cond)));
  checkPlanMemory(rows.length * own.length, Object.keys(base).length + pairs.length + Object.keys(own[0]?.varied ?? {}).length, `from (${rows.length} rows of '${from.sweep}' × ${own.length} points)`);
  const out: (PlannedPoint & { from: StageOrigin })[] = [];
  let dropped = 0;
  for (const r of rows) {
    const picked: Params = {};
    for (const [name, c] of pairs) picked[name] = r[c] ?? null;
    if (Object.values(picked).some(v => v === null || (typeof v === 'number' && !Number.isFinite(v)))) {
      dropped++;
      continue;
    }
    for (const p of own) {
      const varied = Object.assign({}, picked, p.varied);
      const params = Object.assign({}, base, varied);
      out.push({ params, varied, hash: paramHash(params), origin: p.origin, from: { sweep: from.sweep, key: String(r.key), sha: (r.sha as string | null) ?? null } });
    }
  }
  return { points: out, dropped, select: pairs };
}
