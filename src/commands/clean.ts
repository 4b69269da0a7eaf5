// rx clean --sweep NAME: remove the sweep's run directories on the target (only rx's own, checked
// against the ledger), their fetched files and links here, and with --refs their refs; the ledger
// record stays (src/results/clean.ts). Asks on a terminal unless --yes; --dry-run lists what would go.
import { createInterface } from 'node:readline/promises';
import { ConfigError } from '../errors.ts';
import { repoContext } from '../git/repo.ts';
import { cleanSweep, parseDuration, type CleanEntry, type CleanResult } from '../results/clean.ts';
import { makeOut, type Out } from '../ui.ts';

export type { CleanEntry, CleanResult } from '../results/clean.ts';

export interface CleanOptions {
  cwd: string;
  sweep?: string;
  failed?: boolean;
  olderThan?: string;
  dryRun?: boolean;
  yes?: boolean;
  refs?: boolean;
  json?: boolean;
  out?: Out;
  /** Whether a person can be asked (default: stdin and stderr are terminals). */
  interactive?: boolean;
}

export async function clean(opts: CleanOptions): Promise<CleanResult> {
  const out = opts.out ?? makeOut({ json: opts.json });
  if (!opts.sweep) throw new ConfigError('rx clean needs --sweep NAME: it removes one sweep\'s run directories', { hint: 'rx sweeps lists them; rx clean --sweep NAME --dry-run shows what would go.' });
  if (opts.olderThan !== undefined) parseDuration(opts.olderThan);
  const interactive = opts.interactive ?? Boolean(process.stdin.isTTY && process.stderr.isTTY);
  // Refused before anything is read or contacted: removing needs a yes from someone.
  if (!opts.dryRun && !opts.yes && !interactive) throw new ConfigError('rx clean removes run directories and there is no terminal to ask on', { hint: 'Pass --yes to remove them, or --dry-run to list what would go.' });
  const ctx = await repoContext(opts.cwd);
  const confirm = opts.dryRun || opts.yes ? undefined : ask;
  const result = await cleanSweep(ctx, { sweep: opts.sweep, failed: opts.failed, olderThan: opts.olderThan, dryRun: opts.dryRun, refs: opts.refs, ...(confirm ? { confirm } : {}) });
  if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else printClean(result, out);
  for (const w of result.warnings) out.warn(`rx: ${w}`);
  return result;
}

/** "Remove 15 run directories (2.3 GB) of sweep X on host? [y/N]" on the terminal. */
async function ask(q: { sweep: string; host: string; dirs: number; kb: number }): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const a = await rl.question(`Remove ${plural(q.dirs, 'run directory', 'run directories')} (${size(q.kb)}) of sweep ${q.sweep} on ${q.host}? [y/N] `);
    return /^y(es)?$/i.test(a.trim());
  } finally {
    rl.close();
  }
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** KiB as people read it: 812 KB, 2.3 GB. */
export function size(kb: number): string {
  const units = ['KB', 'MB', 'GB', 'TB', 'PB'];
  let v = kb, i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i === 0 || v >= 100 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

function printClean(r: CleanResult, out: Out): void {
  const line = (e: CleanEntry, extra = '') => out.info(`  point ${e.key.padEnd(5)} ${e.state.padEnd(10)} ${e.dir ?? '-'}${extra}`);
  if (r.declined) out.info('nothing removed');
  else if (r.dryRun) {
    const kb = r.removed.reduce((n, e) => n + (e.kb ?? 0), 0);
    out.info(`would remove ${plural(r.removed.length, 'run directory', 'run directories')} (${size(kb)}) of sweep ${r.sweep} on ${r.host}${r.gone.length ? `; ${r.gone.length} already gone` : ''}`);
    for (const e of r.removed) line(e, `  ${size(e.kb ?? 0)}`);
  } else {
    out.info(`removed ${plural(r.removed.length, 'run directory', 'run directories')} of sweep ${r.sweep} on ${r.host}${r.gone.length ? ` (${r.gone.length} already gone)` : ''}; ${plural(r.files.length, 'fetched file', 'fetched files')} and ${plural(r.links.length, 'link', 'links')} here${r.refs.deleted.length ? `; ${plural(r.refs.deleted.length, 'ref', 'refs')} deleted` : ''}`);
  }
  for (const e of r.skipped) out.warn(`  left point ${e.key}: ${e.why}`);
  for (const e of r.failed) out.warn(`  ${out.color.red(`could not remove point ${e.key}'s run directory`)}: ${e.why}`);
  if (r.refs.refused.length) out.warn(`  origin refused to delete ${plural(r.refs.refused.length, 'ref', 'refs')} (${r.refs.refused.slice(0, 3).join(', ')}${r.refs.refused.length > 3 ? ', …' : ''}); they stay here too, and rx clean --refs tries again`);
}
