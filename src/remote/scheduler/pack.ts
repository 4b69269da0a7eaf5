// Packing: k points per job (per array task). A pack is a directory in the state dir holding links
// `d/<slot>` → each point's run dir and a generated runner (named like the user's batch script and
// carrying its header, so its #SBATCH directives shape the job) that runs the user's script in each
// run dir, one after another or p at a time, and records each point's start, end and exit status
// in that run dir (`.rx/status-<id>`), so every point has its own state. The scheduler submits the
// pack dir as one ordinary job (or one array task); rx records `<job id>+<slot>` for each point.
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { sh, type ShFragment } from '../../quote.ts';
import { findOptions, parseBatchScript } from './slurm-array.ts';
import { isoSeconds, TERMINAL_STATES, type JobStatus } from './types.ts';
import { PLACE, SYMLINKS } from './bulk.ts';

/** `remote.pack` as validated: k points per job, p of them at once. */
export interface PackSpec {
  size: number;
  parallel: number;
}

/** A packed point's recorded id: its pack's job id, `+`, its slot. */
const PACKED_ID = /^(.+)\+(\d+)$/;

/** The scheduler's id of the job a recorded id belongs to (`123_4+2` → `123_4`; others as they are). */
export function jobOf(id: string): string {
  return PACKED_ID.exec(id)?.[1] ?? id;
}

export function isPacked(id: string): boolean {
  return PACKED_ID.test(id);
}

/** The name of the Slurm output of the pack job itself (in the pack dir, not in any run dir). */
export const PACK_OUTPUT = { single: 'rx-pack-%j.out', array: 'rx-pack-%A_%a.out' } as const;

/** A pack dir's name: a hash of its members (run dir and attempt), so making it again is idempotent. */
export function packName(members: readonly { dir: string; attempt: number }[]): string {
  const h = createHash('sha256');
  for (const m of members) h.update(`${m.attempt}\0${m.dir}\0`);
  return `p.${h.digest('hex').slice(0, 20)}`;
}

/** The runner's file name in the pack dir: the user's script's base name (the job's default name). */
export function runnerName(scriptPath: string): string {
  const base = posix.basename(scriptPath);
  return base.startsWith('-') ? './' + base : base;
}

/**
 * Pure: the runner of packs of points whose batch script is `text` (at `scriptPath` in each run
 * dir). Each point's output goes to its run dir under the name the script's (or sbatchArgs')
 * `-o/-e` give, `%j %A %a %x %u %N %%` expanded as Slurm would for the pack job; by default
 * `slurm-<id>.out` with the point's recorded id.
 */
export function packRunner(text: string, scriptPath: string, sbatchArgs: readonly string[], parallel: number): string {
  const b = parseBatchScript(text);
  const opts = [...findOptions(b.directives), ...findOptions(sbatchArgs)];
  const last = (o: 'output' | 'error') => opts.filter(x => x.opt === o).at(-1)?.value ?? '';
  const interp = b.interpreter ?? ['/bin/bash'];
  const script = scriptPath.startsWith('-') ? './' + scriptPath : scriptPath;
  return sh.lines([
    sh`#!/bin/bash`,
    ...b.header.map(l => sh.raw(l)),
    sh`# rx: a pack of points: runs ${scriptPath} in each run directory linked from d/<slot>, ${parallel} at a time`,
    sh`rx_par=${String(parallel)} rx_o=${last('output')} rx_e=${last('error')} rx_run=(${[...interp, script]})`,
    PACK_RUNNER,
  ]).text + '\n';
}

const PACK_RUNNER = sh`unset CDPATH
if [ -n "\${SLURM_ARRAY_JOB_ID-}" ] && [ -n "\${SLURM_ARRAY_TASK_ID-}" ]; then rx_base=\${SLURM_ARRAY_JOB_ID}_\${SLURM_ARRAY_TASK_ID}
else rx_base=\${SLURM_JOB_ID:-\${RX_JOB_ID:-$$}}; fi
# rx_exp PATTERN: an output name with Slurm's replacement symbols expanded for this job.
rx_exp() {
  local p=$1 out= c
  while [ -n "$p" ]; do
    c=\${p:0:1}; p=\${p:1}
    if [ "$c" != % ]; then out+=$c; continue; fi
    while [[ \${p:0:1} == [0-9] ]]; do p=\${p:1}; done
    c=\${p:0:1}; p=\${p:1}
    case $c in
      %) out+=% ;;
      j|J) out+=\${SLURM_JOB_ID-} ;;
      A) out+=\${SLURM_ARRAY_JOB_ID:-\${SLURM_JOB_ID-}} ;;
      a) out+=\${SLURM_ARRAY_TASK_ID:-4294967294} ;;
      x) out+=\${SLURM_JOB_NAME-} ;;
      u) out+=\${USER:-$(id -un)} ;;
      N) out+=\${SLURMD_NODENAME:-$(hostname -s)} ;;
      *) out+=%$c ;;
    esac
  done
  printf '%s' "$out"
}
# rx_one SLOT: the user's script in that point's run dir; start, end and status in .rx/status-<id> there.
rx_one() {
  local id=$rx_base+$1 d
  d=$(cd -P -- "d/$1" 2>/dev/null && pwd -P) || { echo "rx: pack slot $1: cannot enter its run directory" >&2; return 1; }
  (
    cd -- "$d" || exit 1
    export SLURM_SUBMIT_DIR=$PWD RX_POINT_JOB_ID=$id
    st=.rx/status-$id
    o=slurm-$id.out; [ -z "$rx_o" ] || o=$(rx_exp "$rx_o")
    printf 'start %(%s)T\\n' -1 >"$st"
    if [ -n "$rx_e" ]; then "\${rx_run[@]}" >"$o" 2>"$(rx_exp "$rx_e")" </dev/null; else "\${rx_run[@]}" >"$o" 2>&1 </dev/null; fi
    rc=$?
    printf 'end %(%s)T %s\\n' -1 "$rc" >>"$st"
    exit "$rc"
  )
}
rx_bad=0 rx_s=0
while [ -L "d/$rx_s" ]; do
  if [ "$rx_par" -le 1 ]; then
    rx_one "$rx_s" || rx_bad=1
  else
    while [ "$(jobs -rp | wc -l)" -ge "$rx_par" ]; do wait -n || rx_bad=1; done
    rx_one "$rx_s" &
  fi
  rx_s=$((rx_s + 1))
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n || rx_bad=1; done
exit "$rx_bad"`;

/** One point to put in a pack: `marker` is the scheduler's marker name of its run dir and attempt. */
export interface PackMember {
  key: string;
  dir: string;
  marker: string;
}

/** Bash reporting each member's marker: `RXMARK <key> <content>` (a job id, or `pack:<name> <slot>`). */
export function markerSurveyScript(stateDir: string, members: readonly PackMember[]): string {
  return sh.lines([
    sh`rx_sd=${sh.path(stateDir)}`,
    sh`rx_mark() { local c=; [ -s "$rx_sd/$2" ] && IFS= read -r c <"$rx_sd/$2" && printf 'RXMARK %s %s\\n' "$1" "$c"; return 0; }`,
    ...members.map(m => sh`rx_mark ${m.key} ${m.marker}`),
    sh`exit 0`, sh``,
  ]).text;
}

/** Pure: RXMARK lines → key → the pack (name, slot) it was put in, or its job id. */
export function parseMarkers(stdout: string): Map<string, { pack: string; slot: number } | { jobId: string }> {
  const out = new Map<string, { pack: string; slot: number } | { jobId: string }>();
  for (const line of stdout.split('\n')) {
    const m = /^RXMARK (\S+) (?:pack:(p\.[0-9a-f]+) (\d+)|(\d+(?:_\d+)?))\s*$/.exec(line);
    if (!m) continue;
    out.set(m[1]!, m[2] ? { pack: m[2], slot: Number(m[3]) } : { jobId: m[4]! });
  }
  return out;
}

export interface PackToMake {
  name: string;
  members: PackMember[];
  runner: string;
  runnerName: string;
}

/**
 * Bash that makes each pack dir `<stateDir>/packs/<name>` (atomically: built aside, renamed) unless
 * it exists, then each member's marker `pack:<name> <slot>` (all renamed into place at the end) —
 * before any job is submitted, so that a rerun after a crash finds every point's pack. Prints
 * `RXPACK <name> <key>…` (members in slot order) per pack made or found once the markers are in
 * place, `RXERR <key> <msg>` per point left out. A crash before the markers are placed leaves packs
 * no marker names: a rerun makes the same packs again (same members, same name) or new ones.
 */
export function makePacksScript(stateDir: string, packs: readonly PackToMake[]): string {
  const lines: ShFragment[] = [sh`rx_sd=${sh.path(stateDir)}`, MAKE_PACK];
  for (const p of packs) {
    lines.push(sh`rx_k=(${p.members.map(m => m.key)}) rx_d=(${p.members.map(m => sh.path(m.dir))}) rx_m=(${p.members.map(m => m.marker)})`);
    lines.push(sh`rx_mkpack ${[p.name, p.runnerName, p.runner]}`);
  }
  lines.push(MAKE_PACK_END, sh`exit 0`, sh``);
  return sh.lines(lines).text;
}

const MAKE_PACK = sh`${SYMLINKS}
${PLACE}
trap '' HUP PIPE
unset CDPATH
rx_home=$PWD
mkdir -p -- "$rx_sd/packs" 2>/dev/null
# Every member's marker is written aside (no process each) and all are renamed into place at the end.
rx_ms=$(mktemp -d "$rx_sd/packs/.markers.XXXXXX") || { echo "RXFATAL cannot write in $rx_sd/packs" >&2; exit 3; }
rx_made=()
rx_mkpack() {
  local name=$1 rn=$2 text=$3 pd=$rx_sd/packs/$1 t i keys=() dirs=() slot
  if [ ! -f "$pd/keys" ]; then
    rm -rf -- "$pd"
    for i in "\${!rx_k[@]}"; do
      # cd -P in this shell: $PWD is the run dir's physical path, no subshell per point.
      if cd -P -- "\${rx_d[i]}" 2>/dev/null; then dirs+=("$PWD"); keys+=("\${rx_k[i]}"); cd -- "$rx_home" || return 0
      else echo "RXERR \${rx_k[i]} cannot enter the run directory \${rx_d[i]}"; fi
    done
    [ \${#keys[@]} -gt 0 ] || return 0
    if ! { t=$(mktemp -d "$rx_sd/packs/.new.XXXXXX") && mkdir "$t/d" && rx_symlinks "$t/d" "\${dirs[@]}" && printf '%s\\n' "\${keys[@]}" >"$t/keys" && printf '%s' "$text" >"$t/$rn" && mv -T -- "$t" "$pd"; } 2>/dev/null; then
      [ -z "$t" ] || rm -rf -- "$t"
      for i in "\${!keys[@]}"; do echo "RXERR \${keys[i]} cannot write the pack directory $pd"; done
      return 0
    fi
  else
    mapfile -t keys <"$pd/keys"
  fi
  declare -A at=()
  for slot in "\${!keys[@]}"; do at[\${keys[slot]}]=$slot; done
  for i in "\${!rx_k[@]}"; do
    [ -n "\${at[\${rx_k[i]}]+x}" ] && printf 'pack:%s %s\\n' "$name" "\${at[\${rx_k[i]}]}" >"$rx_ms/\${rx_m[i]}"
  done
  rx_made+=("$name \${keys[*]}")
}`;

const MAKE_PACK_END = sh`rx_place "$rx_ms" "$rx_sd" || { echo "RXFATAL cannot move the pack markers into $rx_sd" >&2; exit 3; }
for rx_p in "\${rx_made[@]}"; do printf 'RXPACK %s\\n' "$rx_p"; done`;

/** Pure: `RXPACK <name> <key>…` lines → pack name → member keys in slot order. */
export function parsePacks(stdout: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of stdout.split('\n')) {
    const m = /^RXPACK (p\.[0-9a-f]+)((?: \S+)*)\s*$/.exec(line);
    if (m) out.set(m[1]!, m[2]!.split(' ').filter(Boolean));
  }
  return out;
}

/** Bash printing `RXPT <key> <start> <end> <status>` (`-` when absent) from each packed point's `.rx/status-<id>`. */
export function pointRunsScript(points: readonly { key: string; dir: string; jobId: string }[]): string {
  return sh.lines([
    sh`rx_pt() { local f=$2/.rx/status-$3 a b c s=- e=- r=-; [ -f "$f" ] || return 0; while read -r a b c; do case $a in start) s=$b ;; end) e=$b; r=$c ;; esac; done <"$f"; printf 'RXPT %s %s %s %s\\n' "$1" "$s" "$e" "$r"; }`,
    ...points.map(p => sh`rx_pt ${[p.key, sh.path(p.dir), p.jobId]}`),
    sh`exit 0`, sh``,
  ]).text;
}

export interface PointRun {
  start: number | null;
  end: number | null;
  status: number | null;
}

/** Pure: RXPT lines → key → what the point's own record says. */
export function parsePointRuns(stdout: string): Map<string, PointRun> {
  const num = (s: string) => (/^\d+$/.test(s) ? Number(s) : null);
  const out = new Map<string, PointRun>();
  for (const line of stdout.split('\n')) {
    const m = /^RXPT (\S+) (\S+) (\S+) (\S+)\s*$/.exec(line);
    if (m) out.set(m[1]!, { start: num(m[2]!), end: num(m[3]!), status: num(m[4]!) });
  }
  return out;
}

/**
 * Pure: a packed point's state from its pack job's state and its own record. A point that ended
 * has its own exit status; one that started and did not end, or never started, in a job that is
 * over takes the job's end (TIMEOUT, CANCELLED, …), and UNKNOWN if the job says COMPLETED — never COMPLETED.
 */
export function packedPointStatus(id: string, job: JobStatus | undefined, run: PointRun | undefined, nowSeconds: number): JobStatus {
  const times = { start: isoSeconds(run?.start ?? null), end: isoSeconds(run?.end ?? null) };
  if (run?.end != null && run.status !== null) {
    const signal = run.status > 128 && run.status < 193 ? run.status - 128 : null;
    return { jobId: id, state: run.status === 0 ? 'COMPLETED' : 'FAILED', exitCode: signal ? null : run.status, signal, ...times, elapsedSeconds: run.start === null ? null : run.end - run.start, reason: signal ? `killed by signal ${signal}` : null };
  }
  if (!job) return { jobId: id, state: 'UNKNOWN', exitCode: null, ...times, reason: `the scheduler no longer knows job ${jobOf(id)}` };
  const over = TERMINAL_STATES.has(job.state);
  const started = run?.start != null;
  if (!over) {
    if (started) return { jobId: id, state: 'RUNNING', exitCode: null, ...times, elapsedSeconds: nowSeconds - run!.start!, reason: null };
    return { jobId: id, state: 'PENDING', exitCode: null, start: null, end: null, reason: job.state === 'PENDING' ? (job.reason ?? null) : `waiting for its turn in pack job ${jobOf(id)}` };
  }
  const state = job.state === 'COMPLETED' ? 'UNKNOWN' : job.state;
  const what = started ? 'it started but did not finish' : 'it never started';
  return { jobId: id, state, exitCode: null, ...times, reason: `${what}: its pack job ${jobOf(id)} ended ${job.state}${job.reason ? ` (${job.reason})` : ''}` };
}
