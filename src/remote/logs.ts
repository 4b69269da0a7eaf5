// Reading the end of runs' Slurm output over the command's one connection.
//
// Where the output is: the names the batch script's `#SBATCH -o/-e` (or the sweep's sbatchArgs)
// give, relative to the run directory, default `slurm-<job id>.out` (rx records array tasks as
// `<array>_<task>`, and the default array output `slurm-%A_%a.out` is exactly that; the shell
// scheduler always writes `slurm-<id>.out`). The batch script is read from the point's commit
// here, never from the cluster. Slurm's `%` patterns rx can expand are expanded; the others (an
// array task's own `%j`, `%u`, `%N`, …) become a glob, and the newest match in the run directory
// is taken. One remote script reads every asked-for run's tails (base64, so any bytes survive).
import { posix } from 'node:path';
import type { RepoContext } from '../git/repo.ts';
import { git, verbs } from '../git/verbs.ts';
import type { PointRecord, SweepState } from '../ledger/ledger.ts';
import { sh } from '../quote.ts';
import { findOptions, parseBatchScript } from './scheduler/slurm-array.ts';
import type { Target } from './target.ts';

/** Where one run's output is, as globs relative to its run directory (or absolute). */
export interface OutputSpec {
  /** stdout's name, then stderr's when `-e` names another file. */
  patterns: string[];
}

/** The job name Slurm gives (`%x`): `-J`/`--job-name`, else the batch script's file name. */
function jobName(words: readonly string[], scriptPath: string): string {
  let name = posix.basename(scriptPath);
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const long = /^--job-name(?:=(.*))?$/s.exec(w);
    const short = /^-J(.*)$/s.exec(w);
    if (long) name = long[1] ?? words[++i] ?? name;
    else if (short) name = short[1] || (words[++i] ?? name);
  }
  return name;
}

/** A literal piece of a file name, safe inside a bash glob: `*`, `?`, `[` become bracket classes. */
function globLiteral(s: string): string {
  return s.replace(/[*?[]/g, c => `[${c}]`);
}

/**
 * Pure: a Slurm output file name pattern (`slurm-%j.out`, `logs/%x-%A_%a.out`) as a glob for the
 * job `jobId` (`123` or an array task `123_4`). Known fields are filled in (zero-padded as `%4j`
 * asks), unknown ones become `*`. A name with `\` is taken literally, as Slurm does.
 */
export function outputGlob(name: string, jobId: string, jobName: string): string {
  if (name.includes('\\')) return globLiteral(name.replace(/\\/g, ''));
  const [job, task] = jobId.split('_') as [string, string | undefined];
  // UNKNOWN (a run directory adopted without its job id): every id field is a wildcard.
  const real = /^\d+(_\d+)?$/.test(jobId);
  const known: Record<string, string | undefined> = {
    A: real ? job : undefined,
    a: real ? task ?? '4294967294' : undefined, // Slurm's %a of a job that is not an array task
    j: real && task === undefined ? job : undefined, // an array task's own id is not recorded
    x: jobName,
  };
  let out = '';
  let last = 0;
  for (const m of name.matchAll(/%(%|(\d*)([A-Za-z]))/g)) {
    out += globLiteral(name.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[1] === '%') {
      out += '%';
      continue;
    }
    const v = known[m[3]!];
    const width = Number(m[2] || 0);
    out += v === undefined ? '*' : globLiteral(/^\d+$/.test(v) ? v.padStart(width, '0') : v);
  }
  return out + globLiteral(name.slice(last));
}

/** A packed point's recorded id: its pack job's id, `+`, its slot (src/remote/scheduler/pack.ts). */
const PACKED = /^(.+)\+(\d+)$/;

/**
 * Pure: where a job's output goes, from its batch script's text and the sweep's sbatch arguments.
 * A packed point (`<job>+<slot>`) writes into its own run dir under the same `-o/-e` names,
 * expanded for its pack job, by default `slurm-<recorded id>.out`.
 */
export function outputSpec(script: string | null, sbatchArgs: readonly string[], jobId: string, scheduler: 'slurm' | 'shell', scriptPath: string): OutputSpec {
  const packed = PACKED.exec(jobId);
  if (scheduler === 'shell' && !packed) return { patterns: [/^\d+$/.test(jobId) ? `slurm-${jobId}.out` : 'slurm-*.out'] };
  const words = [...(script === null ? [] : parseBatchScript(script).directives), ...sbatchArgs];
  const opts = findOptions(words);
  const last = (o: 'output' | 'error') => opts.filter(x => x.opt === o).at(-1)?.value || undefined;
  const name = jobName(words, scriptPath);
  // The shell scheduler has no Slurm ids to expand a pack's names with: those fields are wildcards.
  const job = packed ? (scheduler === 'shell' ? 'UNKNOWN' : packed[1]!) : jobId;
  const outName = last('output');
  const out = outName !== undefined ? outputGlob(outName, job, name)
    : packed ? globLiteral(`slurm-${jobId}.out`)
    : outputGlob(jobId.includes('_') ? 'slurm-%A_%a.out' : 'slurm-%j.out', jobId, name);
  const errName = last('error');
  const err = errName === undefined ? undefined : outputGlob(errName, job, name);
  return { patterns: err === undefined || err === out ? [out] : [out, err] };
}

/** One run to read: its run directory and the globs to look for (newest match each). */
export interface LogQuery {
  key: string;
  dir: string;
  patterns: string[];
}

export interface LogFile {
  /** The glob it was found by. */
  pattern: string;
  /** The file, relative to the run directory (or absolute). */
  path: string;
  /** Its whole size in bytes. */
  size: number;
  /** Its last lines. */
  text: string;
}

export interface RunLogs {
  key: string;
  dir: string;
  /** The run directory is not there (purged, or not made yet). */
  dirMissing: boolean;
  files: LogFile[];
  /** Globs nothing matched. */
  notFound: string[];
}

const RUN_TAIL = sh`trap '' HUP PIPE
export LC_ALL=C
shopt -s nullglob globstar
rx_b64() { printf '%s' "$1" | base64 -w0; }
# rx_tail KEY DIR LINES GLOB...: per glob, the newest regular file it matches and its last LINES lines.
rx_tail() (
  key=$1 n=$3
  cd -- "$2" 2>/dev/null || { printf 'RXNODIR %s\\n' "$key"; exit 0; }
  shift 3
  for pat in "$@"; do
    best=
    IFS= ; m=( $pat ); unset IFS
    for f in "\${m[@]}"; do
      [ -f "$f" ] || continue
      if [ -z "$best" ] || [ "$f" -nt "$best" ]; then best=$f; fi
    done
    if [ -z "$best" ]; then printf 'RXNOLOG %s %s\\n' "$key" "$(rx_b64 "$pat")"; continue; fi
    printf 'RXLOG %s %s %s %s\\n' "$key" "$(rx_b64 "$pat")" "$(rx_b64 "$best")" "$(stat -c %s -- "$best" 2>/dev/null || echo 0)"
    tail -n "$n" -- "$best" | base64 -w0
    echo
  done
)`;

/** Bash that prints the tails of every query (RXLOG/RXNOLOG/RXNODIR lines; parseLogs reads them). */
export function logsScript(queries: readonly LogQuery[], lines: number): string {
  if (!Number.isInteger(lines) || lines < 0) throw new Error(`logsScript: lines must be a whole number, got ${lines}`);
  return sh.lines([RUN_TAIL, ...queries.map(q => sh`rx_tail ${q.key} ${sh.path(q.dir)} ${lines} ${q.patterns}`)]).text + '\n';
}

const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

/** Pure: logsScript's output → the logs of each run asked about. */
export function parseLogs(stdout: string, queries: readonly LogQuery[]): Map<string, RunLogs> {
  const out = new Map(queries.map(q => [q.key, { key: q.key, dir: q.dir, dirMissing: false, files: [] as LogFile[], notFound: [] as string[] }]));
  const lines = stdout.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const w = lines[i]!.split(' ');
    const r = out.get(w[1] ?? '');
    if (!r) continue;
    if (w[0] === 'RXNODIR') r.dirMissing = true;
    else if (w[0] === 'RXNOLOG' && w.length === 3) r.notFound.push(unb64(w[2]!));
    else if (w[0] === 'RXLOG' && w.length === 5) r.files.push({ pattern: unb64(w[2]!), path: unb64(w[3]!), size: Number(w[4]) || 0, text: unb64(lines[++i] ?? '') });
  }
  return out;
}

/** The batch script of each commit (`<sha>:<script>`), read locally with one cat-file. */
async function batchScripts(ctx: RepoContext, shas: string[], script: string): Promise<Map<string, string | null>> {
  const unique = [...new Set(shas)];
  const blobs = unique.length ? await git(ctx.top, verbs.readBlobs(unique.map(s => `${s}:${script}`))) : [];
  return new Map(unique.map((s, i) => [s, blobs[i]?.toString('utf8') ?? null]));
}

/**
 * The log queries for points of one sweep (their latest job's output, or `file` — a glob relative
 * to the run directory — instead). Points without a run directory or job are left out.
 */
export async function logQueries(ctx: RepoContext, state: SweepState, points: readonly PointRecord[], file?: string): Promise<LogQuery[]> {
  const remote = state.sweep!.remote;
  const withJob = points.filter(p => p.dir && p.jobs.length);
  if (file !== undefined) return withJob.map(p => ({ key: p.key, dir: p.dir!, patterns: [file] }));
  const scripts = await batchScripts(ctx, withJob.flatMap(p => (p.sha ? [p.sha] : [])), remote.script);
  return withJob.map(p => {
    const script = p.sha ? scripts.get(p.sha) ?? null : null;
    const spec = outputSpec(script, remote.sbatchArgs ?? [], p.jobs.at(-1)!.jobId, remote.scheduler, remote.script);
    return { key: p.key, dir: p.dir!, patterns: spec.patterns };
  });
}

/** Reads the tails of the queries' files over the target's connection (one script). */
export async function readLogs(target: Target, queries: readonly LogQuery[], lines: number): Promise<Map<string, RunLogs>> {
  if (!queries.length) return new Map();
  const r = await target.transport.exec(logsScript(queries, lines));
  return parseLogs(r.stdout, queries);
}

