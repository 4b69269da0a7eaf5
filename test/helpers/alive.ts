// Processes the kill tests look at: whether one lives (it exists and is not a zombie: a killed
// orphan's zombie may wait a while for init to reap it), and the pid a job wrote to a file.
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

export function alive(pid: number): boolean {
  // kill(0) would ask about our own process group: a pid read too early must not pass for one.
  if (!(Number.isSafeInteger(pid) && pid > 0)) throw new Error(`not a pid: ${pid}`);
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

/**
 * The pid in `file`, once it holds one: `echo $$ > f` creates the file before it writes, so a
 * file that exists may still be empty.
 */
export async function pidIn(file: string, ms = 20_000): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
    if (Number.isSafeInteger(pid) && pid > 0) return pid;
    if (Date.now() > deadline) throw new Error(`no pid in ${file} after ${ms} ms`);
    await new Promise(r => setTimeout(r, 50));
  }
}
