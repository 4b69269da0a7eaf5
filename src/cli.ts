// Registers the commands. The only place errors become messages and exit codes.
// Each command's module is imported only when that command runs, so `rx --version`, `--help` and
// `rx status --offline` load none of ssh2, the Parquet writer or tsx.
import { readFileSync } from 'node:fs';
import { Argument, Command, CommanderError, Option } from 'commander';
import { RxError, CommandError, ConfigError } from './errors.ts';
import { makeOut } from './ui.ts';

function positiveInt(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`${what}: expected a whole number ≥ 0, got ${JSON.stringify(v)}`);
  return n;
}

export function program(): Command {
  const p = new Command('rx')
    .description('Reproducible numerical experiments on Slurm clusters: one git commit per run.')
    .version(packageVersion())
    .showHelpAfterError()
    .exitOverride();
  for (const register of [registerSubmission, registerDoctor, registerInspection, registerResults, registerReport, registerSetup, registerDemo]) register(p);
  return p;
}

/** The version in package.json (next to src/ when run from source, two levels up from dist/src/). */
function packageVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'remote-experiments' && pkg.version) return pkg.version;
    } catch { /* not this one */ }
  }
  return 'unknown';
}

/** Submitting: submit, resubmit, cancel. */
function registerSubmission(p: Command): void {
  p.command('submit')
    .description('Make one commit per sweep point, push once, create run directories and submit them (idempotent: re-running finishes an interrupted submission).')
    .requiredOption('-s, --sweep <file>', 'sweep file (.ts, .js, .json or .yaml)')
    .option('--repeat', 'submit points whose parameters were already submitted again, as new experiments')
    .option('-n, --dry-run', 'print the plan (points, hashes, skipped points, run directory names, the diff of each patch) and create nothing')
    .option('--limit <k>', 'with --dry-run: compute and show the diffs of the first k new points (default 20; 0: none)', v => positiveInt(v, '--limit'))
    .option('--extend <n>', 'sampled sweeps: submit n more points continuing the same sequence (no repeats)', v => positiveInt(v, '--extend'))
    .option('--new-dirs', 'give points whose run directory could not be made (a file, symlink or foreign directory in the way) a fresh run directory name')
    .option('--lock-timeout <seconds>', "how long to wait for another process holding the target's run-directory lock (default 600)", v => positiveInt(v, '--lock-timeout'))
    .option('--json', 'print one JSON record per point instead of the summary (with --dry-run: written as the points are planned)')
    .option('--jsonl', 'with --dry-run: print one JSON object per line (for scripts)')
    .option('-C, --cwd <dir>', 'run as if started in <dir> (default: the current directory)')
    .action(async o => {
      if (o.limit !== undefined && !o.dryRun) throw new ConfigError('--limit only applies to a dry run: add --dry-run (-n), or leave --limit out to submit every point');
      if (o.jsonl && !o.dryRun) throw new ConfigError('--jsonl only applies to a dry run: add --dry-run (-n), or use --json');
      const { submit } = await import('./commands/submit.ts');
      const r = await submit({ cwd: o.cwd ?? process.cwd(), sweep: o.sweep, repeat: o.repeat, json: o.json || o.jsonl, jsonl: o.jsonl, dryRun: o.dryRun, limit: o.limit, extend: o.extend, newDirs: o.newDirs, lockTimeout: o.lockTimeout });
      if (o.json && !o.dryRun) process.stdout.write(JSON.stringify(r.records, null, 2) + '\n');
      if (r.failed) process.exitCode = 6;
    });
  p.command('run')
    .description('Drive sweeps to completion: submit what is due, wait for the jobs, and for an adaptive sweep (propose) fetch the results and submit the next points, round after round, until the budget is spent; a stage (from:) starts when its source has ended; a chain (after:) is submitted right after each submission of its source. Ctrl-C stops; running it again continues.')
    .requiredOption('-s, --sweep <file>', 'sweep file (repeat for several: stages go after their source)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--poll <seconds>', 'seconds between status calls while jobs change (default 30; up to 4× longer while nothing does)', v => positiveInt(v, '--poll'))
    .option('--json', 'print one JSON event per line (sweep, submitted, status, proposal, done)')
    .option('-C, --cwd <dir>', 'run as if started in <dir> (default: the current directory)')
    .action(async o => {
      const { run } = await import('./commands/run.ts');
      await run({ cwd: o.cwd ?? process.cwd(), sweeps: o.sweep, poll: o.poll, json: o.json });
    });
  p.command('resubmit')
    .description('Run failed, timed-out or cancelled experiments again as new jobs in their own run directory (same commit), or with --rebase as new commits on the current tip of the sweep branch, in new run directories; the ledger keeps every attempt and views show the latest.')
    .option('--failed', 'select every experiment whose latest job ended FAILED, TIMEOUT, CANCELLED, NODE_FAIL, OUT_OF_MEMORY or PREEMPTED')
    .option('--rebase', "build each failed point's commit again on the current tip of the sweep's branch (same parameters, new commit and run directory) as its next attempt; a point already on the tip is resubmitted in its run directory")
    .option('--sweep <name>', 'only this sweep')
    .option('--json', 'print the new jobs as JSON')
    .option('-C, --cwd <dir>', 'run as if started in <dir> (default: the current directory)')
    .action(async o => {
      const { resubmit } = await import('./commands/resubmit.ts');
      const r = await resubmit({ cwd: o.cwd ?? process.cwd(), sweep: o.sweep, failed: o.failed, rebase: o.rebase, json: o.json });
      if (r.errors.length) process.exitCode = 6;
    });
  p.command('cancel')
    .description('Cancel unfinished jobs (one scancel call per sweep); a packed point chosen without the rest of its pack is stopped alone.')
    .argument('[points...]', 'only these experiments: job ids as rx status shows them (123_4+2: one packed point; 123_4: every point of that task; 123: every point of job or array 123; the job of an earlier attempt is refused), commit shas, run directories or link names')
    .option('--sweep <name>', 'only this sweep')
    .option('--state <states>', 'only jobs in these states, comma-separated (default: every unfinished job): PENDING,RUNNING,SUSPENDED,REQUEUED,COMPLETING')
    .option('--json', 'print the cancelled jobs as JSON')
    .option('-C, --cwd <dir>', 'run as if started in <dir> (default: the current directory)')
    .action(async (points: string[], o) => {
      const { cancel } = await import('./commands/cancel.ts');
      await cancel({ cwd: o.cwd ?? process.cwd(), sweep: o.sweep, states: o.state ? [o.state] : undefined, points, json: o.json });
    });
  p.command('clean')
    .description("Remove a sweep's run directories on the target (only those rx made, checked against the ledger and each point's commit), their fetched files and links; the ledger keeps every point (shown as cleaned).")
    .requiredOption('--sweep <name>', 'the sweep')
    .option('--failed', 'only runs whose latest job ended FAILED, TIMEOUT, CANCELLED, NODE_FAIL, OUT_OF_MEMORY or PREEMPTED')
    .option('--older-than <duration>', 'only runs that ended (or, without an end time, were submitted) longer ago than this: 30m, 12h, 7d, 2w')
    .option('--refs', 'also delete refs/rx/<sweep>/<n> of the cleaned runs, here and on origin (never forced)')
    .option('-n, --dry-run', 'list what would be removed (with sizes) and change nothing')
    .option('-y, --yes', 'do not ask (needed when not on a terminal)')
    .option('--json', 'print the result as JSON')
    .option('-C, --cwd <dir>', 'run as if started in <dir> (default: the current directory)')
    .action(async o => {
      const { clean } = await import('./commands/clean.ts');
      const r = await clean({ cwd: o.cwd ?? process.cwd(), sweep: o.sweep, failed: o.failed, olderThan: o.olderThan, refs: o.refs, dryRun: o.dryRun, yes: o.yes, json: o.json });
      if (r.failed.length) process.exitCode = 6;
    });
}

/** Checking a sweep's ledger against the refs and the target. */
function registerDoctor(p: Command): void {
  p.command('doctor')
    .description("Compare a sweep's ledger with its refs and what is on the target (run directories, job-id markers, the scheduler's jobs) over one connection; --rebuild appends what the ledger lacks (a lost or restored ledger).")
    .requiredOption('-s, --sweep <name|file>', 'the sweep: its name, or its sweep file (needed when the ledger is gone)')
    .option('--rebuild', 'append the points, commits, run directories and job ids found to the ledger (nothing is removed; nothing changes on the target)')
    .option('--json', 'print the findings as JSON')
    .option('-C, --cwd <dir>', 'run as if started in <dir> (default: the current directory)')
    .action(async o => {
      const { doctor } = await import('./commands/doctor.ts');
      const r = await doctor({ cwd: o.cwd ?? process.cwd(), sweep: o.sweep, rebuild: o.rebuild, json: o.json });
      if (r.records && !r.rebuilt) process.exitCode = 5;
    });
}

/** Looking at sweeps and experiments: status, sweeps, show. */
function registerInspection(p: Command): void {
  p.command('status')
    .description('Job states of every experiment (one remote call set per sweep): counts per state and a table.')
    .option('--sweep <name>', 'only this sweep')
    .option('--failed', 'only runs that did not complete (FAILED, TIMEOUT, CANCELLED, OUT_OF_MEMORY, …), each with the reason read from its log')
    .option('--state <states>', 'only runs in these states, comma-separated, e.g. RUNNING,PENDING')
    .option('--watch', 'refresh in place until every job is final (not on a terminal: one line per refresh, then the table)')
    .option('--interval <seconds>', 'with --watch: seconds between refreshes (default 10)', v => positiveInt(v, '--interval'))
    .option('--json', 'print one object per experiment')
    .option('--offline', 'do not contact the cluster; show the states last seen')
    .option('--all-attempts', 'also show older attempts that a rebased resubmit replaced (default: each point by its latest attempt)')
    .option('-C, --cwd <dir>', 'run as if started in <dir> (default: the current directory)')
    .action(async o => {
      if (o.interval !== undefined && !o.watch) throw new ConfigError('--interval only applies with --watch');
      const { status } = await import('./commands/status.ts');
      await status({ cwd: o.cwd ?? process.cwd(), sweep: o.sweep, json: o.json, offline: o.offline, failed: o.failed, states: o.state ? [o.state] : undefined, watch: o.watch, interval: o.interval, allAttempts: o.allAttempts });
    });
  p.command('sweeps')
    .description('List every sweep: points, submitted, skipped by the latest submit, remote, job states.')
    .option('--refresh', 'ask the clusters for fresh job states first')
    .option('--json', 'print one object per sweep')
    .option('-C, --cwd <dir>', 'run as if started in <dir> (default: the current directory)')
    .action(async o => {
      const { sweeps } = await import('./commands/sweeps.ts');
      await sweeps({ cwd: o.cwd ?? process.cwd(), json: o.json, refresh: o.refresh });
    });
  p.command('show')
    .description('Show the point behind a commit sha, run directory, job id or link name: params, job, the diff against the base and the last lines of its Slurm output.')
    .argument('<sha|dir|job|link>', 'commit sha (4+ hex digits), run directory (path or name), job id, or a name rx link gave')
    .option('--tail <n>', 'last lines of the Slurm output to show (default 10; 0: none)', v => positiveInt(v, '--tail'))
    .option('--offline', 'do not contact the cluster (no log lines)')
    .option('--json', 'print as JSON')
    .option('-C, --cwd <dir>', 'run as if started in <dir> (default: the current directory)')
    .action(async (what, o) => {
      const { show } = await import('./commands/show.ts');
      await show({ cwd: o.cwd ?? process.cwd(), what, json: o.json, offline: o.offline, tail: o.tail });
    });
  p.command('logs')
    .description("The end of a run's Slurm output (the files its #SBATCH -o/-e name, or slurm-<jobid>.out), read over one connection, with the reason it ended when one is recognisable.")
    .argument('<sha|dir|job|link>', 'commit sha (4+ hex digits), run directory (path or name), job id, or a name rx link gave')
    .option('--tail <n>', 'how many last lines of each file (default 40)', v => positiveInt(v, '--tail'))
    .option('--file <pattern>', "another file of the run directory instead (a glob, newest match), e.g. 'LOGS/*.log'")
    .option('--json', 'print as JSON')
    .option('-C, --cwd <dir>', 'run as if started in <dir> (default: the current directory)')
    .action(async (what, o) => {
      const { logs } = await import('./commands/logs.ts');
      await logs({ cwd: o.cwd ?? process.cwd(), what, tail: o.tail, file: o.file, json: o.json });
    });
  p.command('diff')
    .description("The unified diff between two runs' commits, and which parameters differ.")
    .argument('<a>', 'a run: commit sha, run directory, job id or link name')
    .argument('<b>', 'the other run')
    .option('--json', 'print as JSON')
    .option('-C, --cwd <dir>', 'run as if started in <dir> (default: the current directory)')
    .action(async (a, b, o) => {
      const { diff } = await import('./commands/diff.ts');
      await diff({ cwd: o.cwd ?? process.cwd(), a, b, json: o.json });
    });
}

/** Results: fetch, link, dataset. */
function registerResults(p: Command): void {
  p.command('fetch')
    .description('Copy files (names or globs) from every run directory of a sweep with one incremental, resumable rsync; report what was fetched, unchanged and missing.')
    .argument('<file...>', "file names or globs relative to each run directory, e.g. history.data 'LOGS/profile*.data' 'slurm-*.out'")
    .option('--sweep <name>', 'only this sweep (default: every sweep)')
    .option('--to <dir>', 'destination directory (default: .rx/fetched/<sweep>/)')
    .option('--tree', 'keep <dir>/<rundir>/<path> instead of the flat <dir>/<rundir>_<file> names')
    .option('--max-size <size>', "skip (and report) files larger than this, e.g. 500M, 1G (rsync's --max-size)")
    .option('--follow-links', 'copy what symlinks in run directories point to (default: symlinks are not followed, only reported); beware ** over a link loop or a link to a large tree')
    .option('--timeout <seconds>', 'rsync gives up after this many seconds without any data moving (default: 300; 0: never)')
    .option('--json', 'print the result as JSON')
    .option('-C, --cwd <dir>', 'run as if started in <dir> (default: the current directory)')
    .action(async (files: string[], o) => {
      const { fetch } = await import('./commands/fetch.ts');
      const r = await fetch({ cwd: o.cwd ?? process.cwd(), files, sweep: o.sweep, to: o.to, tree: o.tree, maxSize: o.maxSize, followLinks: o.followLinks, timeout: o.timeout, json: o.json });
      if (r.unmatched.length) process.exitCode = 2;
    });
  p.command('link')
    .description('Symlink view of fetched files named by experiment: <dir>/<name>_<file> → fetched file (idempotent; removes only its own stale links).')
    .option('--sweep <name>', 'only this sweep (default: every sweep)')
    .option('--files <list>', 'comma-separated fetched files or globs to link (default: every fetched file)')
    .option('--to <dir>', 'link directory (default: .rx/links/<sweep>/)')
    .option('--from <dir>', "where rx fetch put the files (fetch's --to; default: .rx/fetched/<sweep>/)")
    .option('--namer <template|file>', "experiment names: a template like 'm{initial_mass}_z{initial_z}', or a .ts/.js file exporting a namer function (default: the sweep's namer, else the varied parameters)")
    .option('--dedupe', 'append the short sha to names that several experiments share (default: an error)')
    .option('--all-attempts', 'also link older attempts that a rebased resubmit replaced, as <name>_attempt<n> (default: only the latest attempt of each point)')
    .option('--json', 'print the result as JSON')
    .option('-C, --cwd <dir>', 'run as if started in <dir> (default: the current directory)')
    .action(async o => {
      const { link } = await import('./commands/link.ts');
      await link({ cwd: o.cwd ?? process.cwd(), sweep: o.sweep, files: o.files?.split(','), to: o.to, from: o.from, namer: o.namer, dedupe: o.dedupe, allAttempts: o.allAttempts, json: o.json });
    });
  p.command('dataset')
    .description("One table per sweep: a row per experiment with its params, provenance (sweep, sha, base, dir, job, state, exit code, times) and the results its sweep file's `parse` entries reduce from the run's files (fetched first with one rsync).")
    .option('--sweep <name>', 'only this sweep (default: every sweep, one file each)')
    .addOption(new Option('--format <format>', 'output format').choices(['csv', 'jsonl', 'parquet']).default('csv'))
    .option('--out <file>', 'output file (with --sweep; default: .rx/datasets/<sweep>.<format>)')
    .option('--no-fetch', 'do not fetch: parse what an earlier rx fetch (to its default place, not --to/--tree) put in .rx/fetched/<sweep>/')
    .option('--offline', 'do not ask the cluster for fresh job states')
    .option('--sweep-file <file>', 'load parse functions from this sweep file (default: the one recorded at submit)')
    .option('--rows <file>', 'long format: one row per row of this table output of each run (e.g. LOGS/history.data), with the run\'s provenance and params')
    .option('--all-attempts', 'a row for every attempt (older ones a rebased resubmit replaced too; see the attempt column), not only the latest of each point')
    .option('--json', 'print a summary per sweep as JSON')
    .option('-C, --cwd <dir>', 'run as if started in <dir> (default: the current directory)')
    .action(async o => {
      const { dataset } = await import('./commands/dataset.ts');
      await dataset({ cwd: o.cwd ?? process.cwd(), sweep: o.sweep, format: o.format, out: o.out, noFetch: o.fetch === false, offline: o.offline, sweepFile: o.sweepFile, rows: o.rows, allAttempts: o.allAttempts, json: o.json });
    });
}

/** The HTML report. */
function registerReport(p: Command): void {
  p.command('report')
    .description('One self-contained HTML page per sweep (no network needed to view it): state map over the varied parameters, results against parameters, tracks of a table output, a sortable table of every experiment.')
    .option('--sweep <name>', 'only this sweep (default: every sweep, one page each)')
    .option('--out <file>', 'output file (with --sweep; default: .rx/reports/<sweep>.html)')
    .option('--rows <file>', "a table output fetched per run (e.g. LOGS/history.data) to draw tracks from, one line per run")
    .option('--x <column>', 'with --rows: the x column of the tracks (default: the first numeric column)')
    .option('--y <column>', 'with --rows: the y column of the tracks (default: the second numeric column)')
    .option('--open', 'open the page in the default browser afterwards')
    .option('--no-fetch', 'do not fetch: use what an earlier rx fetch put in .rx/fetched/<sweep>/')
    .option('--offline', 'do not ask the cluster for fresh job states')
    .option('--json', 'print a summary per sweep (path, runs, size) as JSON')
    .option('-C, --cwd <dir>', 'run as if started in <dir> (default: the current directory)')
    .action(async o => {
      const { report } = await import('./commands/report.ts');
      await report({ cwd: o.cwd ?? process.cwd(), sweep: o.sweep, out: o.out, rows: o.rows, x: o.x, y: o.y, open: o.open, noFetch: o.fetch === false, offline: o.offline, json: o.json });
    });
}

/** Starting out: init, shell completion. */
function registerSetup(p: Command): void {
  p.command('init')
    .description('Write a commented sweep.ts for this repository (config files and their keys, run.sbatch, origin, an ssh Host) that dry-runs at once; never overwrites.')
    .option('--host <alias>', 'a Host alias of ~/.ssh/config to submit to (default: the only one there, else this machine)')
    .option('--out <file>', 'where to write the sweep file (default: sweep.ts at the top of the repository)')
    .option('--json', 'print what was found and written as JSON')
    .option('-C, --cwd <dir>', 'run as if started in <dir> (default: the current directory)')
    .action(async o => {
      const { init } = await import('./commands/init.ts');
      await init({ cwd: o.cwd ?? process.cwd(), host: o.host, out: o.out, json: o.json });
    });
  p.command('completion')
    .description('Print a shell completion script: source <(rx completion bash), rx completion zsh > ~/.zfunc/_rx, rx completion fish > ~/.config/fish/completions/rx.fish')
    .addArgument(new Argument('<shell>', 'the shell').choices(['bash', 'zsh', 'fish']))
    .action(async (shell: 'bash' | 'zsh' | 'fish') => {
      const { completion } = await import('./commands/completion.ts');
      process.stdout.write(completion(program(), shell));
    });
}

/** The end-to-end demo. */
function registerDemo(p: Command): void {
  p.command('demo')
    .description('Run the quickstart sweep end to end on this machine (embedded default: local transport, shell scheduler).')
    .addOption(new Option('--dir <dir>', 'where to create the demo repository (default: a new temp dir)'))
    .option('--keep', 'keep the demo directory afterwards')
    .action(async o => {
      const { demo } = await import('./commands/demo.ts');
      await demo({ dir: o.dir, keep: o.keep });
    });
}

export async function main(argv: string[]): Promise<number> {
  // `rx status | head`: a closed pipe ends the output quietly, not with a stack trace.
  process.stdout.on('error', e => { if ((e as NodeJS.ErrnoException).code === 'EPIPE') process.exit(0); throw e; });
  const out = makeOut();
  try {
    await program().parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof RxError) {
      // Messages say what went wrong, not who said it: a leftover `rx link: ` would read `rx: rx link: `.
      out.warn(`rx: ${out.color.red(e.message.replace(/^rx [a-z]+: /, ''))}`);
      if (e.hint) out.warn(`  ${e.hint}`);
      if (e instanceof CommandError && process.env.RX_DEBUG) out.warn(e.stdout);
      return e.exitCode;
    }
    out.warn(`rx: internal error: ${(e as Error)?.stack ?? e}`);
    out.warn('  This is a bug in rx; please report it with the command you ran.');
    return 70;
  }
}
