// The one function that quotes for a POSIX shell (the remote side's bash, or local bash scripts).

/**
 * Quote one word for sh/bash: the result always reads back as exactly `s`.
 * Single quotes protect everything but the single quote itself, which is closed, escaped, reopened.
 * NUL cannot be passed through a shell word at all, so it is refused.
 */
export function shq(s: string): string {
  if (s.includes('\0')) throw new Error('a shell word cannot contain a NUL byte');
  if (s !== '' && /^[A-Za-z0-9_\/.,:=@%+-]+$/.test(s)) return s;
  return "'" + s.replace(/'/g, `'\\''`) + "'";
}

/** Quote an argv into one command line for sh. */
export function shJoin(argv: readonly string[]): string {
  return argv.map(shq).join(' ');
}

/**
 * Quote a path for the remote shell, keeping a leading `~/` meaning the remote home
 * (a quoted `~` would not expand). Everything after it is quoted literally.
 */
export function shqPath(p: string): string {
  if (p === '~') return '"$HOME"';
  if (p.startsWith('~/')) return '"$HOME"/' + shq(p.slice(2));
  return shq(p);
}
