// Listing the files of a directory tree.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Every file below dir (not directories; a symlink counts as a file), as relative '/'-separated
 * paths. A directory named `skip` (e.g. rsync's partial-transfer folder) is left out wherever it is.
 */
export function filesBelow(dir: string, skip?: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    if (skip !== undefined && e.name === skip && e.isDirectory()) continue;
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...filesBelow(dir, skip, r));
    else out.push(r);
  }
  return out;
}
