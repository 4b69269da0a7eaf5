// The sweep file: what users write. Loading (ts/js/json/yaml) and validation with messages that
// name the offending key.
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { isAlias, isMap, isScalar, parse as parseYaml, parseDocument } from 'yaml';
import { ConfigError } from '../errors.ts';
import { validateSweepName } from './names.ts';
import { checkParamKeys, isIntegerLike, WRITTEN_ORDER, type DimensionPairs, type Params } from './points.ts';
import { planPoints, type Plan, type PlanOptions, type PlannedPoint } from './plan.ts';
import { canonicalJson } from './hash.ts';
import type { PointsSpec, ValuesSpec } from './space.ts';
import type { SamplerSpec } from './samplers.ts';
import { validateReducer, type Reducer, type ReduceFn } from '../results/reduce.ts';
import { isParserName, parserFor, parserNames, type ParserName } from '../../parsers/index.ts';
import { validateFrom, type FromSpec } from './stages.ts';
import { validateAfter, type AfterSpec } from './chains.ts';
import type { ProposeContext } from '../strategies/propose.ts';
import { validatePatcher, type PatcherSpec } from './patch.ts';
import { validateRemote, type RemoteConfig, type RemoteSpec } from '../remote/config.ts';

export { validateRemote, type RemoteConfig, type RemoteSpec };
import { isObject } from '../json.ts';

export interface SweepDefinition {
  name: string;
  branch: string;
  base_config?: Params;
  /**
   * Grid: { param: [values], 'p,q': [[p1, q1], ...] }, the last key varying fastest; or a list of
   * [name, values] pairs in that order (needed in TS/JS for integer-like names such as '2').
   */
  dimensions?: Record<string, readonly unknown[] | ValuesSpec> | DimensionPairs;
  /** An explicit point list (plist/grid/zip/star, or written out); instead of dimensions. */
  points?: PointsSpec;
  /** Samples (random, lhs, sobol), combined with dimensions/points as a product. */
  sampler?: SamplerSpec;
  /** Most points a plan may have (default 100 000). */
  maxPoints?: number;
  patcher: PatcherSpec;
  remote?: RemoteConfig;
  /** Names experiments in `rx link`: a template like 'm{initial_mass}_z{initial_z}' or a function of the config. */
  namer?: string | ((config: Params) => string);
  /** What `rx dataset` reads from each run: files, their parser, and the per-run reduction. */
  parse?: ParseEntry | ParseEntry[];
  /** Nested stage: take points from an earlier sweep's dataset rows (× this sweep's own points). */
  from?: FromSpec;
  /** Per-point chain: one point per point of an earlier sweep (× own points), each waiting for its source's job. */
  after?: AfterSpec;
  /** Adaptive sweep (`rx run`): the most points it runs in all, the initial design included. */
  budget?: number;
  /** Adaptive sweep: points asked of `propose` per round. */
  batch?: number;
  /** Adaptive sweep: the next points from the dataset rows so far (e.g. `strategies.boundary(...)`). */
  propose?: ProposeFn;
}

/** What `propose` of an adaptive sweep is: a strategy (src/strategies/) or your own function. */
export type ProposeFn = (ctx: ProposeContext) => Params[] | Promise<Params[]>;

/** One output file of each run, parsed and reduced to result columns by `rx dataset`. */
export interface ParseEntry {
  /** Path inside the run directory, e.g. 'LOGS/history.data' (a glob matching one file is fine). */
  file: string;
  /** Parser name (default: chosen from the file name, e.g. history.data → mesaHistory). */
  parser?: ParserName;
  /** Built-in reducer(s) or a function (parsed, { params, file }) => { column: value }. */
  reduce?: Reducer | ReduceFn;
  /** Prefix for this entry's result columns (when several files have the same column names). */
  prefix?: string;
}

/** Typed helper for sweep files: `export default defineSweep({ ... })`. */
export function defineSweep<T extends SweepDefinition>(sweep: T): T {
  return sweep;
}

export interface LoadedSweep {
  def: SweepDefinition;
  file: string;
  remote: RemoteSpec;
  plan: Plan;
  points: PlannedPoint[];
}


export async function loadSweepFile(file: string, cwd: string): Promise<unknown> {
  const path = resolve(cwd, file);
  try {
    if (!(await stat(path)).isFile()) throw new Error('not a file');
  } catch {
    throw new ConfigError(`sweep file not found: ${path}`, { hint: 'Pass the sweep file with --sweep, e.g. rx submit --sweep sweep.ts' });
  }
  const ext = extname(path).toLowerCase();
  try {
    if (ext === '.json') return keepWrittenOrder(await readFile(path, 'utf8'), JSON.parse, jsonDimensionKeys);
    if (ext === '.yaml' || ext === '.yml') return keepWrittenOrder(await readFile(path, 'utf8'), text => parseYaml(text), yamlDimensionKeys);
    if (['.ts', '.mts', '.js', '.mjs', '.cts', '.cjs'].includes(ext)) {
      const { importSweepModule } = await import('./load-code.ts');
      const mod = await importSweepModule(path);
      if (mod.default === undefined) throw new ConfigError(`${file}: the sweep file has no default export`, { hint: 'End it with `export default defineSweep({ ... })`.' });
      // A CommonJS sweep file compiled by tsx may nest its export one level deeper.
      const d = mod.default;
      return isObject(d) && 'default' in d && !('name' in d) ? d.default : d;
    }
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`${file}: cannot load the sweep file: ${(e as Error).message}`, { cause: e });
  }
  throw new ConfigError(`${file}: unknown sweep file type '${ext}'`, { hint: 'Use .ts, .js, .json or .yaml.' });
}

/**
 * Parses a YAML/JSON sweep file and, when its `dimensions` mapping has an integer-like key (which a
 * JavaScript object lists first, whatever the order written), records the written key order on
 * that object (WRITTEN_ORDER), so the dimensions vary in the order written.
 */
function keepWrittenOrder(text: string, parse: (text: string) => unknown, keys: (text: string) => string[] | undefined): unknown {
  const value = parse(text);
  const dims = isObject(value) ? value.dimensions : undefined;
  if (isObject(dims) && Object.keys(dims).length > 1 && Object.keys(dims).some(isIntegerLike)) {
    const order = keys(text);
    if (order) (dims as { [WRITTEN_ORDER]?: string[] })[WRITTEN_ORDER] = [...new Set(order)];
  }
  return value;
}

/** The keys of the top-level `dimensions` mapping of a YAML document, in document order. */
function yamlDimensionKeys(text: string): string[] | undefined {
  const doc = parseDocument(text);
  if (!isMap(doc.contents)) return undefined;
  const pair = doc.contents.items.findLast(p => isScalar(p.key) && p.key.value === 'dimensions');
  let node: unknown = pair?.value;
  if (isAlias(node)) node = node.resolve(doc);
  if (!isMap(node)) return undefined;
  const keys = node.items.map(p => (isScalar(p.key) && p.key.value !== null && typeof p.key.value !== 'object' ? String(p.key.value) : undefined));
  return keys.every(k => k !== undefined) ? (keys as string[]) : undefined;
}

/** The keys of the top-level "dimensions" object of a JSON text (already parsed once: valid), in text order. */
function jsonDimensionKeys(text: string): string[] | undefined {
  let i = 0;
  const ws = () => { while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++; };
  const str = (): string => {
    const start = i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    return JSON.parse(text.slice(start, ++i)) as string;
  };
  // Calls `member(key)` at each member's value (which it must consume), or skips each element.
  const collection = (member?: (key: string) => void): void => {
    const close = text[i++] === '{' ? '}' : ']';
    ws();
    if (text[i] === close) { i++; return; }
    for (;;) {
      ws();
      if (close === '}') {
        const key = str();
        ws();
        i++; // ':'
        ws();
        if (member) member(key);
        else value();
      } else value();
      ws();
      if (text[i++] !== ',') return;
    }
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '"') str();
    else if (c === '{' || c === '[') collection();
    else while (i < text.length && !',}] \t\n\r'.includes(text[i]!)) i++;
  };
  try {
    ws();
    if (text[i] !== '{') return undefined;
    let found: string[] | undefined;
    collection(key => {
      if (key !== 'dimensions' || text[i] !== '{') return value();
      const keys: string[] = [];
      collection(k => { keys.push(k); value(); });
      found = keys;
    });
    return found;
  } catch {
    return undefined;
  }
}

const SWEEP_KEYS = new Set(['name', 'branch', 'base_config', 'dimensions', 'points', 'sampler', 'maxPoints', 'patcher', 'remote', 'namer', 'parse', 'from', 'after', 'budget', 'batch', 'propose']);

/** A sweep file checked key by key, its points not planned yet. */
export type CheckedSweep = Omit<LoadedSweep, 'plan' | 'points'>;

/** Validates a loaded sweep object and expands its points. Throws ConfigError naming the key. */
export function validateSweep(raw: unknown, file: string, planOpts: PlanOptions = {}): LoadedSweep {
  return planSweep(checkSweep(raw, file), planOpts);
}

/** Checks every key of a sweep object (ConfigError naming the key); the points come from planSweep. */
export function checkSweep(raw: unknown, file: string): CheckedSweep {
  if (!isObject(raw)) throw new ConfigError(`${file}: the sweep must be an object (export default defineSweep({...}))`);
  for (const k of Object.keys(raw)) if (!SWEEP_KEYS.has(k)) throw new ConfigError(`${file}: unknown key '${k}'; known: ${[...SWEEP_KEYS].join(', ')}`);
  const name = validateSweepName(raw.name);
  if (typeof raw.branch !== 'string' || raw.branch === '' || raw.branch.startsWith('-')) throw new ConfigError(`branch: expected the base branch, tag or commit sha, got ${JSON.stringify(raw.branch)}`);
  const base = raw.base_config ?? {};
  if (!isObject(base)) throw new ConfigError('base_config: expected an object of parameter values');
  checkParamKeys(base, 'base_config');
  if (raw.patcher === undefined) throw new ConfigError("patcher: required, e.g. { type: 'mesa', file: 'inlist_project' }");
  const patcher = validatePatcher(raw.patcher);
  if (raw.parse !== undefined) validateParse(raw.parse);
  if (raw.from !== undefined) validateFrom(raw.from, name);
  if (raw.after !== undefined) {
    validateAfter(raw.after, name);
    if (raw.from !== undefined) throw new ConfigError('after: a sweep takes its points either from an earlier sweep\'s dataset (from:) or per point after it (after:), not both');
    if (raw.propose !== undefined) throw new ConfigError('after: an adaptive sweep (propose) cannot be chained after another sweep');
  }
  checkAdaptive(raw);
  if (raw.namer !== undefined && typeof raw.namer !== 'string' && typeof raw.namer !== 'function') throw new ConfigError("namer: expected a template like 'm{initial_mass}_z{initial_z}' or a function (config) => string");
  const remote = validateRemote(raw.remote);
  for (const [k, v] of Object.entries(base)) checkValue(v, `base_config.${k}`);
  checkListedValues(raw.dimensions, 'dimensions');
  checkListedValues(raw.points, 'points');
  const def = { ...(raw as unknown as SweepDefinition), name, patcher, remote, ...(raw.after !== undefined ? { after: validateAfter(raw.after, name) } : {}) };
  return { def, file, remote };
}

/**
 * `budget`, `batch` and `propose` come together: an adaptive sweep. Its initial design (dimensions,
 * points, sampler) is optional, and it cannot be a nested stage (its points come from `propose`).
 */
function checkAdaptive(raw: Record<string, unknown>): void {
  const given = (['budget', 'batch', 'propose'] as const).filter(k => raw[k] !== undefined);
  if (!given.length) return;
  const example = 'e.g. budget: 40, batch: 4, propose: strategies.boundary({ result: \'engulfed\', bounds: { m: [0.8, 3] } })';
  if (given.length < 3) throw new ConfigError(`${given.join(', ')}: an adaptive sweep needs budget, batch and propose together`, { hint: example });
  if (typeof raw.propose !== 'function') throw new ConfigError('propose: expected a function ({ rows, round, budgetLeft, batch }) => points, e.g. strategies.boundary({...}) (so the sweep file must be .ts or .js)', { hint: example });
  for (const k of ['budget', 'batch'] as const) {
    const v = raw[k];
    if (!Number.isSafeInteger(v) || (v as number) < 1) throw new ConfigError(`${k}: expected a whole number ≥ 1, got ${JSON.stringify(v)}`, { hint: example });
  }
  if (raw.from !== undefined) throw new ConfigError('from: an adaptive sweep (propose) cannot be a nested stage', { hint: 'Make the adaptive sweep its own sweep; a later stage can take its points with from: { sweep }.' });
}

/** An adaptive sweep without dimensions, points or sampler: its first points all come from `propose`. */
export function noInitialDesign(def: SweepDefinition): boolean {
  return def.propose !== undefined && def.dimensions === undefined && def.points === undefined && def.sampler === undefined;
}

/** Plans a checked sweep's points (samples drawn so far and --extend in planOpts). */
export function planSweep(sweep: CheckedSweep, planOpts: PlanOptions = {}): LoadedSweep {
  // Without a design the plan would be the base config alone: an adaptive sweep starts from none.
  if (noInitialDesign(sweep.def)) return { ...sweep, plan: { points: [], duplicates: 0, warnings: [] }, points: [] };
  const plan = planPoints(sweep.def, planOpts);
  for (const p of plan.points) {
    for (const k in p.varied) {
      // The message names the point; written only for a value that fails (not 100 000 times).
      try { checkValue(p.varied[k], ''); } catch { checkValue(p.varied[k], `the value of '${k}' in point ${canonicalJson(p.varied)}`); }
    }
  }
  return { ...sweep, plan, points: plan.points };
}

/**
 * Values written out in lists (`dimensions: { m: [1, 2] }`, `points: [{…}]`) are checked before
 * planning hashes them, for what would crash the hash (a function, a symbol, a circular object): a
 * ConfigError naming the place. Everything else about values is checked once they are planned.
 */
function checkListedValues(spec: unknown, where: string): void {
  const each = (vs: unknown, at: string) => Array.isArray(vs) && vs.forEach((v, i) => checkHashable(v, `${at}[${i}]`));
  if (Array.isArray(spec)) {
    spec.forEach((v, i) => {
      if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string') each(v[1], `${where}.${v[0]}`);
      else if (isObject(v)) for (const [k, x] of Object.entries(v)) checkHashable(x, `${where}[${i}].${k}`);
    });
  } else if (isObject(spec)) for (const [k, v] of Object.entries(spec)) each(v, `${where}.${k}`);
}

function checkHashable(v: unknown, where: string, inside: object[] = []): void {
  if (typeof v === 'function' || typeof v === 'symbol') throw new ConfigError(`${where}: a parameter value must be a string, number, boolean, null, list or plain object, not ${typeof v}`);
  if (v === null || typeof v !== 'object') return;
  if (inside.includes(v)) throw new ConfigError(`${where}: the value contains itself (a circular object); parameter values must be plain JSON data`);
  for (const x of Object.values(v)) checkHashable(x, where, [...inside, v]);
}

/** Checks one parameter value: only what JSON holds (finite numbers, plain objects); ConfigError naming `where`. */
export function checkValue(v: unknown, where: string, inside: object[] = []): void {
  // Only what JSON holds: the hash, the ledger and .rx/point.json must all read the same value back.
  if (typeof v === 'number' && !Number.isFinite(v)) {
    throw new ConfigError(`${where}: ${v} is not a finite number; JSON (the ledger, .rx/point.json) cannot hold it, so rx does not take it as a parameter value`, { hint: `If your code reads it, write it as a string (e.g. '${v}'), or use a finite stand-in such as ${v === -Infinity ? '-1e99' : '1e99'}.` });
  }
  const plain = v === null || ['string', 'number', 'boolean'].includes(typeof v) || Array.isArray(v) || (isObject(v) && Object.getPrototypeOf(v) === Object.prototype);
  if (!plain) throw new ConfigError(`${where}: a parameter value must be a string, number, boolean, null, list or plain object, not ${v instanceof Date ? 'a Date (write it as an ISO string)' : typeof v === 'bigint' ? 'a BigInt (write it as a number or string)' : typeof v}`);
  if (v !== null && typeof v === 'object') {
    if (inside.includes(v)) throw new ConfigError(`${where}: the value contains itself (a circular object); parameter values must be plain JSON data`);
    inside = [...inside, v];
  }
  if (Array.isArray(v)) v.forEach(x => checkValue(x, where, inside));
  else if (isObject(v)) {
    checkParamKeys(v, where);
    Object.values(v).forEach(x => checkValue(x, where, inside));
  }
}

export async function loadSweep(file: string, cwd: string, planOpts: PlanOptions = {}): Promise<LoadedSweep> {
  return validateSweep(await loadSweepFile(file, cwd), file, planOpts);
}

/** The sweep's parse entries as a list, checked: file paths, parser names, reducers. */
export function validateParse(raw: unknown): ParseEntry[] {
  const list = Array.isArray(raw) ? raw : [raw];
  return list.map((e, i) => {
    const where = Array.isArray(raw) ? `parse[${i}]` : 'parse';
    if (!isObject(e)) throw new ConfigError(`${where}: expected { file, parser?, reduce?, prefix? }`);
    for (const k of Object.keys(e)) if (!['file', 'parser', 'reduce', 'prefix'].includes(k)) throw new ConfigError(`${where}.${k}: unknown key; known: file, parser, reduce, prefix`);
    if (typeof e.file !== 'string' || !e.file || e.file.startsWith('/') || e.file.split('/').includes('..')) throw new ConfigError(`${where}.file: expected a path inside the run directory, e.g. 'LOGS/history.data'`);
    const parser = e.parser ?? parserFor(e.file);
    if (parser === undefined) throw new ConfigError(`${where}.parser: no parser is known for '${e.file}'; name one: ${parserNames.join(', ')}`);
    if (!isParserName(parser)) throw new ConfigError(`${where}.parser: unknown parser ${JSON.stringify(parser)}; known: ${parserNames.join(', ')}`);
    if (e.reduce !== undefined && typeof e.reduce !== 'function') validateReducer(e.reduce, `${where}.reduce`);
    if (e.prefix !== undefined && (typeof e.prefix !== 'string' || !/^[A-Za-z0-9_.-]*$/.test(e.prefix))) throw new ConfigError(`${where}.prefix: letters, digits, '_', '.', '-' only`);
    return { ...(e as unknown as ParseEntry), parser };
  });
}
