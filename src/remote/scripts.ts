// The bash run on the target to make run directories (batched, one script for a whole submission),
// and the survey script that reads what is on the target (run directories, job-id markers, jobs).
import { sh, type ShFragment } from '../quote.ts';

interface DirToCreate {
  key: string;
  sha: string;
  /** Absolute, or relative to the login dir, or ~/… */
  dir: string;
}

/** Default seconds the create script waits for another rx holding the target's `.create.lock`. */
export const DEFAULT_LOCK_WAIT_SECONDS = 600;

/** How to resolve a path that blocks a point's run directory (part of every such RXERR message). */
const BLOCKED_ADVICE = 'move it away and run rx submit again, or run rx submit --new-dirs to give the point a fresh run directory';

/**
 * The bash functions of the create script. `rx_create` makes every run directory of the arrays
 * rx_k/rx_s/rx_d (key, commit, path) with a constant number of processes, however many there are:
 * one `git cat-file` checks all commits, and per parent directory (normally one: the output root)
 * one `git mktree` builds a tree whose entries are the commits' own trees, named after the run
 * directories, one `git archive | tar` extracts it into a private staging directory, and `mv -n`
 * (a few thousand per process) renames each run directory into place. A path that already exists
 * (rare: a crash after it was made) is judged one by one: adopted if it is rx's own for that commit,
 * else the point is blocked.
 */
const CREATE_FUNCTIONS: ShFragment = sh`rx_blocked=${BLOCKED_ADVICE}
rx_re_tree='^[0-9a-f]+ tree$' rx_re_blob='^[0-9a-f]+ blob$' rx_re_obj='^[0-9a-f]+ [a-z]+$'
# rx_same DIR SHA: DIR is a real directory holding SHA's .rx/point.json, byte for byte.
rx_same() {
  local want have
  [ -d "$1" ] && [ ! -L "$1" ] && [ ! -L "$1/.rx" ] && [ -f "$1/.rx/point.json" ] && [ ! -L "$1/.rx/point.json" ] || return 1
  want=$(git -C "$repo" rev-parse -q --verify "$2:.rx/point.json" 2>/dev/null) && [ -n "$want" ] || return 1
  have=$(git hash-object --no-filters -- "$1/.rx/point.json" 2>/dev/null) || return 1
  [ "$want" = "$have" ]
}
# rx_tree DIR SHA: every file of SHA's tree is in DIR, unchanged (a job may have added outputs).
# A byte-exact copy of .rx/point.json next to a planted run.sbatch is not rx's run directory.
rx_tree() {
  local entry meta path want have f n=0
  while IFS= read -r -d '' entry; do
    meta=\${entry%%$'\t'*}; path=\${entry#*$'\t'}; want=\${meta##* }; f="$1/$path"; n=$((n + 1))
    case "$meta" in
      160000*) continue ;;
      120000*) [ -L "$f" ] && have=$(printf %s "$(readlink -- "$f")" | git hash-object --stdin) || return 1 ;;
      *) [ -f "$f" ] && [ ! -L "$f" ] && have=$(git hash-object --no-filters -- "$f") || return 1 ;;
    esac
    [ "$want" = "$have" ] || return 1
  done < <(git -C "$repo" ls-tree -r -z --full-tree "$2" 2>/dev/null)
  [ "$n" -gt 0 ]
}
# rx_existing KEY SHA DIR: DIR is there already: adopted if rx made it for SHA (before a crash), else blocked.
rx_existing() {
  local key=$1 sha=$2 d=$3
  if [ -L "$d" ]; then echo "RXERR $key $d is a symbolic link, not a run directory rx made: $rx_blocked"
  elif rx_same "$d" "$sha" && rx_tree "$d" "$sha"; then echo "RXDIR $key"
  elif rx_same "$d" "$sha"; then echo "RXERR $key $d holds point $key's .rx/point.json but its files differ from commit \${sha:0:12} (a file of the experiment was changed or replaced): $rx_blocked"
  elif [ ! -d "$d" ]; then echo "RXERR $key $d exists and is not a directory: $rx_blocked"
  elif [ ! -f "$d/.rx/point.json" ]; then echo "RXERR $key $d exists and was not made by rx (no .rx/point.json): $rx_blocked"
  else echo "RXERR $key $d exists but holds another experiment (its .rx/point.json is not that of point $key, commit \${sha:0:12}): $rx_blocked"
  fi
}
# rx_fail I WHY: the run directory of point number I (index into rx_k/rx_s/rx_d) cannot be made.
rx_fail() { echo "RXERR \${rx_k[$1]} cannot create \${rx_d[$1]} from \${rx_s[$1]:0:12}: $2"; }
# rx_check I…: one git cat-file for all: the commits that are in the clone with .rx/point.json and
# the batch script go into rx_ok, with their tree in rx_tid; the others get their RXERR.
rx_check() {
  local i n=0 t p b objs why
  rx_ok=()
  (( $# )) || return 0
  : >"$rx_errf"
  if ! objs=$(for i; do printf '%s^{tree}\\n%s:.rx/point.json\\n%s:%s\\n' "\${rx_s[i]}" "\${rx_s[i]}" "\${rx_s[i]}" "$script"; done | git -C "$repo" cat-file --batch-check='%(objectname) %(objecttype)' 2>>"$rx_errf"); then
    why="git cat-file: $(rx_why)"; for i; do rx_fail "$i" "$why"; done; return 0
  fi
  mapfile -t rx_obj <<<"$objs"
  for i; do
    t=\${rx_obj[n]-} p=\${rx_obj[n+1]-} b=\${rx_obj[n+2]-}; n=$((n + 3))
    if ! [[ $t =~ $rx_re_tree ]]; then rx_fail "$i" "commit \${rx_s[i]} is not in the repository $repo"
    elif ! [[ $p =~ $rx_re_blob ]]; then rx_fail "$i" "commit \${rx_s[i]} has no .rx/point.json (not an rx experiment commit)"
    elif ! [[ $b =~ $rx_re_obj ]]; then rx_fail "$i" "commit \${rx_s[i]} has no batch script $script"
    else rx_tid[i]=\${t%% *}; rx_ok+=("$i")
    fi
  done
}
# rx_stale PARENT: scratch directories a killed creator left in PARENT (rx's own, by their names:
# .rx-staging.<pid>, and <dir>.rx-partial.<pid> of older rx versions) go. All of them while we hold
# the lock; without flock only those whose creator no longer runs on this machine.
rx_stale() {
  local f pid
  for f in "$1"/.rx-staging.* "$1"/*.rx-partial.*; do
    [ -e "$f" ] || [ -L "$f" ] || continue
    if [ "$rx_locked" != 1 ]; then pid=\${f##*.}; [[ $pid =~ ^[0-9]+$ ]] && [ ! -d "/proc/$pid" ] || continue; fi
    rm -rf -- "$f"
  done
}
# rx_place PARENT STAGING I…: the extracted run directories go into place by rename(2). mv -n never
# replaces a path nor moves into it (GNU mv: renameat2 RENAME_NOREPLACE; older ones check first,
# and no rx creates here while we hold the lock), and takes thousands of paths per process (xargs).
# A directory still in STAGING afterwards was not moved: whatever took its path is judged as such.
rx_place() {
  local p=$1 st=$2 i b d
  shift 2
  : >"$rx_errf"
  for i; do printf '%s\\0' "$st/\${rx_d[i]##*/}"; done | xargs -0 -r mv -n -t "$p" -- 2>>"$rx_errf"
  for i; do
    b=\${rx_d[i]##*/} d=\${rx_d[i]}
    if [ -e "$st/$b" ] || [ -L "$st/$b" ]; then
      if [ -e "$d" ] || [ -L "$d" ]; then rx_existing "\${rx_k[i]}" "\${rx_s[i]}" "$d"; else rx_fail "$i" "mv: $(rx_why)"; fi
    elif [ -d "$d" ] && [ ! -L "$d" ]; then echo "RXDIR \${rx_k[i]}"
    else rx_fail "$i" "its tree was not extracted: $(rx_why)"
    fi
  done
}
# rx_group PARENT I…: the run directories I…, all in PARENT, from ONE tree whose entries are their
# commits' trees (so each equals its commit's tree by construction), extracted by one
# git archive | tar into a staging directory of PARENT (same file system: renames), then placed.
rx_group() {
  local p=$1 st=$1/.rx-staging.$$ i tree why=
  shift
  rx_stale "$p"
  : >"$rx_errf"
  if ! { mkdir -p -- "$p" && mkdir -- "$st"; } 2>>"$rx_errf"; then why="mkdir: $(rx_why)"
  elif ! tree=$(for i; do printf '040000 tree %s\\t%s\\0' "\${rx_tid[i]}" "\${rx_d[i]##*/}"; done | git -C "$repo" mktree -z 2>>"$rx_errf"); then why="git mktree: $(rx_why)"
  elif ! git -C "$repo" archive --format=tar "$tree" 2>>"$rx_errf" | tar -x -f - -C "$st" 2>>"$rx_errf"; then why="git archive | tar: $(rx_why)"
  fi
  if [ -z "$why" ]; then rx_place "$p" "$st" "$@"
  else for i; do rx_fail "$i" "$why"; done
  fi
  rm -rf -- "$st" 2>/dev/null
}
# rx_create: every run directory of rx_k/rx_s/rx_d. Paths that exist are judged one by one (crash
# recovery); the others are made in bulk, one group per parent directory. A path named twice is
# judged after the first is made (adopted if it is the same commit's).
rx_create() {
  local i d p
  local -a new=() dup=()
  local -A seen=() grp=()
  (( \${#rx_d[@]} )) || return 0
  for i in "\${!rx_d[@]}"; do
    d=\${rx_d[i]}
    if [ -n "\${seen[$d]-}" ]; then dup+=("$i"); continue; fi
    seen[$d]=1
    if [ -e "$d" ] || [ -L "$d" ]; then rx_existing "\${rx_k[i]}" "\${rx_s[i]}" "$d"; else new+=("$i"); fi
  done
  # Empty arrays are never expanded: bash before 4.4 calls that an unbound variable under set -u.
  rx_ok=()
  (( \${#new[@]} )) && rx_check "\${new[@]}"
  (( \${#rx_ok[@]} )) && for i in "\${rx_ok[@]}"; do
    d=\${rx_d[i]}; p=.
    [[ $d == */* ]] && p=\${d%/*}
    grp[\${p:-/}]+=" $i"
  done
  (( \${#grp[@]} )) && for p in "\${!grp[@]}"; do rx_group "$p" \${grp[$p]}; done
  (( \${#dup[@]} )) && for i in "\${dup[@]}"; do rx_existing "\${rx_k[i]}" "\${rx_s[i]}" "\${rx_d[i]}"; done
  return 0
}`;

/**
 * Fetches the sweep's temporary branches (and permanent refs) into the target's clone (cloning it
 * if missing), creates each run directory from its commit's tree, then deletes the temporary
 * branches rx made from that clone. Holding a lock in the state dir (one creator at a time; a
 * creator cut off by a lost connection goes on, and a re-run waits for it, at most `lockWait`
 * seconds, saying who holds it), the commits are checked (in the clone, with .rx/point.json and
 * the batch script), all directories are extracted at once into a private staging directory (no
 * step of the pipe failed) and only then each is renamed into place — so a run directory that
 * exists is complete, and nothing half-made ever has a run directory's name. The number of
 * processes does not grow with the number of directories (see CREATE_FUNCTIONS).
 *
 * A path that already exists is adopted only if it is a real directory (not a symlink) whose
 * `.rx/point.json` is byte for byte the one of the point's commit (same sweep, parameter hash,
 * base, repeat): a directory rx made for this commit before a crash. Anything else in the way (a
 * file, a symlink, a foreign directory) blocks the point with an RXERR saying how to resolve it.
 *
 * Prints `RXWAIT <holder>` when it has to wait for the lock, `RXDIR <key>` per directory made or
 * adopted, `RXERR <key> <msg>` (with the real cause) else; `RXFATAL <msg>` on stderr when nothing
 * can be made (exit 3; exit 4 when the lock wait timed out). `fetchUrl` null means the commits are
 * already in `repo` (the local default). `holder` is written into the lock file while it is held.
 */
export function createDirsScript(opts: { repo: string; fetchUrl: string | null; sweep: string; dirs: DirToCreate[]; stateDir: string; script: string; branches: string[]; lockWait?: number; holder?: string }): string {
  const s = opts.sweep;
  const wait = opts.lockWait ?? DEFAULT_LOCK_WAIT_SECONDS;
  const lines: ShFragment[] = [
    sh`set -u`,
    sh`set -o pipefail`,
    sh`trap '' HUP PIPE`,
    sh`repo=${sh.path(opts.repo)}`,
    sh`sd=${sh.path(opts.stateDir)}`,
    sh`script=${opts.script}`,
    sh`rx_wait=${wait}`,
    sh`rx_me=${opts.holder ?? 'rx'}`,
    sh`rx_errf=$(mktemp 2>/dev/null) || rx_errf=/dev/null`,
    sh`rx_locked=0`,
    sh`trap '[ "$rx_errf" = /dev/null ] || rm -f -- "$rx_errf"' EXIT`,
    // The first lines of what a failed command wrote to stderr, on one line.
    sh`rx_why() { local m; m=$(head -c 600 -- "$rx_errf" 2>/dev/null | tr '\\n\\t\\r' '   '); m=\${m%"\${m##*[! ]}"}; printf '%s' "\${m:-no error message}"; }`,
    sh`mkdir -p -- "$sd" 2>"$rx_errf" || { echo "RXFATAL cannot create the state directory $sd: $(rx_why)" >&2; exit 3; }`,
    sh`rx_lock=$sd/.create.lock`,
    // Who holds the lock, as its holder wrote it into the lock file (one line).
    sh`rx_who() { local m; m=$(head -c 300 -- "$rx_lock" 2>/dev/null | tr '\\n\\t\\r' '   '); printf '%s' "\${m%"\${m##*[! ]}"}"; }`,
    sh`if command -v flock >/dev/null 2>&1; then
  { exec 9>>"$rx_lock"; } 2>"$rx_errf" || { echo "RXFATAL cannot open the lock file $rx_lock: $(rx_why)" >&2; exit 3; }
  if ! flock -n 9; then
    rx_holder=$(rx_who)
    echo "RXWAIT \${rx_holder:-a process that did not say who it is}"
    if ! flock -w "$rx_wait" 9; then
      rx_holder=$(rx_who)
      echo "RXFATAL another process has held the run-directory lock $rx_lock for over $rx_wait s: \${rx_holder:-it did not say who it is (not rx, or an older rx)}" >&2
      exit 4
    fi
  fi
  rx_locked=1
  printf '%s (shell pid %s on %s) since %s\\n' "$rx_me" "$$" "$(hostname 2>/dev/null || echo '?')" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$rx_lock" 2>/dev/null
  trap '[ "$rx_errf" = /dev/null ] || rm -f -- "$rx_errf"; : >"$rx_lock" 2>/dev/null' EXIT
fi`,
  ];
  if (opts.fetchUrl !== null) {
    lines.push(
      sh`url=${opts.fetchUrl}`,
      sh`if [ ! -e "$repo" ]; then`,
      sh`  { mkdir -p "$(dirname -- "$repo")" && git clone -q -- "$url" "$repo"; } 2>"$rx_errf" || { echo "RXFATAL cannot clone $url into $repo: $(rx_why)" >&2; exit 3; }`,
      sh`fi`,
      sh`git -C "$repo" fetch -q -- "$url" ${`refs/heads/rx/${s}/*:refs/heads/rx/${s}/*`} ${`refs/rx/${s}/*:refs/rx/${s}/*`} 2>"$rx_errf" || { echo "RXFATAL cannot fetch the sweep's branches from $url into $repo: $(rx_why) (if git said 'rejected', $repo holds refs of the same sweep name from another repository: give this repository its own remote.repo)" >&2; exit 3; }`,
    );
  }
  lines.push(
    CREATE_FUNCTIONS,
    sh`rx_k=(${opts.dirs.map(d => d.key)})`,
    sh`rx_s=(${opts.dirs.map(d => d.sha)})`,
    sh`rx_d=(${opts.dirs.map(d => sh.path(d.dir))})`,
    sh`rx_create`,
  );
  if (opts.fetchUrl !== null && opts.branches.length) {
    // Only the temporary branches rx made (named in the ledger), never others of that name space.
    lines.push(sh`printf 'delete %s\\n' ${opts.branches} | git -C "$repo" update-ref --stdin 2>/dev/null || for b in ${opts.branches}; do git -C "$repo" update-ref -d "$b" 2>/dev/null; done`);
  }
  lines.push(sh`exit 0`);
  return sh.lines(lines).text + '\n';
}

/**
 * What is on the target for one sweep, in one script: the clone's refs/rx/<sweep>/* refs, every
 * entry `<output>/<sweep>_time_*` (except the names in `skip`, which the ledger already accounts
 * for) with its kind, its `.rx/point.json` and whether a job wrote anything into it; the commit
 * each directory's name resolves to in the clone (with that commit's .rx/point.json and subject,
 * to verify the directory belongs to it and to recover the point's number); and, if any such entry
 * was found (or `always`), every job-id marker of the state dir and the jobs the scheduler knows
 * by work dir (`jobsByDir`). Read-only. Lines (parsed by parseSurvey in src/submission/reconcile.ts):
 *
 *   RXCLONE 0|1                        whether the clone exists
 *   RXREF <refname> <sha>              a ref refs/rx/<sweep>/… of the clone
 *   RXROOT <absolute output dir>|-     the output dir, symlinks resolved (- when it does not exist)
 *   RXRUN <kind> <ran> <pj> <name>     kind: dir|symlink|file|other; ran: 0|1; pj: blob id of its .rx/point.json or -
 *   RXDOC <json on one line>           its .rx/point.json (right after its RXRUN)
 *   RXOBJ <name> <what> <id|->         what: commit|pj (its name's short sha as a commit, that commit's .rx/point.json)
 *   RXSUBJ <sha> <subject>             the subject of such a commit (`rx: <sweep> point <n>`)
 *   RXMARK <file> <first line>         a marker file of the state dir
 *   RXSJOB <jobId> <work dir>          a job the scheduler knows
 */
export function surveyScript(opts: { repo: string; output: string; stateDir: string; sweep: string; skip: string[]; always: boolean; jobsByDir: ShFragment }): string {
  return sh.lines([
    sh`set -u`,
    sh`trap '' HUP PIPE`,
    sh`shopt -s nullglob`,
    sh`repo=${sh.path(opts.repo)}`,
    sh`out=${sh.path(opts.output)}`,
    sh`sd=${sh.path(opts.stateDir)}`,
    sh`sweep=${opts.sweep}`,
    sh`rx_all=${opts.always ? 1 : 0}`,
    sh`declare -A rx_skip=()`,
    sh`for rx_n in ${opts.skip}; do rx_skip[$rx_n]=1; done`,
    sh`rx_clone=0
if [ -d "$repo" ] && git -C "$repo" rev-parse --git-dir >/dev/null 2>&1; then rx_clone=1; fi
echo "RXCLONE $rx_clone"
if [ "$rx_clone" = 1 ]; then git -C "$repo" for-each-ref --format='RXREF %(refname) %(objectname)' "refs/rx/$sweep/" 2>/dev/null; fi
rx_new=0 rx_min= rx_names=() rx_shorts=()
if [ -d "$out" ]; then
  echo "RXROOT $(cd -- "$out" && pwd -P)"
  for rx_d in "$out/$sweep"_time_*; do
    rx_n=\${rx_d##*/}
    [[ $rx_n == *$'\\n'* || $rx_n == *.rx-partial.* ]] && continue
    [ -n "\${rx_skip[$rx_n]-}" ] && continue
    rx_new=1
    if [[ $rx_n =~ _time_([0-9]{4})_([0-9]{2})_([0-9]{2})_ ]]; then
      rx_t="\${BASH_REMATCH[1]}-\${BASH_REMATCH[2]}-\${BASH_REMATCH[3]}"
      if [ -z "$rx_min" ] || [[ $rx_t < $rx_min ]]; then rx_min=$rx_t; fi
    fi
    if [ -L "$rx_d" ]; then rx_k=symlink; elif [ -d "$rx_d" ]; then rx_k=dir; elif [ -f "$rx_d" ]; then rx_k=file; else rx_k=other; fi
    rx_ran=0 rx_pj=- rx_doc=
    if [ "$rx_k" = dir ] && [ ! -L "$rx_d/.rx" ] && [ -f "$rx_d/.rx/point.json" ] && [ ! -L "$rx_d/.rx/point.json" ]; then
      IFS= read -r -d '' rx_doc < "$rx_d/.rx/point.json"
      rx_doc=\${rx_doc//[$'\\n\\r']/ }
      rx_pj=$(git hash-object --no-filters -- "$rx_d/.rx/point.json" 2>/dev/null) || rx_pj=-
      # Anything newer than the extracted tree (every file extracted shares the time its run directory was made) was written by a job.
      [ -n "$(find "$rx_d" -mindepth 1 -newer "$rx_d/.rx/point.json" -print -quit 2>/dev/null)" ] && rx_ran=1
      if [[ $rx_n =~ _sha_([0-9a-f]{4,64})$ ]]; then rx_names+=("$rx_n"); rx_shorts+=("\${BASH_REMATCH[1]}"); fi
    fi
    printf 'RXRUN %s %s %s %s\\n' "$rx_k" "$rx_ran" "\${rx_pj:--}" "$rx_n"
    [ -n "$rx_doc" ] && printf 'RXDOC %s\\n' "$rx_doc"
  done
else
  echo "RXROOT -"
fi
if [ "$rx_clone" = 1 ] && (( \${#rx_names[@]} )); then
  rx_objs=()
  while IFS= read -r rx_l; do rx_objs+=("$rx_l"); done < <(for rx_s in "\${rx_shorts[@]}"; do printf '%s^{commit}\\n%s:.rx/point.json\\n' "$rx_s" "$rx_s"; done | git -C "$repo" cat-file --batch-check='%(objectname) %(objecttype)' 2>/dev/null)
  rx_commits=()
  for rx_i in "\${!rx_names[@]}"; do
    rx_c=\${rx_objs[2*rx_i]:-} rx_p=\${rx_objs[2*rx_i+1]:-}
    if [[ $rx_c == *' commit' ]]; then rx_c=\${rx_c%% *}; rx_commits+=("$rx_c"); else rx_c=-; fi
    if [[ $rx_p == *' blob' ]]; then rx_p=\${rx_p%% *}; else rx_p=-; fi
    printf 'RXOBJ %s commit %s\\nRXOBJ %s pj %s\\n' "\${rx_names[rx_i]}" "$rx_c" "\${rx_names[rx_i]}" "$rx_p"
  done
  if (( \${#rx_commits[@]} )); then git -C "$repo" log --no-walk=unsorted --format='RXSUBJ %H %s' "\${rx_commits[@]}" 2>/dev/null; fi
fi
if [ "$rx_new" = 1 ] || [ "$rx_all" = 1 ]; then
  if [ -d "$sd" ]; then
    for rx_f in "$sd"/*.jobid "$sd"/*.jobid.attempt*; do
      [[ $rx_f =~ \\.jobid(\\.attempt[0-9]+)?$ ]] || continue
      rx_id=; IFS= read -r rx_id < "$rx_f"
      printf 'RXMARK %s %s\\n' "\${rx_f##*/}" "$rx_id"
    done
  fi
  rx_since=
  if [ -n "$rx_min" ]; then rx_since=$(date -u -d "$rx_min -1 day" +%F 2>/dev/null) || rx_since=$rx_min; fi
  ( ${opts.jobsByDir} ) 2>/dev/null
fi
exit 0`,
  ]).text + '\n';
}
