// Reconciling the ledger with the evidence outside it, so that a lost or rolled-back ledger never
// makes rx submit a point twice: the run directories on the target (each holds its commit's
// .rx/point.json: sweep, parameter hash, base), the job-id markers next to them, the jobs the
// scheduler knows by work dir, and the refs refs/rx/<sweep>/<n> (locally and in the target's clone;
// each commit's subject names its point number). `rx submit` runs it before it plans new commits
// and run directories; `rx doctor` prints it and, with --rebuild, appends it.
//
// The rule: a run directory that is a real directory holding a .rx/point.json of this sweep is an
// experiment. Its identity is (sweep, hash, base, repeat, from) — the point.json; the same identity
// on the same base is the same tree. An experiment the ledger has no run directory for is adopted
// (commit, run dir, and its job: from the marker, else from the scheduler by work dir, else UNKNOWN
// if a job wrote into it, else none: never submitted, so rx submits it). An experiment the ledger
// does not know at all is recovered as a point, under its original number when a ref or its
// commit's subject names it. A second run directory of one experiment is reported, never used.
import { git, verbs } from '../git/verbs.ts';
import { POINT_FILE, refsFor } from '../git/commits.ts';
import { isObject } from '../json.ts';
import { now, type Ledger, type LedgerEvent, type PointRecord, type SweepState } from '../ledger/ledger.ts';
import type { PointOrigin } from '../ledger/records.ts';
import { surveyScript } from '../remote/scripts.ts';
import { UNKNOWN_JOB, UNKNOWN_JOB_REASON, type Scheduler } from '../remote/scheduler/types.ts';
import { packDir, parsePackMarker } from '../remote/scheduler/pack.ts';
import type { Target } from '../remote/target.ts';
import { canonicalJson, paramHash } from '../sweep/hash.ts';
import { chainHash } from '../sweep/chains.ts';
import type { Params } from '../sweep/points.ts';

/** A `.rx/point.json` as rx writes it into every experiment commit. */
export interface PointDoc {
  sweep: string;
  params: Params;
  hash: string;
  base: string;
  repeat: number;
  from?: PointOrigin;
}

export type EntryKind = 'dir' | 'symlink' | 'file' | 'other';

/** One `<output>/<sweep>_time_*` entry on the target. */
export interface SurveyedEntry {
  name: string;
  /** As the ledger writes run dirs: `<output root>/<name>`. */
  dir: string;
  kind: EntryKind;
  /** A job wrote something into it (files newer than the extracted tree). */
  ran: boolean;
  /** Blob id of its .rx/point.json (null: none, or not a regular file). */
  pj: string | null;
  doc: PointDoc | null;
  /** Why doc is null although a point.json was read. */
  docError?: string;
  /** The commit its name's short sha resolves to in the clone, and that commit's .rx/point.json blob id. */
  commit: string | null;
  commitPj: string | null;
}

export interface Survey {
  clone: boolean;
  /** The output dir as an absolute path on the target (symlinks resolved); null when it does not exist. */
  root: string | null;
  /** Point number → sha of the clone's refs/rx/<sweep>/<n>. */
  refs: Map<string, string>;
  entries: SurveyedEntry[];
  /** Commit sha → subject (`rx: <sweep> point <n>`). */
  subjects: Map<string, string>;
  /** Marker file name → its first line (listed only when some entry was new, or asked for). */
  markers: Map<string, string>;
  /** Jobs the scheduler knows, with their absolute work dir. */
  jobs: { jobId: string; workdir: string }[];
}

const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const JOB_ID = /^[A-Za-z0-9_.-]{1,64}$/;
/** A recorded id: a job id, or a packed point's `<job id>+<slot>`. */
const RECORDED_ID = /^[A-Za-z0-9_.-]{1,64}(?:\+\d{1,9})?$/;

/** Reads a point.json; null with the reason when it is not one rx wrote (or was edited). */
export function parsePointDoc(text: string): { doc: PointDoc } | { error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { error: 'not valid JSON' };
  }
  if (!isObject(raw)) return { error: 'not a JSON object' };
  const { sweep, params, hash, base, repeat, from } = raw;
  if (typeof sweep !== 'string' || !sweep) return { error: "no 'sweep'" };
  if (!isObject(params)) return { error: "no 'params'" };
  if (from !== undefined && (!isObject(from) || typeof from.sweep !== 'string' || typeof from.key !== 'string' || !(from.sha === null || (typeof from.sha === 'string' && SHA.test(from.sha))))) return { error: "bad 'from'" };
  // A chained point (after:) is hashed with its source point (chainHash); others by their params.
  const hashOk = typeof hash === 'string' && (hash === paramHash(params) || (from !== undefined && hash === chainHash(params, from.sweep as string, from.key as string)));
  if (!hashOk) return { error: "'hash' is not the hash of its 'params'" };
  if (typeof base !== 'string' || !SHA.test(base)) return { error: "no 'base' commit" };
  if (repeat !== undefined && !(Number.isInteger(repeat) && (repeat as number) >= 0)) return { error: "bad 'repeat'" };
  const doc: PointDoc = { sweep, params, hash, base, repeat: (repeat as number | undefined) ?? 0 };
  if (from !== undefined) doc.from = { sweep: from.sweep as string, key: from.key as string, sha: from.sha as string | null };
  return { doc };
}

/** surveyScript's output → a Survey. `outputRoot` is the output dir as the ledger writes it. */
export function parseSurvey(stdout: string, outputRoot: string): Survey {
  const s: Survey = { clone: false, root: null, refs: new Map(), entries: [], subjects: new Map(), markers: new Map(), jobs: [] };
  const byName = new Map<string, SurveyedEntry>();
  let last: SurveyedEntry | null = null;
  for (const line of stdout.split('\n')) {
    const sp = line.indexOf(' ');
    const tag = sp < 0 ? line : line.slice(0, sp);
    const rest = sp < 0 ? '' : line.slice(sp + 1);
    const words = (n: number) => { const w = rest.split(' '); return [...w.slice(0, n - 1), w.slice(n - 1).join(' ')]; };
    switch (tag) {
      case 'RXCLONE': s.clone = rest.trim() === '1'; break;
      case 'RXREF': {
        const [ref, sha] = words(2);
        const m = /^refs\/rx\/[^/]+\/(\d{1,9})$/.exec(ref ?? '');
        if (m && SHA.test(sha ?? '')) s.refs.set(m[1]!, sha!);
        break;
      }
      case 'RXROOT': s.root = rest === '-' || !rest ? null : rest.replace(/\/+$/, '') || '/'; break;
      case 'RXRUN': {
        const [kind, ran, pj, name] = words(4);
        if (!name || !['dir', 'symlink', 'file', 'other'].includes(kind!)) { last = null; break; }
        last = { name, dir: `${outputRoot}/${name}`, kind: kind as EntryKind, ran: ran === '1', pj: pj && pj !== '-' ? pj : null, doc: null, commit: null, commitPj: null };
        s.entries.push(last);
        byName.set(name, last);
        break;
      }
      case 'RXDOC': {
        if (!last) break;
        const r = parsePointDoc(rest);
        if ('doc' in r) last.doc = r.doc;
        else last.docError = r.error;
        last = null;
        break;
      }
      case 'RXOBJ': {
        const [name, what, id] = words(3);
        const e = byName.get(name ?? '');
        const v = id && id !== '-' ? id : null;
        if (e && what === 'commit' && v && SHA.test(v)) e.commit = v;
        if (e && what === 'pj') e.commitPj = v;
        break;
      }
      case 'RXSUBJ': {
        const [sha, subject] = words(2);
        if (sha && SHA.test(sha)) s.subjects.set(sha, subject ?? '');
        break;
      }
      case 'RXMARK': {
        const [file, id] = words(2);
        if (file) s.markers.set(file, (id ?? '').trim());
        break;
      }
      case 'RXSJOB': {
        const [jobId, workdir] = words(2);
        if (jobId && JOB_ID.test(jobId) && workdir) s.jobs.push({ jobId, workdir: workdir.replace(/\/+$/, '') });
        break;
      }
    }
  }
  return s;
}

export type FindingKind = 'recovered' | 'adopted' | 'duplicate' | 'foreign' | 'blocked' | 'unknown-job' | 'missing' | 'conflict' | 'unplanned';

export interface Finding {
  kind: FindingKind;
  key?: string;
  dir?: string;
  message: string;
}

export interface ReconcileInput {
  sweep: string;
  state: SweepState;
  survey: Survey;
  /** Point number → sha of the local refs/rx/<sweep>/<n>. */
  localRefs: Map<string, string>;
  /** Sha → point.json of local ref commits the ledger does not know (read from local objects). */
  localDocs: Map<string, PointDoc>;
  outputRoot: string;
  /** The remote's label (the `dir` records' `remote`). */
  label: string;
  scheduler: Pick<Scheduler, 'name' | 'markerName'>;
  /** The target's state dir (job-id markers, packs); default `<outputRoot>/.rx-jobs`, where rx keeps it. */
  stateDir?: string;
  /** The varied parameters of a recovered point (from the sweep file's points, else against base_config). */
  varied: (doc: PointDoc) => Params;
  /** Every run dir of the sweep was surveyed (rx doctor): report ledger run dirs that are gone. */
  complete?: boolean;
  /**
   * Which experiments unknown to the ledger to recover (rx submit: those its sweep file plans, by
   * parameter hash, as it skips points); the others are reported. Default: all (rx doctor).
   */
  wanted?: (doc: PointDoc) => boolean;
}

export interface ReconcileResult {
  /** Ledger records that make the ledger agree with the evidence (nothing is removed). */
  events: LedgerEvent[];
  findings: Finding[];
  /** Local refs to create (recovered points whose ref is gone locally): point number → sha. */
  refsToCreate: Map<string, string>;
  /** Points new to the ledger. */
  recovered: string[];
  /** Points whose run dir (and job, if any) was adopted. */
  adopted: string[];
}

const identity = (sweep: string, x: { hash: string; base: string; repeat?: number; from?: PointOrigin }) => canonicalJson([sweep, x.hash, x.base, x.repeat ?? 0, x.from ?? null]);
const trimDir = (d: string) => d.replace(/(?<=.)\/+$/, '');
const keyNum = (k: string | undefined) => (k === undefined ? Infinity : Number(k));
/** The short sha at the end of a run dir name (`…_sha_<hex>`), or a string no sha starts with. */
const shortOf = (name: string) => /_sha_([0-9a-f]{4,64})$/.exec(name)?.[1] ?? '-';

interface Candidate { entry: SurveyedEntry; sha: string | null; jobs: { jobId: string; attempt: number }[]; unknown: boolean }
interface Group { id: string; doc: PointDoc; dirs: Candidate[]; refKey?: string; refSha?: string }

/** Pure: what the ledger lacks according to the survey and the refs, as ledger records and findings. */
export function reconcile(i: ReconcileInput): ReconcileResult {
  return new Reconciler(i).run();
}

/** One reconciliation: indexes of the evidence, and the records and findings it produces. */
class Reconciler {
  private readonly at = now();
  private readonly sweep: string;
  private readonly points: PointRecord[];
  private readonly byIdentity = new Map<string, PointRecord>();
  private readonly byDir: Map<string, PointRecord>;
  /** Which point number a commit is: its subject, the clone's refs, the local refs (strongest last). */
  private readonly keyOfSha = new Map<string, string>();
  private readonly knownShas: string[];
  private readonly groups = new Map<string, Group>();
  private readonly claimed: Set<string>;
  private nextKey: number;
  private readonly r: ReconcileResult = { events: [], findings: [], refsToCreate: new Map(), recovered: [], adopted: [] };

  constructor(private readonly i: ReconcileInput) {
    this.sweep = i.sweep;
    this.points = [...i.state.points.values()];
    for (const p of this.points) if (!this.byIdentity.has(identity(this.sweep, p))) this.byIdentity.set(identity(this.sweep, p), p);
    this.byDir = new Map(this.points.filter(p => p.dir).map(p => [trimDir(p.dir!), p]));
    for (const [sha, subject] of i.survey.subjects) {
      const m = /^rx: (\S+) point (\d{1,9})\b/.exec(subject);
      if (m && m[1] === this.sweep) this.keyOfSha.set(sha, m[2]!);
    }
    for (const [k, sha] of i.survey.refs) this.keyOfSha.set(sha, k);
    for (const [k, sha] of i.localRefs) this.keyOfSha.set(sha, k);
    this.knownShas = [...new Set([...this.points.flatMap(p => (p.sha ? [p.sha] : [])), ...i.localRefs.values(), ...i.survey.refs.values()])];
    this.claimed = new Set(this.points.map(p => p.key));
    this.nextKey = Math.max(0, ...[...this.claimed, ...i.localRefs.keys(), ...i.survey.refs.keys(), ...this.keyOfSha.values()].map(Number)) + 1;
  }

  run(): ReconcileResult {
    this.groupSurveyed();
    this.groupLocalRefs();
    const order = [...this.groups.values()].map(g => ({ g, key: this.byIdentity.get(g.id)?.key ?? g.refKey ?? g.dirs.map(d => (d.sha ? this.keyOfSha.get(d.sha) : undefined)).find(Boolean) }));
    order.sort((a, b) => keyNum(a.key) - keyNum(b.key) || (a.g.dirs[0]?.entry.name ?? '').localeCompare(b.g.dirs[0]?.entry.name ?? ''));
    for (const { g } of order) {
      const dirs = [...g.dirs].sort(rank);
      const known = this.byIdentity.get(g.id);
      if (known) this.settleKnown(known, dirs);
      else this.recoverUnknown(g, dirs);
    }
    if (this.i.complete) this.reportMissing();
    return this.r;
  }

  /** The survey's entries: experiments of this sweep, grouped by identity; the rest reported. */
  private groupSurveyed(): void {
    for (const e of this.i.survey.entries) {
      const owner = this.byDir.get(trimDir(e.dir));
      const why = this.notOurs(e, owner);
      if (why) {
        this.r.findings.push(owner
          ? { kind: 'blocked', key: owner.key, dir: e.dir, message: `${e.dir} ${why}; it is point ${owner.key}'s run directory: move it away, or rx submit --new-dirs gives the point a fresh one` }
          : { kind: 'foreign', dir: e.dir, message: `${e.dir} ${why}; left alone` });
        continue;
      }
      const doc = e.doc!;
      const id = identity(this.sweep, doc);
      const g = this.groups.get(id) ?? { id, doc, dirs: [] };
      g.dirs.push({ entry: e, sha: this.commitOf(e, id), ...this.jobsOf(e) });
      this.groups.set(id, g);
    }
  }

  /** Why a surveyed entry is not an experiment of this sweep (or not the one its owner is), or null. */
  private notOurs(e: SurveyedEntry, owner: PointRecord | undefined): string | null {
    if (e.kind !== 'dir') return `is a ${e.kind === 'other' ? 'special file' : e.kind}, not a run directory`;
    if (!e.pj) return 'holds no .rx/point.json (not made by rx)';
    if (!e.doc) return `holds a .rx/point.json rx did not write (${e.docError ?? 'unreadable'})`;
    if (e.doc.sweep !== this.sweep) return `holds a point of sweep '${e.doc.sweep}'`;
    if (owner && identity(this.sweep, owner) !== identity(this.sweep, e.doc)) return `holds another experiment than point ${owner.key}`;
    return null;
  }

  /** The commit a run dir was made from: its name's short sha in the clone, if that commit's point.json is the one in the dir. */
  private commitOf(e: SurveyedEntry, id: string): string | null {
    if (e.commit && e.commitPj && e.commitPj === e.pj) return e.commit;
    const short = /_sha_([0-9a-f]{4,64})$/.exec(e.name)?.[1];
    const same = short ? this.knownShas.filter(s => s.startsWith(short)) : [];
    const l = this.byIdentity.get(id);
    return same.length === 1 && (!l?.sha || l.sha === same[0]) ? same[0]! : null;
  }

  /** A run dir's jobs: from its markers, else from the scheduler by work directory; output without either is UNKNOWN. */
  private jobsOf(e: SurveyedEntry): { jobs: Candidate['jobs']; unknown: boolean } {
    const { survey, scheduler } = this.i;
    const jobs: Candidate['jobs'] = [];
    for (let n = 1; n < 10_000; n++) {
      const text = survey.markers.get(scheduler.markerName(e.dir, n));
      if (text === undefined) break;
      const packed = parsePackMarker(text);
      const id = packed ? this.packedJob(packed.pack, packed.slot) : text;
      if (id !== null && RECORDED_ID.test(id)) jobs.push({ jobId: id, attempt: n });
    }
    if (!jobs.length && survey.root) {
      const abs = `${survey.root === '/' ? '' : survey.root}/${e.name}`;
      const ids = [...new Set(survey.jobs.filter(j => j.workdir === abs).map(j => j.jobId))];
      ids.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).forEach((jobId, k) => jobs.push({ jobId, attempt: k + 1 }));
    }
    return { jobs, unknown: !jobs.length && e.ran };
  }

  /**
   * A packed point's id `<job>+<slot>`: its marker names its pack, whose job is in the pack dir's
   * own marker, else the job the scheduler knows by the pack dir; null when the pack was never
   * submitted (made, then a crash before sbatch: rx submit submits it).
   */
  private packedJob(pack: string, slot: number): string | null {
    const { survey, scheduler, outputRoot } = this.i;
    const dir = packDir(this.i.stateDir ?? `${outputRoot}/.rx-jobs`, pack);
    let job = survey.markers.get(scheduler.markerName(dir));
    if (job === undefined && survey.root) {
      const abs = `${survey.root === '/' ? '' : survey.root}/.rx-jobs/packs/${pack}`;
      job = survey.jobs.find(j => j.workdir === abs)?.jobId;
    }
    return job !== undefined && JOB_ID.test(job) ? `${job}+${slot}` : null;
  }

  /** Local refs the ledger does not know: experiments too (a commit without a run dir yet). */
  private groupLocalRefs(): void {
    const ledgerShas = new Set(this.points.flatMap(p => (p.sha ? [p.sha] : [])));
    for (const [k, sha] of this.i.localRefs) {
      if (this.claimed.has(k) || ledgerShas.has(sha)) continue;
      const doc = this.i.localDocs.get(sha);
      if (!doc || doc.sweep !== this.sweep) continue;
      const id = identity(this.sweep, doc);
      const g = this.groups.get(id) ?? { id, doc, dirs: [] };
      g.refKey ??= k;
      g.refSha ??= sha;
      this.groups.set(id, g);
    }
  }

  private pushJobs(key: string, c: Candidate): void {
    const { at } = this;
    const scheduler = this.i.scheduler.name;
    for (const j of c.jobs) this.r.events.push({ t: 'job', at, key, jobId: j.jobId, attempt: j.attempt, scheduler });
    if (!c.unknown) return;
    this.r.events.push({ t: 'job', at, key, jobId: UNKNOWN_JOB, attempt: 1, scheduler });
    this.r.events.push({ t: 'state', at, key, jobId: UNKNOWN_JOB, status: { jobId: UNKNOWN_JOB, state: 'UNKNOWN', exitCode: null, reason: UNKNOWN_JOB_REASON } });
    this.r.findings.push({ kind: 'unknown-job', key, dir: c.entry.dir, message: `point ${key}: ${c.entry.dir} holds output but no job id was found (no marker, and the scheduler knows no job there): recorded as UNKNOWN, not submitted again` });
  }

  private duplicates(key: string, used: Candidate | undefined, rest: Candidate[]): void {
    for (const d of rest) {
      if (d === used) continue;
      this.r.findings.push({ kind: 'duplicate', key, dir: d.entry.dir, message: `point ${key}: ${d.entry.dir} is a second run directory of the same experiment (${describeJobs(d)})${used ? `; rx uses ${used.entry.dir}` : ''}; left alone` });
    }
  }

  /** A point the ledger knows: record the run dir (and jobs) the evidence shows for it. */
  private settleKnown(L: PointRecord, dirs: Candidate[]): void {
    const { at } = this;
    const mine = L.dir ? dirs.find(d => trimDir(d.entry.dir) === trimDir(L.dir!)) : undefined;
    // A run dir the ledger named but never made yields to one of the same experiment that exists.
    if (L.dir && (mine || L.created || !dirs.length)) {
      if (mine) {
        if (!L.created) this.r.events.push({ t: 'created', at, keys: [L.key] });
        if (!L.jobs.length && (mine.jobs.length || mine.unknown)) {
          this.pushJobs(L.key, mine);
          this.r.adopted.push(L.key);
          this.r.findings.push({ kind: 'adopted', key: L.key, dir: mine.entry.dir, message: `point ${L.key}: the ledger had no job for ${mine.entry.dir}; adopted ${describeJobs(mine)}` });
        }
      }
      this.duplicates(L.key, mine, dirs);
      return;
    }
    // Only a run dir made from the ledger's commit (or any verified one, when the ledger has none) can be recorded.
    const pick = dirs.find(d => (L.sha ? L.sha.startsWith(shortOf(d.entry.name)) && (!d.sha || d.sha === L.sha) : d.sha !== null));
    if (!pick) {
      // Only a ref (commitPhase adopts it: same point, parent = base), or dirs rx cannot tie to a commit.
      for (const d of dirs) this.r.findings.push({ kind: 'conflict', key: L.key, dir: d.entry.dir, message: `point ${L.key}: ${d.entry.dir} holds the same experiment but ${d.sha ? `was made from commit ${d.sha.slice(0, 12)}, not ${L.sha?.slice(0, 12)}` : 'its commit cannot be found in the clone'}; not adopted (rx doctor --sweep ${this.sweep} shows more)` });
      return;
    }
    const sha = L.sha ?? pick.sha!;
    if (!L.sha) this.r.events.push({ t: 'commit', at, key: L.key, sha, ...refsFor(this.sweep, L.key) });
    if (!L.pushed) this.r.events.push({ t: 'pushed', at, keys: [L.key] });
    this.r.events.push({ t: 'dir', at, key: L.key, dir: pick.entry.dir, remote: this.i.label }, { t: 'created', at, keys: [L.key] });
    if (!L.jobs.length) this.pushJobs(L.key, pick);
    this.r.adopted.push(L.key);
    this.r.findings.push({ kind: 'adopted', key: L.key, dir: pick.entry.dir, message: `point ${L.key}: adopted its existing run directory ${pick.entry.dir} (${describeJobs(pick)}) instead of making a second one` });
    this.duplicates(L.key, pick, dirs);
  }

  /** A point unknown to the ledger: recovered under its own number if the evidence names one; a run dir only with the commit it was made from. */
  private recoverUnknown(g: Group, dirs: Candidate[]): void {
    const { at, sweep, i } = this;
    if (i.wanted && !i.wanted(g.doc)) {
      const where = g.dirs.length ? g.dirs.map(d => d.entry.dir).join(', ') : `refs/rx/${sweep}/${g.refKey}`;
      this.r.findings.push({ kind: 'unplanned', message: `${where}: an experiment of sweep '${sweep}' (${canonicalJson(i.varied(g.doc))}) that neither the ledger nor this sweep file has; left alone (rx doctor --sweep ${sweep} --rebuild records it)` });
      return;
    }
    const pick = dirs.find(d => d.sha !== null);
    const sha = pick?.sha ?? g.refSha ?? null;
    if (!sha) {
      for (const d of dirs) this.r.findings.push({ kind: 'conflict', dir: d.entry.dir, message: `${d.entry.dir} holds an experiment of sweep '${sweep}' the ledger does not know, but its commit cannot be found (not in the target's clone, no ref): not adopted` });
      return;
    }
    let key = this.keyOfSha.get(sha) ?? g.refKey;
    if (key === undefined || this.claimed.has(key)) key = String(this.nextKey++);
    this.claimed.add(key);
    const d = g.doc;
    this.r.events.push({ t: 'point', at, key, params: d.params, varied: i.varied(d), hash: d.hash, base: d.base, repeat: d.repeat, ...(d.from ? { from: d.from } : {}) });
    this.r.events.push({ t: 'commit', at, key, sha, ...refsFor(sweep, key) });
    if (!i.localRefs.has(key)) this.r.refsToCreate.set(key, sha);
    if (pick) {
      this.r.events.push({ t: 'pushed', at, keys: [key] });
      this.r.events.push({ t: 'dir', at, key, dir: pick.entry.dir, remote: i.label }, { t: 'created', at, keys: [key] });
      this.pushJobs(key, pick);
    }
    this.r.recovered.push(key);
    this.r.findings.push({ kind: 'recovered', key, ...(pick ? { dir: pick.entry.dir } : {}), message: `point ${key} (${canonicalJson(i.varied(d))}) was not in the ledger: recovered from ${pick ? `its run directory ${pick.entry.dir} (${describeJobs(pick)})` : `refs/rx/${sweep}/${g.refKey}`}` });
    this.duplicates(key, pick, dirs);
  }

  /** Run dirs the ledger says were made and the complete survey did not find. */
  private reportMissing(): void {
    const seen = new Set(this.i.survey.entries.map(e => trimDir(e.dir)));
    for (const p of this.points) {
      // A run dir `rx clean` removed (or is removing) is gone on purpose.
      if (p.dir && p.created && !p.dirRemoved && !p.dirRemoving && !seen.has(trimDir(p.dir))) this.r.findings.push({ kind: 'missing', key: p.key, dir: p.dir, message: `point ${p.key}: its run directory ${p.dir} is gone from the target` });
    }
  }
}

const describeJobs = (c: Candidate) => (c.jobs.length ? `job ${c.jobs.map(j => j.jobId).join(', ')}` : c.unknown ? 'job UNKNOWN' : 'no job yet');
/** Prefer a run dir with a job, then the oldest. */
const rank = (a: Candidate, b: Candidate) => Number(b.jobs.length > 0 || b.unknown) - Number(a.jobs.length > 0 || a.unknown) || a.entry.name.localeCompare(b.entry.name);

/** Params that differ from base_config (the varied parameters of a point recovered without its sweep file's plan). */
export function variedAgainst(baseConfig: Record<string, unknown>): (doc: PointDoc) => Params {
  return doc => Object.fromEntries(Object.entries(doc.params).filter(([k, v]) => !(k in baseConfig) || canonicalJson(baseConfig[k]) !== canonicalJson(v)));
}

/**
 * The run dirs the ledger names: rx submit's survey skips them (the create script checks them, and
 * the submit script finds their job-id markers), so an interrupted submission costs no survey.
 * `exceptUncreated` keeps those not made yet in the survey (--new-dirs: to find the blocked ones).
 */
export function ledgerDirNames(state: SweepState, outputRoot: string, opts: { exceptUncreated?: boolean } = {}): string[] {
  const names: string[] = [];
  for (const p of state.points.values()) {
    if (!p.dir || (opts.exceptUncreated && !p.created)) continue;
    const d = trimDir(p.dir);
    const slash = d.lastIndexOf('/');
    if (d.slice(0, slash) === trimDir(outputRoot)) names.push(d.slice(slash + 1));
  }
  return names;
}

/** Reads the target (one script) and the local refs: the survey, and the point.json of local refs the ledger does not know. */
export async function gatherEvidence(top: string, sweep: string, state: SweepState, target: Target, opts: { outputRoot: string; complete: boolean; uncreated?: boolean }): Promise<{ survey: Survey; localRefs: Map<string, string>; localDocs: Map<string, PointDoc> }> {
  const skip = opts.complete ? [] : ledgerDirNames(state, opts.outputRoot, { exceptUncreated: opts.uncreated });
  const script = surveyScript({ repo: target.repo, output: target.output, stateDir: target.stateDir, sweep, skip, always: opts.complete, jobsByDir: target.scheduler.jobsByDir() });
  const r = await target.transport.exec(script);
  const survey = parseSurvey(r.stdout, opts.outputRoot);
  const localRefs = new Map<string, string>();
  for (const [ref, sha] of await git(top, verbs.forEachRef(`refs/rx/${sweep}/`))) {
    const m = /^refs\/rx\/[^/]+\/(\d{1,9})$/.exec(ref);
    if (m) localRefs.set(m[1]!, sha);
  }
  const known = new Set([...state.points.values()].flatMap(p => (p.sha ? [p.sha] : [])));
  const unknown = [...new Set([...localRefs.values()].filter(s => !known.has(s)))];
  const localDocs = new Map<string, PointDoc>();
  if (unknown.length) {
    const blobs = await git(top, verbs.readBlobs(unknown.map(s => `${s}:${POINT_FILE}`)));
    unknown.forEach((s, k) => {
      const b = blobs[k];
      const r2 = b ? parsePointDoc(b.toString('utf8')) : null;
      if (r2 && 'doc' in r2) localDocs.set(s, r2.doc);
    });
  }
  return { survey, localRefs, localDocs };
}

/** Appends what reconcile found and recreates the local refs of recovered points (when their commits are here). */
export async function applyReconciliation(top: string, sweep: string, ledger: Ledger, r: ReconcileResult): Promise<void> {
  const lines: string[] = [];
  for (const [k, sha] of r.refsToCreate) {
    if ((await git(top, verbs.resolveCommit(sha))) === sha) lines.push(`create ${refsFor(sweep, k).ref} ${sha}`);
  }
  if (lines.length) await git(top, verbs.updateRefs(lines)).catch(() => undefined);
  ledger.append(...r.events);
}
