// The bash run on the target to make run directories: batched, one script for a whole submission.
import { sh, type ShFragment } from '../quote.ts';

interface DirToCreate {
  key: string;
  sha: string;
  /** Absolute, or relative to the login dir, or ~/… */
  dir: string;
}

/**
 * Fetches the sweep's temporary branches (and permanent refs) into the target's clone (cloning it
 * if missing), creates each run directory from its commit's tree, then deletes the temporary
 * branches rx made from that clone. Holding a lock in the state dir (one creator at a time; a
 * creator cut off by a lost connection goes on, and a re-run waits for it), each directory is
 * extracted into a private scratch directory, checked (the batch script and .rx/point.json are
 * there, no step of the pipe failed), and only then renamed into place — so a run directory that
 * exists is complete. Prints `RXDIR <key>` per directory made or found, `RXERR <key> <msg>` else.
 * `fetchUrl` null means the commits are already in `repo` (the local default).
 */
export function createDirsScript(opts: { repo: string; fetchUrl: string | null; sweep: string; dirs: DirToCreate[]; stateDir: string; script: string; branches: string[] }): string {
  const s = opts.sweep;
  const lines: ShFragment[] = [
    sh`set -u`,
    sh`set -o pipefail`,
    sh`trap '' HUP PIPE`,
    sh`repo=${sh.path(opts.repo)}`,
    sh`sd=${sh.path(opts.stateDir)}`,
    sh`script=${opts.script}`,
    sh`mkdir -p -- "$sd" || { echo "RXFATAL cannot create the state directory $sd" >&2; exit 3; }`,
    sh`if command -v flock >/dev/null 2>&1; then exec 9>>"$sd/.create.lock" && flock 9; fi`,
  ];
  if (opts.fetchUrl !== null) {
    lines.push(
      sh`url=${opts.fetchUrl}`,
      sh`if [ ! -e "$repo" ]; then`,
      sh`  mkdir -p "$(dirname -- "$repo")" && git clone -q -- "$url" "$repo" || { echo "RXFATAL cannot clone $url into $repo" >&2; exit 3; }`,
      sh`fi`,
      sh`git -C "$repo" fetch -q -- "$url" ${`refs/heads/rx/${s}/*:refs/heads/rx/${s}/*`} ${`refs/rx/${s}/*:refs/rx/${s}/*`} || { echo "RXFATAL cannot fetch the sweep's branches from $url into $repo (if git said 'rejected', $repo holds refs of the same sweep name from another repository: give this repository its own remote.repo)" >&2; exit 3; }`,
    );
  }
  // In mk, under the lock, any scratch directory of the run dir is a dead creator's: rx's own, removed.
  lines.push(sh`mk() {
  local key=$1 sha=$2 d=$3
  if [ -e "$d" ]; then
    if [ -f "$d/.rx/point.json" ]; then echo "RXDIR $key"; else echo "RXERR $key $d exists and was not made by rx"; fi
    return
  fi
  rm -rf -- "$d".rx-partial.*
  local t="$d.rx-partial.$$"
  if mkdir -p -- "$t" && git -C "$repo" archive --format=tar "$sha" | tar -x -C "$t" && [ -f "$t/.rx/point.json" ] && [ -e "$t/$script" ] && mv -T -- "$t" "$d"; then
    echo "RXDIR $key"
  else
    rm -rf -- "$t"
    echo "RXERR $key cannot create $d from $sha"
  fi
}`);
  for (const d of opts.dirs) lines.push(sh`mk ${d.key} ${d.sha} ${sh.path(d.dir)}`);
  if (opts.fetchUrl !== null && opts.branches.length) {
    // Only the temporary branches rx made (named in the ledger), never others of that name space.
    lines.push(sh`printf 'delete %s\\n' ${opts.branches} | git -C "$repo" update-ref --stdin 2>/dev/null || for b in ${opts.branches}; do git -C "$repo" update-ref -d "$b" 2>/dev/null; done`);
  }
  lines.push(sh`exit 0`);
  return sh.lines(lines).text + '\n';
}
