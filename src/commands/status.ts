// rx status: one connection per remote, one status script for all of a sweep's live jobs.
// --failed adds the reason each failed run ended (read from its log tail over the same
// connection); --watch refreshes until every job is final, keeping one connection per sweep.
import { CommandError, ConfigError, ConnectionError } from '../errors.ts';
import { repoContext, type RepoContext } from '../git/repo.ts';
import { latestPoints, type Ledger, type SweepState } from '../ledger/ledger.ts';
import { toStatus, type ExperimentStatus } from '../ledger/status.ts';
import { forEachSweep, selectSweeps, withLedger } from '../ledger/sweeps.ts';
import { DEPENDENCY_NEVER_SATISFIED, TERMINAL_STATES } from '../remote/scheduler/types.ts';
import { dependencyFailed, sourceState } from '../submission/chains.ts';
import { hasLiveJobs, refreshStates } from '../remote/jobs.ts';
import { logQueries, readLogs } from '../remote/logs.ts';
import { openTarget, type Target } from '../remote/target.ts';
import { FAILED_STATES, runReason } from '../results/reason.ts';
import { makeOut, type Out } from '../ui.ts';

export interface StatusOptions {
  cwd: string;
  sweep?: string;
  json?: boolean;
  /** Use the ledger's cached states only: no remote contact. */
  offline?: boolean;
  /** Only runs that did not complete (FAILED, TIMEOUT, CANCELLED, OUT_OF_MEMORY, …), with the reason. */
  failed?: boolean;
  /** Only runs in these states (comma-separated lists allowed). */
  states?: string[];
  /** Refresh every `interval` seconds until every job is final. */
  watch?: boolean;
  interval?: number;
  /** Every attempt of each point (older ones replaced by `rx resubmit --failed --rebase` too), not only the latest. */
  allAttempts?: boolean;
  out?: Out;
}

export type { ExperimentStatus };

/** What --state may name: Slurm's states as rx records them, and rx's own for points without a job. */
const KNOWN_STATES: ReadonlySet<string> = new Set(['PENDING', 'RUNNING', 'COMPLETING', 'COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED', 'SUSPENDED', 'REQUEUED', 'UNKNOWN', 'BOOT_FAIL', 'DEADLINE', 'UNSUBMITTED', 'SUBMIT_FAILED']);

/** Lines of a failed run's log read to find its reason. */
const REASON_TAIL = 30;

export async function status(opts: StatusOptions): Promise<ExperimentStatus[]> {
  const out = opts.out ?? makeOut({ json: opts.json });
  const ctx = await repoContext(opts.cwd);
  const states = stateFilter(opts);
  const targets = new Targets(ctx);
  try {
    if (opts.watch) return await watch(ctx, opts, states, targets, out);
    const rows = await collect(ctx, opts, states, targets);
    if (opts.json) process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    else printStatus(rows, out, Boolean(opts.failed));
    return rows;
  } finally {
    await targets.close();
  }
}

function stateFilter(opts: StatusOptions): Set<string> | null {
  const asked = (opts.states ?? []).flatMap(s => s.split(',')).map(s => s.trim().toUpperCase()).filter(Boolean);
  if (opts.watch && opts.offline) throw new ConfigError('--watch asks the cluster again and again; it cannot be --offline');
  if (!asked.length) return opts.failed ? new Set(FAILED_STATES) : null;
  const bad = asked.filter(s => !KNOWN_STATES.has(s));
  if (bad.length) throw new ConfigError(`--state: not a state: ${bad.join(', ')}`, { hint: `Known states: ${[...KNOWN_STATES].join(', ')}` });
  return new Set(opts.failed ? asked.filter(s => FAILED_STATES.has(s)) : asked);
}

/** The targets of the sweeps, each opened once for the whole command (a 2FA cluster asks once). */
class Targets {
  private open = new Map<string, Promise<Target>>();
  constructor(private ctx: RepoContext) {}
  get(ledger: Ledger): Promise<Target> {
    let t = this.open.get(ledger.name);
    if (!t) {
      t = openTarget(ledger.state().sweep!.remote, this.ctx.top);
      this.open.set(ledger.name, t);
    }
    return t;
  }
  async close(): Promise<void> {
    for (const t of this.open.values()) await t.then(x => x.close(), () => undefined);
    this.open.clear();
  }
}

/** Every experiment of the selected sweeps, refreshed unless offline, filtered, with reasons for failed runs. */
async function collect(ctx: RepoContext, opts: StatusOptions, states: Set<string> | null, targets: Targets): Promise<ExperimentStatus[]> {
  const result: ExperimentStatus[] = [];
  await forEachSweep(selectSweeps(ctx, opts.sweep), name => withLedger(ctx, name, async ledger => {
    if (!opts.offline && ledger.state().sweep && hasLiveJobs(ledger.state())) await refreshStates(await targets.get(ledger), ledger);
    const state = ledger.state();
    // Each point counts once, by its latest attempt: a fixed failure no longer shows as FAILED.
    const rows = latestPoints(state, opts.allAttempts).map(p => ({ p, s: toStatus(name, p, state) })).filter(r => !states || states.has(r.s.state));
    const src = chainSource(ctx, state);
    for (const r of rows) if (src && dependencyFailed(r.p, r.s, src)) r.s.reason = DEPENDENCY_NEVER_SATISFIED;
    if (opts.failed) await addReasons(ctx, ledger, rows, opts.offline ? null : targets);
    result.push(...rows.map(r => r.s));
  }));
  return result;
}

/** The reason of each failed row: from its state, and its log tail when the target may be asked. */
async function addReasons(ctx: RepoContext, ledger: Ledger, rows: { p: import('../ledger/ledger.ts').PointRecord; s: ExperimentStatus }[], targets: Targets | null): Promise<void> {
  const state = ledger.state();
  const withLog = rows.filter(r => r.p.dir && r.p.jobs.length);
  const tails = targets && withLog.length ? await readLogs(await targets.get(ledger), await logQueries(ctx, state, withLog.map(r => r.p)), REASON_TAIL) : new Map();
  for (const r of rows) {
    const files = tails.get(r.p.key)?.files ?? [];
    const tail = files.length ? files.map((f: { text: string }) => f.text).join('\n') : null;
    // A chained job that never ran because its source failed says so (it has no log of its own).
    if (r.s.reason === DEPENDENCY_NEVER_SATISFIED) continue;
    r.s.reason = runReason({ state: r.s.state, exitCode: r.s.exitCode, signal: r.p.status?.signal ?? null }, tail) ?? r.s.reason ?? null;
  }
}

/** The source sweep's state of a chained sweep (`after:`); null for other sweeps, or a source gone. */
function chainSource(ctx: RepoContext, state: SweepState): SweepState | null {
  const after = state.sweep?.definition.after as { sweep?: string } | undefined;
  if (!after?.sweep || !state.sweep) return null;
  try {
    return sourceState(ctx.rxDir, ctx.top, { sweep: after.sweep }, state.sweep.remote.label);
  } catch {
    return null;
  }
}

/** Still to change by itself: a job whose state is not final. */
const live = (r: ExperimentStatus) => r.jobId !== null && !TERMINAL_STATES.has(r.state as never) && r.state !== 'UNKNOWN';

async function watch(ctx: RepoContext, opts: StatusOptions, states: Set<string> | null, targets: Targets, out: Out): Promise<ExperimentStatus[]> {
  const intervalMs = Math.max(1, opts.interval ?? 10) * 1000;
  const tty = Boolean(process.stdout.isTTY) && !opts.json;
  let drawn = 0;
  let failures = 0;
  for (;;) {
    // Unfiltered, so that the end (every job final) does not depend on what is shown.
    let all: ExperimentStatus[];
    try {
      all = await collect(ctx, { ...opts, failed: false }, null, targets);
      failures = 0;
    } catch (e) {
      // A dropped connection or a scheduler hiccup during a long watch: connect again next time.
      if (!(e instanceof ConnectionError || e instanceof CommandError) || ++failures >= 5) throw e;
      out.warn(`rx: refresh failed (${e.message.split('\n')[0]}); trying again in ${intervalMs / 1000} s`);
      drawn = 0;
      await targets.close();
      await new Promise(r => setTimeout(r, intervalMs));
      continue;
    }
    const done = !all.some(live);
    const rows = states ? all.filter(r => states.has(r.state)) : all;
    if (tty) drawn = redraw(watchLines(all, rows, out), drawn);
    else if (!opts.json) out.info(progressLine(all, out));
    if (done) {
      const final = opts.failed ? await collect(ctx, opts, states, targets) : rows;
      if (opts.json) process.stdout.write(JSON.stringify(final, null, 2) + '\n');
      else if (!tty || opts.failed) printStatus(final, out, Boolean(opts.failed));
      return final;
    }
    await new Promise(r => setTimeout(r, intervalMs));
  }
}

/**
 * Replaces the `previous` lines drawn last time with `lines` (a TTY only). Lines are cut to the
 * terminal's width and the table to its height, so that no line wraps and the cursor goes back
 * exactly as many lines as were drawn.
 */
function redraw(lines: string[], previous: number): number {
  const rows = (process.stdout.rows ?? 0) >= 5 ? process.stdout.rows! : 40;
  const cols = (process.stdout.columns ?? 0) >= 20 ? process.stdout.columns! : 1000;
  const shown = lines.length > rows - 1 ? [...lines.slice(0, rows - 2), `… ${lines.length - rows + 2} more lines`] : lines;
  process.stdout.write((previous ? `\x1b[${previous}F\x1b[J` : '') + shown.map(l => cutVisible(l, cols - 1)).join('\n') + '\n');
  return shown.length;
}

/** The first `n` visible characters of a line with colour escapes (the escapes are kept). */
function cutVisible(line: string, n: number): string {
  let out = '';
  let seen = 0;
  for (let i = 0; i < line.length; i++) {
    const esc = /^\x1b\[[0-9;]*m/.exec(line.slice(i, i + 12));
    if (esc) {
      out += esc[0];
      i += esc[0].length - 1;
    } else if (seen < n) {
      out += line[i];
      seen++;
    }
  }
  return out;
}

/** `12:03:04  [#####.....] 3/6 final  COMPLETED 3  RUNNING 2  PENDING 1`. */
function progressLine(all: ExperimentStatus[], out: Out): string {
  const final = all.filter(r => !live(r)).length;
  const width = 20;
  const fill = all.length ? Math.round((final / all.length) * width) : width;
  const bar = `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}]`;
  const time = new Date().toTimeString().slice(0, 8);
  return `${time}  ${bar} ${final}/${all.length} final  ${countLine(all, out)}`;
}

function watchLines(all: ExperimentStatus[], rows: ExperimentStatus[], out: Out): string[] {
  const lines: string[] = [];
  printStatus(rows, { ...out, info: l => lines.push(l) }, true);
  return [progressLine(all, out), ...lines.slice(1)];
}

function countLine(rows: ExperimentStatus[], out: Out): string {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
  return [...counts].map(([s, n]) => `${paint(out)(s)} ${n}`).join('  ');
}

const paint = (out: Out) => (s: string) => (s === 'COMPLETED' ? out.color.green(s) : TERMINAL_STATES.has(s as never) || s.endsWith('FAILED') ? out.color.red(s) : out.color.yellow(s));

function elapsed(s: number | null | undefined): string {
  if (s === null || s === undefined) return '-';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${h ? `${h}:` : ''}${String(m).padStart(h ? 2 : 1, '0')}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
}

/** The count per state and the table; `detail` adds elapsed time and the reason (pending reason, why it failed). */
function printStatus(rows: ExperimentStatus[], out: Out, detail: boolean): void {
  if (rows.length === 0) {
    out.info(detail ? 'no experiments in those states' : 'no experiments yet: rx submit --sweep sweep.ts');
    return;
  }
  out.info(countLine(rows, out));
  const head = ['SWEEP', 'N', 'JOB', 'TRY', 'STATE', 'EXIT', ...(detail ? ['TIME'] : []), 'PARAMS', 'DIR', ...(detail ? ['REASON'] : [])];
  const table = [head, ...rows.map(r => [
    r.sweep, r.supersededBy ? `${r.key}→${r.supersededBy}` : r.key, r.jobId ?? '-', String(r.attempt), r.state, r.exitCode === null ? '-' : String(r.exitCode),
    ...(detail ? [elapsed(r.elapsedSeconds)] : []),
    Object.entries(r.varied).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ') || '-',
    r.dir ? `${r.dir.split('/').pop()!}${r.cleaned ? ' (removed by rx clean)' : ''}` : '-',
    ...(detail ? [r.reason ?? '-'] : []),
  ])];
  const widths = table[0]!.map((_, i) => Math.min(40, Math.max(...table.map(row => row[i]!.length))));
  for (const [i, row] of table.entries()) {
    const line = row.map((c, j) => (j === row.length - 1 ? c : c.padEnd(widths[j]!))).join('  ');
    out.info(i === 0 ? out.color.dim(line) : line.replace(row[4]!, paint(out)(row[4]!)));
  }
}
