// rx diff A B: the unified diff between two runs' commits (what differs in their code and config).
import { ConfigError } from '../errors.ts';
import { repoContext } from '../git/repo.ts';
import { experimentDiff } from '../results/experiments.ts';
import { resolveExperiment } from '../results/lookup.ts';
import { makeOut, type Out } from '../ui.ts';

export interface DiffOptions {
  cwd: string;
  a: string;
  b: string;
  json?: boolean;
  out?: Out;
}

export interface DiffSide {
  sweep: string;
  key: string;
  sha: string;
  params: Record<string, unknown>;
}

export interface DiffResult {
  a: DiffSide;
  b: DiffSide;
  /** Parameters whose values differ: name → [a's, b's] (undefined: not set on that side). */
  params: Record<string, [unknown, unknown]>;
  diff: string;
}

export async function diff(opts: DiffOptions): Promise<DiffResult> {
  const out = opts.out ?? makeOut({ json: opts.json });
  const ctx = await repoContext(opts.cwd);
  const [a, b] = [opts.a, opts.b].map(w => {
    const f = resolveExperiment(ctx, w, opts.cwd);
    if (!f.point.sha) throw new ConfigError(`${f.sweep} point ${f.point.key} has no commit yet`, { hint: 'Finish its submission first: rx submit --sweep <its sweep file>.' });
    return { sweep: f.sweep, key: f.point.key, sha: f.point.sha, params: f.point.params } as DiffSide;
  }) as [DiffSide, DiffSide];
  const params: DiffResult['params'] = {};
  for (const k of new Set([...Object.keys(a.params), ...Object.keys(b.params)])) {
    if (JSON.stringify(a.params[k]) !== JSON.stringify(b.params[k])) params[k] = [a.params[k], b.params[k]];
  }
  const res: DiffResult = { a, b, params, diff: a.sha === b.sha ? '' : await experimentDiff(ctx, a.sha, b.sha) };
  if (opts.json) process.stdout.write(JSON.stringify(res, null, 2) + '\n');
  else printDiff(res, out);
  return res;
}

function printDiff(r: DiffResult, out: Out): void {
  const side = (s: DiffSide) => `${s.sweep} point ${s.key} (${s.sha.slice(0, 12)})`;
  out.info(`${out.color.red('---')} ${side(r.a)}`);
  out.info(`${out.color.green('+++')} ${side(r.b)}`);
  const show = (v: unknown) => (v === undefined ? '(unset)' : JSON.stringify(v));
  for (const [k, [x, y]] of Object.entries(r.params)) out.info(`  ${k}: ${show(x)} → ${show(y)}`);
  out.info('');
  out.info(r.diff ? r.diff.trimEnd() : '(same commit: no difference)');
}
