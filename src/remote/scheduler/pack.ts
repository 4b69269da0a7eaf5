// Packing: k points per job (per array task). A pack is a directory in the state dir holding links
// `d/<slot>` → each point's run dir and a generated runner (named like the user's batch script and
// carrying its header, so its #SBATCH directives shape the job) that runs the user's script in each
// run dir, one after another or p at a time, and records each point's start, end and exit status
// in that run dir (`.rx/status-<id>`), so every point has its own state. The scheduler submits the
// pack dir as one ordinary job (or one array task); rx records `<job id>+<slot>` for each point.
//
// Cancelling some points of a pack (rx cancel) cannot go through the scheduler, whose unit is the
// whole job: rx writes a marker `.rx/cancel-<id>` into each chosen point's run dir, next to its
// status file. The runner never starts a marked point (it records `cancelled`), and stops a marked
// running one (its own process group: TERM, KILL after a grace period), recording `cancelled` and
// its end; the other points run on. A point that ended before the runner saw the marker keeps its
// own end: one that succeeded stays COMPLETED.
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
 * Seconds a runner waits after TERM before KILL: `grace` for a point rx cancel stops (the shell
 * scheduler's 10 s), `stop` for every point when the job itself gets TERM (shorter than the shell
 * scheduler's 10 s, so that no point outlives its job; Slurm kills what is left after KillWait anyway).
 */
export interface PackTiming {
  grace: number;
  stop: number;
}

export const PACK_TIMING: PackTiming = { grace: 10, stop: 5 };

/**
 * Pure: the runner of packs of points whose batch script is `text` (at `scriptPath` in each run
 * dir). Each point's output goes to its run dir under the name the script's (or sbatchArgs')
 * `-o/-e` give, `%j %A %a %x %u %N %%` expanded as Slurm would for the pack job; by default
 * `slurm-<id>.out` with the point's recorded id.
 */
export function packRunner(text: string, scriptPath: string, sbatchArgs: readonly string[], parallel: number, timing: PackTiming = PACK_TIMING): string {
  if (![timing.grace, timing.stop].every(n => Number.isSafeInteger(n) && n >= 0)) throw new Error(`pack runner: grace and stop must be whole seconds, got ${JSON.stringify(timing)}`);
  const b = parseBatchScript(text);
  const opts = [...findOptions(b.directives), ...findOptions(sbatchArgs)];
  const last = (o: 'output' | 'error') => opts.filter(x => x.opt === o).at(-1)?.value ?? '';
  const interp = b.interpreter ?? ['/bin/bash'];
  const script = scriptPath.startsWith('-') ? './' + scriptPath : scriptPath;
  return sh.lines([
    sh`#!/bin/bash`,
    ...b.header.map(l => sh.raw(l)),
    sh`# rx: a pack of points: runs ${scriptPath} in each run directory linked from d/<slot>, ${parallel} at a time`,
    sh`rx_par=${String(parallel)} rx_grace=${String(timing.grace)} rx_stop=${String(timing.stop)} rx_o=${last('output')} rx_e=${last('error')} rx_run=(${[...interp, script]})`,
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
# rx_one SLOT (a background job in a process group of its own, so that rx cancel can stop this one
# point): the user's script in that point's run dir; its end and exit status go to .rx/status-<id> there.
rx_one() {
  local id=$rx_base+$1 o rc
  cd -P -- "d/$1" 2>/dev/null || { echo "rx: pack slot $1: cannot enter its run directory" >&2; exit 1; }
  export SLURM_SUBMIT_DIR=$PWD RX_POINT_JOB_ID=$id
  o=slurm-$id.out; [ -z "$rx_o" ] || o=$(rx_exp "$rx_o")
  if [ -n "$rx_e" ]; then "\${rx_run[@]}" >"$o" 2>"$(rx_exp "$rx_e")" </dev/null 8>&-; else "\${rx_run[@]}" >"$o" 2>&1 </dev/null 8>&-; fi
  rc=$?
  printf 'end %(%s)T %s\\n' -1 "$rc" >>".rx/status-$id"
  { printf x >&8; } 2>/dev/null
  exit "$rc"
}
# rx_start SLOT: a point whose cancel marker (rx cancel: .rx/cancel-<id> in its run dir) exists is
# recorded cancelled and never run; any other starts (its start recorded first, by this shell alone).
rx_start() {
  local st=d/$1/.rx/status-$rx_base+$1
  if [ -e "d/$1/.rx/cancel-$rx_base+$1" ]; then printf 'cancelled %(%s)T\\n' -1 2>/dev/null >"$st"; return 0; fi
  printf 'start %(%s)T\\n' -1 2>/dev/null >"$st"
  set -m; rx_one "$1" & rx_g[$1]=$!; set +m
  rx_live+=("$1")
}
# rx_nap: a second, or less when a point ends (it writes a byte into the pipe on fd 8) or TERM
# comes; no process is started. The runner never calls wait: a wait cut short by the TERM trap can
# lose a child's end in bash and then block for good; bash reaps every child by itself.
rx_nap() {
  if (( rx_wake )); then read -t 1 -N 1 -u 8 rx_x; else sleep 1; fi
  return 0
}
# rx_end SLOT: rx_rc := the exit status the point recorded; fails while it has none.
rx_end() {
  local a b c; rx_rc=
  while read -r a b c; do [ "$a" = end ] && rx_rc=$c; done 2>/dev/null <"d/$1/.rx/status-$rx_base+$1"
  [ -n "$rx_rc" ]
}
# rx_watch: each running point that ended leaves (its own end recorded, or its process group gone);
# one whose cancel marker appeared gets TERM (after 'cancelled' is recorded), KILL after rx_grace s,
# and its end recorded here once its group is gone (its shell died with it); when the job itself
# gets TERM, every point gets TERM and KILL after rx_stop s (before the shell scheduler's own KILL),
# their end left unrecorded: they take the job's end, as its whole group did before.
rx_watch() {
  local s g now keep=()
  printf -v now '%(%s)T' -1
  for s in "\${rx_live[@]}"; do
    g=\${rx_g[s]}
    if rx_end "$s"; then
      [ "$rx_rc" = 0 ] || [ -n "\${rx_why[s]-}" ] || rx_bad=1
      continue
    fi
    if ! kill -0 -- "-$g" 2>/dev/null; then
      # Its end may have been recorded between the two looks: then it is the point's own.
      if rx_end "$s"; then [ "$rx_rc" = 0 ] || [ -n "\${rx_why[s]-}" ] || rx_bad=1; continue; fi
      case \${rx_why[s]-} in
        cancel) printf 'end %(%s)T %s\\n' -1 "\${rx_sig[s]}" 2>/dev/null >>"d/$s/.rx/status-$rx_base+$s" ;;
        stop) ;;
        *) rx_bad=1 ;;
      esac
      continue
    fi
    if [ -z "\${rx_why[s]-}" ]; then
      if (( rx_term )); then
        rx_why[s]=stop rx_dl[s]=$((now + rx_stop)) rx_sig[s]=143; kill -TERM -- "-$g" 2>/dev/null
      elif [ -e "d/$s/.rx/cancel-$rx_base+$s" ]; then
        printf 'cancelled %(%s)T\\n' -1 2>/dev/null >>"d/$s/.rx/status-$rx_base+$s"
        rx_why[s]=cancel rx_dl[s]=$((now + rx_grace)) rx_sig[s]=143; kill -TERM -- "-$g" 2>/dev/null
      fi
    else
      (( rx_term && rx_dl[s] > now + rx_stop )) && rx_dl[s]=$((now + rx_stop))
      (( now >= rx_dl[s] )) && { rx_sig[s]=137; kill -KILL -- "-$g" 2>/dev/null; }
    fi
    keep+=("$s")
  done
  rx_live=("\${keep[@]}")
}
rx_bad=0 rx_s=0 rx_term=0 rx_live=() rx_g=() rx_why=() rx_dl=() rx_sig=() rx_wake=0
# A pipe only this shell and the points' own shells hold (not the user's scripts): read and write.
{ exec 8<> <(:); } 2>/dev/null && rx_wake=1
trap 'rx_term=1' TERM
while :; do
  while (( !rx_term && \${#rx_live[@]} < rx_par )) && [ -L "d/$rx_s" ]; do rx_start "$rx_s"; rx_s=$((rx_s + 1)); done
  (( \${#rx_live[@]} )) || break
  rx_nap
  rx_watch
done
(( rx_term )) && exit 143
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
    const m = /^RXMARK (\S+) (.*)$/.exec(line);
    if (!m) continue;
    const packed = parsePackMarker(m[2]!);
    if (packed) out.set(m[1]!, packed);
    else if (/^\d+(?:_\d+)?\s*$/.test(m[2]!)) out.set(m[1]!, { jobId: m[2]!.trim() });
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

/**
 * Bash printing `RXPT <key> <start> <end> <status> <cancelled> <marked>` (`-` when absent; marked
 * 0|1) from each packed point's `.rx/status-<id>` and its cancel marker `.rx/cancel-<id>`.
 */
export function pointRunsScript(points: readonly { key: string; dir: string; jobId: string }[]): string {
  return sh.lines([
    sh`rx_pt() {
  local f=$2/.rx/status-$3 a b c s=- e=- r=- x=- m=0
  [ -e "$2/.rx/cancel-$3" ] && m=1
  [ -f "$f" ] || [ $m = 1 ] || return 0
  [ -f "$f" ] && while read -r a b c; do case $a in start) s=$b ;; end) e=$b; r=$c ;; cancelled) x=$b ;; esac; done <"$f"
  printf 'RXPT %s %s %s %s %s %s\\n' "$1" "$s" "$e" "$r" "$x" "$m"
}`,
    ...points.map(p => sh`rx_pt ${[p.key, sh.path(p.dir), p.jobId]}`),
    sh`exit 0`, sh``,
  ]).text;
}

export interface PointRun {
  start: number | null;
  end: number | null;
  status: number | null;
  /** When the runner acted on the point's cancel marker (did not start it, or began stopping it). */
  cancelled: number | null;
  /** rx cancel's marker is there (the runner may not have come to it yet). */
  marked: boolean;
}

/** Pure: RXPT lines → key → what the point's own record says. */
export function parsePointRuns(stdout: string): Map<string, PointRun> {
  const num = (s: string | undefined) => (s !== undefined && /^\d+$/.test(s) ? Number(s) : null);
  const out = new Map<string, PointRun>();
  for (const line of stdout.split('\n')) {
    const m = /^RXPT (\S+) (\S+) (\S+) (\S+)(?: (\S+) ([01]))?\s*$/.exec(line);
    if (m) out.set(m[1]!, { start: num(m[2]), end: num(m[3]), status: num(m[4]), cancelled: num(m[5]), marked: m[6] === '1' });
  }
  return out;
}

const BY_CANCEL = 'cancelled by rx cancel';

/**
 * Pure: a packed point's state from its pack job's state and its own record. A point that ended
 * has its own exit status (CANCELLED when rx cancel stopped it, unless it succeeded first); one
 * marked by rx cancel that never started is CANCELLED; one that started and did not end, or never
 * started, in a job that is over takes the job's end (TIMEOUT, CANCELLED, …), and UNKNOWN if the
 * job says COMPLETED — never COMPLETED.
 */
export function packedPointStatus(id: string, job: JobStatus | undefined, run: PointRun | undefined, nowSeconds: number): JobStatus {
  const times = { start: isoSeconds(run?.start ?? null), end: isoSeconds(run?.end ?? null) };
  const cancel = run?.cancelled != null || run?.marked === true;
  const started = run?.start != null;
  if (run?.end != null && run.status !== null) return endedStatus(id, run, times);
  // The runner never starts a marked point (a marker written as it starts one: stopped within a second).
  if (cancel && !started) return { jobId: id, state: 'CANCELLED', exitCode: null, start: null, end: isoSeconds(run?.cancelled ?? null), reason: `${BY_CANCEL} before it started` };
  if (!job) return { jobId: id, state: 'UNKNOWN', exitCode: null, ...times, reason: `the scheduler no longer knows job ${jobOf(id)}` };
  const over = TERMINAL_STATES.has(job.state);
  if (!over) {
    if (started) return { jobId: id, state: 'RUNNING', exitCode: null, ...times, elapsedSeconds: nowSeconds - run!.start!, reason: cancel ? `${BY_CANCEL}: stopping` : null };
    return { jobId: id, state: 'PENDING', exitCode: null, start: null, end: null, reason: job.state === 'PENDING' ? (job.reason ?? null) : `waiting for its turn in pack job ${jobOf(id)}` };
  }
  const ended = `its pack job ${jobOf(id)} ended ${job.state}${job.reason ? ` (${job.reason})` : ''}`;
  if (cancel) return { jobId: id, state: 'CANCELLED', exitCode: null, ...times, reason: `${BY_CANCEL}; ${ended} before it recorded its end` };
  const state = job.state === 'COMPLETED' ? 'UNKNOWN' : job.state;
  return { jobId: id, state, exitCode: null, ...times, reason: `${started ? 'it started but did not finish' : 'it never started'}: ${ended}` };
}

/** A point that recorded its end: its own status; CANCELLED if rx cancel stopped it and it did not succeed first. */
function endedStatus(id: string, run: PointRun, times: { start: string | null; end: string | null }): JobStatus {
  const status = run.status!;
  const signal = status > 128 && status < 193 ? status - 128 : null;
  const elapsedSeconds = run.start === null ? null : run.end! - run.start;
  const base = { jobId: id, exitCode: signal ? null : status, signal, ...times, elapsedSeconds };
  if (status === 0) return { ...base, state: 'COMPLETED', reason: null };
  if (run.cancelled !== null) return { ...base, state: 'CANCELLED', reason: signal ? `${BY_CANCEL} (signal ${signal})` : BY_CANCEL };
  return { ...base, state: 'FAILED', reason: signal ? `killed by signal ${signal}` : null };
}

/** A pack's directory in the state dir (the scheduler's job-id marker of the pack is that of this dir). */
export function packDir(stateDir: string, name: string): string {
  return `${stateDir}/packs/${name}`;
}

/** Pure: a point's job-id marker naming its pack (`pack:<name> <slot>`) → the pack and slot; null for a job id. */
export function parsePackMarker(text: string): { pack: string; slot: number } | null {
  const m = /^pack:(p\.[0-9a-f]+) (\d+)\s*$/.exec(text);
  return m ? { pack: m[1]!, slot: Number(m[2]) } : null;
}

/** A packed point rx cancel stops alone: its run dir and recorded id (`<job>+<slot>`). */
export interface PointToCancel {
  key: string;
  dir: string;
  jobId: string;
}

/**
 * Bash for rx cancel, one script: writes each point's marker `.rx/cancel-<id>` in its run dir (one
 * already there is kept, so a rerun after a crash is harmless) and prints `RXCMARK <key> ok|fail`;
 * runs `jobsCancel` (the scheduler's cancel of whole jobs; in a subshell, as it ends with exit);
 * then waits up to `waitSeconds` for the marked points that were running to record their end (the
 * runner looks every second, then TERM), so that the states read next are final.
 */
export function cancelPointsScript(points: readonly PointToCancel[], jobsCancel: string | null, waitSeconds = 5): string {
  return sh.lines([
    sh`trap '' HUP PIPE`,
    sh`rx_w=()
rx_cm() {
  if [ -d "$2/.rx" ] && { [ -e "$2/.rx/cancel-$3" ] || printf '%(%s)T\\n' -1 >"$2/.rx/cancel-$3"; } 2>/dev/null; then
    printf 'RXCMARK %s ok\\n' "$1"; rx_w+=("$2/.rx/status-$3")
  else printf 'RXCMARK %s fail\\n' "$1"; fi
}
# rx_running FILE: the point started and has not recorded its end.
rx_running() { local a b c s= e=; while read -r a b c; do case $a in start) s=1 ;; end) e=1 ;; esac; done <"$1"; [ -n "$s" ] && [ -z "$e" ]; } 2>/dev/null`,
    ...points.map(p => sh`rx_cm ${[p.key, sh.path(p.dir), p.jobId]}`),
    jobsCancel === null ? sh`` : sh.lines([sh`(`, sh.raw(jobsCancel), sh`)`]),
    sh`rx_n=$(( ${String(waitSeconds)} * 5 ))
while (( rx_n-- > 0 )); do
  rx_left=0
  for rx_f in "\${rx_w[@]}"; do rx_running "$rx_f" && { rx_left=1; break; }; done
  (( rx_left )) || break
  sleep 0.2
done
exit 0`, sh``,
  ]).text;
}

/** Pure: RXCMARK lines → the keys whose marker is in place. */
export function parseCancelMarks(stdout: string): Set<string> {
  const out = new Set<string>();
  for (const line of stdout.split('\n')) {
    const m = /^RXCMARK (\S+) ok\s*$/.exec(line);
    if (m) out.add(m[1]!);
  }
  return out;
}
