// The per-sweep lock under contention: many real processes race to take over one stale lock, over
// and over; at most one may ever hold it. Run in child processes, since the race is between
// processes (a takeover reads, decides and removes in separate system calls).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir, hostname } from 'node:os';
import { acquireLock } from '../../src/ledger/lock.ts';
import { run } from '../../src/proc.ts';

const PROCS = 8;
/** Per format of the stale lock: the directory rx writes, and the plain file of earlier versions. */
const TRIALS = 40;
const DEAD = 999_999_999; // above any pid_max: never a live process

/** One racer: waits for the start signal, then per trial tries the lock at the same instant as the others. */
const racer = (root: string, id: number) => `
  import { acquireLock } from ${JSON.stringify(new URL('../../src/ledger/lock.ts', import.meta.url).href)};
  import { appendFileSync, existsSync, openSync, closeSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
  import { join } from 'node:path';
  const root = ${JSON.stringify(root)};
  const sleep = ms => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.max(0, ms));
  writeFileSync(join(root, 'ready.${id}'), '');
  while (!existsSync(join(root, 'go'))) sleep(5);
  const start = Number(readFileSync(join(root, 'go'), 'utf8'));
  for (let t = 0; t < ${2 * TRIALS}; t++) {
    const dir = join(root, String(t));
    sleep(start + t * 50 - Date.now());
    let release;
    try {
      release = acquireLock(dir, 'sweep s');
    } catch (e) {
      if (!/in use by another rx process/.test(e.message)) appendFileSync(join(dir, 'errors'), ${id} + ': ' + e.message + '\\n');
      continue;
    }
    // Inside: exactly one process may be here. 'wx' fails if another holder is inside too.
    let fd = null;
    try { fd = openSync(join(dir, 'inside'), 'wx'); } catch { appendFileSync(join(dir, 'overlaps'), ${id} + '\\n'); }
    appendFileSync(join(dir, 'holders'), ${id} + '\\n');
    const until = Date.now() + 3;
    while (Date.now() < until);
    if (fd !== null) { closeSync(fd); unlinkSync(join(dir, 'inside')); }
    release();
  }`;

test(`${PROCS} processes × ${2 * TRIALS} trials racing for a stale lock: never two holders at once`, { timeout: 60_000 }, async t => {
  const root = mkdtempSync(join(tmpdir(), 'rx-lock-race-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (let i = 0; i < 2 * TRIALS; i++) {
    const dir = join(root, String(i));
    mkdirSync(dir);
    // Left by a crashed rx: every other trial in the older plain-file format.
    if (i % 2) writeFileSync(join(dir, 'lock'), `${hostname()} ${DEAD}`);
    else {
      mkdirSync(join(dir, 'lock'));
      writeFileSync(join(dir, 'lock', 'holder.0123456789abcdef'), `${hostname()} ${DEAD}`);
    }
  }
  const racers = Array.from({ length: PROCS }, (_, id) => run([process.execPath, '--import', 'tsx', '--input-type=module', '-e', racer(root, id)], { allowFailure: true }));
  const deadline = Date.now() + 30_000;
  while (readdirSync(root).filter(f => f.startsWith('ready.')).length < PROCS && Date.now() < deadline) await new Promise(r => setTimeout(r, 20));
  writeFileSync(join(root, 'go'), String(Date.now() + 200));
  for (const r of await Promise.all(racers)) assert.equal(r.exitCode, 0, r.stderr);
  const read = (dir: string, f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8').trim().split('\n') : []);
  const trials = Array.from({ length: 2 * TRIALS }, (_, i) => join(root, String(i)));
  const overlaps = trials.flatMap((dir, i) => (read(dir, 'overlaps').length ? [`trial ${i}: ${read(dir, 'overlaps').length + 1} holders at once`] : []));
  assert.deepEqual(overlaps, []);
  for (const [i, dir] of trials.entries()) {
    assert.deepEqual(read(dir, 'errors'), [], `trial ${i}: only "in use" refusals`);
    assert.ok(read(dir, 'holders').length >= 1, `trial ${i}: the stale lock was taken over`);
    assert.ok(!existsSync(join(dir, 'lock')), `trial ${i}: released`);
  }
});

test('the lock directory: exactly one holder file, released without a trace; other holders reported', t => {
  const dir = mkdtempSync(join(tmpdir(), 'rx-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const release = acquireLock(dir, 'sweep s');
  const holders = readdirSync(join(dir, 'lock'));
  assert.equal(holders.length, 1);
  assert.match(holders[0]!, /^holder\.[0-9a-f]{16}$/);
  assert.equal(readFileSync(join(dir, 'lock', holders[0]!), 'utf8'), `${hostname()} ${process.pid}`);
  assert.throws(() => acquireLock(dir, 'sweep s'), new RegExp(`sweep s is in use by another rx process \\(pid ${process.pid}\\)`));
  release();
  assert.deepEqual(readdirSync(dir), [], 'nothing left behind');
  release(); // twice: harmless
  // Another host's lock, in either format, is never taken over.
  mkdirSync(join(dir, 'lock'));
  writeFileSync(join(dir, 'lock', 'holder.ffff'), 'login2 4242');
  assert.throws(() => acquireLock(dir, 'sweep s'), (e: Error & { hint?: string }) => /locked by rx on login2 \(pid 4242\)/.test(e.message) && e.hint!.includes(join(dir, 'lock', 'holder.ffff')));
  rmSync(join(dir, 'lock'), { recursive: true });
  // An empty lock directory (a crash between releasing steps) is free.
  mkdirSync(join(dir, 'lock'));
  acquireLock(dir, 'sweep s')();
  assert.deepEqual(readdirSync(dir), []);
});
