// One commit per point, built with git plumbing (fast-import) on top of the base commit: no working
// tree, no index, no checkout. One fast-import process builds every commit of a submission.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fastImportPath, git, verbs } from './verbs.ts';
import { canonicalJson } from '../sweep/hash.ts';
import { applyFunctionPatcher, applyTextPatcher, patcherFiles, snapshot, type FileChange, type PatcherSpec } from '../sweep/patch.ts';
import { ConfigError, StateError } from '../errors.ts';
import type { Params } from '../sweep/points.ts';
import type { StageOrigin } from '../sweep/stages.ts';

export interface PointToBuild {
  key: string;
  params: Params;
  varied: Params;
  hash: string;
  repeat: number;
  /** Nested stages: the earlier sweep's experiment this point was made from. */
  from?: StageOrigin;
}

export const POINT_FILE = '.rx/point.json';

/** The `.rx/point.json` written into every experiment commit. Same params on the same base → same bytes. */
export function pointJson(sweep: string, p: PointToBuild, base: string): Buffer {
  const doc: Record<string, unknown> = { sweep, params: JSON.parse(canonicalJson(p.params)), hash: p.hash, base };
  if (p.repeat > 0) doc.repeat = p.repeat; // distinct tree, hence a distinct commit, for --repeat
  if (p.from) doc.from = p.from;
  return Buffer.from(JSON.stringify(doc, null, 2) + '\n');
}

/**
 * Computes every point's file changes. This is the validation pass: it runs before anything is
 * written, so a key missing from the inlist fails the whole submission with nothing created.
 */
export async function computeChanges(repo: string, base: string, sweep: string, patcher: PatcherSpec, points: PointToBuild[]): Promise<Map<string, FileChange[]>> {
  const out = new Map<string, FileChange[]>();
  if (points.length === 0) return out;
  const label = (p: PointToBuild) => `sweep '${sweep}' point ${p.key} (${canonicalJson(p.varied)})`;
  if (typeof patcher !== 'function') {
    const files = patcherFiles(patcher);
    const blobs = await git(repo, verbs.readBlobs(files.map(f => `${base}:${f}`)));
    const contents = new Map<string, Buffer>();
    files.forEach((f, i) => {
      const b = blobs[i];
      if (!b) throw new ConfigError(`patcher.file: '${f}' does not exist in ${base.slice(0, 12)} (the sweep's branch)`, { hint: 'Check the file name, or commit the file to the base branch.' });
      contents.set(f, b);
    });
    // A patched file keeps its mode (an executable run.sbatch stays executable).
    const modes = await git(repo, verbs.modes(base, files));
    const withMode = (c: FileChange): FileChange => ({ ...c, mode: (modes.get(c.path) as FileChange['mode'] | undefined) ?? c.mode });
    for (const p of points) out.set(p.key, [...applyTextPatcher(patcher, contents, p.params, label(p)).map(withMode), pointFile(sweep, p, base)]);
    return out;
  }
  const tmp = await mkdtemp(join(tmpdir(), 'rx-base-'));
  try {
    const pristine = join(tmp, 'tree');
    const tar = join(tmp, 'base.tar');
    await git(repo, verbs.archive(base, tar));
    const { extractTar } = await import('./tar.ts');
    await extractTar(tar, pristine);
    const before = await snapshot(pristine);
    for (const p of points) {
      const changes = (await applyFunctionPatcher(patcher, pristine, before, p.params, label(p))).filter(c => c.path !== POINT_FILE);
      out.set(p.key, [...changes, pointFile(sweep, p, base)]);
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return out;
}

const pointFile = (sweep: string, p: PointToBuild, base: string): FileChange => ({ path: POINT_FILE, content: pointJson(sweep, p, base), mode: '100644' });

export function commitMessage(sweep: string, p: PointToBuild): string {
  // A parameter name with a line break could forge a trailer line (`rx-hash: …`): such names are
  // written as JSON strings. Every other name is written as is, so ordinary commits never change.
  const name = (k: string) => (/[\x00-\x1f\x7f]/.test(k) ? JSON.stringify(k) : k);
  const lines = Object.entries(p.varied).map(([k, v]) => `${name(k)} = ${canonicalJson(v)}`);
  return `rx: ${sweep} point ${p.key}${p.repeat ? ` (repeat ${p.repeat})` : ''}\n\n${lines.join('\n')}${lines.length ? '\n\n' : ''}rx-sweep: ${sweep}\nrx-hash: ${p.hash}\n`;
}

const FAST_IMPORT_ENV = { MALLOC_TOP_PAD_: String(256 * 2 ** 20), MALLOC_TRIM_THRESHOLD_: String(256 * 2 ** 20) };

/**
 * The author and committer time of every experiment commit: its base commit's committer time. So
 * the same point on the same base is the same commit whenever and wherever it is built, and a dry
 * run shows exactly the shas a submission then creates.
 */
export function commitTime(repo: string, base: string): Promise<string> {
  return git(repo, verbs.committerTime(base));
}

/**
 * Ref names for a point: the permanent ref, which is what is pushed and what the cluster fetches.
 * No temporary branch (`branch` is empty): older rx pushed one per point and deleted it after the
 * run dirs were made, which cost more than every other phase together on origin (deleting 1000 refs
 * takes seconds); branches named in older ledgers are still cleaned up.
 */
export const refsFor = (sweep: string, key: string) => ({ ref: `refs/rx/${sweep}/${key}`, branch: '' });

/**
 * Writes one commit per point (parent = base) under refs/rx/<sweep>/<key>, in one fast-import run.
 * Returns key → commit sha.
 */
export async function buildCommits(repo: string, base: string, sweep: string, points: PointToBuild[], changes: Map<string, FileChange[]>, identity?: string, scratch?: string): Promise<Map<string, string>> {
  if (points.length === 0) return new Map();
  const ident = identity ?? (await git(repo, verbs.committerIdent())) ?? 'rx <rx@localhost>';
  const when = await commitTime(repo, base);
  const chunks: Buffer[] = [];
  const text = (s: string) => chunks.push(Buffer.from(s, 'utf8'));
  const data = (b: Buffer) => {
    text(`data ${b.length}\n`);
    chunks.push(b);
    text('\n');
  };
  points.forEach((p, i) => {
    // A preview commits every point onto one scratch ref: a commit's sha does not depend on the ref
    // it is made on, and fast-import then writes one ref, not two per point.
    const { ref, branch } = scratch ? { ref: scratch, branch: '' } : refsFor(sweep, p.key);
    text(`commit ${ref}\nmark :${i + 1}\nauthor ${ident} ${when}\ncommitter ${ident} ${when}\n`);
    data(Buffer.from(commitMessage(sweep, p), 'utf8'));
    text(`from ${base}\n`);
    for (const c of changes.get(p.key) ?? []) {
      if (c.content === null) text(`D ${fastImportPath(c.path)}\n`);
      else {
        text(`M ${c.mode} inline ${fastImportPath(c.path)}\n`);
        data(c.content);
      }
    }
    text(branch ? `\nreset ${branch}\nfrom :${i + 1}\n\n` : '\n');
  });
  text('done\n');
  const tmp = await mkdtemp(join(tmpdir(), 'rx-marks-'));
  try {
    const marks = join(tmp, 'marks');
    // glibc's malloc returns memory to the system after every commit fast-import builds (hundreds of
    // thousands of brk calls for a large sweep); a larger pad and trim threshold make it ~3× faster.
    const verb = verbs.fastImport(Buffer.concat(chunks), marks);
    // A preview's objects are thrown away: not compressed, and its scratch ref is forced (not a fast-forward).
    if (scratch) await git(repo, { ...verb, argv: [...verb.argv, '--force', '--depth=0'], env: { ...FAST_IMPORT_ENV, GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'core.compression', GIT_CONFIG_VALUE_0: '0' } });
    else await git(repo, { ...verb, env: FAST_IMPORT_ENV });
    const bySerial = new Map((await readFile(marks, 'utf8')).split('\n').filter(Boolean).map(l => {
      const [m, sha] = l.split(' ');
      return [Number(m!.slice(1)), sha!] as const;
    }));
    return new Map(points.map((p, i) => [p.key, bySerial.get(i + 1)!]));
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * A ref refs/rx/<sweep>/<key> that exists before rx built it (left by a crash between fast-import
 * and the ledger write) is adopted only if it is exactly this point: parent = base and the same
 * parameter hash in its .rx/point.json. Anything else (a ledger deleted or replaced while the refs
 * stayed) is refused rather than silently running other parameters.
 */
export async function verifyAdoptable(repo: string, sweep: string, base: string, points: { key: string; hash: string; sha: string }[]): Promise<void> {
  if (points.length === 0) return;
  const parents = await git(repo, verbs.parents(points.map(p => p.sha)));
  const docs = await git(repo, verbs.readBlobs(points.map(p => `${p.sha}:${POINT_FILE}`)));
  points.forEach((p, i) => {
    let hash: unknown;
    try { hash = JSON.parse(docs[i]?.toString('utf8') ?? 'null')?.hash; } catch { hash = undefined; }
    const ps = parents.get(p.sha) ?? [];
    if (hash !== p.hash || ps.length !== 1 || ps[0] !== base) {
      throw new StateError(`refs/rx/${sweep}/${p.key} already exists and holds a different experiment (${p.sha.slice(0, 12)}) than point ${p.key} of this submission`, {
        hint: `The ledger .rx/sweeps/${sweep}/ was probably removed while the refs stayed. rx doctor --sweep ${sweep} --rebuild records what the ledger lost (then rx submit numbers new points after it). Or: Submit under a new sweep name, or, if those experiments are truly unwanted, delete the refs: git for-each-ref --format='delete %(refname)' refs/rx/${sweep}/ | git update-ref --stdin`,
      });
    }
  });
}
