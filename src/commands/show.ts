// rx show <sha|dir>: which point a commit or run directory is, its params, and its patch.
import { createTwoFilesPatch } from 'diff';
import { ConfigError } from '../errors.ts';
import { repoContext } from '../git/repo.ts';
import { Ledger, listSweeps, sweepDir } from '../ledger/ledger.ts';
import { git, verbs } from '../git/verbs.ts';
import { toStatus, type ExperimentStatus } from './status.ts';
import { makeOut, type Out } from '../ui.ts';

export interface ShowOptions {
  cwd: string;
  what: string;
  json?: boolean;
  out?: Out;
}

export interface ShowResult extends ExperimentStatus {
  base: string;
  diff: string;
}

export async function show(opts: ShowOptions): Promise<ShowResult> {
  const out = opts.out ?? makeOut({ json: opts.json });
  const ctx = await repoContext(opts.cwd);
  const q = opts.what.replace(/\/+$/, '');
  if (!q) throw new ConfigError('rx show: give a commit sha (at least 4 hex digits) or a run directory');
  const matches: { sweep: string; rec: ExperimentStatus; base: string }[] = [];
  for (const name of listSweeps(ctx.rxDir)) {
    const ledger = new Ledger(sweepDir(ctx.rxDir, name), name);
    for (const p of ledger.state().points.values()) {
      const bySha = /^[0-9a-f]{4,40}$/.test(q) && p.sha?.startsWith(q);
      const byDir = p.dir && (p.dir === q || p.dir.split('/').pop() === q.split('/').pop());
      if (bySha || byDir) matches.push({ sweep: name, rec: toStatus(name, p), base: p.base });
    }
  }
  if (matches.length === 0) throw new ConfigError(`no experiment with commit or run directory '${opts.what}'`, { hint: 'rx status lists every experiment with its directory.' });
  if (matches.length > 1) throw new ConfigError(`'${opts.what}' matches ${matches.length} experiments (${matches.map(m => `${m.sweep}/${m.rec.key}`).join(', ')})`, { hint: 'Give more digits of the sha or the full directory name.' });
  const { rec, base } = matches[0]!;
  const sha = rec.sha!;
  const files = await git(ctx.top, verbs.diffNames(base, sha));
  const specs = files.flatMap(f => [`${base}:${f.path}`, `${sha}:${f.path}`]);
  const blobs = specs.length ? await git(ctx.top, verbs.readBlobs(specs)) : [];
  const diff = files.map((f, i) => createTwoFilesPatch(`a/${f.path}`, `b/${f.path}`, blobs[2 * i]?.toString('utf8') ?? '', blobs[2 * i + 1]?.toString('utf8') ?? '', base.slice(0, 12), sha.slice(0, 12))).join('');
  const res: ShowResult = { ...rec, base, diff };
  if (opts.json) process.stdout.write(JSON.stringify(res, null, 2) + '\n');
  else {
    out.info(`sweep   ${rec.sweep} (point ${rec.key})`);
    out.info(`commit  ${sha}`);
    out.info(`base    ${base}`);
    out.info(`dir     ${rec.dir ?? '-'}`);
    out.info(`job     ${rec.jobId ?? '-'}  ${rec.state}${rec.exitCode === null ? '' : ` (exit ${rec.exitCode})`}${rec.attempts > 1 ? `  attempts ${rec.attempts}` : ''}`);
    out.info('params');
    for (const [k, v] of Object.entries(rec.params)) out.info(`  ${k} = ${JSON.stringify(v)}`);
    out.info('');
    out.info(diff.trimEnd());
  }
  return res;
}
