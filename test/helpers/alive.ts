// Whether a process lives, as the kill tests need it: it exists and is not a zombie (a killed
// orphan's zombie may wait a while for init to reap it).
import { existsSync, readFileSync } from 'node:fs';

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    // Gone between the two looks, unless there is no /proc at all (then kill -0 has the last word).
    return !existsSync('/proc/self/stat');
  }
}
