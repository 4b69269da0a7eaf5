// The durable ledger: one append-only JSON Lines file per sweep under .rx/. Every state change is
// written and fsynced before rx takes the next remote action, so a crash at any point resumes
// without duplicate or lost jobs. Readers validate every record (records.ts) and fold them into
// the state of each point; a line torn by a crash mid-write is void, and anything else that does
// not read is reported with its file:line rather than guessed about.
import { closeSync, existsSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { StateError } from '../errors.ts';
import type { JobStatus } from '../remote/scheduler/types.ts';
import type { Params } from '../sweep/points.ts';
import { LEDGER_VERSION, RecordError, encodeRecord, readRecord, type EventOf, type LedgerEvent, type PointOrigin } from './records.ts';
import { withAppendLock } from './lock.ts';

export { LEDGER_VERSION, type LedgerEvent, type EventOf } from './records.ts';

export interface PointRecord {
  key: string;
  params: Params;
  varied: Params;
  hash: string;
  base: string;
  repeat: number;
  from?: PointOrigin;
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
  sweep?: EventOf<'sweep'>;
  submissions: EventOf<'submission'>[];
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
      case 'torn': break;
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
    return readLines(file, readFileSync(file, 'utf8'));
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
    const text = events.map(encodeRecord).join('');
    withAppendLock(this.file + '.lock', () => {
      // After a torn write (a crash), start on a fresh line and say that the line before is void,
      // so the reader tells a crash from a damaged file.
      const size = fstatSync(fd).size;
      const last = Buffer.alloc(1);
      const torn = size > 0 && readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 10;
      writeSync(fd, torn ? '\n' + encodeRecord({ t: 'torn', at: now() }) + text : text);
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

/**
 * Reads a ledger's lines into records. A line that does not read is void when it was torn by a
 * crash: it is the last line and unterminated, or the next line is the `torn` record an append
 * wrote after it (ledgers of version 1 had no such record: there an unterminated-looking line that
 * does not end in '}' counts as torn). Anything else is damage, reported with file:line.
 */
export function readLines(file: string, text: string): LedgerEvent[] {
  const lines = text.split('\n');
  const out: LedgerEvent[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.trim()) continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      const last = i === lines.length - 1;
      const next = lines[i + 1] ?? '';
      if (last || next.includes('"t":"torn"') || !line.trimEnd().endsWith('}')) continue;
      throw damaged(file, i, 'not valid JSON');
    }
    const v = (raw as { v?: unknown })?.v;
    if (typeof v === 'number' && v > LEDGER_VERSION) throw new StateError(`${file}:${i + 1}: written by a newer rx (ledger version ${v}; this rx reads up to ${LEDGER_VERSION})`, { hint: 'Upgrade rx (npm install -g remote-experiments).' });
    try {
      out.push(readRecord(raw));
    } catch (e) {
      if (e instanceof RecordError) throw damaged(file, i, e.message);
      throw e;
    }
  }
  return out;
}

function damaged(file: string, i: number, why: string): StateError {
  return new StateError(`${file}:${i + 1}: damaged ledger record: ${why}`, {
    hint: `rx never rewrites its ledger, so this line was edited or corrupted. Restore the file from a backup, or fix or delete line ${i + 1} (keep a copy first).`,
  });
}
