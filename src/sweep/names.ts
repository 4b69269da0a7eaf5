// Names that end up in git refs, directory names and remote shell text: validated before any use.
import { ConfigError } from '../errors.ts';

const SWEEP_NAME = /^[A-Za-z0-9._-]+$/;

/**
 * A sweep name becomes part of `refs/rx/<name>/…`, `rx/<name>/<n>` branches and run directory names,
 * so it must be a valid single git ref component and a plain file name.
 */
export function validateSweepName(name: unknown, where = 'name'): string {
  if (typeof name !== 'string' || name === '') {
    throw new ConfigError(`${where}: the sweep needs a name (letters, digits, '.', '_', '-')`);
  }
  const why = !SWEEP_NAME.test(name)
    ? `only letters, digits, '.', '_' and '-' are allowed`
    : name.startsWith('.') || name.startsWith('-')
      ? `it must not start with '.' or '-'`
      : name.endsWith('.') || name.endsWith('.lock')
        ? `it must not end with '.' or '.lock'`
        : name.includes('..')
          ? `it must not contain '..'`
          : name.length > 100
            ? 'it is longer than 100 characters'
            : null;
  if (why) throw new ConfigError(`${where}: invalid sweep name ${JSON.stringify(name)}: ${why}`, { hint: 'Rename the sweep, e.g. "mass_scan-2".' });
  return name;
}

/** A relative path inside the repository (script names, patched files): no escaping the tree. */
export function validateRepoPath(p: unknown, where: string): string {
  if (typeof p !== 'string' || p === '') throw new ConfigError(`${where}: expected a file path inside the repository`);
  const parts = p.split('/');
  if (p.startsWith('/') || parts.some(s => s === '..' || s === '' || s === '.') || p.includes('\0') || p.includes('\n')) {
    throw new ConfigError(`${where}: ${JSON.stringify(p)} is not a plain relative path inside the repository`, { hint: "Use a path like 'inlist_project' or 'work/inlist'." });
  }
  if (parts[0] === '.git') throw new ConfigError(`${where}: ${JSON.stringify(p)} is inside .git`);
  return p;
}
