// rx init: a commented sweep.ts for this repository that dry-runs at once. Never overwrites.
import { writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import { repoContext } from '../git/repo.ts';
import { discover } from '../init/discover.ts';
import { renderSweep } from '../init/render.ts';
import { makeOut, type Out } from '../ui.ts';

export interface InitOptions {
  cwd: string;
  /** A Host alias of ~/.ssh/config to submit to. */
  host?: string;
  /** Where to write (default: sweep.ts at the top of the repository). */
  out?: string;
  json?: boolean;
  output?: Out;
}

export interface InitResult {
  file: string;
  name: string;
  branch: string;
  patched: string | null;
  dimensions: Record<string, unknown[]>;
  configs: { path: string; kind: string; keys: number }[];
  script: string | null;
  origin: string | null;
  host: string | null;
  todo: string[];
}

export async function init(opts: InitOptions): Promise<InitResult> {
  const out = opts.output ?? makeOut({ json: opts.json });
  const ctx = await repoContext(opts.cwd);
  const file = opts.out !== undefined ? resolve(opts.cwd, opts.out) : resolve(ctx.top, 'sweep.ts');
  if (opts.host !== undefined && !/^[A-Za-z0-9._-]+$/.test(opts.host)) throw new ConfigError(`--host: ${JSON.stringify(opts.host)} is not a Host alias`, { hint: 'Name a Host of ~/.ssh/config, e.g. --host mycluster.' });
  const d = await discover(ctx.top);
  if (opts.host !== undefined && !d.sshHosts.includes(opts.host)) out.warn(`rx: --host ${opts.host} is not a Host of ~/.ssh/config; written as given`);
  const r = renderSweep(d, { host: opts.host ?? null, date: new Date().toISOString().slice(0, 10) });
  try {
    // 'wx': created only if absent, in one step — an existing file is never replaced.
    writeFileSync(file, r.text, { flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new ConfigError(`${relative(opts.cwd, file) || file} exists; rx init never overwrites a file`, { hint: 'Write to another name: rx init --out sweep2.ts' });
    throw e;
  }
  const res: InitResult = {
    file, name: r.name, branch: d.branch, patched: r.patched, dimensions: r.dimensions,
    configs: d.configs.map(c => ({ path: c.path, kind: c.kind, keys: c.keys.length })),
    script: d.script, origin: d.origin, host: r.host, todo: r.todo,
  };
  if (opts.json) process.stdout.write(JSON.stringify(res, null, 2) + '\n');
  else printInit(res, opts.cwd, out);
  return res;
}

function printInit(r: InitResult, cwd: string, out: Out): void {
  const rel = relative(cwd, r.file) || r.file;
  out.info(`wrote ${out.color.bold(rel)}: sweep '${r.name}' on ${r.branch}${r.patched ? `, varying ${Object.keys(r.dimensions).join(', ')} in ${r.patched}` : ''}${r.host ? `, submitting to ${r.host}` : ', running on this machine'}`);
  for (const c of r.configs.slice(0, 6)) out.info(`  found ${c.path} (${c.kind}, ${c.keys} keys)`);
  if (r.script) out.info(`  batch script ${r.script}`);
  for (const t of r.todo) out.info(out.color.yellow(`  todo: ${t}`));
  out.info(`next: rx submit --sweep ${rel} --dry-run`);
}
