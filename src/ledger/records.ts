// The ledger's record types, each with its reader (validation) beside its writer (encoding).
// A record is one JSON object per line: `{ "v": <version>, "t": <kind>, "at": <ISO time>, ... }`.
// Every line carries a checksum of its own text (from version 3 on) and every record is checked
// field by field when read, so a hand-edited or corrupted line is reported with its file:line and
// what is wrong, and values that later reach a remote command (shas, job ids) are known to be
// well-formed before anything uses them; run directories are checked against the sweep's output
// root when the records are folded (ledger.ts).
import { isObject } from '../json.ts';
import type { Params } from '../sweep/points.ts';
import type { JobStatus } from '../remote/scheduler/types.ts';
import { validateRemote, type RemoteSpec } from '../remote/config.ts';

/**
 * 1: the first format. 2: the sweep record stores its definition as plain JSON plus the list of
 * paths that were functions (`functions`), instead of "[function name]" strings in the definition.
 * 3: every line checks itself: it ends with `,"c":"<crc32>"}`, the CRC-32 (hex) of the line's text
 * without that field, so an edited or bit-flipped line is told from a good one. From version 3 on
 * the checksum is required; lines of versions 1 and 2 have none and are read as they are (one
 * ledger may hold lines of several versions: an upgraded rx appends version-3 lines to an older
 * ledger, and an older rx refuses a ledger with version-3 lines rather than misread it). A line
 * fixed by hand reads again once its `"c"` field is dropped and its `"v"` set to 2.
 * 4: new record kinds and fields an older rx would misread: `removing`/`removed` (rx clean), a
 * point's `supersedes` (a rebased attempt) and `proposal` (a round of an adaptive sweep, rx run). Lines are written as before; an rx that reads up to 3
 * refuses a ledger with version-4 lines as "written by a newer rx".
 */
export const LEDGER_VERSION = 4;
/** The first version whose lines carry a checksum. */
const CHECKSUM_VERSION = 3;

/** The remote a sweep was submitted to, as validated from its sweep file, plus a stable label. */
export type StoredRemote = RemoteSpec & { label: string };

/** Where a point of a nested stage came from. */
export interface PointOrigin { sweep: string; key: string; sha: string | null }

export type LedgerEvent =
  /**
   * The sweep as submitted. `definition` is the sweep file's object as JSON, each function value
   * replaced by null; `functions` lists the paths of those values (e.g. `namer`, `parse.0.reduce`),
   * so a later command knows exactly what to load from the sweep file again.
   */
  | { t: 'sweep'; at: string; name: string; file: string; branch: string; base: string; definition: Record<string, unknown>; functions: string[]; remote: StoredRemote }
  /**
   * A point is planned: key is its number within the sweep, stable forever. `supersedes`: this is a
   * later attempt of that earlier point (the same parameters rebuilt on a newer base by
   * `rx resubmit --failed --rebase`); views count the latest attempt of each point.
   */
  | { t: 'point'; at: string; key: string; params: Params; varied: Params; hash: string; base: string; repeat: number; from?: PointOrigin; supersedes?: string }
  | { t: 'commit'; at: string; key: string; sha: string; ref: string; branch: string }
  /** One `rx submit` of the sweep file: how many points it had, how many were new and skipped. */
  | { t: 'submission'; at: string; points: number; fresh: number; skipped: number; repeat: boolean; sampler?: { drawn: number; sequence: string }; stage?: { select: [string, string][] } }
  | { t: 'pushed'; at: string; keys: string[] }
  | { t: 'dir'; at: string; key: string; dir: string; remote: string }
  | { t: 'created'; at: string; keys: string[] }
  | { t: 'cleaned'; at: string; keys: string[] }
  /** rx clean is about to remove these points' run directories: written before its remote script runs. */
  | { t: 'removing'; at: string; keys: string[] }
  /** These points' run directories are gone from the target (removed by rx clean, or found gone by it). */
  | { t: 'removed'; at: string; keys: string[] }
  /** A job was submitted for a point; attempt counts resubmissions (1 = first). */
  | { t: 'job'; at: string; key: string; jobId: string; attempt: number; scheduler: string }
  | { t: 'error'; at: string; key: string; phase: string; message: string }
  /** Last known scheduler status of a job (a cache: `rx status` refreshes it). */
  | { t: 'state'; at: string; key: string; jobId: string; status: JobStatus }
  /**
   * `rx run` asked an adaptive sweep's `propose` for round `round` and will submit these points
   * (only new ones: no hash of an earlier point or proposal). Written before any of them is planned,
   * so a re-run after a crash submits exactly these and counts them against the budget.
   */
  | { t: 'proposal'; at: string; round: number; points: ProposedPoint[] }
  /** Written by an append that found the previous line torn (a crash mid-write): that line is void. */
  | { t: 'torn'; at: string };

/** One point of a proposal: the full config, the proposed values, and paramHash(params). */
export interface ProposedPoint { params: Params; varied: Params; hash: string }

export type EventOf<K extends LedgerEvent['t']> = Extract<LedgerEvent, { t: K }>;

/** A record that does not validate; the reader adds file:line. */
export class RecordError extends Error {}

/** Writer: one line, with the format version first and the line's checksum last. */
export function encodeRecord(e: LedgerEvent): string {
  const text = JSON.stringify({ v: LEDGER_VERSION, ...e });
  return `${text.slice(0, -1)},"c":"${crc32(text)}"}\n`;
}

/**
 * Checks the checksum of one line (`raw` is its parse). A line of version 3 or later must carry
 * one, and a line that carries one must match it, whatever its version says. Returns what is
 * wrong, or null.
 */
export function checkLine(line: string, raw: unknown): string | null {
  if (!isObject(raw)) return null; // readRecord says what is wrong
  const { c, v } = raw;
  if (c === undefined) return typeof v === 'number' && v >= CHECKSUM_VERSION ? `checksum missing (every record of ledger version ${CHECKSUM_VERSION} and later ends with one)` : null;
  const suffix = `,"c":${JSON.stringify(c)}}`;
  if (typeof c !== 'string' || !/^[0-9a-f]{8}$/.test(c) || !line.endsWith(suffix)) return `checksum mismatch (field "c" is not the 8 hex digits rx writes last on the line)`;
  return crc32(line.slice(0, -suffix.length) + '}') === c ? null : 'checksum mismatch (the line was changed after rx wrote it)';
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE, as zlib and gzip compute it) of the UTF-8 bytes of `text`, as 8 hex digits. */
export function crc32(text: string): string {
  let c = 0xffffffff;
  for (const b of Buffer.from(text, 'utf8')) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return ((c ^ 0xffffffff) >>> 0).toString(16).padStart(8, '0');
}

// ---- Field readers: each returns the value or throws RecordError naming the field. ----

type Obj = Record<string, unknown>;
const fail = (field: string, want: string, got: unknown): never => {
  throw new RecordError(`field '${field}': expected ${want}, got ${JSON.stringify(got) ?? 'nothing'}`);
};
const str = (o: Obj, k: string): string => (typeof o[k] === 'string' ? (o[k] as string) : fail(k, 'a string', o[k]));
const bool = (o: Obj, k: string): boolean => (typeof o[k] === 'boolean' ? (o[k] as boolean) : fail(k, 'true or false', o[k]));
const count = (o: Obj, k: string): number => (Number.isInteger(o[k]) && (o[k] as number) >= 0 ? (o[k] as number) : fail(k, 'a whole number ≥ 0', o[k]));
const obj = (o: Obj, k: string): Obj => (isObject(o[k]) ? (o[k] as Obj) : fail(k, 'an object', o[k]));
const strings = (o: Obj, k: string): string[] => (Array.isArray(o[k]) && (o[k] as unknown[]).every(x => typeof x === 'string') ? (o[k] as string[]) : fail(k, 'a list of strings', o[k]));
const matching = (o: Obj, k: string, re: RegExp, want: string): string => {
  const s = str(o, k);
  return re.test(s) ? s : fail(k, want, s);
};

/** Keys are the point's number within its sweep. */
const KEY = /^\d{1,9}$/;
/** A full git object id (SHA-1 or SHA-256): it reaches `git archive` on the cluster. */
const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
/** Slurm ids (`123`, `123_4`, `123_[1-3]`) and the shell scheduler's (`local-…`): no shell text. */
const JOB_ID = /^[A-Za-z0-9_.[\]+-]{1,64}$/;
const key = (o: Obj) => matching(o, 'key', KEY, 'a point number');
const keys = (o: Obj) => {
  const ks = strings(o, 'keys');
  return ks.every(k => KEY.test(k)) ? ks : fail('keys', 'point numbers', ks);
};
const sha = (o: Obj, k = 'sha') => matching(o, k, SHA, 'a full hex commit sha');
const jobId = (o: Obj) => matching(o, 'jobId', JOB_ID, 'a job id (letters, digits, _ . - + [ ])');

function origin(o: Obj): PointOrigin {
  const f = obj(o, 'from');
  return { sweep: str(f, 'sweep'), key: matching(f, 'key', KEY, 'a point number'), sha: f.sha === null ? null : sha(f) };
}

function status(o: Obj): JobStatus {
  const s = obj(o, 'status');
  str(s, 'jobId');
  str(s, 'state');
  if (s.exitCode !== null && s.exitCode !== undefined && !Number.isInteger(s.exitCode)) fail('status.exitCode', 'a whole number or null', s.exitCode);
  return s as unknown as JobStatus;
}

function storedRemote(o: Obj): StoredRemote {
  const { label, ...rest } = obj(o, 'remote');
  if (typeof label !== 'string') fail('remote.label', 'a string', label);
  try {
    return { ...validateRemote(rest), label: label as string };
  } catch (e) {
    throw new RecordError((e as Error).message);
  }
}

const V1_FUNCTION = /^\[function [^\]]*\]$/;

/**
 * A version-1 sweep record marked functions with "[function name]" strings in its definition:
 * turn each into null and list its path, as version 2 stores it.
 */
function fromV1Markers(value: unknown, path: string[], functions: string[]): unknown {
  if (typeof value === 'string' && V1_FUNCTION.test(value)) {
    functions.push(path.join('.'));
    return null;
  }
  if (Array.isArray(value)) return value.map((x, i) => fromV1Markers(x, [...path, String(i)], functions));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, x]) => [k, fromV1Markers(x, [...path, k], functions)]));
  return value;
}

function sweepRecord(o: Obj, version: number): EventOf<'sweep'> {
  let definition = obj(o, 'definition');
  let functions: string[];
  if (version < 2) {
    functions = [];
    definition = fromV1Markers(definition, [], functions) as Obj;
  } else functions = strings(o, 'functions');
  return { t: 'sweep', at: str(o, 'at'), name: str(o, 'name'), file: str(o, 'file'), branch: str(o, 'branch'), base: sha(o, 'base'), definition, functions, remote: storedRemote(o) };
}

function submissionRecord(o: Obj): EventOf<'submission'> {
  const e: EventOf<'submission'> = { t: 'submission', at: str(o, 'at'), points: count(o, 'points'), fresh: count(o, 'fresh'), skipped: count(o, 'skipped'), repeat: bool(o, 'repeat') };
  if (o.sampler !== undefined) {
    const s = obj(o, 'sampler');
    e.sampler = { drawn: count(s, 'drawn'), sequence: str(s, 'sequence') };
  }
  if (o.stage !== undefined) {
    const sel = obj(o, 'stage').select;
    if (!Array.isArray(sel) || !sel.every(p => Array.isArray(p) && p.length === 2 && p.every(x => typeof x === 'string'))) fail('stage.select', 'a list of [from, to] column names', sel);
    e.stage = { select: sel as [string, string][] };
  }
  return e;
}

function proposalRecord(o: Obj): EventOf<'proposal'> {
  const list = o.points;
  if (!Array.isArray(list)) fail('points', 'a list of { params, varied, hash }', list);
  const points = (list as unknown[]).map((x, i) => {
    if (!isObject(x)) return fail(`points.${i}`, 'an object { params, varied, hash }', x);
    return { params: obj(x, 'params'), varied: obj(x, 'varied'), hash: matching(x, 'hash', /^[0-9a-f]{64}$/, 'a parameter hash (64 hex digits)') };
  });
  return { t: 'proposal', at: str(o, 'at'), round: count(o, 'round'), points };
}

/** Reader: one parsed line → a typed record, or RecordError saying which field is wrong. */
export function readRecord(raw: unknown): LedgerEvent {
  if (!isObject(raw)) throw new RecordError('expected a JSON object');
  const v = raw.v ?? 1;
  if (!Number.isInteger(v) || (v as number) < 1) fail('v', 'a format version', v);
  const at = str(raw, 'at');
  switch (raw.t) {
    case 'sweep': return sweepRecord(raw, v as number);
    case 'point': {
      const params = obj(raw, 'params');
      const varied = obj(raw, 'varied');
      return { t: 'point', at, key: key(raw), params, varied, hash: str(raw, 'hash'), base: sha(raw, 'base'), repeat: count(raw, 'repeat'), ...(raw.from !== undefined ? { from: origin(raw) } : {}), ...(raw.supersedes !== undefined ? { supersedes: matching(raw, 'supersedes', KEY, 'a point number') } : {}) };
    }
    case 'commit': return { t: 'commit', at, key: key(raw), sha: sha(raw), ref: matching(raw, 'ref', /^refs\/rx\/[^\s]+$/, 'a refs/rx/… ref'), branch: str(raw, 'branch') };
    case 'submission': return submissionRecord(raw);
    case 'pushed': return { t: 'pushed', at, keys: keys(raw) };
    case 'dir': return { t: 'dir', at, key: key(raw), dir: str(raw, 'dir'), remote: str(raw, 'remote') };
    case 'created': return { t: 'created', at, keys: keys(raw) };
    case 'cleaned': return { t: 'cleaned', at, keys: keys(raw) };
    case 'removing': return { t: 'removing', at, keys: keys(raw) };
    case 'removed': return { t: 'removed', at, keys: keys(raw) };
    case 'job': return { t: 'job', at, key: key(raw), jobId: jobId(raw), attempt: count(raw, 'attempt'), scheduler: str(raw, 'scheduler') };
    case 'error': return { t: 'error', at, key: key(raw), phase: str(raw, 'phase'), message: str(raw, 'message') };
    case 'state': return { t: 'state', at, key: key(raw), jobId: jobId(raw), status: status(raw) };
    case 'proposal': return proposalRecord(raw);
    case 'torn': return { t: 'torn', at };
    default: throw new RecordError(`unknown record kind ${JSON.stringify(raw.t)}`);
  }
}

/**
 * The stored form of a sweep definition: plain JSON with every function replaced by null, and the
 * paths of those functions.
 */
export function storeDefinition(def: object): { definition: Record<string, unknown>; functions: string[] } {
  const functions: string[] = [];
  const walk = (value: unknown, path: string[]): unknown => {
    if (typeof value === 'function') {
      functions.push(path.join('.'));
      return null;
    }
    if (Array.isArray(value)) return value.map((x, i) => walk(x, [...path, String(i)]));
    if (isObject(value)) return Object.fromEntries(Object.entries(value).filter(([, x]) => x !== undefined).map(([k, x]) => [k, walk(x, [...path, k])]));
    return value;
  };
  return { definition: walk(def, []) as Record<string, unknown>, functions };
}

/** Whether the stored definition had a function at `path` or anywhere below it. */
export function hasFunction(sweep: EventOf<'sweep'>, path: string): boolean {
  return sweep.functions.some(f => f === path || f.startsWith(path + '.'));
}
