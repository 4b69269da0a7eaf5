// How rx link names an experiment: a template, a namer function (from a file or the sweep file
// recorded at submit), or by default its varied parameters; made safe as a file name.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import type { SweepState } from '../ledger/ledger.ts';
import { hasFunction } from '../ledger/records.ts';
import { loadSweepFile } from '../sweep/definition.ts';

function valueText(v: unknown): string {
  return typeof v === 'string' ? v : v === undefined ? 'undefined' : JSON.stringify(v);
}

/** Default experiment name: the varied parameters, `initial_mass=1.5_initial_z=0.02`. */
export function variedName(varied: Record<string, unknown>, key: string): string {
  const parts = Object.entries(varied).map(([k, v]) => `${k}=${valueText(v)}`);
  return parts.length ? parts.join('_') : `point${key}`;
}

/**
 * A name usable as (the start of) one file name and still readable: `/` and control characters
 * (NUL included) become `%XX`; the length is capped later by fitName with a hash suffix.
 */
export function safeName(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[/\u0000-\u001f\u007f]/g, c => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
}

/** `m{initial_mass}_z{initial_z}` → a function of the config; an unknown parameter is an error. */
export function templateNamer(template: string): (config: Record<string, unknown>) => string {
  if (!/\{[^{}]+\}/.test(template)) throw new ConfigError(`namer ${JSON.stringify(template)}: a template needs at least one {parameter}, e.g. 'm{initial_mass}_z{initial_z}'`, { hint: 'Or give a .ts/.js file exporting a namer function.' });
  return config => template.replace(/\{([^{}]+)\}/g, (_m, k: string) => {
    if (!(k in config)) throw new ConfigError(`namer ${JSON.stringify(template)}: no parameter '${k}' in the config (parameters: ${Object.keys(config).join(', ') || 'none'})`);
    return valueText(config[k]);
  });
}

export type Namer = (config: Record<string, unknown>, info: { sweep: string; key: string; sha: string | null; varied: Record<string, unknown> }) => unknown;

const CODE_FILE = /\.(ts|mts|cts|js|mjs|cjs)$/i;

function namerFrom(mod: unknown, where: string): Namer {
  if (typeof mod === 'function') return mod as Namer;
  const n = mod && typeof mod === 'object' ? (mod as Record<string, unknown>).namer : undefined;
  if (typeof n === 'function') return n as Namer;
  if (typeof n === 'string') return templateNamer(n);
  throw new ConfigError(`${where}: no namer found (expected a default export that is a function, or a sweep with a 'namer' function or template)`);
}

/**
 * The namer for a sweep: `given` (--namer: a template or a code file), else the sweep
 * definition's; null means "the varied parameters". The ledger only knows that the definition's
 * namer was a function, so that function is loaded from the recorded sweep file again.
 */
export async function resolveNamer(given: string | undefined, state: SweepState, cwd: string, top: string): Promise<Namer | null> {
  if (given !== undefined) {
    if (given === '') throw new ConfigError('--namer: empty');
    if (CODE_FILE.test(given)) return namerFrom(await loadSweepFile(given, cwd), given);
    return templateNamer(given);
  }
  const n = state.sweep?.definition.namer;
  const isFunction = state.sweep ? hasFunction(state.sweep, 'namer') : false;
  if (!isFunction && (n === undefined || n === null)) return null;
  if (typeof n === 'string') return templateNamer(n);
  const file = state.sweep!.file;
  const candidates = [resolve(cwd, file), resolve(top, file)];
  const found = candidates.find(f => existsSync(f));
  if (!found) throw new ConfigError(`sweep '${state.name}' names experiments with a namer function in ${file}, which is not found (looked in ${candidates.join(', ')})`, { hint: `Give the sweep file: rx link --sweep ${state.name} --namer path/to/sweep.ts (or a template: --namer 'm{initial_mass}')` });
  return namerFrom(await loadSweepFile(found, cwd), found);
}

/** A point's name from the namer (or its varied parameters), file-name safe; a bad name is an error naming the point. */
export async function experimentName(namer: Namer | null, sweep: string, p: { key: string; sha?: string | null; params: Record<string, unknown>; varied: Record<string, unknown> }): Promise<string> {
  let raw: unknown;
  if (namer) {
    try {
      raw = await namer(p.params, { sweep, key: p.key, sha: p.sha ?? null, varied: p.varied });
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      throw new ConfigError(`sweep '${sweep}' point ${p.key}: the namer failed: ${(e as Error).message}`, { cause: e });
    }
    if (typeof raw !== 'string' && typeof raw !== 'number') throw new ConfigError(`sweep '${sweep}' point ${p.key}: the namer returned ${JSON.stringify(raw)}, not a string`);
  } else raw = variedName(p.varied, p.key);
  const n = safeName(String(raw));
  if (n === '') throw new ConfigError(`sweep '${sweep}' point ${p.key}: the namer returned an empty name`);
  return n;
}
