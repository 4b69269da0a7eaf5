// Bash fragments that do per-item file work for thousands of items in a few processes: forking one
// `ln` or `mv` per run dir costs about a millisecond each, which at 10,000 points is most of a submit.
import { sh } from '../../quote.ts';

/**
 * `rx_symlinks DIR TARGET…`: makes the links DIR/0, DIR/1, … → each TARGET, in order. One perl for
 * all of them where there is perl (nearly every cluster: git needs it), else one `ln` each.
 */
export const SYMLINKS = sh`rx_symlinks() {
  local d=$1 j=0 t
  shift
  if command -v perl >/dev/null 2>&1; then
    printf '%s\\0' "$@" | perl -e 'my $d = shift; local $/ = "\\0"; my $i = 0; while (my $t = <STDIN>) { chomp $t; symlink($t, "$d/" . $i++) or die "symlink $t: $!\\n" }' "$d"
  else
    for t in "$@"; do ln -s -- "$t" "$d/$j" || return 1; j=$((j + 1)); done
  fi
}`;

/**
 * `rx_place STAGING DEST`: renames every file of STAGING into DEST (each rename atomic, one `mv`
 * per few thousand files), then removes STAGING. Files are written aside first so none is ever
 * seen half-written under its final name.
 */
export const PLACE = sh`rx_place() {
  local rc=0
  if compgen -G "$1/*" >/dev/null; then printf '%s\\0' "$1"/* | xargs -0 -r mv -f -t "$2" -- || rc=1; fi
  rm -rf -- "$1"
  return $rc
}`;
