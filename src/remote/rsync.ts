// rsync for `rx fetch`: the argv (flags through the npm `rsync` package, paths and the ssh
// command appended raw), filter rules generated from the user's globs, the `-e` quoting rsync
// itself understands, and parsing of the itemized output. Pure: spawns nothing (src/proc.ts does).
import { createRequire } from 'node:module';
import { ConfigError } from '../errors.ts';

// ---------------------------------------------------------------------------------------------
// Patterns

/**
 * A fetch pattern is an rsync wildcard pattern matched against the path of a file relative to
 * its run directory, anchored at the run directory: `*` and `?` never cross `/`, `**` does,
 * `**\/` matches zero or more directories (as in git), `[...]` is a character class. A backslash
 * escapes a wildcard character when the pattern has one.
 */
export function validateFetchPattern(p: unknown, where = 'file pattern'): string {
  if (typeof p !== 'string' || p === '') throw new ConfigError(`${where}: expected a file name or glob, e.g. history.data or 'LOGS/profile*.data'`);
  const why = /[\0\r\n]/.test(p)
    ? 'it contains a NUL or line break'
    : p.startsWith('/')
      ? 'it starts with / (patterns are relative to each run directory)'
      : p.split('/').some(s => s === '..')
        ? "it contains '..' (patterns stay inside each run directory)"
        : p.endsWith('/')
          ? "it ends with / (for everything under a directory write 'DIR/**')"
          : p.split('/').some(s => s === '' || s === '.')
            ? "it has an empty or '.' path component"
            : /^[+-] |^[!]$/.test(p)
              ? 'it looks like an rsync filter rule, not a pattern'
              : null;
  if (why) throw new ConfigError(`${where}: ${JSON.stringify(p)} is not a valid pattern: ${why}`, { hint: "Give file names or globs relative to the run directory, e.g. history.data 'LOGS/profile*.data' 'slurm-*.out'." });
  return p;
}

const WILD = /[*?[]/;

/** `**\/` matches zero directories too: every combination of dropping such segments. */
function zeroDirVariants(p: string): string[] {
  const segs = p.split('/');
  let out: string[][] = [[]];
  segs.forEach((s, i) => {
    const last = i === segs.length - 1;
    out = out.flatMap(v => (s === '**' && !last ? [[...v, s], v] : [[...v, s]]));
  });
  return [...new Set(out.map(v => v.join('/')))].filter(v => v !== '');
}

/**
 * rsync filter rules (for `--exclude-from=-`) that transfer exactly the files matching
 * `patterns` inside the run directories `rundirs`, which are direct children of the transfer
 * root. File rules come first (they are few; every file is tested against them), then one
 * include per run directory (only those are entered), then `- *` (nothing else is visited, so
 * other sweeps' run directories and `.rx-jobs` are never even listed).
 */
export function filterRules(patterns: readonly string[], rundirs: readonly string[]): string[] {
  const rules: string[] = [];
  const add = (r: string) => { if (!rules.includes(r)) rules.push(r); };
  for (const pat of patterns) {
    validateFetchPattern(pat);
    for (const v of zeroDirVariants(pat)) {
      const segs = v.split('/');
      // The directories leading to the file must be included, or rsync never enters them.
      for (let i = 0; i < segs.length - 1; i++) {
        add(`+ /*/${segs.slice(0, i + 1).join('/')}/`);
        if (segs[i]!.includes('**')) break; // this rule already includes every directory below
      }
      add(`+ /*/${v}`);
    }
  }
  for (const d of rundirs) add(`+ /${rundirRuleName(d)}/`);
  rules.push('- *');
  return rules;
}

/** Run directory names are rx's own (`<sweep>_time_…_sha_…`): plain, so literal in a rule. */
function rundirRuleName(d: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(d) || d === '.' || d === '..') throw new ConfigError(`run directory name ${JSON.stringify(d)} cannot be fetched (rx names them <sweep>_time_…_sha_…)`);
  return d;
}

/** The same matching in JavaScript (for reporting which patterns matched nothing). */
export function patternRegExp(p: string): RegExp {
  const hasWild = WILD.test(p);
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '\\' && hasWild && i + 1 < p.length) {
      re += escapeRe(p[++i]!);
    } else if (c === '*' && p[i + 1] === '*') {
      let j = i;
      while (p[j] === '*') j++;
      const atSegStart = i === 0 || p[i - 1] === '/';
      if (atSegStart && p[j] === '/') {
        re += '(?:.*/)?'; // `**/`: zero or more directories
        i = j;
      } else {
        re += '.*';
        i = j - 1;
      }
    } else if (c === '*') {
      re += '[^/]*';
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '[') {
      const end = classEnd(p, i);
      if (end < 0) {
        re += '\\[';
      } else {
        let body = p.slice(i + 1, end);
        let neg = false;
        if (body.startsWith('!') || body.startsWith('^')) {
          neg = true;
          body = body.slice(1);
        }
        re += '[' + (neg ? '^' : '') + body.replace(/[\\\]^[]/g, '\\$&') + ']';
        i = end;
      }
    } else {
      re += escapeRe(c);
    }
  }
  return new RegExp('^' + re + '$', 's');
}

function classEnd(p: string, start: number): number {
  let i = start + 1;
  if (p[i] === '!' || p[i] === '^') i++;
  if (p[i] === ']') i++; // a leading ] is literal
  for (; i < p.length; i++) if (p[i] === ']') return i;
  return -1;
}

function escapeRe(c: string): string {
  return c.replace(/[\\^$.|+()[\]{}*?/]/g, '\\$&');
}

// ---------------------------------------------------------------------------------------------
// Paths and the ssh command

/**
 * `host:path` for a path on the target as the ledger writes it. `~/x` is relative to the remote
 * home, which is where rsync's remote side starts, so the `~/` is dropped (with secluded args no
 * remote shell expands `~`).
 */
export function remoteSource(host: string, dir: string): string {
  let p = dir;
  if (p === '~') p = '.';
  else if (p.startsWith('~/')) p = p.slice(2).replace(/^\/+/, '') || '.';
  else if (p.startsWith('~')) throw new ConfigError(`run directory path ${JSON.stringify(dir)}: ~user paths are not supported by rx fetch`, { hint: "Use '~/…' or an absolute path for remote.output." });
  const h = host.includes(':') ? `[${host}]` : host;
  return `${h}:${p.replace(/\/+$/, '')}/`;
}

/**
 * Quotes an argv for rsync's `-e` option. rsync splits that string itself (no shell): words are
 * separated by spaces, single or double quotes keep spaces, a doubled quote inside quotes is a
 * literal quote, and backslashes are NOT escapes — so sh quoting (`'\''`) would be wrong here.
 */
export function rshCommand(argv: readonly string[]): string {
  return argv.map(a => {
    if (a.includes('\0')) throw new Error('an ssh argument cannot contain a NUL byte');
    return a !== '' && /^[A-Za-z0-9_\/.,:=@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, "''")}'`;
  }).join(' ');
}

// ---------------------------------------------------------------------------------------------
// argv

interface NodeRsync {
  flags(f: string): NodeRsync;
  set(option: string, value?: string): NodeRsync;
  args(): string[];
}
const require = createRequire(import.meta.url);
const Rsync = require('rsync') as new () => NodeRsync;

/** Itemized output: a prefix no file name can fake at the start of a line, then `%i:%l:%n`. */
export const OUT_PREFIX = 'rx:';
export const OUT_FORMAT = `${OUT_PREFIX}%i:%l:%n`;
/** Resumable partial transfers are kept here, inside each run directory of the mirror. */
export const PARTIAL_DIR = '.rsync-partial';

export interface PullSpec {
  /** `host:path/` or an absolute local directory ending in `/`. */
  source: string;
  /** Absolute local directory ending in `/`. */
  dest: string;
  /** ssh argv (from sshCommandArgs) for a remote source. */
  ssh?: readonly string[];
  /** Copy what symlinks point to (`-L`). Default: symlinks are skipped and reported. */
  followLinks?: boolean;
  /** Skip files larger than this many bytes (`--max-size`; reported). */
  maxSize?: number;
  /** rsync gives up after this many seconds without any data moving (`--timeout`; 0: never). */
  timeoutSec?: number;
}

/** rsync's default I/O time-out for a fetch, in seconds (`rx fetch --timeout`). */
export const DEFAULT_TIMEOUT_SEC = 300;

/**
 * The argv after `rsync` for one pull. Flags:
 * `-r -t` recursive, keep mtimes (the size+mtime check makes re-fetches incremental);
 * no `-l`/`-L`: a symlink in a run directory is neither copied nor followed (a link loop or a link
 * to a large shared tree never gets walked); rsync says `skipping non-regular file` for each one
 * a pattern matched, which rx reports (`followLinks` adds `-L`: copy what links point to);
 * `-S` (`--sparse`) holes stay holes on disk; `-m` no empty directory chains for run dirs without
 * a match; `-s` secluded/protected args: remote paths travel inside the protocol, never through
 * the remote shell (spaces and quotes survive); `-8` names in the output unescaped except control
 * characters (`\#ooo`); `--info=name2` also lists unchanged files, `skip1` files over
 * `--max-size`, `nonreg1` the skipped symlinks; `--partial-dir` keeps and resumes interrupted
 * transfers; `--timeout` ends a transfer that moved no data for that long (exit code 30);
 * filter rules are read from stdin.
 *
 * The npm `rsync` package builds the plain flags; its `.args()` escapes values for /bin/sh
 * (we spawn without a shell), so every value that may hold a space or quote (the out format,
 * the ssh command, the paths) is appended as a raw argv element instead.
 */
export function pullArgs(spec: PullSpec): string[] {
  const r = new Rsync().flags(spec.followLinks ? 'rtLSm8s' : 'rtSm8s').set('info', 'name2,skip1,nonreg1').set('partial-dir', PARTIAL_DIR);
  if (spec.maxSize !== undefined) {
    if (!Number.isSafeInteger(spec.maxSize) || spec.maxSize < 0) throw new Error(`rsync --max-size: not a byte count: ${spec.maxSize}`);
    r.set('max-size', String(spec.maxSize));
  }
  const timeout = spec.timeoutSec ?? DEFAULT_TIMEOUT_SEC;
  if (!Number.isSafeInteger(timeout) || timeout < 0) throw new Error(`rsync --timeout: not a number of seconds: ${timeout}`);
  if (timeout > 0) r.set('timeout', String(timeout));
  const plain = r.set('exclude-from', '-').args();
  for (const a of plain) if (/["'\\ ]/.test(a)) throw new Error(`rsync argv: unexpected shell quoting in ${a}`);
  if (!spec.dest.startsWith('/') || !spec.dest.endsWith('/')) throw new Error(`rsync dest must be an absolute directory ending in /: ${spec.dest}`);
  const argv = [...plain, `--out-format=${OUT_FORMAT}`];
  if (spec.ssh) argv.push('-e', rshCommand(spec.ssh));
  else if (!spec.source.startsWith('/')) throw new Error(`rsync: a local source must be absolute: ${spec.source}`);
  argv.push(spec.source, spec.dest);
  return argv;
}

/**
 * A size as `--max-size` takes it: bytes, or a number with a unit as rsync reads it — `K`, `M`,
 * `G`, `T`, `P` (or `KiB`, `MiB`, …) are powers of 1024, `KB`, `MB`, … powers of 1000; `B` is
 * bytes. Case does not matter; a fraction is allowed (`1.5G`).
 */
export function parseSize(s: string, where = '--max-size'): number {
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(?:([kmgtp])(i?b)?|(b))?\s*$/i.exec(s);
  if (!m) throw new ConfigError(`${where}: ${JSON.stringify(s)} is not a size`, { hint: 'A number of bytes, or with a unit: 500K, 100M, 1G, 1.5G (K/M/G = 1024-based; KB/MB/GB = 1000-based).' });
  const power = m[2] ? 'kmgtp'.indexOf(m[2].toLowerCase()) + 1 : 0;
  const base = m[3]?.toLowerCase() === 'b' ? 1000 : 1024;
  const n = Math.floor(Number(m[1]) * base ** power);
  if (!Number.isSafeInteger(n)) throw new ConfigError(`${where}: ${JSON.stringify(s)} is too large`);
  return n;
}

// ---------------------------------------------------------------------------------------------
// Output

export interface ItemizedEntry {
  /** rsync's 11-character change summary, e.g. `>f+++++++++`. */
  item: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  /** received = content transferred; unchanged = up to date (at most attributes changed). */
  change: 'received' | 'unchanged' | 'local';
  size: number;
  /** Path relative to the transfer root (directories without the trailing /). */
  path: string;
}

/** rsync writes control characters (and a backslash before `#`) as `\#ooo` (octal). */
export function unescapeRsyncName(s: string): string {
  return s.replace(/\\#([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parses the lines rsync printed with OUT_FORMAT; anything else is ignored. */
export function parseItemized(stdout: string): ItemizedEntry[] {
  const out: ItemizedEntry[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith(OUT_PREFIX)) continue;
    const m = /^(.{11}):([\d,.]+):(.*)$/s.exec(line.slice(OUT_PREFIX.length));
    if (!m) continue;
    const item = m[1]!;
    const t = item[1];
    const type = t === 'f' ? 'file' : t === 'd' ? 'dir' : t === 'L' ? 'symlink' : 'other';
    const change = item[0] === '>' ? 'received' : item[0] === '.' ? 'unchanged' : 'local';
    let path = unescapeRsyncName(m[3]!);
    if (type === 'dir') path = path.replace(/\/$/, '');
    out.push({ item, type, change, size: Number(m[2]!.replace(/[,.]/g, '')), path });
  }
  return out;
}

/** A file a pattern matched that rsync did not transfer, and why. */
export interface SkippedEntry {
  /** Path relative to the transfer root. */
  path: string;
  /** not-regular: a symlink (not followed) or a device, fifo or socket; too-big: over --max-size. */
  reason: 'not-regular' | 'too-big';
}

/**
 * The files rsync skipped, from its own messages on stdout (`--info=nonreg1,skip1`). The names are
 * escaped like the itemized ones, so a name cannot fake a line: `skipping non-regular file "<name>"`
 * and `<name> is over max-size`.
 */
export function parseSkipped(stdout: string): SkippedEntry[] {
  const out: SkippedEntry[] = [];
  for (const line of stdout.split('\n')) {
    if (line.startsWith(OUT_PREFIX)) continue;
    let m = /^skipping non-regular file "(.*)"$/s.exec(line);
    if (m) {
      out.push({ path: unescapeRsyncName(m[1]!), reason: 'not-regular' });
      continue;
    }
    m = /^(.*) is over max-size$/s.exec(line);
    if (m) out.push({ path: unescapeRsyncName(m[1]!), reason: 'too-big' });
  }
  return out;
}

/** How an rsync exit code is treated (see rsync(1), EXIT VALUES): 30 and 35 are its time-outs. */
export function rsyncExit(code: number | null): 'ok' | 'partial' | 'vanished' | 'timeout' | 'failed' {
  if (code === 0) return 'ok';
  if (code === 23) return 'partial';
  if (code === 24) return 'vanished';
  if (code === 30 || code === 35) return 'timeout';
  return 'failed';
}
