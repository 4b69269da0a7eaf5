// Git object ids computed in-process, byte for byte as git computes them: an object's id is the
// hash of "<type> <size>\0" + its body (sha1, or sha256 in a sha256 repository). A dry run needs
// the ids of the commits a submission would make, not the objects: hashing them here takes no git
// process and writes nothing, where fast-import would write (and compress) every object.
import * as crypto from 'node:crypto';
import type { FileChange } from '../sweep/patch.ts';
import { git, type StreamVerb } from './verbs.ts';

export type HashAlgo = 'sha1' | 'sha256';

/** The hash of the repository an id comes from: 64 hex digits are sha256, 40 sha1. */
export const algoOf = (id: string): HashAlgo => (id.length === 64 ? 'sha256' : 'sha1');

/** The id of an object whose body is given in pieces, as hex. */
export function objectId(type: 'blob' | 'tree' | 'commit', body: Buffer | readonly Buffer[], algo: HashAlgo = 'sha1'): string {
  return rawObjectId(type, Buffer.isBuffer(body) ? [body] : body, algo).toString('hex');
}

// One-shot hashing (crypto.hash, Node ≥ 20.12) of header + body copied into one reused buffer is
// about twice as fast as createHash().update()… for the small objects a dry run hashes by the
// hundred thousand.
const oneShot = (crypto as { hash?: (algo: string, data: Buffer, enc: 'buffer') => Buffer }).hash;
let scratch = Buffer.allocUnsafe(1 << 16);

/** The id of an object whose body is given in pieces, as raw bytes (what a tree entry holds). */
function rawObjectId(type: string, pieces: readonly Buffer[], algo: HashAlgo): Buffer {
  let size = 0;
  for (const p of pieces) size += p.length;
  const header = `${type} ${size}\0`;
  if (!oneShot) {
    const h = crypto.createHash(algo).update(header);
    for (const p of pieces) h.update(p);
    return h.digest();
  }
  if (scratch.length < header.length + size) scratch = Buffer.allocUnsafe(2 * (header.length + size));
  let at = scratch.write(header, 0, 'latin1');
  for (const p of pieces) at += p.copy(scratch, at);
  return oneShot(algo, scratch.subarray(0, at), 'buffer');
}

/** `git hash-object` of a file's content. */
export const blobId = (content: Buffer, algo: HashAlgo = 'sha1') => objectId('blob', content, algo);

/** One entry of a tree: mode as git writes it ('100644', '100755', '120000', '40000', '160000'). */
export interface TreeEntry {
  mode: string;
  name: string;
  /** The object id, hex. */
  id: string;
}

const isTree = (mode: string) => mode === '40000' || mode === '040000';

/**
 * Git sorts a tree's entries by name bytes, a directory as if its name ended in '/': so `a.b`
 * comes before the directory `a` (`.` < `/`), and the directory `a` before `a0`.
 */
const sortKey = (name: Buffer, mode: string) => (isTree(mode) ? Buffer.concat([name, SLASH]) : name);
const SLASH = Buffer.from('/');

/** The encoded entry: "<mode> <name>\0<raw id>". */
function entryBytes(mode: string, name: Buffer, id: string): Buffer {
  return Buffer.concat([Buffer.from(`${isTree(mode) ? '40000' : mode} `), name, ZERO, Buffer.from(id, 'hex')]);
}
const ZERO = Buffer.from([0]);

/** The body of a tree (`git mktree` of these entries): sorted as git sorts them. */
export function treeBody(entries: readonly TreeEntry[]): Buffer {
  const keyed = entries.map(e => {
    const name = Buffer.from(e.name, 'utf8');
    return { key: sortKey(name, e.mode), bytes: entryBytes(e.mode, name, e.id) };
  });
  keyed.sort((a, b) => Buffer.compare(a.key, b.key));
  return Buffer.concat(keyed.map(k => k.bytes));
}

export const treeId = (entries: readonly TreeEntry[], algo: HashAlgo = 'sha1') => objectId('tree', treeBody(entries), algo);

export interface CommitFields {
  tree: string;
  parents: readonly string[];
  /** "Name <email> <seconds> <±hhmm>", as in the object. */
  author: string;
  committer: string;
  message: string;
}

/** The body of a commit object as `git commit-tree` and fast-import write it (no encoding header, no signature). */
export function commitBody(c: CommitFields): Buffer {
  const head = `tree ${c.tree}\n${c.parents.map(p => `parent ${p}\n`).join('')}author ${c.author}\ncommitter ${c.committer}\n\n`;
  return Buffer.from(head + c.message, 'utf8');
}

export const commitId = (c: CommitFields, algo: HashAlgo = 'sha1') => objectId('commit', commitBody(c), algo);

// ---------------------------------------------------------------------------------------------
// A base tree with changes laid over it.

/** A tree read from the repository: its body, and each entry's name, sort key and where it lies in the body. */
interface BaseTreeData {
  /** Its id (null: a directory the base does not have). */
  id: string | null;
  body: Buffer;
  names: Map<string, number>;
  keys: Buffer[];
  /** offsets[i]..offsets[i+1] is entry i in body. */
  offsets: number[];
  modes: string[];
  ids: string[];
}

/** Parses a tree object's body. */
export function parseTree(body: Buffer, algo: HashAlgo = 'sha1'): TreeEntry[] {
  const t = indexTree(body, algo);
  return [...t.names].map(([name, i]) => ({ mode: t.modes[i]!, name, id: t.ids[i]! }));
}

function indexTree(body: Buffer, algo: HashAlgo, id: string | null = null): BaseTreeData {
  const idLen = algo === 'sha256' ? 32 : 20;
  const t: BaseTreeData = { id, body, names: new Map(), keys: [], offsets: [], modes: [], ids: [] };
  let pos = 0;
  while (pos < body.length) {
    const sp = body.indexOf(0x20, pos);
    const nul = body.indexOf(0, sp);
    if (sp < 0 || nul < 0 || nul + 1 + idLen > body.length) throw new Error('git tree object: malformed entry');
    const mode = body.toString('latin1', pos, sp);
    const name = body.subarray(sp + 1, nul);
    t.names.set(name.toString('utf8'), t.keys.length);
    t.keys.push(sortKey(name, mode));
    t.offsets.push(pos);
    t.modes.push(mode);
    t.ids.push(body.toString('hex', nul + 1, nul + 1 + idLen));
    pos = nul + 1 + idLen;
  }
  t.offsets.push(pos);
  return t;
}

const EMPTY_TREE: BaseTreeData = { id: null, body: Buffer.alloc(0), names: new Map(), keys: [], offsets: [0], modes: [], ids: [] };

/** What a point's changes do to one directory: change k sets a file or deletes it, or a subdirectory changes. */
type Edit = { kind: 'file'; mode: string; change: number } | { kind: 'delete' } | { kind: 'dir'; edits: Map<string, Edit> };

/** The changes as a directory tree of edits (a later change to a path wins, as in fast-import). */
function editsOf(changes: readonly FileChange[]): Map<string, Edit> {
  const root = new Map<string, Edit>();
  changes.forEach((c, k) => {
    const parts = c.path.split('/').filter(Boolean);
    let dir = root;
    for (const part of parts.slice(0, -1)) {
      let e = dir.get(part);
      if (e?.kind !== 'dir') dir.set(part, (e = { kind: 'dir', edits: new Map() }));
      dir = e.edits;
    }
    dir.set(parts.at(-1)!, c.content === null ? { kind: 'delete' } : { kind: 'file', mode: c.mode, change: k });
  });
  return root;
}

/** The directories (paths of trees) a change to `path` passes through, the root ('') first. */
function dirsOf(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  return parts.map((_, i) => parts.slice(0, i).join('/'));
}

/**
 * A new tree's body as pieces: bytes of the base tree (and of new entries' "mode name\0"), and
 * slots for the ids that differ from point to point: the blob of change k, or a subtree's.
 */
type Piece = Buffer | { blob: number } | { tree: Piece[] };

/**
 * Which entries a set of changes adds, replaces and removes depends only on their paths, modes and
 * which are deletions; only the ids differ from point to point. So the layout is worked out once
 * per kind of change set (a template of pieces) and each point only hashes: its blobs, the trees
 * on the way to them, and its commit.
 */
type Template = { unchanged: true } | { unchanged: false; pieces: Piece[] };

/**
 * The trees of a base commit along the paths that changes touch, read once; `rootWith(changes)`
 * then gives the root tree id of the base with those changes applied, as fast-import's `M`/`D`
 * commands make it: a file's mode and content set, a deleted file (or directory) removed, a
 * directory left empty by a deletion removed, a file in the way of a directory (or the other way
 * round) replaced. The changes of one point name distinct paths, none inside another.
 */
export class TreeOverlay {
  private readonly templates = new Map<string, Template>();
  private constructor(private readonly trees: Map<string, BaseTreeData>, private readonly rootId: string, readonly algo: HashAlgo) {}

  /** Reads the base's root tree and every tree on the way to `paths` (one cat-file process per level of depth). */
  static async load(repo: string, base: string, paths: Iterable<string>): Promise<TreeOverlay> {
    const algo = algoOf(base);
    const run = <T>(verb: StreamVerb<T>) => git(repo, verb);
    const [rootId] = (await run(readObjects([`${base}^{tree}`]))).map(o => o?.id);
    if (!rootId) throw new Error(`git cat-file: ${base} has no tree`);
    const trees = new Map<string, BaseTreeData>();
    const dirs = [...new Set([...paths].flatMap(dirsOf))];
    let level: { path: string; id: string }[] = [{ path: '', id: rootId }];
    while (level.length) {
      const objects = await run(readObjects(level.map(l => l.id)));
      const next: { path: string; id: string }[] = [];
      level.forEach((l, i) => {
        const t = indexTree(objects[i]!.body, algo, l.id);
        trees.set(l.id, t);
        for (const d of dirs) {
          const at = l.path === '' ? d : d.startsWith(l.path + '/') ? d.slice(l.path.length + 1) : null;
          if (!at || at.includes('/')) continue;
          const j = t.names.get(at);
          if (j !== undefined && isTree(t.modes[j]!) && !trees.has(t.ids[j]!)) next.push({ path: d, id: t.ids[j]! });
        }
      });
      level = [...new Map(next.map(n => [n.id, n])).values()];
    }
    return new TreeOverlay(trees, rootId, algo);
  }

  /** The root tree id of the base with `changes` applied. */
  rootWith(changes: readonly FileChange[]): string {
    let sig = '';
    for (const c of changes) sig += `${c.path}\0${c.content === null ? 'D' : c.mode}\0`;
    let t = this.templates.get(sig);
    if (!t) {
      t = this.compile(this.trees.get(this.rootId)!, editsOf(changes));
      if (this.templates.size < 1024) this.templates.set(sig, t);
    }
    if (t.unchanged) return this.rootId;
    const blobs = changes.map(c => (c.content === null ? EMPTY : rawObjectId('blob', [c.content], this.algo)));
    return this.hashTree(t.pieces, blobs).toString('hex');
  }

  private hashTree(pieces: Piece[], blobs: Buffer[]): Buffer {
    return rawObjectId('tree', pieces.map(p => (Buffer.isBuffer(p) ? p : 'blob' in p ? blobs[p.blob]! : this.hashTree(p.tree, blobs))), this.algo);
  }

  /** The template of a directory with `edits` applied (pieces [] : left empty, so removed). */
  private compile(base: BaseTreeData, edits: Map<string, Edit>): Template {
    const removed: number[] = [];
    const added: { key: Buffer; pieces: Piece[] }[] = [];
    for (const [name, e] of edits) {
      const i = base.names.get(name);
      let next: { mode: string; id: Piece } | null;
      if (e.kind === 'delete') next = null;
      else if (e.kind === 'file') next = { mode: e.mode, id: { blob: e.change } };
      else {
        const sub = i !== undefined && isTree(base.modes[i]!) ? this.trees.get(base.ids[i]!) ?? EMPTY_TREE : EMPTY_TREE;
        const t = this.compile(sub, e.edits);
        if (t.unchanged) continue;
        next = t.pieces.length ? { mode: '40000', id: { tree: t.pieces } } : null;
      }
      if (i === undefined && next === null) continue;
      if (i !== undefined) removed.push(i);
      if (next) {
        const bytes = Buffer.from(name, 'utf8');
        added.push({ key: sortKey(bytes, next.mode), pieces: [Buffer.from(`${next.mode} ${name}\0`, 'utf8'), next.id] });
      }
    }
    if (!removed.length && !added.length) return { unchanged: true };
    return { unchanged: false, pieces: splice(base, removed, added) };
  }
}

const EMPTY = Buffer.alloc(0);

/** The base tree's body with entries `removed` left out and `added` put in their sorted places. */
function splice(base: BaseTreeData, removed: number[], added: { key: Buffer; pieces: Piece[] }[]): Piece[] {
  const cuts: { at: number; add?: { key: Buffer; pieces: Piece[] } }[] = [
    ...added.map(a => ({ at: lowerBound(base.keys, a.key), add: a })),
    ...removed.map(r => ({ at: r })),
  ];
  // At one place: insertions first (in key order), then the removal of the base entry there.
  cuts.sort((a, b) => a.at - b.at || (a.add ? 0 : 1) - (b.add ? 0 : 1) || (a.add && b.add ? Buffer.compare(a.add.key, b.add.key) : 0));
  const pieces: Piece[] = [];
  let i = 0;
  for (const c of cuts) {
    if (c.at > i) pieces.push(base.body.subarray(base.offsets[i], base.offsets[c.at]));
    i = Math.max(i, c.at);
    if (c.add) pieces.push(...c.add.pieces);
    else i = c.at + 1;
  }
  if (i < base.keys.length) pieces.push(base.body.subarray(base.offsets[i], base.offsets[base.keys.length]));
  return pieces;
}

function lowerBound(keys: Buffer[], key: Buffer): number {
  let lo = 0, hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (Buffer.compare(keys[mid]!, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Objects by name (`<rev>^{tree}` or an id), with their ids and bodies, in one `cat-file --batch`. */
export function readObjects(specs: string[]): StreamVerb<({ id: string; type: string; body: Buffer } | null)[]> {
  return {
    argv: ['cat-file', '--batch'],
    input: specs.map(s => s + '\n').join(''),
    parse: r => {
      const buf = r.stdoutBytes;
      let pos = 0;
      return specs.map(() => {
        const nl = buf.indexOf(10, pos);
        if (nl < 0) throw new Error('git cat-file --batch: truncated output');
        const m = /^([0-9a-f]+) (\w+) (\d+)$/.exec(buf.toString('utf8', pos, nl));
        pos = nl + 1;
        if (!m) return null;
        const size = Number(m[3]);
        const body = Buffer.from(buf.subarray(pos, pos + size));
        pos += size + 1;
        return { id: m[1]!, type: m[2]!, body };
      });
    },
  };
}
