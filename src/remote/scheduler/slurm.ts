// Slurm as bash fragments (sbatch / squeue + sacct + scontrol / scancel) and a pure parser of their output.
import { createHash } from 'node:crypto';
import { ConfigError, StateError } from '../../errors.ts';
import { sh, type ShFragment } from '../../quote.ts';
import { arrayScriptName, expandArrayId } from './slurm-array.ts';
import { chunked } from '../../chunked.ts';
import { PLACE, SYMLINKS } from './bulk.ts';
import { TERMINAL_STATES, attemptSuffix, splitUnknown, withUnknown, type ArrayJob, type JobSpec, type JobState, type JobStatus, type Scheduler } from './types.ts';

/** How many job ids go into one squeue/sacct `-j` list or one scancel call. */
const ID_CHUNK = 200;
const CANCEL_CHUNK = 1000;

/** A Slurm job id as rx stores it: `123`, or an array task `123_4`. */
const JOB_ID_RE = /^\d+(?:_\d+)?$/;

/** Section markers in statusScript's output (a line on its own). */
const MARK = '@@RX';

/**
 * The marker file name (inside the state dir) for a run dir: a readable tail of the dir plus a hash
 * of the whole string, so any dir (quotes, newlines, unicode) maps to one safe, stable file name.
 */
export function markerName(dir: string): string {
  dir = dir.replace(/(?<=.)\/+$/, ''); // `runs/a/` and `runs/a` are one run dir
  const hash = createHash('sha256').update(dir, 'utf8').digest('hex').slice(0, 20);
  const tail = dir.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._-]+/, '').slice(-40);
  return `${tail ? tail + '.' : ''}${hash}.jobid`;
}

function checkJobIds(jobIds: readonly string[]): string[] {
  for (const id of jobIds) {
    if (!JOB_ID_RE.test(id)) throw new StateError(`not a Slurm job id: ${JSON.stringify(id)}`);
  }
  return [...new Set(jobIds)];
}

// ---------------------------------------------------------------------------------------------
// Bash is built with sh`…` (src/quote.ts): interpolated values are quoted words; in the template text
// `\${` is bash's `${` and `\\` is one backslash, as in any template literal.

// ---------------------------------------------------------------------------------------------
// submit

const SUBMIT_PRELUDE = sh`${SYMLINKS}
${PLACE}
trap '' HUP PIPE
rx_ok=1
rx_why=
rx_errf=
if ! mkdir -p -- "$rx_sd" 2>/dev/null || [ ! -w "$rx_sd" ]; then
  rx_ok=0; rx_why="cannot create or write the state dir $rx_sd"
elif ! rx_errf=$(mktemp "$rx_sd/.sbatch-err.XXXXXX" 2>/dev/null); then
  rx_ok=0; rx_why="cannot create a temporary file in the state dir $rx_sd"
else
  rx_outf=$rx_errf.out
  trap 'rm -f -- "$rx_errf" "$rx_outf"' EXIT
  if command -v flock >/dev/null 2>&1; then
    # Two overlapping submissions for one state dir take turns (the lock goes when this shell exits).
    if ! { exec 9>>"$rx_sd/.submit.lock" && flock -w 3600 9; }; then
      rx_ok=0; rx_why="could not lock $rx_sd/.submit.lock (another submission still running?)"
    fi
  else
    echo "rx: flock not found; submitting without a lock on $rx_sd" >&2
  fi
fi
rx_home=$PWD
rx_oneline() { local s=$1; s=\${s//[$'\\r\\n\\t']/ }; s=\${s#"\${s%%[! ]*}"}; s=\${s%"\${s##*[! ]}"}; printf '%s' "\${s:0:1000}"; }
# rx_submit KEY DIR MARKER SCRIPT [SBATCH ARGS...]
rx_submit() {
  local key=$1 dir=$2 m=$rx_sd/$3 script=$4 id= out rc line msg
  shift 4
  if [ "$rx_ok" != 1 ]; then printf 'RXERR %s %s\\n' "$key" "$(rx_oneline "$rx_why")"; return 0; fi
  if [ -s "$m" ]; then
    IFS= read -r id <"$m" || true
    if [[ $id =~ ^[0-9]+(_[0-9]+)?$ ]]; then printf 'RXJOB %s %s\\n' "$key" "$id"; return 0; fi
    id=
  fi
  # sbatch run from this shell (cd there and back), not a subshell: one process per job, not two.
  if cd -- "$dir" 2>"$rx_errf"; then
    sbatch --parsable "$@" "$script" >"$rx_outf" 2>"$rx_errf"
    rc=$?
    cd -- "$rx_home" || { printf 'RXERR %s %s\\n' "$key" "cannot return to $rx_home"; return 0; }
  else
    rc=1; : >"$rx_outf"
  fi
  out=
  while IFS= read -r line || [ -n "$line" ]; do
    out+="$line "
    line=\${line%%;*}
    if [[ $line =~ ^[0-9]+(_[0-9]+)?$ ]]; then id=$line; fi
  done <"$rx_outf"
  if [ "$rc" != 0 ] || [ -z "$id" ]; then
    msg=$(<"$rx_errf")
    [ -n "$msg" ] || msg="sbatch exited with status $rc and printed no job id: $out"
    printf 'RXERR %s %s\\n' "$key" "$(rx_oneline "$msg")"
    return 0
  fi
  if ! { printf '%s\\n' "$id" >"$m.tmp.$$" && mv -f -- "$m.tmp.$$" "$m"; } 2>/dev/null; then
    rm -f -- "$m.tmp.$$"
    echo "rx: submitted job $id but could not write its marker $m" >&2
  fi
  printf 'RXJOB %s %s\\n' "$key" "$id"
}
# rx_submit_array NAME THROTTLE SCRIPT_TEXT [SBATCH ARGS...], tasks in rx_k (keys), rx_d (run dirs), rx_m (markers).
# Tasks whose marker exists are reported, the others become one array: in a new directory of the state
# dir (the array's working directory) the array script NAME, the list of run dirs and the link t/<task>
# → run dir; after sbatch, every task's marker is written before any RXJOB line is printed.
rx_submit_array() {
  local name=$1 thr=$2 text=$3 ad i n id= out rc line msg abs spec
  shift 3
  local keys=() dirs=() marks=()
  for i in "\${!rx_k[@]}"; do
    if [ "$rx_ok" != 1 ]; then printf 'RXERR %s %s\\n' "\${rx_k[i]}" "$(rx_oneline "$rx_why")"; continue; fi
    local m=$rx_sd/\${rx_m[i]}
    if [ -s "$m" ]; then
      id=; IFS= read -r id <"$m" || true
      if [[ $id =~ ^[0-9]+(_[0-9]+)?$ ]]; then printf 'RXJOB %s %s\\n' "\${rx_k[i]}" "$id"; continue; fi
    fi
    # cd -P in this shell (no subshell per task): $PWD is then the run dir's physical path.
    if ! cd -P -- "\${rx_d[i]}" 2>"$rx_errf"; then
      msg=$(<"$rx_errf"); printf 'RXERR %s %s\\n' "\${rx_k[i]}" "$(rx_oneline "cannot enter the run directory: $msg")"; continue
    fi
    abs=$PWD; cd -- "$rx_home" || return 0
    if [[ $abs == *$'\\n'* ]]; then printf 'RXERR %s %s\\n' "\${rx_k[i]}" "a run directory whose path has a newline cannot be an array task"; continue; fi
    keys+=("\${rx_k[i]}"); dirs+=("$abs"); marks+=("$m")
  done
  n=\${#keys[@]}
  [ "$n" -gt 0 ] || return 0
  rx_array_fail() { local k; for k in "\${keys[@]}"; do printf 'RXERR %s %s\\n' "$k" "$(rx_oneline "$1")"; done; }
  if ! { mkdir -p -- "$rx_sd/arrays" && ad=$(mktemp -d "$rx_sd/arrays/a.XXXXXX"); } 2>"$rx_errf"; then rx_array_fail "cannot make the array directory in $rx_sd/arrays: $(<"$rx_errf")"; return 0; fi
  if ! { printf '%s\\n' "\${dirs[@]}" >"$ad/dirs" && mkdir "$ad/t" && rx_symlinks "$ad/t" "\${dirs[@]}" && printf '%s' "$text" >"$ad/$name"; } 2>"$rx_errf"; then
    rx_array_fail "cannot write the array directory $ad: $(<"$rx_errf")"; return 0
  fi
  spec="0-$((n - 1))"; [ -n "$thr" ] && spec+="%$thr"
  out=$( { cd -- "$ad" && sbatch --parsable --array="$spec" "$@" "$name"; } 2>"$rx_errf" )
  rc=$?
  id=
  while IFS= read -r line; do
    line=\${line%%;*}
    if [[ $line =~ ^[0-9]+$ ]]; then id=$line; fi
  done <<<"$out"
  if [ "$rc" != 0 ] || [ -z "$id" ]; then
    msg=$(<"$rx_errf")
    [ -n "$msg" ] || msg="sbatch exited with status $rc and printed no job id: $out"
    rx_array_fail "$msg"
    return 0
  fi
  printf '%s\\n' "$id" >"$ad/jobid" 2>/dev/null
  # Every task's marker, written aside and renamed into place, before any RXJOB line.
  if mkdir -- "$ad/m" 2>/dev/null; then
    for i in "\${!keys[@]}"; do printf '%s\\n' "\${id}_$i" >"$ad/m/\${marks[i]##*/}" || echo "rx: submitted job \${id}_$i but could not write its marker" >&2; done
    rx_place "$ad/m" "$rx_sd" || echo "rx: submitted array $id but could not move its markers into $rx_sd" >&2
  else
    echo "rx: submitted array $id but could not write its markers in $ad" >&2
  fi
  for i in "\${!keys[@]}"; do printf 'RXJOB %s %s\\n' "\${keys[i]}" "\${id}_$i"; done
}`;

/**
 * sbatch options of a chained job: start after its source ended OK; and if the source fails, end at
 * once (CANCELLED, reason DependencyNeverSatisfied) instead of pending forever in the queue.
 */
export function dependencyArgs(s: JobSpec): string[] {
  if (s.after === undefined) return [];
  if (!/^\d+(_\d+)?$/.test(s.after)) throw new ConfigError(`job ${s.key}: dependency ${JSON.stringify(s.after)} is not a Slurm job id`);
  return [`--dependency=afterok:${s.after}`, '--kill-on-invalid-dep=yes'];
}

function checkSpec(s: JobSpec): void {
  if (!/^\S+$/.test(s.key)) throw new ConfigError(`job key ${JSON.stringify(s.key)} must be non-empty and without whitespace`);
  if (!s.dir) throw new ConfigError(`job ${s.key}: empty run dir`);
  if (!s.script) throw new ConfigError(`job ${s.key}: empty script name`);
}

function submitScript(specs: JobSpec[], stateDir: string, arrays: ArrayJob[] = []): string {
  if (!stateDir) throw new ConfigError('submit: empty state dir');
  const lines = [sh`# rx: submit Slurm jobs (idempotent per run dir: one marker file per run dir in the state dir)`, sh`rx_sd=${sh.path(stateDir)}`, SUBMIT_PRELUDE];
  for (const a of arrays) {
    if (!a.specs.length) continue;
    a.specs.forEach(checkSpec);
    const first = a.specs[0]!;
    if (a.throttle !== undefined && !(Number.isInteger(a.throttle) && a.throttle > 0)) throw new ConfigError(`array throttle ${a.throttle}: expected a positive integer`);
    lines.push(sh`rx_k=(${a.specs.map(s => s.key)}) rx_d=(${a.specs.map(s => sh.path(s.dir))}) rx_m=(${a.specs.map(s => markerName(s.dir) + attemptSuffix(s.attempt))})`);
    lines.push(sh`rx_submit_array ${[arrayScriptName(first.script), a.throttle === undefined ? '' : String(a.throttle), a.script, ...first.args, ...a.args]}`);
  }
  for (const s of specs) {
    checkSpec(s);
    // sbatch would read a script name starting with `-` as an option.
    const script = s.script.startsWith('-') ? './' + s.script : s.script;
    lines.push(sh`rx_submit ${[s.key, sh.path(s.dir), markerName(s.dir) + attemptSuffix(s.attempt), script, ...dependencyArgs(s), ...s.args]}`);
  }
  lines.push(sh`exit 0`, sh``);
  return sh.lines(lines).text;
}

// ---------------------------------------------------------------------------------------------
// status

/** squeue format: id | long state | start | elapsed | reason (last: it is free text). */
const SQUEUE_FORMAT = '%i|%T|%S|%M|%r';
const SACCT_FORMAT = 'JobID,State,ExitCode,Start,End,ElapsedRaw,Reason';

const STATUS_PRELUDE = sh`trap '' HUP PIPE
# Slurm prints times in the local zone without saying which: ask for UTC, so they can be marked so.
export TZ=UTC
declare -A rx_known=()
rx_fail=
rx_errf=$(mktemp 2>/dev/null || echo /dev/null)
trap '[ "$rx_errf" = /dev/null ] || rm -f -- "$rx_errf"' EXIT
# Live jobs: squeue (the controller's view, always current).
rx_sq() {
  local out rc j st rest
  out=$(squeue -h -r -o ${SQUEUE_FORMAT} -j "$1" 2>"$rx_errf"); rc=$?
  if [ "$rc" != 0 ] && ! grep -qi 'invalid job id' "$rx_errf" 2>/dev/null; then
    rx_fail="squeue failed: $(head -c 500 "$rx_errf" 2>/dev/null)"
    cat "$rx_errf" >&2 2>/dev/null
  fi
  [ -n "$out" ] || return 0
  printf '%s\\n' "$out"
  while IFS='|' read -r j st rest; do [ -n "$j" ] && rx_known[$j]=1; done <<<"$out"
  return 0
}
# Finished jobs: sacct (may lag behind, or be off: then scontrol below fills in).
rx_sa() {
  local out j st rest
  out=$(sacct -n -P -X -j "$1" --format=${SACCT_FORMAT} 2>"$rx_errf") || cat "$rx_errf" >&2 2>/dev/null
  [ -n "$out" ] || return 0
  printf '%s\\n' "$out"
  while IFS='|' read -r j st rest; do
    case $st in
      COMPLETED*|FAILED*|CANCELLED*|TIMEOUT*|NODE_FAIL*|OUT_OF_MEMORY*|PREEMPTED*|BOOT_FAIL*|DEADLINE*) [ -n "$j" ] && rx_known[$j]=1 ;;
    esac
  done <<<"$out"
  return 0
}
# Neither knew a final answer: ask the controller about that one job.
rx_sc() {
  [ -n "\${rx_known[$1]-}" ] && return 0
  printf '%s scontrol %s\\n' ${MARK} "$1"
  scontrol show job -o "$1" 2>/dev/null
  return 0
}`;

function statusScript(jobIds: string[]): string {
  const { ids: asked, unknown } = splitUnknown(jobIds);
  const ids = checkJobIds(asked);
  const lines: ShFragment[] = [sh`# rx: Slurm job status (sections parsed by parseStatus)`, STATUS_PRELUDE, unknown];
  // Array tasks are asked about through their array (`squeue -r` and `sacct` list every task as
  // <array>_<task>): one id per array, so a sweep's arrays take one squeue and one sacct.
  const arrays = [...new Set(ids.map(id => id.replace(/_\d+$/, '')))];
  // The tasks asked about: an array cancelled while pending is one record under the array's id alone.
  for (const c of chunked(ids.filter(id => id.includes('_')), ID_CHUNK)) lines.push(sh`echo ${`${MARK} tasks ${c.join(' ')}`}`);
  lines.push(sh`echo ${MARK + ' squeue'}`);
  for (const c of chunked(arrays, ID_CHUNK)) lines.push(sh`rx_sq ${c.join(',')}`);
  lines.push(sh`echo ${MARK + ' sacct'}`);
  for (const c of chunked(arrays, ID_CHUNK)) lines.push(sh`rx_sa ${c.join(',')}`);
  for (const c of chunked(ids, ID_CHUNK)) lines.push(sh`for rx_j in ${c}; do rx_sc "$rx_j"; done`);
  lines.push(sh`echo ${MARK + ' end'}`);
  lines.push(sh`if [ -n "$rx_fail" ]; then echo "rx: $rx_fail" >&2; exit 1; fi`, sh`exit 0`, sh``);
  return sh.lines(lines).text;
}

// ---------------------------------------------------------------------------------------------
// cancel

function cancelScript(jobIds: string[]): string {
  const ids = checkJobIds(splitUnknown(jobIds).ids);
  const lines: ShFragment[] = [sh`# rx: cancel Slurm jobs`, sh`trap '' HUP PIPE`, sh`rx_rc=0`];
  for (const c of chunked(ids, CANCEL_CHUNK)) lines.push(sh`scancel ${c} || rx_rc=$?`);
  lines.push(sh`exit $rx_rc`, sh``);
  return sh.lines(lines).text;
}

// ---------------------------------------------------------------------------------------------
// parse (pure)

const STATE_MAP: Readonly<Record<string, JobState>> = {
  PENDING: 'PENDING', PD: 'PENDING',
  RUNNING: 'RUNNING', R: 'RUNNING',
  COMPLETING: 'COMPLETING', CG: 'COMPLETING',
  COMPLETED: 'COMPLETED', CD: 'COMPLETED',
  FAILED: 'FAILED', F: 'FAILED',
  CANCELLED: 'CANCELLED', CA: 'CANCELLED',
  TIMEOUT: 'TIMEOUT', TO: 'TIMEOUT',
  NODE_FAIL: 'NODE_FAIL', NF: 'NODE_FAIL',
  OUT_OF_MEMORY: 'OUT_OF_MEMORY', OOM: 'OUT_OF_MEMORY',
  PREEMPTED: 'PREEMPTED', PR: 'PREEMPTED',
  SUSPENDED: 'SUSPENDED', S: 'SUSPENDED',
  REQUEUED: 'REQUEUED', RQ: 'REQUEUED',
  // Slurm states rx folds onto the ones above.
  CONFIGURING: 'PENDING', CF: 'PENDING', // allocated, nodes booting: the script has not started
  BOOT_FAIL: 'NODE_FAIL', BF: 'NODE_FAIL',
  DEADLINE: 'TIMEOUT', DL: 'TIMEOUT',
  REQUEUE_FED: 'REQUEUED', RF: 'REQUEUED',
  REQUEUE_HOLD: 'REQUEUED', RH: 'REQUEUED',
  RESV_DEL_HOLD: 'PENDING', RD: 'PENDING',
  RESIZING: 'RUNNING', RS: 'RUNNING',
  REVOKED: 'CANCELLED', RV: 'CANCELLED',
  SIGNALING: 'RUNNING', SI: 'RUNNING',
  SPECIAL_EXIT: 'FAILED', SE: 'FAILED',
  STAGE_OUT: 'COMPLETING', SO: 'COMPLETING',
  STOPPED: 'SUSPENDED', ST: 'SUSPENDED',
};

/** `CANCELLED by 1001`, `RUNNING+`, `completed` → the JobState. */
export function mapSlurmState(raw: string): JobState {
  const word = raw.trim().split(/\s+/)[0]?.replace(/\+$/, '').toUpperCase() ?? '';
  return STATE_MAP[word] ?? 'UNKNOWN';
}

/** `3:0` → [3, 0]; anything else → null. */
function parseExitCode(s: string | undefined): [number, number] | null {
  const m = /^(\d+):(\d+)$/.exec((s ?? '').trim());
  return m ? [Number(m[1]), Number(m[2])] : null;
}

/** Slurm durations: `[D-][HH:]MM:SS` (squeue %M, scontrol RunTime), or plain seconds (ElapsedRaw). */
export function parseSlurmDuration(s: string | undefined): number | null {
  const t = (s ?? '').trim();
  if (/^\d+$/.test(t)) return Number(t);
  const m = /^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)$/.exec(t);
  if (!m) return null;
  return Number(m[1] ?? 0) * 86400 + Number(m[2] ?? 0) * 3600 + Number(m[3]) * 60 + Number(m[4]);
}

function parseTime(s: string | undefined): string | null {
  const t = (s ?? '').trim();
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(t) ? `${t}Z` : null; // UTC: the status script sets TZ
}

function parseReason(s: string | undefined): string | null {
  const t = (s ?? '').trim();
  return t === '' || t === 'None' || t === '(null)' ? null : t;
}

function isTerminal(st: JobState): boolean {
  return TERMINAL_STATES.has(st);
}

/** Fills the fields that only mean something in some states (a PENDING job's StartTime is an estimate). */
function status(jobId: string, state: JobState, f: { exit?: [number, number] | null; start?: string; end?: string; elapsed?: string; reason?: string }): JobStatus {
  const terminal = isTerminal(state);
  const started = state !== 'PENDING' && state !== 'UNKNOWN';
  const exit = terminal ? (f.exit ?? null) : null;
  return {
    jobId,
    state,
    exitCode: exit ? exit[0] : null,
    signal: exit ? exit[1] : null,
    start: started ? parseTime(f.start) : null,
    end: terminal ? parseTime(f.end) : null,
    elapsedSeconds: started ? parseSlurmDuration(f.elapsed) : null,
    reason: parseReason(f.reason),
  };
}

/** `Key=value Key2=value with spaces ...` (scontrol -o) → first value of each key. */
function parseScontrolLine(line: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /(?:^|\s)([A-Za-z][A-Za-z0-9_:/]*)=/g;
  const hits: { key: string; at: number; valueAt: number }[] = [];
  for (let m: RegExpExecArray | null; (m = re.exec(line)); ) hits.push({ key: m[1]!, at: m.index, valueAt: m.index + m[0].length });
  hits.forEach((h, i) => {
    const endAt = i + 1 < hits.length ? hits[i + 1]!.at : line.length;
    if (!out.has(h.key)) out.set(h.key, line.slice(h.valueAt, endAt).trim());
  });
  return out;
}

function scontrolJobId(kv: Map<string, string>): string | null {
  const arrayJob = kv.get('ArrayJobId');
  const task = kv.get('ArrayTaskId');
  if (arrayJob && task && task !== 'N/A') return /^\d+$/.test(task) ? `${arrayJob}_${task}` : `${arrayJob}_[${task}]`;
  return kv.get('JobId') ?? null;
}

function parseStatus(stdout: string): Map<string, JobStatus> {
  const fromSqueue = new Map<string, JobStatus>();
  const fromSacct = new Map<string, JobStatus>();
  const fromScontrol = new Map<string, JobStatus>();
  const tasks: string[] = [];
  let section = '';
  for (const raw of stdout.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.startsWith(MARK + ' ')) {
      const words = line.slice(MARK.length + 1).split(' ');
      section = words[0] ?? '';
      if (section === 'tasks') tasks.push(...words.slice(1).filter(Boolean));
      continue;
    }
    if (!line.trim()) continue;
    if (section === 'squeue') {
      const [id, st, start, elapsed, ...reason] = line.split('|');
      if (!id || st === undefined) continue;
      for (const one of expandArrayId(id.trim())) fromSqueue.set(one, status(one, mapSlurmState(st), { start, elapsed, reason: reason.join('|') }));
    } else if (section === 'sacct') {
      const [id, st, exit, start, end, elapsed, ...reason] = line.split('|');
      if (!id || st === undefined) continue;
      for (const one of expandArrayId(id.trim())) fromSacct.set(one, status(one, mapSlurmState(st), { exit: parseExitCode(exit), start, end, elapsed, reason: reason.join('|') }));
    } else if (section === 'scontrol') {
      const kv = parseScontrolLine(line.trim());
      const id = scontrolJobId(kv);
      const st = kv.get('JobState');
      if (!id || st === undefined) continue;
      fromScontrol.set(id, status(id, mapSlurmState(st), {
        exit: parseExitCode(kv.get('ExitCode')),
        start: kv.get('StartTime'),
        end: kv.get('EndTime'),
        elapsed: kv.get('RunTime'),
        reason: kv.get('Reason'),
      }));
    }
  }
  // Precedence: a final sacct record (has the exit code) > scontrol (asked only when neither squeue
  // nor sacct had a final answer) > squeue (live) > a non-final sacct record (may lag behind).
  const result = new Map<string, JobStatus>();
  const ids = new Set([...fromSqueue.keys(), ...fromSacct.keys(), ...fromScontrol.keys()]);
  for (const id of ids) {
    const sa = fromSacct.get(id);
    const pick = (sa && isTerminal(sa.state) ? sa : undefined) ?? fromScontrol.get(id) ?? fromSqueue.get(id) ?? sa;
    if (pick) result.set(id, pick);
  }
  // A task asked about that no record names on its own: its array's record (a whole array that
  // never started, e.g. cancelled while pending, is one record `<array>`).
  for (const t of tasks) {
    const whole = result.get(t.replace(/_\d+$/, ''));
    if (!result.has(t) && whole) result.set(t, { ...whole, jobId: t });
  }
  return withUnknown(stdout, result);
}

// ---------------------------------------------------------------------------------------------
// jobs by work dir (recovering the job of a run dir whose marker is gone)

/** squeue -t all (live jobs and those the controller still holds, which covers accounting lag) and sacct (finished ones since $rx_since, default a week) of the target user, as `RXSJOB <id> <workdir>`. */
// An array task's work dir is its array's directory (in the state dir): its run dir is line <task>+1
// of the `dirs` file there.
const JOBS_BY_DIR = sh`rx_u=$(id -un)
rx_sjob() {
  local j=$1 w=$2 t
  if [[ $j =~ ^[0-9]+_([0-9]+)$ ]] && [ -f "$w/dirs" ] && [ -f "$w/jobid" ]; then
    t=\${BASH_REMATCH[1]}
    if [ "$w" != "$rx_aw" ]; then rx_aw=$w; mapfile -t rx_ad <"$w/dirs"; fi
    [ -n "\${rx_ad[t]-}" ] && printf 'RXSJOB %s %s\\n' "$j" "\${rx_ad[t]}"
  elif [ -n "$j" ]; then
    printf 'RXSJOB %s %s\\n' "$j" "$w"
  fi
}
rx_aw= rx_ad=()
squeue -h -r -t all -u "$rx_u" -o '%i|%Z' 2>/dev/null | while IFS='|' read -r rx_j rx_w; do rx_sjob "$rx_j" "$rx_w"; done
sacct -n -P -X -u "$rx_u" -S "\${rx_since:-now-7days}" --format=JobID,WorkDir 2>/dev/null | while IFS='|' read -r rx_j rx_w; do rx_sjob "$rx_j" "$rx_w"; done
true`;

export const slurm: Scheduler = {
  name: 'slurm',
  submitScript,
  statusScript,
  parseStatus,
  cancelScript,
  markerName: (dir, attempt) => markerName(dir) + attemptSuffix(attempt),
  jobsByDir: () => JOBS_BY_DIR,
};
