// Tools for the adversarial end-to-end suite (test/e2e/adversarial.test.ts): a TCP "trap" that
// counts connection attempts (no remote contact allowed), a snapshot of everything a refused
// command must leave untouched, job counting per run directory (shell scheduler queue, Slurm), a
// bounded worker pool, and marker search.
import { createServer, type Server } from 'node:net';
import { existsSync, readdirSync, readFileSync, lstatSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type ProcResult } from '../../src/proc.ts';
import { runAsCluster } from './cluster.ts';
import { rx, RX_BIN } from './rx.ts';

/** Runs fn over items with at most n at once; results in input order. */
export async function pool<T, R>(items: readonly T[], n: number, fn: (item: T, worker: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async (_, w) => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i]!, w);
    }
  }));
  return out;
}

/** A listener on 127.0.0.1 that counts (and drops) every connection: where a forbidden ssh would go. */
export interface Trap { port: number; hits(): number; close(): Promise<void> }

export async function trap(): Promise<Trap> {
  let n = 0;
  const srv: Server = createServer(sock => { n++; sock.destroy(); });
  await new Promise<void>((resolve, reject) => { srv.once('error', reject); srv.listen(0, '127.0.0.1', () => resolve()); });
  const a = srv.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  return { port, hits: () => n, close: () => new Promise(r => srv.close(() => r())) };
}

/**
 * A private HOME whose ~/.ssh/config sends every host to the trap (so any ssh rx might make is
 * counted), and a private TMPDIR (so temp files rx leaves behind are seen).
 */
export async function trapHome(root: string, t: Trap, tag: string): Promise<{ HOME: string; TMPDIR: string; SSH_AUTH_SOCK: string }> {
  const home = join(root, `home-${tag}`);
  const tmp = join(root, `tmp-${tag}`);
  await mkdir(join(home, '.ssh'), { recursive: true, mode: 0o700 });
  await mkdir(tmp, { recursive: true });
  await writeFile(join(home, '.ssh', 'config'), `Host *\n  HostName 127.0.0.1\n  Port ${t.port}\n  User nobody\n  StrictHostKeyChecking yes\n  UserKnownHostsFile ${join(home, '.ssh', 'known_hosts')}\n`, { mode: 0o600 });
  await writeFile(join(home, '.ssh', 'known_hosts'), '');
  return { HOME: home, TMPDIR: tmp, SSH_AUTH_SOCK: '' };
}

/** Every file below dir (relative paths; symlinks not followed), or [] when dir is missing. */
export function listTree(dir: string, rel = ''): string[] {
  const here = join(dir, rel);
  if (!existsSync(here)) return [];
  const out: string[] = [];
  for (const e of readdirSync(here, { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    out.push(e.isDirectory() ? r + '/' : r);
    if (e.isDirectory()) out.push(...listTree(dir, r));
  }
  return out.sort();
}

async function gitOut(args: string[], cwd?: string): Promise<string> {
  return (await run(['git', ...args], { cwd, allowFailure: true })).stdout;
}

/**
 * What a refused command must not change, as comparable text: every ref and every object file of
 * the repository and of origin, .git/info/exclude, the working tree's status, whether .rx exists,
 * what is in HOME (~/.rx, new known_hosts lines…) and TMPDIR (tsx's compile cache aside), and the
 * files next to the repository (a marker dropped there).
 */
export async function repoState(p: { work: string; origin: string | null; root: string; home?: string; tmp?: string; ignoreRoot?: RegExp }): Promise<Record<string, string>> {
  const s: Record<string, string> = {};
  s.refs = await gitOut(['for-each-ref', '--format=%(objectname) %(refname)'], p.work);
  s.objects = listTree(join(p.work, '.git', 'objects')).join('\n');
  s.exclude = existsSync(join(p.work, '.git/info/exclude')) ? readFileSync(join(p.work, '.git/info/exclude'), 'utf8') : '(none)';
  s.status = await gitOut(['status', '--porcelain', '--ignored', '--untracked-files=all'], p.work);
  s.rx = String(existsSync(join(p.work, '.rx')));
  s.config = readFileSync(join(p.work, '.git', 'config'), 'utf8');
  if (p.origin) {
    s.originRefs = await gitOut(['--git-dir', p.origin, 'for-each-ref', '--format=%(objectname) %(refname)']);
    s.originObjects = listTree(join(p.origin, 'objects')).join('\n');
  }
  if (p.home) s.home = listTree(p.home).join('\n') + '\n' + (existsSync(join(p.home, '.ssh/known_hosts')) ? readFileSync(join(p.home, '.ssh/known_hosts'), 'utf8') : '');
  if (p.tmp) s.tmp = listTree(p.tmp).filter(f => !/^tsx-/.test(f)).join('\n');
  s.root = readdirSync(p.root).filter(f => !(p.ignoreRoot?.test(f) ?? false)).sort().join('\n');
  return s;
}

/** The keys of two states that differ, with a short excerpt of the difference. */
export function stateDiff(before: Record<string, string>, after: Record<string, string>): string[] {
  const out: string[] = [];
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (before[k] === after[k]) continue;
    const a = new Set((before[k] ?? '').split('\n'));
    const b = new Set((after[k] ?? '').split('\n'));
    const added = [...b].filter(x => !a.has(x)).slice(0, 3);
    const removed = [...a].filter(x => !b.has(x)).slice(0, 3);
    out.push(`${k} changed (+${JSON.stringify(added)} -${JSON.stringify(removed)})`);
  }
  return out;
}

/** A stack trace or an internal error in rx's stderr. */
export function stackTrace(stderr: string): string | null {
  const m = /^\s+at .*$/m.exec(stderr) ?? /internal error/.exec(stderr);
  return m ? m[0] : null;
}

/** Files named like a marker (`pwned*`) anywhere below the given roots (symlinks not followed). */
export function markersBelow(roots: string[], pattern = /^pwned/): string[] {
  const found: string[] = [];
  for (const r of roots) {
    if (!existsSync(r)) continue;
    for (const f of listTree(r)) if (pattern.test(f.split('/').filter(Boolean).pop() ?? '')) found.push(join(r, f));
  }
  return found;
}

/** Marker files in the test cluster user's home (any depth), as that user sees them. */
export async function clusterMarkers(tag: string): Promise<string[]> {
  const r = await runAsCluster(`find ~ -xdev -name ${JSON.stringify(`*${tag}*`)} -print 2>/dev/null; true`, { allowFailure: true });
  return r.stdout.split('\n').filter(Boolean);
}

/** Job ids of the shell scheduler queue in HOME (`~/.rx/shell-queue/jobs/<id>/dir`), by run directory. */
export function shellJobsByDir(home: string): Map<string, string[]> {
  const jobs = join(home, '.rx', 'shell-queue', 'jobs');
  const out = new Map<string, string[]>();
  if (!existsSync(jobs)) return out;
  for (const id of readdirSync(jobs)) {
    const f = join(jobs, id, 'dir');
    if (!existsSync(f)) continue;
    const dir = readFileSync(f, 'utf8').replace(/\n$/, '');
    out.set(dir, [...(out.get(dir) ?? []), id]);
  }
  return out;
}

/** `1-3,5%2` → [1, 2, 3, 5]. */
function expandTasks(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec.replace(/%\d+$/, '').split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (m) for (let i = Number(m[1]); i <= Number(m[2] ?? m[1]); i++) out.push(i);
  }
  return out;
}

/** Slurm jobs (controller and accounting) whose working directory (an rx array task's: its run dir) is below `under`, by work dir. */
export async function slurmJobsByDir(under: string): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  const taskDirs = new Map<string, string[]>();
  const add = (id: string | undefined, wd: string | undefined) => {
    if (!id || !wd) return;
    // An rx job array's work dir is its directory in the state dir: task t ran in line t+1 of its `dirs`.
    const task = /^\d+_(\d+)$/.exec(id);
    if (task && existsSync(join(wd, 'dirs'))) {
      if (!taskDirs.has(wd)) taskDirs.set(wd, readFileSync(join(wd, 'dirs'), 'utf8').split('\n'));
      const dir = taskDirs.get(wd)![Number(task[1])];
      if (dir && dir.startsWith(under)) out.set(dir, (out.get(dir) ?? new Set()).add(id));
      return;
    }
    if (!wd.startsWith(under)) return;
    const base = id.replace(/[._+].*$/, '');
    out.set(wd, (out.get(wd) ?? new Set()).add(base));
  };
  const sc = await run(['scontrol', 'show', 'job', '-o'], { allowFailure: true });
  for (const l of sc.stdout.split('\n')) {
    const wd = /WorkDir=(.*?)(?= [A-Za-z]+=|$)/.exec(l)?.[1];
    const arr = /ArrayJobId=(\d+) ArrayTaskId=([\d,%-]+)/.exec(l);
    if (arr) for (const t of expandTasks(arr[2]!)) add(`${arr[1]}_${t}`, wd);
    else add(/JobId=(\d+)/.exec(l)?.[1], wd);
  }
  const sa = await run(['sacct', '-a', '-X', '-n', '-P', '-S', 'now-3hours', '-o', 'JobID,WorkDir'], { allowFailure: true });
  for (const l of sa.stdout.split('\n')) { const i = l.indexOf('|'); if (i > 0) add(l.slice(0, i), l.slice(i + 1)); }
  return out;
}

/** A private HOME for the shell scheduler (its queue is per HOME), removed after the test. */
export async function privateHome(t: import('node:test').TestContext): Promise<string> {
  const h = await mkdtemp(join(tmpdir(), 'rx-adv-home-'));
  t.after(() => rm(h, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 }));
  return h;
}

/** Whether a path is a symlink (not followed). */
export function isLink(p: string): boolean {
  try { return lstatSync(p).isSymbolicLink(); } catch { return false; }
}

export async function readText(p: string): Promise<string | null> {
  try { return await readFile(p, 'utf8'); } catch { return null; }
}

/** dist/ being rebuilt by someone else while a test runs: rx fails to load its own modules. */
const LOADING = /ModuleJob\._instantiate|ERR_MODULE_NOT_FOUND|does not provide an export named|Cannot find module '\/work|is not defined in ESM|ERR_INTERNAL_ASSERTION/;

/**
 * The real CLI (never throws on a non-zero exit). A run that died loading rx's own compiled
 * modules (dist/ rewritten by a concurrent `npm run build`) is not rx's answer: it is run again.
 * With `timeoutSec`, a run still going after that long is SIGKILLed (signal 'SIGKILL', exit null).
 */
export async function rxa(args: string[], opts: { cwd: string; env?: Record<string, string>; timeoutSec?: number }): Promise<ProcResult> {
  for (let i = 0; ; i++) {
    const r = opts.timeoutSec
      ? await run(['timeout', '-s', 'KILL', String(opts.timeoutSec), process.execPath, RX_BIN, ...args], { cwd: opts.cwd, env: { ...process.env, NO_COLOR: '1', ...opts.env }, allowFailure: true })
      : await rx(args, { ...opts, allowFailure: true });
    if (opts.timeoutSec && r.exitCode === 137) r.signal = 'SIGKILL';
    if (r.exitCode === 70 && LOADING.test(r.stderr) && i < 6) { await new Promise(res => setTimeout(res, 3000)); continue; }
    return r;
  }
}
