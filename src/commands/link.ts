// rx link: a symlink view of fetched files named by experiment, `<DIR>/<name>_<file>` → the
// fetched file (src/results/link.ts; names from src/results/namers.ts).
import { relative } from 'node:path';
import { repoContext } from '../git/repo.ts';
import { linkFiles, type LinkEntry, type LinkRequest, type LinkResult } from '../results/link.ts';
import { makeOut, type Out } from '../ui.ts';

export type { LinkEntry, LinkResult, LinkSweepResult } from '../results/link.ts';

export interface LinkOptions extends LinkRequest {
  json?: boolean;
  out?: Out;
}

export async function link(opts: LinkOptions): Promise<LinkResult> {
  const out = opts.out ?? makeOut({ json: opts.json });
  const ctx = await repoContext(opts.cwd);
  const result = await linkFiles(ctx, { cwd: opts.cwd, sweep: opts.sweep, files: opts.files, to: opts.to, from: opts.from, namer: opts.namer, dedupe: opts.dedupe, allAttempts: opts.allAttempts });
  if (opts.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else printLink(result, opts.cwd, out);
  for (const w of result.warnings) out.warn(`rx: ${w}`);
  return result;
}

function printLink(r: LinkResult, cwd: string, out: Out): void {
  if (!r.sweeps.length) {
    out.info('nothing to link: rx fetch <file> first');
    return;
  }
  const rel = (p: string) => relative(cwd, p) || '.';
  for (const s of r.sweeps) {
    const ls = r.links.filter(l => l.sweep === s.sweep && l.link.startsWith(s.dir + '/'));
    const count = (st: LinkEntry['status']) => ls.filter(l => l.status === st).length;
    out.info(`${out.color.bold(s.sweep)}: ${s.links} link${s.links === 1 ? '' : 's'} for ${s.experiments - s.withoutFiles}/${s.experiments} experiments in ${rel(s.dir)}/  (from ${rel(s.from)}/)`);
    out.info(`  created ${count('created')}  updated ${count('updated')}  unchanged ${count('unchanged')}  removed ${r.removed.filter(p => p.startsWith(s.dir + '/')).length}${s.withoutFiles ? `  (${s.withoutFiles} experiment${s.withoutFiles === 1 ? '' : 's'} without fetched files)` : ''}`);
    if (s.config) out.info(`  config ${rel(s.config)}`);
  }
}
