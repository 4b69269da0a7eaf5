// The durable ledger: one append-only JSON Lines file per sweep under .rx/. Every state change is
// written and fsynced before rx takes the next remote action, so a crash at any point resumes
// without duplicate or lost jobs. Readers fold the events; a torn last line (crash mid-write) is
// ignored. New event kinds and fields may be added (arrays, packing, resubmits) without a format
// change: unknown events are kept and skipped by older readers.
import { closeSync, existsSync, fstatSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, rmdirSync, statSync, writeSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { StateError } from '../errors.ts';
import type { JobStatus } from '../remote/scheduler/types.ts';
import type { Params } from '../sweep/points.ts';

export const LEDGER_VERSION = 1;

export type LedgerEvent =
  | { t: 'sweep'; at: string; name: string; file: string; branch: string; base: string; definition: unknown; remote: unknown }
  /** A point is planned: key is its number within the sweep, stable forever. */
  | { t: 'point'; at: string; key: string; params: Params; varied: Params; hash: string; base: string; repeat: number; from?: { sweep: string; key: string; sha: string | null } }
  | { t: 'commit'; at: string; key: string; sha: string; ref: string; branch: string }
  /** One `rx submit` of the sweep file: how many points it had, how many were new and skipped. */
  | { t: 'submission'; at: string; points: number; fresh: number; skipped: number; repeat: boolean; sampler?: { drawn: number; sequence: string }; stage?: { select: [string, string][] } }
  | { t: 'pushed'; at: string; keys: string[] }
  | { t: 'dir'; at: string; key: string; dir: string; remote: string }
  | { t: 'created'; at: string; keys: string[] }
  | { t: 'cleaned'; at: string; keys: string[] }
  /** A job was submitted for a point; attempt counts resubmissions (1 = first). */
  | { t: 'job'; at: string; key: string; jobId: string; attempt: number; scheduler: string }
  | { t: 'error'; at: string; key: string; phase: string; message: string }
  /** Last known scheduler status of a job (a cache: `rx status` refreshes it). */
  | { t: 'state'; at: string; key: string; jobId: string; status: JobStatus };

export interface PointRecord {
  key: string;
  params: Params;
  varied: Params;
  hash: string;
  base: string;
  repeat: number;
  from?: { sweep: string; key: string; sha: string | null };
  sha?: string;
  ref?: string;
  branch?: string;
  pushed?: boolean;
  dir?: string;
  remote?: string;
  created?: boolean;
  cleaned?: boolean;
  jobs: { jobId: string; attempt: number; at: string; scheduler: string }[];
  status?: JobStatus;
  statusAt?: string;
  errors: { phase: string; message: string; at: string }[];
  plannedAt: string;
}

export interface SweepState {
  name: string;
  sweep?: Extract<LedgerEvent, { t: 'sweep' }>;
  submissions: Extract<LedgerEvent, { t: 'submission' }>[];
  points: Map<string, PointRecord>;
}

export function fold(name: string, events: LedgerEvent[]): SweepState {
  const st: SweepState = { name, points: new Map(), submissions: [] };
  const get = (key: string) => {
    const p = st.points.get(key);
    if (!p) throw new StateError(`ledger of sweep '${name}' mentions point ${key} before planning it`);
    return p;
  };
  for (const e of events) {
    switch (e.t) {
      case 'sweep': st.sweep = e; break;
      case 'submission': st.submissions.push(e); break;
      case 'point': st.points.set(e.key, { key: e.key, params: e.params, varied: e.varied, hash: e.hash, base: e.base, repeat: e.repeat, ...(e.from ? { from: e.from } : {}), jobs: [], errors: [], plannedAt: e.at }); break;
      case 'commit': Object.assign(get(e.key), { sha: e.sha, ref: e.ref, branch: e.branch }); break;
      case 'pushed': for (const k of e.keys) get(k).pushed = true; break;
      case 'dir': Object.assign(get(e.key), { dir: e.dir, remote: e.remote }); break;
      case 'created': for (const k of e.keys) get(k).created = true; break;
      case 'cleaned': for (const k of e.keys) get(k).cleaned = true; break;
      case 'job': {
        const p = get(e.key);
        if (!p.jobs.some(j => j.jobId === e.jobId)) {
          p.jobs.push({ jobId: e.jobId, attempt: e.attempt, at: e.at, scheduler: e.scheduler });
          // The previous attempt's state says nothing about this job.
          delete p.status;
          delete p.statusAt;
        }
        break;
      }
      case 'error': get(e.key).errors.push({ phase: e.phase, message: e.message, at: e.at }); break;
      case 'state': {
        const p = get(e.key);
        if (p.jobs.at(-1)?.jobId === e.jobId) Object.assign(p, { status: e.status, statusAt: e.at });
        break;
      }
      default: break; // a newer rx wrote it; keep going
    }
  }
  return st;
}

export class Ledger {
  readonly file: string;
  private fd: number | null = null;
  private events: LedgerEvent[];

  constructor(readonly dir: string, readonly name: string) {
    this.file = join(dir, 'ledger.jsonl');
    this.events = Ledger.read(this.file);
  }

  static read(file: string): LedgerEvent[] {
    if (!existsSync(file)) return [];
    const lines = readFileSync(file, 'utf8').split('\n');
    const out: LedgerEvent[] = [];
    lines.forEach((line, i) => {
      if (!line.trim()) return;
      try {
        const e = JSON.parse(line) as LedgerEvent & { v?: number };
        if ((e.v ?? 1) > LEDGER_VERSION) throw new StateError(`${file}:${i + 1}: written by a newer rx (ledger version ${e.v})`, { hint: 'Upgrade rx.' });
        out.push(e);
      } catch (err) {
        if (err instanceof StateError) throw err;
        // A crash mid-append leaves the start of a line (never its closing brace); the next
        // append starts a new line after it. Anything else that does not parse is damage.
        if (line.trimEnd().endsWith('}')) {
          throw new StateError(`${file}:${i + 1}: damaged ledger line`, { hint: 'Restore the file from a backup or remove the damaged line.' });
        }
      }
    });
    return out;
  }

  state(): SweepState {
    return fold(this.name, this.events);
  }

  /**
   * Appends events as one write and fsyncs before returning. Several rx processes may append to
   * one ledger (status while submit runs): a short lock (an atomic mkdir, safe on NFS homes)
   * orders the writes, and nothing ever rewrites what is already there.
   */
  append(...events: LedgerEvent[]): void {
    if (events.length === 0) return;
    if (this.fd === null) {
      mkdirSync(this.dir, { recursive: true });
      this.fd = openSync(this.file, 'a+');
    }
    const fd = this.fd;
    const text = events.map(e => JSON.stringify({ v: LEDGER_VERSION, ...e }) + '\n').join('');
    withAppendLock(this.file + '.lock', () => {
      // After a torn write (a crash), start on a fresh line so this event stays whole.
      const size = fstatSync(fd).size;
      const last = Buffer.alloc(1);
      const torn = size > 0 && readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 10;
      writeSync(fd, torn ? '\n' + text : text);
      fsyncSync(fd);
    });
    this.events.push(...events);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

export const now = () => new Date().toISOString();

/** .rx/sweeps/<name>/ — one folder per sweep. */
export function sweepDir(rxDir: string, name: string): string {
  return join(rxDir, 'sweeps', name);
}

export function listSweeps(rxDir: string): string[] {
  const d = join(rxDir, 'sweeps');
  if (!existsSync(d)) return [];
  return readdirSync(d, { withFileTypes: true }).filter(e => e.isDirectory() && existsSync(join(d, e.name, 'ledger.jsonl'))).map(e => e.name).sort();
}

const sleepSync = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Runs fn holding a lock directory; a lock older than 30 s is from a crashed process and is broken. */
function withAppendLock(lock: string, fn: () => void): void {
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
