// Locks in .rx/: a short append lock that orders ledger writes, and the per-sweep lock that keeps
// two rx processes from submitting the same sweep at once.
import { linkSync, mkdirSync, readFileSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
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
 * A per-sweep lock so two rx processes never submit (or resubmit) the same sweep at once. The
 * lock file, created atomically (written aside, then hard-linked into place), holds the owner's
 * host and pid: a lock of a process gone from this host (a crash) is taken over; a lock from
 * another host (a shared home on two login nodes) is never guessed about.
 */
export function acquireLock(dir: string, what: string): () => void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'lock');
  const me = `${hostname()} ${process.pid}`;
  const tmp = join(dir, `.lock.${process.pid}`);
  writeFileSync(tmp, me);
  try {
    for (let tries = 0; tries < 5; tries++) {
      try {
        linkSync(tmp, file);
        return () => { try { if (readFileSync(file, 'utf8') === me) unlinkSync(file); } catch { /* already gone */ } };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      let holder = '';
      try { holder = readFileSync(file, 'utf8'); } catch { continue; }
      const [host, pidText] = holder.split(' ');
      const pid = Number(pidText);
      if (host !== hostname()) throw new StateError(`${what} is locked by rx on ${host} (pid ${pidText})`, { hint: `If no rx runs there any more, remove ${file}.` });
      if (pid && alive(pid)) throw new StateError(`${what} is in use by another rx process (pid ${pid})`, { hint: 'Wait for it to finish, or stop it; a crashed rx leaves no live lock.' });
      // Stale: break it only if it is still the same stale lock.
      try { if (readFileSync(file, 'utf8') === holder) unlinkSync(file); } catch { /* raced */ }
    }
    throw new StateError(`could not lock ${what}`);
  } finally {
    try { unlinkSync(tmp); } catch { /* gone */ }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
