// The durable ledger: one append-only JSON Lines file per sweep under .rx/. Every state change is
// written and fsynced before rx takes the next remote action, so a crash at any point resumes
// without duplicate or lost jobs. Readers fold the events; a torn last line (crash mid-write) is
// ignored. New event kinds and fields may be added (arrays, packing, resubmits) without a format
// change: unknown events are kept and skipped by older readers.
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, writeSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StateError } from './errors.ts';
import type { JobStatus } from './scheduler/types.ts';
import type { Params } from './points.ts';

export const LEDGER_VERSION = 1;

export type LedgerEvent =
  | { t: 'sweep'; at: string; name: string; file: string; branch: string; base: string; definition: unknown; remote: unknown }
  /** A point is planned: key is its number within the sweep, stable forever. */
  | { t: 'point'; at: string; key: string; params: Params; varied: Params; hash: string; base: string; repeat: number; from?: { sweep: string; key: string; sha: string | null } }
  | { t: 'commit'; at: string; key: string; sha: string; ref: string; branch: string }
  /** One `rx submit` of the sweep file: how many points it had, how many were new and skipped. */
  | { t: 'submission'; at: string; points: number; fresh: number; skipped: number; repeat: boolean; sampler?: { drawn: number; sequence: string } }
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
        if (!p.jobs.some(j => j.jobId === e.jobId)) p.jobs.push({ jobId: e.jobId, attempt: e.attempt, at: e.at, scheduler: e.scheduler });
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
        // Only the last line can be torn by a crash mid-append; anything else is damage.
        if (i < lines.length - 2 || (i === lines.length - 2 && lines[lines.length - 1] !== '')) {
          throw new StateError(`${file}:${i + 1}: damaged ledger line`, { hint: 'Restore the file from a backup or remove the damaged line.' });
        }
      }
    });
    return out;
  }

  state(): SweepState {
    return fold(this.name, this.events);
  }

  /** Appends events as one write and fsyncs before returning. */
  append(...events: LedgerEvent[]): void {
    if (events.length === 0) return;
    if (this.fd === null) {
      mkdirSync(this.dir, { recursive: true });
      this.repairTail();
      this.fd = openSync(this.file, 'a');
    }
    const text = events.map(e => JSON.stringify({ v: LEDGER_VERSION, ...e }) + '\n').join('');
    writeSync(this.fd, text);
    fsyncSync(this.fd);
    this.events.push(...events);
  }

  /** A torn last line would glue onto the next append; cut it off first. */
  private repairTail(): void {
    if (!existsSync(this.file)) return;
    const text = readFileSync(this.file, 'utf8');
    if (text === '' || text.endsWith('\n')) return;
    writeFileSync(this.file, text.slice(0, text.lastIndexOf('\n') + 1));
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

/**
 * A per-sweep lock so two rx processes never submit the same sweep at once. The lock file holds
 * the owner's pid; a lock whose process is gone (crash) is taken over.
 */
export function acquireLock(dir: string, what: string): () => void {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'lock');
  for (let tries = 0; tries < 3; tries++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => { try { if (readFileSync(file, 'utf8') === String(process.pid)) unlinkSync(file); } catch { /* already gone */ } };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(file, 'utf8'));
      if (pid && pid !== process.pid && alive(pid)) throw new StateError(`${what} is in use by another rx process (pid ${pid})`, { hint: 'Wait for it to finish, or stop it; a crashed rx leaves no live lock.' });
      try { unlinkSync(file); } catch { /* raced with another taker */ }
    }
  }
  throw new StateError(`could not lock ${what}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
