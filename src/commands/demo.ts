// rx demo: the quickstart sweep end to end on the embedded default, in a throwaway repository.
// A scripted walkthrough of what a user types: `rx submit` and `rx status` run as the real rx
// command (a child process of this one), so the demo shows exactly what they print; waiting and
// the dataset use the domain functions directly.
import { cp, mkdtemp, readFile, rm, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { run } from '../proc.ts';
import { repoContext } from '../git/repo.ts';
import { experimentStatuses } from '../remote/jobs.ts';
import type { ExperimentStatus } from '../ledger/status.ts';
import { makeDatasets } from '../results/collect.ts';
import { TERMINAL_STATES } from '../remote/scheduler/types.ts';
import { makeOut, type Out } from '../ui.ts';
import { RxError } from '../errors.ts';

export async function demo(opts: { dir?: string; keep?: boolean; timeoutMs?: number }): Promise<void> {
  const out = makeOut();
  const root = opts.dir ?? (await mkdtemp(join(tmpdir(), 'rx-demo-')));
  const work = join(root, 'quickstart');
  try {
    out.info(`demo: making a git repository from examples/quickstart in ${work}`);
    await makeRepository(root, work);

    await rx(['submit', '--sweep', 'sweep.ts'], work, out);
    const rows = await waitForRuns(work, opts.timeoutMs ?? 120_000);
    await rx(['status'], work, out);
    const first = rows.find(x => x.state === 'COMPLETED');
    if (first?.dir) {
      out.info(`\ndemo: ${first.dir}/history.data (first lines)`);
      out.info((await readFile(join(first.dir, 'history.data'), 'utf8')).split('\n').slice(0, 9).map(l => l.replace(/ {2,}/g, ' ').trim()).join('\n'));
    }
    await showDataset(work, out);
    const bad = rows.filter(x => x.state !== 'COMPLETED');
    if (bad.length) throw new RxError(`demo: ${bad.length} runs did not complete`, { hint: `See rx status -C ${work}` });
    out.info(`\ndemo: all ${rows.length} runs COMPLETED. ${opts.keep || opts.dir ? `The repository is in ${work}` : 'Run with --keep to look around afterwards.'}`);
  } finally {
    if (!opts.keep && !opts.dir) await rm(root, { recursive: true, force: true });
  }
}

/** examples/quickstart as a git repository `work` with one commit, pushed to a bare origin next to it. */
async function makeRepository(root: string, work: string): Promise<void> {
  const origin = join(root, 'origin.git');
  const example = quickstartExample();
  const g = (args: string[], cwd = work) => run(['git', ...args], { cwd, where: 'demo' });
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
}

/** examples/quickstart of this package: two levels up from src/commands/, three from the build's dist/src/commands/. */
function quickstartExample(): string {
  const candidates = ['../../examples/quickstart', '../../../examples/quickstart'].map(rel => fileURLToPath(new URL(rel, import.meta.url)));
  return candidates.find(dir => existsSync(dir)) ?? candidates[0]!;
}

/** Runs the real `rx` command (this very process's entry) in the demo repository and shows its output. */
async function rx(args: string[], cwd: string, out: Out): Promise<void> {
  out.info(`demo: rx ${args.join(' ')}`);
  const r = await run([process.execPath, process.argv[1]!, ...args], { cwd, allowFailure: true, where: `rx ${args[0]}` });
  if (r.stdout) out.info(r.stdout.trimEnd());
  if (r.stderr) out.warn(r.stderr.trimEnd());
  if (r.exitCode !== 0) throw new RxError(`demo: rx ${args.join(' ')} failed (exit code ${r.exitCode})`);
}

/** Polls the job states until every run has ended (or the time is up). */
async function waitForRuns(work: string, timeoutMs: number): Promise<ExperimentStatus[]> {
  const ctx = await repoContext(work);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await experimentStatuses(ctx, {});
    if (rows.every(x => TERMINAL_STATES.has(x.state as never))) return rows;
    if (Date.now() > deadline) throw new RxError('demo: runs did not finish within the time limit', { hint: `Inspect them with: rx status -C ${work}` });
    await new Promise(res => setTimeout(res, 300));
  }
}

/** The dataset's CSV, a few columns of it. */
async function showDataset(work: string, out: Out): Promise<void> {
  out.info('\ndemo: rx dataset (one row per run: provenance, params, parsed results)');
  const ds = await makeDatasets(await repoContext(work), { cwd: work, sweep: 'quickstart' });
  for (const w of ds.warnings) out.warn(`rx: ${w}`);
  const csv = (await readFile(ds.sweeps[0]!.file, 'utf8')).trim().split('\n');
  const cols = csv[0]!.split(',');
  const pick = ['key', 'state', 'initial_mass', 'initial_z', 'star_age', 'log_L', 'log_L_max'].map(c => cols.indexOf(c));
  for (const line of csv) out.info('  ' + line.split(',').filter((_, i) => pick.includes(i)).join('\t'));
  out.info(`  (${relative(work, ds.sweeps[0]!.file)} in the demo repository)`);
}
