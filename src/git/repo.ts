// The user's repository as rx sees it: its top, and rx's own folder .rx/ (git-ignored).
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { git, repoTop, verbs } from './verbs.ts';

export interface RepoContext {
  top: string;
  rxDir: string;
}

export async function repoContext(cwd: string): Promise<RepoContext> {
  const top = await repoTop(cwd);
  return { top, rxDir: join(top, '.rx') };
}

/** Keeps .rx/ out of `git status` via .git/info/exclude (never the user's .gitignore). */
export async function ensureExcluded(ctx: RepoContext): Promise<void> {
  const exclude = await git(ctx.top, verbs.gitPath('info/exclude'));
  const text = existsSync(exclude) ? readFileSync(exclude, 'utf8') : '';
  if (text.split('\n').some(l => l.trim() === '/.rx/')) return;
  mkdirSync(dirname(exclude), { recursive: true });
  appendFileSync(exclude, `${text && !text.endsWith('\n') ? '\n' : ''}# rx's ledger and local runs\n/.rx/\n`);
}
