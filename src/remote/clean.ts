// The bash that removes a sweep's run directories on the target (rx clean), in one script for all
// of them, and the parser of what it prints.
//
// A path is removed only when it is a real directory (not a symlink) holding a regular
// `.rx/point.json` whose blob id is the one the point's commit has (computed locally and passed in):
// anything else at a run directory's path is left alone and reported. Each directory is first
// renamed (one rename(2), never replacing anything) into `<output root>/.rx-removing/`, a directory
// only rx makes, and removed from there: a clean killed mid-way leaves either the whole run
// directory in place or a part of it under `.rx-removing/<name>` — which the next clean of that
// point removes without having to recognise it again (its `.rx/point.json` may be gone already).
import { sh } from '../quote.ts';

export interface DirToRemove {
  key: string;
  /** The run directory as the ledger has it (absolute, relative to the login dir, or ~/…). */
  dir: string;
  /** Blob id of the point's commit's `.rx/point.json`. */
  pointJson: string;
}

/** What the script found or did for one point. */
export type RemoveOutcome =
  /** Removed (or, with `check`, would be: `kb` its size in KiB). */
  | { key: string; kind: 'removed'; kb?: number }
  /** Nothing at its path (and nothing of it set aside): already gone. */
  | { key: string; kind: 'gone' }
  /** Left alone: not rx's run directory of this point, or the removal failed; `why` says which. */
  | { key: string; kind: 'skipped' | 'failed'; why: string };

/** The name of rx's own directory next to the run directories, where they are removed from. */
export const REMOVING_DIR = '.rx-removing';

/**
 * The script. `check`: change nothing, only say what would go and its size (du -sk). The number of
 * processes does not grow with the number of directories: one `git hash-object --stdin-paths`
 * checks every `.rx/point.json`, one `mv -n -t` per parent directory (through xargs) sets them
 * aside, one `rm -rf` (through xargs) removes them.
 * Prints per point exactly one of `RXCLEANED <key> [<kb>]`, `RXGONE <key>`, `RXSKIP <key> <why>`,
 * `RXFAIL <key> <why>`.
 */
export function removeDirsScript(dirs: readonly DirToRemove[], opts: { check: boolean }): string {
  return sh.lines([
    sh`trap '' HUP PIPE`,
    sh`rx_check=${opts.check ? 1 : 0} rx_aside=${REMOVING_DIR}`,
    sh`rx_k=(${dirs.map(d => d.key)})`,
    sh`rx_d=(${dirs.map(d => sh.path(d.dir))})`,
    sh`rx_w=(${dirs.map(d => d.pointJson)})`,
    REMOVE_BODY,
  ]).text + '\n';
}

const REMOVE_BODY = sh`rx_say() { printf '%s %s %s\\n' "$1" "\${rx_k[$2]}" "$3"; }
# 1. What is at each path: a candidate (a real directory with a regular .rx/point.json), something
# that is not rx's, a part set aside by an interrupted clean (rx_t: where it would be), or nothing.
rx_cand=() rx_set=() rx_t=()
for i in "\${!rx_k[@]}"; do
  d=\${rx_d[i]}
  rx_t[i]="\${d%/*}/$rx_aside/\${d##*/}"
  t=\${rx_t[i]}
  if [[ $d == *$'\\n'* || $d != */* ]]; then rx_say RXSKIP "$i" "$d is not a run directory path rx can check"
  elif [ -L "$d" ]; then rx_say RXSKIP "$i" "$d is a symbolic link, not a run directory rx made"
  elif [ -e "$d" ]; then
    if [ ! -d "$d" ]; then rx_say RXSKIP "$i" "$d is not a directory"
    elif [ -L "$d/.rx" ] || [ -L "$d/.rx/point.json" ] || [ ! -f "$d/.rx/point.json" ]; then rx_say RXSKIP "$i" "$d has no .rx/point.json of its own: not a run directory rx made"
    else rx_cand+=("$i")
    fi
  elif [ -d "$t" ] && [ ! -L "$t" ] && [ ! -L "\${t%/*}" ]; then rx_set+=("$i")
  else echo "RXGONE \${rx_k[i]}"
  fi
done
# 2. One git hash-object for every candidate's .rx/point.json: it must be the point's own.
rx_ok=()
if (( \${#rx_cand[@]} )); then
  mapfile -t rx_ids < <(for i in "\${rx_cand[@]}"; do printf '%s\\n' "\${rx_d[i]}/.rx/point.json"; done | git hash-object --no-filters --stdin-paths 2>/dev/null)
  for n in "\${!rx_cand[@]}"; do
    i=\${rx_cand[n]}
    # A file that cannot be read stops --stdin-paths: the rest are hashed one by one.
    id=\${rx_ids[n]-}; [ -n "$id" ] || id=$(git hash-object --no-filters -- "\${rx_d[i]}/.rx/point.json" 2>/dev/null) || id=
    if [ "$id" = "\${rx_w[i]}" ]; then rx_ok+=("$i")
    else rx_say RXSKIP "$i" "\${rx_d[i]} holds another experiment (its .rx/point.json is not that of point \${rx_k[i]}'s commit)"
    fi
  done
fi
# With check: the size of what would go (one du), and nothing changes.
if [ "$rx_check" = 1 ]; then
  declare -A rx_of=()
  rx_p=()
  for i in \${rx_ok[@]+"\${rx_ok[@]}"}; do rx_p+=("\${rx_d[i]}"); rx_of[\${rx_d[i]}]=$i; done
  for i in \${rx_set[@]+"\${rx_set[@]}"}; do rx_p+=("\${rx_t[i]}"); rx_of[\${rx_t[i]}]=$i; done
  if (( \${#rx_p[@]} )); then
    while IFS=$'\\t' read -r kb p; do
      if [ -n "\${rx_of[$p]-}" ]; then rx_say RXCLEANED "\${rx_of[$p]}" "$kb"; unset 'rx_of[$p]'; fi
    done < <(du -sk -- "\${rx_p[@]}" 2>/dev/null)
    for p in "\${!rx_of[@]}"; do rx_say RXCLEANED "\${rx_of[$p]}" 0; done
  fi
  exit 0
fi
# 3. Set them aside: per parent directory, one mv -n -t into <parent>/.rx-removing (never replacing).
declare -A rx_ready=()
for i in \${rx_ok[@]+"\${rx_ok[@]}"}; do
  p=\${rx_d[i]%/*}
  [ -n "\${rx_ready[$p]-}" ] && continue
  if [ -L "$p/$rx_aside" ] || { [ -e "$p/$rx_aside" ] && [ ! -d "$p/$rx_aside" ]; }; then rx_ready[$p]=bad
  elif mkdir -p -- "$p/$rx_aside" 2>/dev/null; then rx_ready[$p]=ok
  else rx_ready[$p]=bad
  fi
done
for p in "\${!rx_ready[@]}"; do
  [ "\${rx_ready[$p]}" = ok ] || continue
  for i in "\${rx_ok[@]}"; do [ "\${rx_d[i]%/*}" = "$p" ] && printf '%s\\0' "\${rx_d[i]}"; done | xargs -0 -r mv -n -t "$p/$rx_aside" -- 2>/dev/null
done
for i in \${rx_ok[@]+"\${rx_ok[@]}"}; do
  if [ "\${rx_ready[\${rx_d[i]%/*}]}" != ok ]; then rx_say RXFAIL "$i" "cannot make $rx_aside next to \${rx_d[i]} (a file or symlink is in the way, or no permission)"
  elif [ -e "\${rx_d[i]}" ] || [ ! -d "\${rx_t[i]}" ]; then rx_say RXFAIL "$i" "could not move \${rx_d[i]} into $rx_aside (no permission?)"
  else rx_set+=("$i")
  fi
done
# 4. One rm -rf for everything set aside, then say what is gone.
if (( \${#rx_set[@]} )); then
  rx_err=$(for i in "\${rx_set[@]}"; do printf '%s\\0' "\${rx_t[i]}"; done | xargs -0 -r rm -rf -- 2>&1 >/dev/null | head -n 1)
  declare -A rx_parents=()
  for i in "\${rx_set[@]}"; do
    t=\${rx_t[i]}
    if [ -e "$t" ] || [ -L "$t" ]; then rx_say RXFAIL "$i" "could not remove all of $t: \${rx_err:-rm failed}"
    else echo "RXCLEANED \${rx_k[i]}"; rx_parents[\${t%/*}]=1
    fi
  done
  # The aside directory goes once empty (another sweep's clean may be using it: rmdir leaves it then).
  for p in "\${!rx_parents[@]}"; do rmdir -- "$p" 2>/dev/null; done
fi
exit 0`;

/** Pure: the script's output → one outcome per key it mentioned (the first line per key counts). */
export function parseRemoveOutput(stdout: string): Map<string, RemoveOutcome> {
  const out = new Map<string, RemoveOutcome>();
  for (const line of stdout.split('\n')) {
    const m = /^(RXCLEANED|RXGONE|RXSKIP|RXFAIL) (\d{1,9})(?: (.*))?$/.exec(line);
    if (!m || out.has(m[2]!)) continue;
    const [, tag, key, rest = ''] = m as unknown as [string, string, string, string | undefined];
    if (tag === 'RXCLEANED') out.set(key, /^\d+$/.test(rest) ? { key, kind: 'removed', kb: Number(rest) } : { key, kind: 'removed' });
    else if (tag === 'RXGONE') out.set(key, { key, kind: 'gone' });
    else out.set(key, { key, kind: tag === 'RXSKIP' ? 'skipped' : 'failed', why: rest || 'no reason given' });
  }
  return out;
}
