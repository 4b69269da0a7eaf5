// The bash run on the target to make run directories: batched, one script for a whole submission.
import { shq, shqPath } from './quote.ts';

export interface DirToCreate {
  key: string;
  sha: string;
  /** Absolute path, or relative to the login dir, or ~/… */
  dir: string;
}

/**
 * Fetches the sweep's temporary branches (and permanent refs) into the target's clone (cloning it
 * if missing), creates each run directory from its commit's tree (atomically: extract into
 * `<dir>.rx-partial`, then rename), then deletes the temporary branches from that clone.
 * Prints `RXDIR <key>` per directory made (or found already made by rx), `RXERR <key> <msg>` else.
 * `fetchUrl` null means the commits are already in `repo` (the local default).
 */
export function createDirsScript(opts: { repo: string; fetchUrl: string | null; sweep: string; dirs: DirToCreate[] }): string {
  const s = opts.sweep;
  const lines = [
    'set -u',
    "trap '' HUP PIPE",
    `repo=${shqPath(opts.repo)}`,
  ];
  if (opts.fetchUrl !== null) {
    lines.push(
      `url=${shq(opts.fetchUrl)}`,
      'if [ ! -e "$repo" ]; then',
      '  mkdir -p "$(dirname -- "$repo")" && git clone -q -- "$url" "$repo" || { echo "RXFATAL cannot clone $url into $repo" >&2; exit 3; }',
      'fi',
      `git -C "$repo" fetch -q -- "$url" ${shq(`refs/heads/rx/${s}/*:refs/heads/rx/${s}/*`)} ${shq(`refs/rx/${s}/*:refs/rx/${s}/*`)} || { echo "RXFATAL cannot fetch the sweep's branches from $url into $repo (if git said 'rejected', $repo holds refs of the same sweep name from another repository: give this repository its own remote.repo)" >&2; exit 3; }`,
    );
  }
  lines.push(
    'mk() {',
    '  local key=$1 sha=$2 d=$3',
    '  if [ -e "$d" ]; then',
    '    if [ -f "$d/.rx/point.json" ]; then echo "RXDIR $key"; else echo "RXERR $key $d exists and was not made by rx"; fi',
    '    return',
    '  fi',
    '  local t="$d.rx-partial"',
    '  [ -e "$t" ] && rm -rf -- "$t"',
    '  mkdir -p -- "$t" && git -C "$repo" archive --format=tar "$sha" | tar -x -C "$t" && mv -- "$t" "$d" && echo "RXDIR $key" || echo "RXERR $key cannot create $d from $sha"',
    '}',
  );
  for (const d of opts.dirs) lines.push(`mk ${shq(d.key)} ${shq(d.sha)} ${shqPath(d.dir)}`);
  if (opts.fetchUrl !== null) {
    lines.push(`git -C "$repo" for-each-ref --format='delete %(refname)' ${shq(`refs/heads/rx/${s}/`)} | git -C "$repo" update-ref --stdin || echo "RXWARN cannot delete the temporary branches in $repo" >&2`);
  }
  lines.push('exit 0');
  return lines.join('\n') + '\n';
}
