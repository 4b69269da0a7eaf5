// Temp git repositories for tests: pinned identity, gc.auto=0, branch main, optional bare origin.
// Built with simple-git (porcelain is all a fixture needs); removed when the test ends.
import { mkdtemp, rm, writeFile, mkdir, cp, chmod } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import { simpleGit, type SimpleGit } from 'simple-git';
import type { TestContext } from 'node:test';

export interface GitDir {
  root: string;
  /** The user's repository (working tree). */
  work: string;
  /** The bare origin, if asked for. */
  origin: string | null;
  git: SimpleGit;
  write(files: Record<string, string>): Promise<void>;
  commit(message: string): Promise<string>;
  cleanup(): Promise<void>;
}

export async function gitdir(t: TestContext | null, opts: { origin?: boolean; files?: Record<string, string>; copy?: string; prefix?: string } = {}): Promise<GitDir> {
  const root = await mkdtemp(join(tmpdir(), opts.prefix ?? 'rx-test-'));
  await chmod(root, 0o755); // the cluster user must be able to read the bare origin
  const work = join(root, 'work');
  await mkdir(work);
  if (opts.copy) await cp(opts.copy, work, { recursive: true });
  const git = simpleGit(work);
  await git.init(['-b', 'main']);
  for (const [k, v] of [['user.name', 'rx test'], ['user.email', 'test@rx.invalid'], ['gc.auto', '0'], ['commit.gpgsign', 'false']]) await git.addConfig(k!, v!);
  const write = async (files: Record<string, string>) => {
    for (const [p, c] of Object.entries(files)) {
      await mkdir(dirname(join(work, p)), { recursive: true });
      await writeFile(join(work, p), c);
    }
  };
  const commit = async (message: string) => {
    await git.add(['-A']);
    await git.commit(message);
    return (await git.revparse(['HEAD'])).trim();
  };
  if (opts.files) await write(opts.files);
  await commit('base');
  let origin: string | null = null;
  if (opts.origin) {
    origin = join(root, 'origin.git');
    await simpleGit(root).init(true, [origin]);
    await git.addRemote('origin', origin);
    await git.push('origin', 'main');
  }
  // A local job the test left running may still write into its run dir: rm retries ENOTEMPTY.
  const cleanup = () => rm(root, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  t?.after(cleanup);
  return { root, work, origin, git, write, commit, cleanup };
}
