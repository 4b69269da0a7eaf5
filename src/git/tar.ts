// Extracting a tar archive (from `git archive`) with the system tar, through proc.ts.
import { mkdir } from 'node:fs/promises';
import { run } from '../proc.ts';

export async function extractTar(tarFile: string, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await run(['tar', '-x', '-f', tarFile, '-C', dir], { where: 'tar' });
}
