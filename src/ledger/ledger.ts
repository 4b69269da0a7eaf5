// The durable ledger: one append-only JSON Lines file per sweep under .rx/. Every state change is
// written and fsynced before rx takes the next remote action, so a crash at any point resumes
// without duplicate or lost jobs. Readers verify every line's checksum and validate every record
// (records.ts), then fold them into the state of each point, checking what only the whole ledger
// can tell (a record about a point never planned; a run directory outside the sweep's output root).
// A line torn by a crash mid-write is void; anything else that does not read is reported with its
// file:line (LedgerDamage) rather than guessed about.
import { closeSync, existsSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, realpathSync, writeSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { StateError } from '../errors.ts';
import type { JobStatus } from '../remote/scheduler/types.ts';
import { outputRoot } from '../remote/config.ts';
import type { Params } from '../sweep/points.ts';
import { LEDGER_VERSION, RecordError, checkLine, encodeRecord, readRecord, type EventOf, type LedgerEvent, type PointOrigin } from './records.ts';
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
  /** The earlier point this one is a later attempt of (`rx resubmit --failed --rebase`). */
  supersedes?: string;
  /** The later attempt that replaces this point: views show that one instead (see latestPoints). */
  supersededBy?: string;
  /**
   * This record's run number within its point's lineage, 1-based: the jobs of the attempts it
   * supersedes (same-dir resubmits included) plus its own (a record without a job counts as one).
   * The latest attempt has the highest. Always set by fold (optional only for records built by hand).
   */
  attempt?: number;
  sha?: string;
  ref?: string;
  branch?: string;
  pushed?: boolean;
  dir?: string;
  remote?: string;
  created?: boolean;
  cleaned?: boolean;
  /** rx clean started removing the run directory (a `removing` record) and has not said how it ended. */
  dirRemoving?: boolean;
  /** The run directory is gone from the target (rx clean); the point's history is kept. */
  dirRemoved?: boolean;
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
  /** The rounds `rx run` asked an adaptive sweep's `propose` for, in order. */
  proposals: EventOf<'proposal'>[];
  points: Map<string, PointRecord>;
}

/**
 * A ledger this rx cannot use: a damaged line or record (with its file:line), or one written by a
 * newer rx. Commands that list several sweeps report it and go on with the others (sweeps.ts).
 */
export class LedgerDamage extends StateError {}

export interface FoldOptions {
  /** The repository: a local sweep's relative output root is below it. */
  top?: string;
  /** The ledger file and the line of each event (undefined: appended by this process), for messages. */
  file?: string;
  lines?: (number | undefined)[];
}

/**
 * Folds a sweep's records into its state, checking what no single record can show: that every
 * record about a point follows that point's `point` record, and that every run directory is
 * `<output root>/<sweep>_time_YYYY_MM_DD_HH_MM_SS_sha_<hex of the point's commit>` for the output
 * root of the sweep record in force when it was written — a directory anywhere else never reaches
 * a remote command.
 */
export function fold(name: string, events: LedgerEvent[], opts: FoldOptions = {}): SweepState {
  const st: SweepState = { name, points: new Map(), submissions: [], proposals: [] };
  const bad = (i: number, why: string) => {
    const line = opts.lines?.[i];
    const where = opts.file ? (line ? `${opts.file}:${line}` : `${opts.file} (a record this rx appended)`) : `ledger of sweep '${name}', record ${i + 1}`;
    return damaged(where, why, line);
  };
  const roots = outputRoots(opts.top);
  events.forEach((e, i) => {
    const get = (key: string) => {
      const p = st.points.get(key);
      if (!p) throw bad(i, `a '${e.t}' record about point ${key}, which was never planned (no 'point' record before it)`);
      return p;
    };
    switch (e.t) {
      case 'sweep': st.sweep = e; break;
      case 'submission': st.submissions.push(e); break;
      case 'point': {
        const wrong = e.supersedes === undefined ? null : checkSupersedes(st, e);
        if (wrong) throw bad(i, wrong);
        st.points.set(e.key, { key: e.key, params: e.params, varied: e.varied, hash: e.hash, base: e.base, repeat: e.repeat, ...(e.from ? { from: e.from } : {}), ...(e.supersedes ? { supersedes: e.supersedes } : {}), attempt: 1, jobs: [], errors: [], plannedAt: e.at });
        if (e.supersedes) st.points.get(e.supersedes)!.supersededBy = e.key;
        break;
      }
      case 'commit': Object.assign(get(e.key), { sha: e.sha, ref: e.ref, branch: e.branch }); break;
      case 'pushed': for (const k of e.keys) get(k).pushed = true; break;
      case 'dir': {
        const p = get(e.key);
        const wrong = checkRunDir(name, st.sweep, p, e, roots);
        if (wrong) throw bad(i, wrong);
        Object.assign(p, { dir: e.dir, remote: e.remote });
        break;
      }
      case 'created': for (const k of e.keys) get(k).created = true; break;
      case 'cleaned': for (const k of e.keys) get(k).cleaned = true; break;
      case 'removing': for (const k of e.keys) get(k).dirRemoving = true; break;
      case 'removed': for (const k of e.keys) Object.assign(get(k), { dirRemoved: true, dirRemoving: false }); break;
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
      case 'error': {
        const p = get(e.key);
        p.errors.push({ phase: e.phase, message: e.message, at: e.at });
        // rx clean could not remove this point's run directory: its attempt has ended.
        if (e.phase === 'clean') p.dirRemoving = false;
        break;
      }
      case 'state': {
        const p = get(e.key);
        if (p.jobs.at(-1)?.jobId === e.jobId) Object.assign(p, { status: e.status, statusAt: e.at });
        break;
      }
      case 'proposal': st.proposals.push(e); break;
      case 'torn': break;
    }
  });
  numberAttempts(st);
  return st;
}

/**
 * Why a `point` record's `supersedes` is not a later attempt of an earlier point, or null: it must
 * name a point planned before it, with the same parameters, that no other point supersedes yet
 * (one successor per point, so each point has one latest attempt).
 */
function checkSupersedes(st: SweepState, e: EventOf<'point'>): string | null {
  const old = st.points.get(e.supersedes!);
  if (st.points.has(e.key)) return `point ${e.key} is planned twice`;
  if (!old) return `point ${e.key} supersedes point ${e.supersedes}, which was not planned before it`;
  if (old.hash !== e.hash) return `point ${e.key} supersedes point ${e.supersedes}, which has other parameters (hash ${old.hash.slice(0, 12)}, not ${e.hash.slice(0, 12)})`;
  if (old.supersededBy !== undefined) return `point ${e.key} supersedes point ${e.supersedes}, which point ${old.supersededBy} already supersedes`;
  return null;
}

/**
 * Numbers every record's runs along its lineage. A successor is always planned after the point
 * it supersedes, so one pass in planning order sees every predecessor first.
 */
function numberAttempts(st: SweepState): void {
  for (const p of st.points.values()) {
    const before = p.supersedes === undefined ? 0 : st.points.get(p.supersedes)!.attempt!;
    p.attempt = before + Math.max(1, p.jobs.length);
  }
}

/** The latest attempt of every point (in planning order); with `all`, every attempt. */
export function latestPoints(st: SweepState, all = false): PointRecord[] {
  const points = [...st.points.values()];
  return all ? points : points.filter(p => p.supersededBy === undefined);
}

/** The sweep's state with only the latest attempt of each point (with `all`: as it is). */
export function latestState(st: SweepState, all = false): SweepState {
  return all ? st : { ...st, points: new Map(latestPoints(st).map(p => [p.key, p])) };
}

/** `<sweep>_time_YYYY_MM_DD_HH_MM_SS_sha_<hex>` after the sweep name (src/remote/rundir.ts). */
const RUN_DIR_TAIL = /^_time_\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d_sha_([0-9a-f]{7,64})$/;

/**
 * Whether `base` is a run directory name rx gives a point of `sweep`
 * (`<sweep>_time_YYYY_MM_DD_HH_MM_SS_sha_<hex>`), and, with `sha`, one made from that commit.
 * The ledger accepts no other `dir` record.
 */
export function isRunDirName(sweep: string, base: string, sha?: string): boolean {
  const m = base.startsWith(sweep) ? RUN_DIR_TAIL.exec(base.slice(sweep.length)) : null;
  return Boolean(m && (sha === undefined || sha.startsWith(m[1]!)));
}

/**
 * The output roots a sweep record allows, as rx writes them (outputRoot in src/remote/target.ts):
 * for a local sweep below the repository, also below its real path (a symlinked checkout).
 */
function outputRoots(top: string | undefined): (r: EventOf<'sweep'>['remote']) => string[] {
  let real: string | null | undefined;
  return r => {
    const roots = [outputRoot(r, top ?? '')];
    if (r.host === 'local' && top) {
      if (real === undefined) try { real = realpathSync(top); } catch { real = null; }
      if (real && real !== top) roots.push(outputRoot(r, real));
    }
    return roots;
  };
}

/**
 * A local sweep's run directories below the repository (the default `.rx/runs`, or a relative
 * `output`) were recorded with the repository's path at the time: a repository moved or renamed
 * since keeps its ledger readable, as long as the directory is still `<somewhere>/<output>/<name>`.
 */
function movedRoot(r: EventOf<'sweep'>['remote'], dir: string): string | undefined {
  const rel = r.output ?? '.rx/runs';
  if (r.host !== 'local' || isAbsolute(rel) || !isAbsolute(dir)) return undefined;
  const parent = dir.slice(0, dir.lastIndexOf('/'));
  return parent.endsWith('/' + rel.replace(/\/+$/, '')) ? parent : undefined;
}

/** Why a `dir` record is not a run directory rx would have made for this point, or null. */
function checkRunDir(name: string, sweep: EventOf<'sweep'> | undefined, p: PointRecord, e: EventOf<'dir'>, roots: (r: EventOf<'sweep'>['remote']) => string[]): string | null {
  const shown = JSON.stringify(e.dir);
  if (!sweep) return `run directory ${shown} recorded before the sweep record, so its output root is unknown`;
  if (e.remote !== sweep.remote.label) return `run directory ${shown} is on remote '${e.remote}', but the sweep was submitted to '${sweep.remote.label}'`;
  const allowed = roots(sweep.remote);
  const root = allowed.find(r => e.dir.startsWith(r + '/') && !e.dir.slice(r.length + 1).includes('/')) ?? movedRoot(sweep.remote, e.dir);
  if (root === undefined) return `run directory ${shown} is not directly inside the sweep's output root ${allowed[0]}`;
  const base = e.dir.slice(root.length + 1);
  if (!isRunDirName(name, base)) return `run directory name ${JSON.stringify(base)} is not ${name}_time_YYYY_MM_DD_HH_MM_SS_sha_<hex>`;
  if (!p.sha) return `run directory ${shown} recorded for point ${p.key}, which has no commit yet`;
  if (!isRunDirName(name, base, p.sha)) return `run directory ${shown} names commit ${base.split('_sha_').pop()}, but point ${p.key} is commit ${p.sha.slice(0, 12)}`;
  return null;
}

export class Ledger {
  readonly file: string;
  private fd: number | null = null;
  private events: LedgerEvent[];
  /** The line of each event read from the file (undefined: appended by this process). */
  private lines: (number | undefined)[];

  constructor(readonly dir: string, readonly name: string) {
    this.file = join(dir, 'ledger.jsonl');
    const read = existsSync(this.file) ? readLedger(this.file, readFileSync(this.file, 'utf8')) : { events: [], lines: [] };
    this.events = read.events;
    this.lines = read.lines;
  }

  static read(file: string): LedgerEvent[] {
    if (!existsSync(file)) return [];
    return readLedger(file, readFileSync(file, 'utf8')).events;
  }

  /** The folded state; a record that contradicts the ones before it throws LedgerDamage naming its line. */
  state(): SweepState {
    // The ledger lives in <top>/.rx/sweeps/<name>/.
    return fold(this.name, this.events, {
      top: resolve(this.dir, '..', '..', '..'),
      file: this.file,
      lines: this.lines,
    });
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
    this.lines.push(...events.map(() => undefined));
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

/** A sweep's folded ledger as it is on disk now (the ledger opened only to be read, and closed). */
export function sweepState(rxDir: string, name: string): SweepState {
  const ledger = new Ledger(sweepDir(rxDir, name), name);
  try {
    return ledger.state();
  } finally {
    ledger.close();
  }
}

export function listSweeps(rxDir: string): string[] {
  const d = join(rxDir, 'sweeps');
  if (!existsSync(d)) return [];
  return readdirSync(d, { withFileTypes: true }).filter(e => e.isDirectory() && existsSync(join(d, e.name, 'ledger.jsonl'))).map(e => e.name).sort();
}

/**
 * Reads a ledger's lines into records, with the line number of each. A line that does not read is
 * void when it was torn by a crash: it is the last line and unterminated, or the next line is the
 * `torn` record an append wrote after it (ledgers of version 1 had no such record: there an
 * unterminated-looking line that does not end in '}' counts as torn). Anything else — a line that
 * is not JSON, fails its checksum (records.ts) or does not validate — is damage, reported with
 * file:line.
 */
export function readLedger(file: string, text: string): { events: LedgerEvent[]; lines: number[] } {
  const lines = text.split('\n');
  const events: LedgerEvent[] = [];
  const numbers: number[] = [];
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
      throw damaged(`${file}:${i + 1}`, 'not valid JSON', i + 1);
    }
    const v = (raw as { v?: unknown })?.v;
    if (typeof v === 'number' && v > LEDGER_VERSION) throw new LedgerDamage(`${file}:${i + 1}: written by a newer rx (ledger version ${v}; this rx reads up to ${LEDGER_VERSION})`, { hint: 'Upgrade rx (npm install -g remote-experiments).' });
    const bad = checkLine(line, raw);
    if (bad) throw damaged(`${file}:${i + 1}`, bad, i + 1);
    try {
      events.push(readRecord(raw));
      numbers.push(i + 1);
    } catch (e) {
      if (e instanceof RecordError) throw damaged(`${file}:${i + 1}`, e.message, i + 1);
      throw e;
    }
  }
  return { events, lines: numbers };
}

/** The records of a ledger's text (see readLedger). */
export function readLines(file: string, text: string): LedgerEvent[] {
  return readLedger(file, text).events;
}

function damaged(where: string, why: string, line?: number): LedgerDamage {
  const fix = line === undefined
    ? 'Restore the ledger from a backup, or fix or delete the record (keep a copy first).'
    : `Restore the file from a backup, or fix or delete line ${line} (keep a copy first; a line fixed by hand must drop its "c" checksum and say "v":2).`;
  return new LedgerDamage(`${where}: damaged ledger record: ${why}`, {
    hint: `rx never rewrites its ledger, so this record was edited or corrupted. ${fix}`,
  });
}
