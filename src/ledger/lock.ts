// Locks in .rx/: a short append lock that orders ledger writes, and the per-sweep lock that keeps
// two rx processes from submitting the same sweep at once.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { StateError } from '../errors.ts';

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Runs fn holding a lock directory; a lock older than 30 s is from a crashed process and is broken. */
export function withAppendLock(lock: string, fn: () => void): void {
  for (let i = 0; ; i++) {
    try {
      mkdirSync(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        if (Date.now() - statSync(lock).mtimeMs > 30_000) rmdirSync(lock);
      } catch { /* released meanwhile */ }
      if (i > 2000) throw new StateError(`the ledger lock ${lock} has been held for over 20 s`, { hint: 'If no rx process is running, remove that directory.' });
      sleepSync(10);
    }
  }
  try {
    fn();
  } finally {
    try { rmdirSync(lock); } catch { /* gone */ }
  }
}

/**
 * A per-sweep lock so two rx processes never submit (or resubmit) the same sweep at once.
 *
 * The lock is the directory `<dir>/lock` holding one file, `holder.<token>` (a random token),
 * whose text is the owner's host and pid. It is taken with one atomic rename of a private,
 * complete directory onto `<dir>/lock`: that succeeds only while `lock` is absent or empty, so of
 * any number of processes exactly one wins, and a lock is never seen half-made. A lock of a process
 * gone from this host (a crash) is taken over by unlinking exactly its `holder.<token>` file — a
 * name that exists once, ever — which empties the directory so that one rename can win it again:
 * the check and the removal cannot act on a different, live holder, however the takers interleave.
 * A lock from another host (a shared home on two login nodes) is never guessed about.
 *
 * A plain file `<dir>/lock` ("host pid") is the lock of earlier rx versions: it is honoured the same
 * way (a dead holder on this host is removed with unlink, which cannot remove a directory, so it
 * never removes a lock taken in the directory format meanwhile).
 */
export function acquireLock(dir: string, what: string): () => void {
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, 'lock');
  const token = randomBytes(8).toString('hex');
  const mine = `holder.${token}`;
  const tmp = join(dir, `.lock.${process.pid}.${token}`);
  mkdirSync(tmp);
  try {
    writeFileSync(join(tmp, mine), `${hostname()} ${process.pid}`);
    for (let tries = 0; tries < 100; tries++) {
      try {
        renameSync(tmp, lock);
        return () => releaseLock(lock, mine);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOTDIR') throw e;
      }
      const held = lockHolder(lock, what);
      if (!held) continue; // released meanwhile: try again
      const [host, pidText] = held.text.split(' ');
      const pid = Number(pidText);
      if (host !== hostname()) throw new StateError(`${what} is locked by rx on ${host} (pid ${pidText})`, { hint: `If no rx runs there any more, remove ${held.path}.` });
      if (pid && alive(pid)) throw new StateError(`${what} is in use by another rx process (pid ${pid})`, { hint: 'Wait for it to finish, or stop it; a crashed rx leaves no live lock.' });
      // Stale (a crash): remove exactly that holder; whoever renames first afterwards holds the lock.
      try { unlinkSync(held.path); } catch { /* another process took it over first, or it is a directory now */ }
    }
    throw new StateError(`could not lock ${what}: ${lock} keeps changing`, { hint: 'Another rx keeps taking and releasing it; try again.' });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The current holder of a lock (its file and "host pid" text), or null when it is free now. */
function lockHolder(lock: string, what: string): { path: string; text: string } | null {
  const read = (path: string) => {
    try {
      return { path, text: readFileSync(path, 'utf8') };
    } catch {
      return null; // released or taken over meanwhile
    }
  };
  let names: string[];
  try {
    names = readdirSync(lock);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ENOTDIR') return read(lock); // the older plain-file lock
    throw e;
  }
  const holder = names.find(n => n.startsWith('holder.'));
  if (holder) return read(join(lock, holder));
  if (names.length) throw new StateError(`could not lock ${what}: ${lock} holds files rx did not put there (${names.slice(0, 3).join(', ')})`, { hint: `If no rx is running, remove ${lock}.` });
  return null;
}

/** Unlinks this process's holder file, then the emptied lock directory (unless another rx holds it already). */
function releaseLock(lock: string, mine: string): void {
  try {
    unlinkSync(join(lock, mine));
  } catch {
    return; // not ours any more
  }
  try { rmdirSync(lock); } catch { /* taken meanwhile */ }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
