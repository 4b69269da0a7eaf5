// The `shell` scheduler: rx's embedded default when there is no cluster. Jobs run as plain
// `bash <script> <args...>` on the target (this machine, or an ssh host without Slurm), detached from
// rx, at most N at once, with their exit status recorded so that `rx status` can read it later.
//
// Like every scheduler it only produces bash text (run on the target by `bash -s` through a
// Transport) and parses its output, so it behaves the same locally and over ssh. The target needs
// bash (>= 4.2), coreutils and util-linux (flock, setsid); no node.
//
// ## The queue directory (constructor option `queueDir`, default `~/.rx/shell-queue`)
//
// One queue per user and target machine, shared by every project that uses the same `queueDir`, so
// the "at most N at once" limit holds machine-wide. The three scripts (submit, status, cancel) all
// find it through the option, which is why it is fixed at construction and not derived from the
// submit's stateDir. A path starting with `~/` is the target user's home. Layout:
//
//   lock              flock: id allocation and every job state change happen under it
//   counter           the last job id handed out (ids are increasing integers: 1, 2, 3, ...)
//   maxpar            N, rewritten by every submit (the latest submit's setting wins)
//   runner.sh         the runner below, rewritten (atomically) by every submit
//   runner.lock       held (flock) by the one live runner
//   runner.log        what runners say (job starts, errors)
//   pending/<id>      present while job <id> waits for a slot (the runner scans it in id order)
//   active/<id>       jobs the runner started and has not yet seen finish (its slot count)
//   jobs/<id>/        one directory per job:
//     dir, script, args   what to run: the absolute run dir, the script name, NUL-separated args
//     submitted           epoch seconds
//     running             `<pid> <epoch>` written when the runner launched it (pid = its process group)
//     started             `<epoch>` written by the job itself just before the script starts
//     done                `<status> <start> <end>`: the shell's exit status (128+n: killed by signal n)
//     cancelled           `<epoch>` written by a cancel
//     after               the job id this job waits for (a chained point, JobSpec.after), if any;
//                         rx status shows a pending job with one as `Dependency (waits for job N)`
//     reason              a token explaining a failure that is not the script's own (e.g. `nodir`, `depnever`)
//     log                 the job wrapper's own stderr (not the script's output)
//
// ## Lifecycle
//
// submit: per spec, under the queue lock, allocate an id, write jobs/<id>/ and pending/<id>, then
// start a runner (`setsid bash runner.sh run ... </dev/null >>runner.log 2>&1 &`) that exits at once
// if another one holds runner.lock. The runner starts pending jobs in id order while fewer than N
// are alive, wakes when a job ends (`wait -n`) or every second, and exits when nothing is pending
// or running (the jobs do not need it to record their end; it stays to reap them and to fill a slot
// at once). A later submit starts a new runner; so does a status call that sees pending jobs and
// no runner (e.g. after a reboot or a killed runner).
//
// Each job is `setsid bash runner.sh job ...` (so its pid is its process group id, which cancel
// kills), which runs `cd <dir> && bash <script> <args...>` with SLURM_JOB_ID, RX_JOB_ID and
// SLURM_SUBMIT_DIR exported, and stdout+stderr going to `<dir>/slurm-<id>.out`: the same name as
// Slurm's default output file, so fetch patterns written for Slurm runs work for shell runs too.
// For this scheduler JobSpec.args are the script's arguments (there is no sbatch to give them to).
//
// ## Status semantics
//
// PENDING (queued) → RUNNING → COMPLETED (status 0) | FAILED (non-zero; 129..192 are reported as
// killed by signal status-128, as shells do) | CANCELLED (a cancel was requested; wins over the rest).
// A job that was launched but whose process is gone without having recorded an exit status (killed
// with SIGKILL, OOM-killed together with its wrapper, machine rebooted) is FAILED with a reason
// saying so and exitCode null. It is not requeued: a half-run experiment may have written partial
// output, and rerunning it behind the user's back could clobber that; `rx` can resubmit it.
// (A script that itself exits with 129..192 is indistinguishable from one killed by a signal: bash
// does not tell the two apart.)
//
// cancel: a pending job is marked cancelled and never runs; a running one is marked cancelled, its
// process group gets SIGTERM, and whatever is left after `killWaitSeconds` gets SIGKILL.
//
// submit's idempotency: one marker per run dir in stateDir (`shell-<sha256(dir)>.jobid`, named
// apart from Slurm's markers so that switching schedulers never reuses a foreign id), all under
// flock on `<stateDir>/.shell-submit.lock`. Job directories are never deleted by rx.
import { createHash } from 'node:crypto';
import { ConfigError } from '../../errors.ts';
import { sh } from '../../quote.ts';
import { attemptSuffix, DEPENDENCY_NEVER_SATISFIED, isoSeconds, splitUnknown, withUnknown, type JobSpec, type JobState, type JobStatus, type Scheduler } from './types.ts';

export interface ShellSchedulerOptions {
  /** Jobs running at once on the target; default: `nproc` of the target. */
  maxParallel?: number;
  /** The queue directory on the target (may start with `~/`); default `~/.rx/shell-queue`. */
  queueDir?: string;
  /** Seconds cancel waits after SIGTERM before it sends SIGKILL to the job's process group (default 10). */
  killWaitSeconds?: number;
}

const DEFAULT_SHELL_QUEUE_DIR = '~/.rx/shell-queue';

/** The job's stdout+stderr file inside its run dir: Slurm's default name, so fetch patterns work on both. */
export function shellOutputFile(jobId: string | number): string {
  return `slurm-${jobId}.out`;
}

/** Marker file (inside the submit's stateDir) recording the job id of one run dir. */
function shellMarkerName(dir: string): string {
  return `shell-${createHash('sha256').update(dir, 'utf8').digest('hex').slice(0, 32)}.jobid`;
}

// ---------------------------------------------------------------------------------------------
// Bash, built with sh`…` (src/quote.ts): interpolated values are quoted words, fragments nest as is;
// in the template text `\${` is bash's `${` and `\\` is one backslash, as in any template literal.

/** Helpers shared by the runner and the generated scripts. */
const PRELUDE = sh`
unset CDPATH
rx_now() { printf -v "$1" '%(%s)T' -1; }
rx_num() { [[ $1 =~ ^[0-9]+$ ]]; }
# rx_put FILE TEXT: replace FILE with one line, atomically.
rx_put() { printf '%s\\n' "$2" > "$1.tmp" && mv -f -- "$1.tmp" "$1"; }
# A job process is alive if it exists and is still the job wrapper (not a zombie, not a reused pid).
rx_alive() {
  rx_num "$1" || return 1
  kill -0 "$1" 2>/dev/null || return 1
  if [ -r "/proc/$1/cmdline" ]; then
    local c
    c=$(tr '\\0' ' ' 2>/dev/null < "/proc/$1/cmdline")
    [[ $c == *runner.sh* ]] || return 1
  fi
  return 0
}
# rx_abs VAR PATH: VAR := PATH made absolute (works for names ending in a newline).
rx_abs() {
  local rx_a
  rx_a=$(cd -- "$2" 2>/dev/null && pwd -P && echo x) || return 1
  printf -v "$1" '%s' "\${rx_a%$'\\n'x}"
}
# Start a runner unless one is alive (the runner itself checks runner.lock). Detached: own session,
# no stdin/stdout of ours, no lock fds of ours. SIGHUP/SIGPIPE go back to default so that jobs
# do not inherit them ignored. (No nohup: setsid already leaves the terminal, and nohup's ignored
# SIGHUP would be inherited by every job.)
rx_kick() {
  [ -f "$Q/runner.sh" ] || return 0
  ( trap - HUP PIPE; exec setsid bash "$Q/runner.sh" run "$Q" ) </dev/null >>"$Q/runner.log" 2>&1 7>&- 8>&- 9>&- &
}
`;

/** The runner, written to `<queueDir>/runner.sh` by every submit. */
const RUNNER = sh`#!/usr/bin/env bash
# rx shell-scheduler runner: generated by rx (src/remote/scheduler/shell.ts), rewritten by every submit.
#   runner.sh run <queueDir>        start pending jobs (at most $(cat maxpar) alive) until none is left
#   runner.sh job <queueDir> <id>   run one job (the runner starts it under setsid: pid = process group)
mode=$1
Q=$2
${PRELUDE}
rx_log() { local t; rx_now t; printf '[%s] runner %s: %s\\n' "$t" "$$" "$*"; }

run_mode() {
  local N id pid rest f pend spid count t dep drc newwait=0
  (( BASH_VERSINFO[0] > 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] >= 3) )) && newwait=1
  exec 8>>"$Q/runner.lock" || exit 1
  flock -n 8 || exit 0
  printf '%s\\n' "$$" > "$Q/runner.pid"
  rx_log started
  while :; do
    N=
    read -r N 2>/dev/null < "$Q/maxpar"
    rx_num "$N" && (( N > 0 )) || N=$(nproc 2>/dev/null)
    rx_num "$N" && (( N > 0 )) || N=1
    pend=0
    {
      flock 9
      count=0
      for f in "$Q"/active/*; do
        [ -e "$f" ] || continue
        id=\${f##*/}
        if [ -e "$Q/jobs/$id/done" ]; then rm -f -- "$f"; continue; fi
        pid=
        read -r pid rest 2>/dev/null < "$Q/jobs/$id/running"
        if rx_alive "$pid"; then count=$((count + 1)); else rm -f -- "$f"; fi
      done
      while IFS= read -r id; do
        rx_num "$id" || continue
        # A job with a dependency (jobs/<id>/after) waits until that job is done: if it ended with
        # status 0 it may start; otherwise it never runs (cancelled, reason depnever).
        if [ -f "$Q/jobs/$id/after" ]; then
          dep=
          read -r dep < "$Q/jobs/$id/after"
          drc=
          [ -f "$Q/jobs/$dep/done" ] && read -r drc rest < "$Q/jobs/$dep/done"
          if ! rx_num "$dep" || [ ! -d "$Q/jobs/$dep" ] || [ -e "$Q/jobs/$dep/cancelled" ] || { [ -n "$drc" ] && [ "$drc" != 0 ]; }; then
            rm -f -- "$Q/pending/$id"
            rx_now t
            rx_put "$Q/jobs/$id/reason" depnever
            rx_put "$Q/jobs/$id/cancelled" "$t"
            rx_log "job $id: its dependency $dep failed; cancelled"
            continue
          fi
          if [ -z "$drc" ]; then pend=1; continue; fi
        fi
        if (( count >= N )); then pend=1; break; fi
        rm -f -- "$Q/pending/$id"
        [ -d "$Q/jobs/$id" ] || continue
        ( trap - HUP PIPE; exec setsid bash "$Q/runner.sh" job "$Q" "$id" ) </dev/null >>"$Q/jobs/$id/log" 2>&1 8>&- 9>&- &
        rx_now t
        rx_put "$Q/jobs/$id/running" "$! $t"
        : > "$Q/active/$id"
        count=$((count + 1))
        rx_log "job $id started (pid $!)"
      done < <(ls -- "$Q/pending" 2>/dev/null | sort -n)
    } 9>>"$Q/lock"
    # Stay while jobs run (to reap them and to start the next one the moment a slot frees up).
    if (( pend == 0 && count == 0 )); then
      flock -u 8
      # A submit that queued a job after our scan, while we still held runner.lock, left it to us.
      if [ -n "$(ls -A -- "$Q/pending" 2>/dev/null)" ] && flock -n 8; then continue; fi
      rx_log "queue empty, exiting"
      exit 0
    fi
    # Sleep until a job ends (wait -n) or a second passed (new submissions, cancels).
    sleep 1 8>&- 9>&- &
    spid=$!
    if (( newwait )); then wait -n; else wait "$spid"; fi
    kill "$spid" 2>/dev/null
    wait "$spid" 2>/dev/null
  done
}

job_mode() {
  local id=$3 J dir script a args=() start end rc=1 child term=0
  rx_num "$id" || exit 2
  J=$Q/jobs/$id
  # Cancel sends SIGTERM to the whole process group: note it, let the script die, record its status.
  trap 'term=1' TERM
  {
    flock 9
    # Cancelled between the runner's launch and now: do not start at all.
    [ -e "$J/cancelled" ] && exit 0
    rx_now start
    rx_put "$J/started" "$start"
  } 9>>"$Q/lock"
  IFS= read -r -d '' dir < "$J/dir"
  IFS= read -r -d '' script < "$J/script"
  while IFS= read -r -d '' a; do args+=("$a"); done < "$J/args"
  if (( term )); then
    rc=143
  elif [ ! -d "$dir" ]; then
    echo "run directory does not exist: $dir" >&2
    rx_put "$J/reason" nodir
    rc=1
  else
    # Output file: Slurm's default name (slurm-<id>.out in the run dir).
    (
      cd -- "$dir" || exit 1
      export SLURM_JOB_ID="$id" RX_JOB_ID="$id" SLURM_SUBMIT_DIR="$dir"
      exec bash -- "$script" "\${args[@]}"
    ) > "$dir/slurm-$id.out" 2>&1 &
    child=$!
    while :; do
      wait "$child"
      rc=$?
      # wait returns early when our TERM trap runs; go on waiting while the script lives.
      kill -0 "$child" 2>/dev/null || break
    done
  fi
  rx_now end
  {
    flock 9
    rx_put "$J/done" "$rc $start $end"
    rm -f -- "$Q/active/$id"
  } 9>>"$Q/lock"
  exit 0
}

case $mode in
  run) run_mode "$@" ;;
  job) job_mode "$@" ;;
  *) echo "usage: runner.sh run|job <queueDir> [id]" >&2; exit 2 ;;
esac
`;

const SUBMIT_BODY = sh`
trap '' HUP PIPE
${PRELUDE}
rx_broken=
rx_queued=0
rx_after=
if ! command -v flock >/dev/null 2>&1 || ! command -v setsid >/dev/null 2>&1; then
  rx_broken='flock or setsid not found on the target (install util-linux)'
elif ! mkdir -p -- "$S" "$Q/jobs" "$Q/pending" "$Q/active" 2>/dev/null || ! rx_abs Q "$Q"; then
  rx_broken='cannot create the state directory or the shell queue directory'
elif ! { cat > "$Q/runner.sh.tmp.$$" <<'RX_SHELL_RUNNER_EOF'
${RUNNER}RX_SHELL_RUNNER_EOF
} || ! mv -f -- "$Q/runner.sh.tmp.$$" "$Q/runner.sh" || ! rx_put "$Q/maxpar" "$RX_MAXPAR"; then
  rx_broken='cannot write to the shell queue directory'
elif ! exec 9>>"$S/.shell-submit.lock" || ! flock 9; then
  rx_broken='cannot lock the state directory'
fi

# rx_submit KEY DIR SCRIPT MARKER ARGS... (with rx_after=<job id> for a job that waits for another)
rx_submit() {
  local key=$1 dir=$2 script=$3 marker=$S/$4 id n t abs ok=0
  shift 4
  if [ -n "$rx_broken" ]; then printf 'RXERR %s %s\\n' "$key" "$rx_broken"; return; fi
  if [ -f "$marker" ]; then
    id=
    read -r id < "$marker"
    if rx_num "$id"; then printf 'RXJOB %s %s\\n' "$key" "$id"; return; fi
  fi
  if ! rx_abs abs "$dir"; then printf 'RXERR %s run directory not found\\n' "$key"; return; fi
  if ! ( cd -- "$abs" && [ -f "$script" ] ); then printf 'RXERR %s script not found in the run directory\\n' "$key"; return; fi
  {
    flock 8
    n=
    read -r n 2>/dev/null < "$Q/counter"
    rx_num "$n" || n=0
    id=$((n + 1))
    while [ -e "$Q/jobs/$id" ]; do id=$((id + 1)); done
    rx_now t
    if rx_put "$Q/counter" "$id" && mkdir -- "$Q/jobs/$id" \\
      && printf '%s' "$abs" > "$Q/jobs/$id/dir" \\
      && printf '%s' "$script" > "$Q/jobs/$id/script" \\
      && { if [ $# -gt 0 ]; then printf '%s\\0' "$@"; fi; } > "$Q/jobs/$id/args" \\
      && { [ -z "$rx_after" ] || rx_put "$Q/jobs/$id/after" "$rx_after"; } \\
      && rx_put "$Q/jobs/$id/submitted" "$t"; then
      if rx_put "$marker" "$id"; then
        if : > "$Q/pending/$id"; then ok=1; else rm -f -- "$marker"; fi
      fi
    fi
    (( ok )) || rm -rf -- "$Q/jobs/$id"
  } 8>>"$Q/lock"
  if (( ok )); then
    printf 'RXJOB %s %s\\n' "$key" "$id"
    # Start the first jobs while the rest are still being submitted.
    (( rx_queued++ )) || rx_kick
  else
    printf 'RXERR %s cannot write the job to the shell queue\\n' "$key"
  fi
}
`;

const SUBMIT_TAIL = sh`
[ -z "$rx_broken" ] && rx_kick
exit 0
`;

const STATUS_BODY = sh`
${PRELUDE}
# One line per id: RXSHELL <id> unknown | RXSHELL <id> key=value ... (all values numbers, tokens or -)
rx_stat() {
  local id=$1 J=$Q/jobs/$1 pend=0 pid=- claimed=- start=- rc=- end=- canc=- alive=0 reason=- after=- a b c
  if ! rx_num "$id" || [ ! -d "$J" ]; then printf 'RXSHELL %s unknown\\n' "$id"; return; fi
  [ -e "$Q/pending/$id" ] && pend=1
  if [ -f "$J/running" ]; then
    a= b=
    read -r a b < "$J/running"
    rx_num "$a" && pid=$a
    rx_num "$b" && claimed=$b
  fi
  if [ -f "$J/started" ]; then a=; read -r a < "$J/started"; rx_num "$a" && start=$a; fi
  if [ -f "$J/done" ]; then
    a= b= c=
    read -r a b c < "$J/done"
    rx_num "$a" && rc=$a
    rx_num "$b" && start=$b
    rx_num "$c" && end=$c
  elif [ "$pid" != - ] && rx_alive "$pid"; then
    alive=1
  fi
  if [ -f "$J/cancelled" ]; then a=; read -r a < "$J/cancelled"; rx_num "$a" && canc=$a; fi
  if [ -f "$J/reason" ]; then a=; read -r a < "$J/reason"; [[ $a =~ ^[a-z]+$ ]] && reason=$a; fi
  # Only while its dependency has not ended: then it waits for that job, not (also) for a slot.
  if [ -f "$J/after" ]; then a=; read -r a < "$J/after"; rx_num "$a" && [ ! -e "$Q/jobs/$a/done" ] && [ ! -e "$Q/jobs/$a/cancelled" ] && after=$a; fi
  printf 'RXSHELL %s pending=%s pid=%s alive=%s claimed=%s start=%s rc=%s end=%s cancelled=%s reason=%s after=%s now=%s\\n' \\
    "$id" "$pend" "$pid" "$alive" "$claimed" "$start" "$rc" "$end" "$canc" "$reason" "$after" "$rx_t"
}
[ -d "$Q/jobs" ] || exit 0
rx_abs Q "$Q" || exit 0
rx_now rx_t
exec 9>>"$Q/lock" && flock -s 9
for rx_id in "\${rx_ids[@]}"; do rx_stat "$rx_id"; done
exec 9>&-
# Pending jobs but no runner (e.g. the machine rebooted): start one.
if [ -n "$(ls -A -- "$Q/pending" 2>/dev/null)" ] && command -v setsid >/dev/null 2>&1; then rx_kick; fi
exit 0
`;

const CANCEL_BODY = sh`
trap '' HUP PIPE
${PRELUDE}
if [ ! -d "$Q/jobs" ]; then
  for rx_id in "\${rx_ids[@]}"; do printf 'RXCANCEL %s unknown\\n' "$rx_id"; done
  exit 0
fi
rx_kill_ids=() rx_kill_pids=()
exec 9>>"$Q/lock" && flock 9
for rx_id in "\${rx_ids[@]}"; do
  J=$Q/jobs/$rx_id
  if ! rx_num "$rx_id" || [ ! -d "$J" ]; then
    printf 'RXCANCEL %s unknown\\n' "$rx_id"
  elif [ -e "$J/done" ]; then
    printf 'RXCANCEL %s already-finished\\n' "$rx_id"
  elif [ -e "$Q/pending/$rx_id" ]; then
    rm -f -- "$Q/pending/$rx_id"
    [ -e "$J/cancelled" ] || { rx_now t; rx_put "$J/cancelled" "$t"; }
    printf 'RXCANCEL %s cancelled-pending\\n' "$rx_id"
  else
    [ -e "$J/cancelled" ] || { rx_now t; rx_put "$J/cancelled" "$t"; }
    p=
    [ -f "$J/running" ] && read -r p rest < "$J/running"
    if [ -e "$J/started" ] && rx_alive "$p"; then
      rx_kill_ids+=("$rx_id") rx_kill_pids+=("$p")
      printf 'RXCANCEL %s killing\\n' "$rx_id"
    else
      # Launched but not started yet (it sees the mark and does not start), or already gone.
      printf 'RXCANCEL %s cancelled\\n' "$rx_id"
    fi
  fi
done
exec 9>&-
if (( \${#rx_kill_pids[@]} )); then
  for p in "\${rx_kill_pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null; done
  # Wait up to RX_KILLWAIT seconds (in steps of 0.1 s) for every job to record its end or vanish.
  rx_tries=$(( RX_KILLWAIT * 10 ))
  while :; do
    rx_left=0
    for i in "\${!rx_kill_pids[@]}"; do
      J=$Q/jobs/\${rx_kill_ids[i]}
      [ -e "$J/done" ] || ! rx_alive "\${rx_kill_pids[i]}" || rx_left=1
    done
    (( rx_left == 0 || rx_tries-- <= 0 )) && break
    sleep 0.1
  done
  for i in "\${!rx_kill_pids[@]}"; do
    p=\${rx_kill_pids[i]} J=$Q/jobs/\${rx_kill_ids[i]}
    rx_hard[i]=0
    # Whatever is left of the job's process group (TERM ignored, or background children): KILL.
    # The group still having members means the id cannot have been reused.
    if kill -0 -- "-$p" 2>/dev/null; then kill -KILL -- "-$p" 2>/dev/null; rx_hard[i]=1; fi
  done
  exec 9>>"$Q/lock" && flock 9
  for i in "\${!rx_kill_pids[@]}"; do
    J=$Q/jobs/\${rx_kill_ids[i]}
    if [ ! -e "$J/done" ]; then
      a=
      read -r a 2>/dev/null < "$J/started"
      rx_now t
      rx_put "$J/done" "$(( rx_hard[i] ? 137 : 143 )) \${a:-$t} $t"
    fi
    rm -f -- "$Q/active/\${rx_kill_ids[i]}"
  done
  exec 9>&-
fi
exit 0
`;

// ---------------------------------------------------------------------------------------------

function checkOptions(opts: ShellSchedulerOptions): Required<Pick<ShellSchedulerOptions, 'queueDir' | 'killWaitSeconds'>> & { maxParallel?: number } {
  const { maxParallel, queueDir = DEFAULT_SHELL_QUEUE_DIR, killWaitSeconds = 10 } = opts;
  if (maxParallel !== undefined && !(Number.isSafeInteger(maxParallel) && maxParallel >= 1)) {
    throw new ConfigError(`shell scheduler: maxParallel must be a positive integer, got ${maxParallel}`);
  }
  if (!queueDir) throw new ConfigError('shell scheduler: queueDir must not be empty');
  if (!(Number.isSafeInteger(killWaitSeconds) && killWaitSeconds >= 0)) {
    throw new ConfigError(`shell scheduler: killWaitSeconds must be a non-negative integer, got ${killWaitSeconds}`);
  }
  return { maxParallel, queueDir, killWaitSeconds };
}

function idList(jobIds: string[]) {
  const ids = jobIds.filter(id => /^\d+$/.test(id));
  return sh`rx_ids=(${ids})\n`;
}

export function shellScheduler(opts: ShellSchedulerOptions = {}): Scheduler {
  const { maxParallel, queueDir, killWaitSeconds } = checkOptions(opts);
  const head = sh`Q=${sh.path(queueDir)}\n`;

  return {
    name: 'shell',

    submitScript(specs: JobSpec[], stateDir: string): string {
      const calls = specs.map(s => {
        if (!/^\S+$/.test(s.key)) throw new ConfigError(`shell scheduler: job key must be non-empty without whitespace: ${JSON.stringify(s.key)}`);
        if (!s.script) throw new ConfigError(`shell scheduler: empty script name for ${s.key}`);
        if (s.after !== undefined && !/^\d+$/.test(s.after)) throw new ConfigError(`shell scheduler: dependency ${JSON.stringify(s.after)} of ${s.key} is not a job id`);
        return sh`rx_after=${s.after ?? ''}; rx_submit ${[s.key, sh.path(s.dir), s.script, shellMarkerName(s.dir) + attemptSuffix(s.attempt), ...s.args]}`;
      });
      const maxpar = maxParallel ?? sh`"$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)"`;
      return sh`${head}S=${sh.path(stateDir)}\nRX_MAXPAR=${maxpar}\n${SUBMIT_BODY}\n${sh.lines(calls)}\n${SUBMIT_TAIL}`.text;
    },

    statusScript(jobIds: string[]): string {
      return sh`${head}${splitUnknown(jobIds).unknown}\n${idList(jobIds)}${STATUS_BODY}`.text;
    },

    parseStatus: (stdout: string) => withUnknown(stdout, parseShellStatus(stdout)),

    markerName: (dir: string, attempt?: number) => shellMarkerName(dir) + attemptSuffix(attempt),

    // Every job of the queue with the run dir it was submitted for (absolute, as submit wrote it).
    jobsByDir: () => sh`${head}if [ -d "$Q/jobs" ]; then
  for rx_j in "$Q"/jobs/*/; do
    rx_j=\${rx_j%/}; rx_id=\${rx_j##*/}
    [[ $rx_id =~ ^[0-9]+$ ]] || continue
    rx_w=; IFS= read -r -d '' rx_w < "$rx_j/dir" 2>/dev/null
    [ -n "$rx_w" ] && printf 'RXSJOB %s %s\\n' "$rx_id" "$rx_w"
  done
fi
true`,

    cancelScript(jobIds: string[]): string {
      return sh`${head}${idList(jobIds)}RX_KILLWAIT=${killWaitSeconds}\n${CANCEL_BODY}`.text;
    },
  };
}

const REASONS: Record<string, string> = {
  nodir: 'the run directory did not exist when the job started',
  depnever: DEPENDENCY_NEVER_SATISFIED,
};

/** Pure: statusScript output → status per known job id (unknown ids and foreign lines are skipped). */
export function parseShellStatus(stdout: string): Map<string, JobStatus> {
  const out = new Map<string, JobStatus>();
  for (const raw of stdout.split('\n')) {
    const line = raw.trim();
    const m = /^RXSHELL (\d+) (.*)$/.exec(line);
    if (!m) continue;
    const jobId = m[1]!;
    const kv = new Map<string, string>();
    for (const word of m[2]!.split(/\s+/)) {
      const i = word.indexOf('=');
      if (i > 0) kv.set(word.slice(0, i), word.slice(i + 1));
    }
    if (!kv.has('pending')) continue; // `unknown` or garbled
    const num = (k: string): number | null => {
      const v = kv.get(k);
      return v !== undefined && /^\d+$/.test(v) ? Number(v) : null;
    };
    const flag = (k: string) => kv.get(k) === '1';
    const pid = num('pid');
    const rc = num('rc');
    const now = num('now');
    const cancelled = num('cancelled');
    const reasonTok = kv.get('reason');
    let start = num('start');
    let end = num('end');
    const signal = rc !== null && rc > 128 && rc <= 128 + 64 ? rc - 128 : null;

    let state: JobState;
    let reason: string | null = reasonTok && reasonTok !== '-' ? REASONS[reasonTok] ?? reasonTok : null;
    if (cancelled !== null) {
      state = 'CANCELLED';
      if (end === null && !(pid !== null && flag('alive'))) end = cancelled;
    } else if (rc !== null) {
      state = rc === 0 ? 'COMPLETED' : 'FAILED';
      if (signal !== null && reason === null) reason = `killed by signal ${signal}`;
    } else if (pid !== null) {
      start ??= num('claimed');
      if (flag('alive')) {
        state = 'RUNNING';
      } else {
        state = 'FAILED';
        reason = `the job process (pid ${pid}) ended without recording an exit status (killed together with its wrapper, or the machine rebooted)`;
      }
    } else if (flag('pending')) {
      state = 'PENDING';
      // As Slurm says of a job held by --dependency; the runner starts it once its job has ended.
      const after = num('after');
      reason = after === null ? 'waiting for a free slot' : `Dependency (waits for job ${after})`;
    } else {
      state = 'UNKNOWN';
      reason = 'incomplete job record in the shell queue';
    }

    const elapsed = start === null ? null
      : end !== null ? Math.max(0, end - start)
      : state === 'RUNNING' && now !== null ? Math.max(0, now - start)
      : null;
    out.set(jobId, {
      jobId,
      state,
      exitCode: rc,
      signal,
      start: isoSeconds(start),
      end: isoSeconds(end),
      elapsedSeconds: elapsed,
      reason,
    });
  }
  return out;
}
