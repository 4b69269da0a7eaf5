// Git, as data: each verb is { argv, parse } (the parser next to its verb) and one executor runs it.
// Plumbing only, so the user's working tree, index, HEAD and branches are never touched.
import { ConfigError, CommandError } from '../errors.ts';
import { gitEnv, run, runGit, type ProcResult, type TextResult } from '../proc.ts';

interface VerbBase {
  argv: string[];
  /** Non-zero exit is an answer (e.g. "no such ref"), not an error. */
  allowFailure?: boolean;
  env?: Record<string, string>;
}

/** Argv in, text out: runs through simple-git. */
export interface TextVerb<T> extends VerbBase {
  input?: undefined;
  parse: (r: TextResult) => T;
}

/**
 * Writes stdin and/or reads binary stdout: runs through proc.ts's streaming `run`. A verb that only
 * needs stdout bytes gives `input: ''`.
 */
export interface StreamVerb<T> extends VerbBase {
  input: string | Buffer;
  parse: (r: ProcResult) => T;
}

export type GitVerb<T> = TextVerb<T> | StreamVerb<T>;

/**
 * The executor, and the one place that picks how a git verb runs:
 * - a verb with `input` (`cat-file --batch`, `update-ref --stdin`, `fast-import`, `rev-list --stdin`)
 *   goes through proc.ts's `run`: simple-git's `.raw()` has no per-call stdin and decodes stdout as
 *   UTF-8, while these verbs stream stdin and `cat-file --batch` returns binary blobs (`stdoutBytes`);
 * - every other verb goes through simple-git (`runGit`, `.raw([...argv])`).
 * Both get the same environment (`gitEnv`) and fail with the same CommandError (argv, exit code, stderr).
 */
export async function git<T>(cwd: string, verb: GitVerb<T>): Promise<T> {
  const opts = { cwd, env: gitEnv(verb.env), allowFailure: verb.allowFailure, where: 'git' };
  if (verb.input !== undefined) return verb.parse(await run(['git', ...verb.argv], { ...opts, input: verb.input }));
  return verb.parse(await runGit(verb.argv, opts));
}

const trimmed = (r: TextResult) => r.stdout.trim();
const ok = (r: TextResult) => r.exitCode === 0;

export const verbs = {
  toplevel: (): TextVerb<string> => ({ argv: ['rev-parse', '--show-toplevel'], parse: trimmed }),
  gitPath: (p: string): TextVerb<string> => ({ argv: ['rev-parse', '--path-format=absolute', '--git-path', p], parse: trimmed }),
  /** Tracked files of a commit with their blob sizes (`git ls-tree -r -l`). */
  listFiles: (rev: string): TextVerb<{ path: string; size: number }[]> => ({
    argv: ['ls-tree', '-r', '-z', '-l', '--end-of-options', rev],
    parse: r => r.stdout.split('\0').filter(Boolean).flatMap(l => {
      const m = /^\d+ blob [0-9a-f]+ +(\d+)\t(.*)$/s.exec(l);
      return m ? [{ path: m[2]!, size: Number(m[1]) }] : [];
    }),
  }),
  /** `git symbolic-ref --short HEAD`: the current branch, or null when detached. */
  currentBranch: (): TextVerb<string | null> => ({
    argv: ['symbolic-ref', '--quiet', '--short', 'HEAD'],
    allowFailure: true,
    parse: r => (r.exitCode === 0 ? r.stdout.trim() || null : null),
  }),
  /** The commit a branch, tag or sha names, or null. */
  resolveCommit: (ref: string): TextVerb<string | null> => ({
    argv: ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`],
    allowFailure: true,
    parse: r => (ok(r) ? r.stdout.trim() : null),
  }),
  remoteUrl: (remote: string): TextVerb<string | null> => ({
    argv: ['remote', 'get-url', '--', remote],
    allowFailure: true,
    parse: r => (ok(r) ? r.stdout.trim() : null),
  }),
  committerIdent: (): TextVerb<string | null> => ({
    argv: ['var', 'GIT_COMMITTER_IDENT'],
    allowFailure: true,
    parse: r => (ok(r) ? r.stdout.trim().replace(/\s+\d+\s+[+-]\d{4}$/, '') : null),
  }),
  /** The committer time of a commit, as git writes it in a commit object: `<epoch seconds> <±hhmm>`. */
  committerTime: (sha: string): TextVerb<string> => ({
    argv: ['show', '-s', '--format=%ct %cd', '--date=format:%z', sha, '--'],
    parse: r => {
      const m = /^(\d+) ([+-]\d{4})$/.exec(r.stdout.trim());
      if (!m) throw new Error(`git show: no committer time for ${sha}: ${r.stdout.trim()}`);
      return `${m[1]} ${m[2]}`;
    },
  }),
  /** Contents of `<rev>:<path>` for each spec; null where missing. Binary-safe, one process. */
  readBlobs: (specs: string[]): StreamVerb<(Buffer | null)[]> => ({
    argv: ['cat-file', '--batch'],
    input: specs.map(s => s + '\n').join(''),
    parse: r => parseCatFileBatch(r.stdoutBytes, specs.length),
  }),
  /**
   * `git init --bare` of a new repository at `dir` (rx's own scratch repositories only). Not `-q`:
   * simple-git waits 50 ms more after a process that printed nothing.
   */
  initBare: (dir: string): TextVerb<void> => ({ argv: ['init', '--bare', '--', dir], parse: () => undefined }),
  /** Ref name → sha for refs under a prefix. */
  forEachRef: (prefix: string): TextVerb<Map<string, string>> => ({
    argv: ['for-each-ref', '--format=%(objectname) %(refname)', prefix],
    parse: r => new Map(r.stdout.split('\n').filter(Boolean).map(l => { const i = l.indexOf(' '); return [l.slice(i + 1), l.slice(0, i)] as [string, string]; })),
  }),
  /** A ref transaction (`create`/`delete` lines): all or nothing. */
  updateRefs: (lines: string[]): StreamVerb<void> => ({ argv: ['update-ref', '--stdin'], input: lines.map(l => l + '\n').join(''), parse: () => undefined }),
  fastImport: (stream: Buffer, marksFile: string): StreamVerb<void> => ({
    argv: ['fast-import', '--quiet', '--done', `--export-marks=${marksFile}`],
    input: stream,
    parse: () => undefined,
  }),
  /** Never forced: refspecs without '+', and no --force. */
  push: (remote: string, refspecs: string[]): TextVerb<TextResult> => ({ argv: ['push', '--porcelain', '--', remote, ...refspecs], parse: r => r }),
  archive: (sha: string, outFile: string): TextVerb<void> => ({ argv: ['archive', '--format=tar', '-o', outFile, sha], parse: () => undefined }),
  /** `A`/`M`/`D` and path for each file changed between two commits. */
  diffNames: (a: string, b: string): TextVerb<{ status: string; path: string }[]> => ({
    argv: ['diff-tree', '-r', '-z', '--no-renames', '--name-status', a, b],
    parse: r => {
      const f = r.stdout.split('\0').filter(x => x !== '');
      const out: { status: string; path: string }[] = [];
      for (let i = 0; i + 1 < f.length; i += 2) out.push({ status: f[i]!, path: f[i + 1]! });
      return out;
    },
  }),
  /** Each commit's parents. */
  parents: (shas: string[]): StreamVerb<Map<string, string[]>> => ({
    argv: ['rev-list', '--no-walk=unsorted', '--parents', '--stdin'],
    input: shas.map(x => x + '\n').join(''),
    parse: r => new Map(r.stdout.split('\n').filter(Boolean).map(l => { const [c, ...ps] = l.split(' '); return [c!, ps] as [string, string[]]; })),
  }),
  /** Mode (`100644`, `100755`, `120000`) of each path in a commit's tree. */
  modes: (sha: string, paths: string[]): TextVerb<Map<string, string>> => ({
    argv: ['ls-tree', '-z', '--full-tree', sha, '--', ...paths],
    parse: r => new Map(r.stdout.split('\0').filter(Boolean).map(l => { const tab = l.indexOf('\t'); return [l.slice(tab + 1), l.split(' ')[0]!] as [string, string]; })),
  }),
  commitMessage: (sha: string): TextVerb<string> => ({ argv: ['log', '-1', '--format=%B', sha], parse: r => r.stdout }),
};

/** Pure parser of `git cat-file --batch` output (`<oid> <type> <size>\n<bytes>\n` or `<spec> missing\n`). */
export function parseCatFileBatch(buf: Buffer, count: number): (Buffer | null)[] {
  const out: (Buffer | null)[] = [];
  let pos = 0;
  for (let i = 0; i < count; i++) {
    const nl = buf.indexOf(10, pos);
    if (nl < 0) throw new Error('git cat-file --batch: truncated output');
    const header = buf.subarray(pos, nl).toString('utf8');
    pos = nl + 1;
    const m = /^[0-9a-f]+ (\w+) (\d+)$/.exec(header);
    if (!m) {
      out.push(null); // "<spec> missing" or "ambiguous"
      continue;
    }
    const size = Number(m[2]);
    out.push(m[1] === 'blob' ? Buffer.from(buf.subarray(pos, pos + size)) : null);
    pos += size + 1;
  }
  return out;
}

/** The top of the git repository containing cwd, or a ConfigError saying rx needs one. */
export async function repoTop(cwd: string): Promise<string> {
  try {
    return await git(cwd, verbs.toplevel());
  } catch (e) {
    if (e instanceof CommandError) throw new ConfigError(`${cwd} is not inside a git repository`, { hint: 'Run rx from your code\'s git repository (rx makes one commit per run in it).' });
    throw e;
  }
}

/** C-style quoting of a path for git fast-import. */
export function fastImportPath(p: string): string {
  if (!/["\\\n]/.test(p) && !p.startsWith('"')) return p;
  return '"' + p.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') + '"';
}
