// Slurm job arrays: the generated array script that makes each task behave as `sbatch <script>`
// started in its own run directory, the sbatch options it needs, and pure parsers (batch script
// header, `scontrol show config`). The submitting bash lives in slurm.ts (rx_submit_array).
import { posix } from 'node:path';
import { sh } from '../../quote.ts';

/** The default Slurm output name of a task: `slurm-<array>_<task>.out`, i.e. `slurm-<job id as rx records it>.out`. */
export const DEFAULT_TASK_OUTPUT = 'slurm-%A_%a.out';

export interface BatchScript {
  /** The shebang's interpreter and its one optional argument (as Linux passes it), or null. */
  interpreter: string[] | null;
  /** Lines 2.. up to the first line that is neither blank nor a comment (where sbatch stops reading #SBATCH). */
  header: string[];
  /** Words of every `#SBATCH` line of the header, in order. */
  directives: string[];
}

/** Words of a directive line as sbatch reads them: whitespace-separated, quotes grouping, `#` ends it. */
export function directiveWords(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let q: string | null = null;
  for (const ch of s) {
    if (q) {
      if (ch === q) q = null;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      q = ch;
      has = true;
    } else if (/\s/.test(ch)) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else if (ch === '#' && !has) {
      break;
    } else {
      cur += ch;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}

/** Pure: the parts of a batch script sbatch reads. */
export function parseBatchScript(text: string): BatchScript {
  const lines = text.split('\n').map(l => l.replace(/\r$/, ''));
  const first = lines[0] ?? '';
  let interpreter: string[] | null = null;
  if (first.startsWith('#!')) {
    const rest = first.slice(2).trim();
    const sp = rest.search(/[ \t]/);
    interpreter = rest === '' ? null : sp < 0 ? [rest] : [rest.slice(0, sp), rest.slice(sp).trim()].filter(Boolean);
  }
  const header: string[] = [];
  const directives: string[] = [];
  for (const line of lines.slice(1)) {
    if (line.trim() !== '' && !line.trimStart().startsWith('#')) break;
    header.push(line);
    const m = /^#SBATCH\s(.*)$/.exec(line);
    if (m) directives.push(...directiveWords(m[1]!));
  }
  return { interpreter, header, directives };
}

type Opt = 'output' | 'error' | 'input' | 'chdir' | 'array';
const SHORT: Record<string, Opt> = { o: 'output', e: 'error', i: 'input', D: 'chdir', a: 'array' };
const LONG: Opt[] = ['output', 'error', 'input', 'chdir', 'array'];

/** The values of -o/-e/-i/-D/-a (short, attached, `--long=v`, `--long v`, unambiguous prefixes of 3+ letters) in argv order. */
export function findOptions(words: readonly string[]): { opt: Opt; value: string }[] {
  const out: { opt: Opt; value: string }[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const long = /^--([A-Za-z-]+)(?:=(.*))?$/s.exec(w);
    if (long) {
      const name = long[1]!;
      const opt = name.length >= 3 ? LONG.find(o => o.startsWith(name)) : undefined;
      if (!opt) continue;
      const value = long[2] ?? words[++i] ?? '';
      out.push({ opt, value });
      continue;
    }
    const short = /^-([oeiDa])(.*)$/s.exec(w);
    if (short) out.push({ opt: SHORT[short[1]!]!, value: short[2] ? short[2] : words[++i] ?? '' });
  }
  return out;
}

export type ArrayPlan = { script: string; args: string[] } | { reason: string };

/**
 * Pure: the array script for points whose batch script is `text` (named `scriptPath` in each run
 * dir), and the sbatch options that put each task's output into its run dir (through the link
 * `t/<task>` → run dir in the array's directory, its working directory), or why these points are
 * better submitted one job each.
 */
export function arrayPlan(text: string, scriptPath: string, sbatchArgs: readonly string[]): ArrayPlan {
  const b = parseBatchScript(text);
  if (!b.interpreter) return { reason: `${scriptPath} has no #! line` };
  const opts = [...findOptions(b.directives), ...findOptions(sbatchArgs)]; // the command line wins: later
  const last = (o: Opt) => opts.filter(x => x.opt === o).at(-1)?.value;
  for (const o of ['array', 'chdir', 'input'] as const) if (last(o) !== undefined) return { reason: `${scriptPath} or sbatchArgs set --${o}` };
  const output = last('output');
  const error = last('error');
  if ([output, error].some(v => v !== undefined && (v === '' || v.includes('\\')))) return { reason: 'an output name that is empty or disables % expansion' };
  const inDir = (p: string) => (p.startsWith('/') ? p : `t/%a/${p}`);
  const args = [`--output=${inDir(output ?? DEFAULT_TASK_OUTPUT)}`];
  if (error !== undefined) args.push(`--error=${inDir(error)}`);
  const script = sh.lines([
    sh`#!/bin/bash`,
    // The user's header as it is (only blank and comment lines): its #SBATCH directives apply to every task.
    ...b.header.map(l => sh.raw(l)),
    sh`# rx: one task of a job array = ${scriptPath} run by \`sbatch\` in the task's own run directory`,
    sh`cd -P -- "t/$SLURM_ARRAY_TASK_ID" || { echo "rx: array task $SLURM_ARRAY_TASK_ID: cannot enter its run directory ($PWD/t/$SLURM_ARRAY_TASK_ID)" >&2; exit 1; }`,
    sh`export SLURM_SUBMIT_DIR=$PWD`,
    sh`exec ${[...b.interpreter, scriptPath.startsWith('-') ? './' + scriptPath : scriptPath]}`,
  ]).text + '\n';
  return { script, args };
}

/** The file name the array script gets (the user's script's base name, so the default job name is the same). */
export function arrayScriptName(scriptPath: string): string {
  const base = posix.basename(scriptPath);
  return base.startsWith('-') ? './' + base : base;
}

/** Pure: MaxArraySize from `scontrol show config`, or null. */
export function parseMaxArraySize(stdout: string): number | null {
  const m = /^MaxArraySize\s*=\s*(\d+)\s*$/m.exec(stdout);
  return m ? Number(m[1]) : null;
}

/** Bash printing the controller's configuration (for parseMaxArraySize). */
export const SHOW_CONFIG = sh`scontrol show config 2>/dev/null | grep -i '^MaxArraySize' ; exit 0`.text + '\n';

/** `123_[5-7,9%2]` (how squeue/sacct show pending tasks) → that id and each task's id; a plain id as it is. */
export function expandArrayId(id: string): string[] {
  const m = /^(\d+)_\[([\d,-]+)(?:%\d+)?\]$/.exec(id);
  if (!m) return [id];
  const out: string[] = [id];
  for (const part of m[2]!.split(',')) {
    const r = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!r) continue;
    const a = Number(r[1]);
    const b = r[2] === undefined ? a : Number(r[2]);
    for (let t = a; t <= b && out.length < 1_000_000; t++) out.push(`${m[1]}_${t}`);
  }
  return out;
}
