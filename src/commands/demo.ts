// rx demo: the quickstart sweep end to end on the embedded default, in a throwaway repository.
import { cp, mkdtemp, readFile, rm, mkdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { run } from '../proc.ts';
import { submit } from './submit.ts';
import { status } from './status.ts';
import { dataset } from './dataset.ts';
import { TERMINAL_STATES } from '../remote/scheduler/types.ts';
import { makeOut } from '../ui.ts';
import { RxError } from '../errors.ts';

export async function demo(opts: { dir?: string; keep?: boolean; timeoutMs?: number }): Promise<void> {
  const out = makeOut();
  const root = opts.dir ?? (await mkdtemp(join(tmpdir(), 'rx-demo-')));
  const work = join(root, 'quickstart');
  const origin = join(root, 'origin.git');
  const example = fileURLToPath(new URL('../../examples/quickstart', import.meta.url));
  const g = (args: string[], cwd = work) => run(['git', ...args], { cwd, where: 'demo' });
  try {
    out.info(`demo: making a git repository from examples/quickstart in ${work}`);
    await mkdir(root, { recursive: true });
    await cp(example, work, { recursive: true });
    await g(['init', '-q', '-b', 'main']);
    await g(['config', 'user.name', 'rx demo']);
    await g(['config', 'user.email', 'demo@rx.invalid']);
    await g(['add', '-A']);
    await g(['commit', '-q', '-m', 'quickstart: toy simulation']);
    await g(['init', '-q', '--bare', origin], root);
    await g(['remote', 'add', 'origin', origin]);
    await g(['push', '-q', 'origin', 'main']);

    out.info('demo: rx submit --sweep sweep.ts');
    const r = await submit({ cwd: work, sweep: 'sweep.ts' });
    if (r.failed) throw new RxError(`demo: ${r.failed} points failed to submit`);

    const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
    const quiet = makeOut({ json: true });
    for (;;) {
      const rows = await status({ cwd: work, out: quiet });
      if (rows.every(x => TERMINAL_STATES.has(x.state as never))) break;
      if (Date.now() > deadline) throw new RxError('demo: runs did not finish within the time limit', { hint: `Inspect them with: rx status -C ${work}` });
      await new Promise(res => setTimeout(res, 300));
    }
    out.info('demo: rx status');
    const rows = await status({ cwd: work });
    const first = rows.find(x => x.state === 'COMPLETED');
    if (first?.dir) {
      out.info(`\ndemo: ${first.dir}/history.data (first lines)`);
      out.info((await readFile(join(first.dir, 'history.data'), 'utf8')).split('\n').slice(0, 9).map(l => l.replace(/ {2,}/g, ' ').trim()).join('\n'));
    }
    out.info('\ndemo: rx dataset (one row per run: provenance, params, parsed results)');
    const ds = await dataset({ cwd: work, sweep: 'quickstart', out_: quiet });
    const csv = (await readFile(ds.sweeps[0]!.file, 'utf8')).trim().split('\n');
    const cols = csv[0]!.split(',');
    const pick = ['key', 'state', 'initial_mass', 'initial_z', 'star_age', 'log_L', 'log_L_max'].map(c => cols.indexOf(c));
    for (const line of csv) out.info('  ' + line.split(',').filter((_, i) => pick.includes(i)).join('\t'));
    out.info(`  (${relative(work, ds.sweeps[0]!.file)} in the demo repository)`);
    const bad = rows.filter(x => x.state !== 'COMPLETED');
    if (bad.length) throw new RxError(`demo: ${bad.length} runs did not complete`, { hint: `See rx status -C ${work}` });
    out.info(`\ndemo: all ${rows.length} runs COMPLETED. ${opts.keep || opts.dir ? `The repository is in ${work}` : 'Run with --keep to look around afterwards.'}`);
  } finally {
    if (!opts.keep && !opts.dir) await rm(root, { recursive: true, force: true });
  }
}
