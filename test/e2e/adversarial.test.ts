// The adversarial review of rx as repeatable tests, through the real CLI (bin/rx.js):
//  1. bad inputs: every one is refused with exit 2 and a message (no stack trace), and NOTHING is
//     created: no .rx/, no refs, no objects (here or on origin), no exclude line, no temp files,
//     no ssh connection (every host goes to a counting trap);
//  2. escape attempts: hostile strings in values, names, paths, script names, sbatch arguments,
//     identity files, patcher/parse/fetch paths, link names, stage-1 outputs and job-made file
//     names, on the embedded default and on the Slurm test cluster over ssh. The attacker wins if
//     a marker file (`pwned…`) appears, a file is written outside the run dir/repo/.rx, or a value
//     reads back (with rx's own parsers, with bash, with Slurm) different from what was written;
//  3. crash points: SIGKILL at every phase (RX_CRASH_AFTER), then the same command again, locally
//     and on Slurm, plus three concurrent submits of one sweep: exactly one job per point, no
//     duplicate run directories (counted in the shell scheduler's queue and in Slurm itself).
// Each group prints a tally with t.diagnostic. A failing sub-test is a bug in rx (the ones that
// are known findings being fixed say so in a comment and in their name).
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, realpath, rm, writeFile, copyFile, chmod, readlink } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { gitdir, type GitDir } from '../helpers/gitdir.ts';
import { eventually } from '../helpers/rx.ts';
import { clusterSession, runAsCluster, type ClusterSession } from '../helpers/cluster.ts';
import { refs } from '../helpers/assertions.ts';
import {
  clusterMarkers, isLink, rxa, listTree, markersBelow, pool, privateHome, readText, repoState, shellJobsByDir,
  slurmJobsByDir, stackTrace, stateDiff, trap, trapHome, type Trap,
} from '../helpers/adversarial.ts';
import { parsers } from '../../parsers/index.ts';
import { paramHash } from '../../src/sweep/hash.ts';
import { Ledger } from '../../src/ledger/ledger.ts';
import type { ProcResult } from '../../src/proc.ts';

type Json = Record<string, unknown>;
type Rec = { key: string; sha: string | null; dir: string | null; jobId: string | null; status: string; params: Json; hash: string };
type Row = { sweep: string; key: string; dir: string; jobId: string | null; state: string };

const first = (s: string) => s.trim().split('\n')[0]?.slice(0, 200) ?? '';
const parseJson = <T>(s: string): T | null => { try { return JSON.parse(s) as T; } catch { return null; } };
/** One sub-test per attempt; returns whether it passed (for the tally). */
async function attempt(t: TestContext, name: string, problems: string[]): Promise<boolean> {
  await t.test(name, () => { assert.deepEqual(problems, [], `${name}:\n  ${problems.join('\n  ')}`); });
  return problems.length === 0;
}

// -------------------------------------------------------------------------------------------------
// 1. Bad inputs

const MINI = {
  'inlist': "&controls\n  initial_mass = 1.0\n  label = 'x'\n/\n",
  'params.json': '{\n  "a": { "b": 1 }\n}\n',
  'tpl.txt': 'value=${missing}\n',
  'run.sbatch': '#!/bin/bash\n#SBATCH --time=00:01:00\necho ran > ran.txt\n',
};
const BASE: Json = { name: 'ok', branch: 'main', dimensions: { initial_mass: [1, 2] }, patcher: { type: 'mesa', file: 'inlist' } };
const TRAP_REMOTE: Json = { host: 'trap', repo: '~/r', output: '~/o' };

interface Bad {
  name: string;
  /** The sweep file (written outside the repository); args may use $SWEEP for its path. */
  file?: { ext: string; text: string } | 'dir';
  args?: string[];
  expect?: RegExp;
  /** Runs that must succeed and create nothing (dry runs): the control group. */
  control?: boolean;
}

const clone = (o: Json): Json => structuredClone(o);
function mut(f: (o: Json) => void, base = BASE): Json { const o = clone(base); f(o); return o; }
const remote = (r: Json): Json => mut(o => { o.remote = { ...TRAP_REMOTE, ...r }; });
const json = (name: string, o: unknown, expect?: RegExp): Bad => ({ name, file: { ext: 'json', text: JSON.stringify(o) }, expect });
const yaml = (name: string, text: string, expect?: RegExp): Bad => ({ name, file: { ext: 'yaml', text }, expect });
/** A TypeScript sweep file: `B` is the valid base sweep; `body` is the default export's expression. */
const ts = (name: string, body: string, expect?: RegExp, pre = ''): Bad => ({ name, file: { ext: 'ts', text: `${pre}\nconst B: any = ${JSON.stringify(BASE)};\nexport default ${body};\n` }, expect });
const cli = (name: string, args: string[], expect?: RegExp): Bad => ({ name, args, expect });

function badInputs(casesDir: string): Bad[] {
  const cases: Bad[] = [
    // control: a valid sweep's dry run succeeds and creates nothing, locally and for an ssh host
    { name: 'control: valid dry run (local)', file: { ext: 'json', text: JSON.stringify(BASE) }, args: ['submit', '--sweep', '$SWEEP', '--dry-run'], control: true },
    { name: 'control: valid dry run (ssh host, no contact)', file: { ext: 'json', text: JSON.stringify(remote({})) }, args: ['submit', '--sweep', '$SWEEP', '--dry-run', '--limit', '0'], control: true },
  ];
  // names
  for (const n of ['../x', 'a b', '-x', 'x.lock', '..', 'a'.repeat(200), 'ünïcode', 'a/b', '', 'a\nb', '$(touch pwned-name)']) {
    cases.push(json(`name ${JSON.stringify(n.length > 40 ? n.slice(0, 10) + `…(${n.length})` : n)}`, mut(o => { o.name = n; }), /name/));
  }
  cases.push(json('name missing', mut(o => { delete o.name; }), /name/));
  // branches
  for (const b of ['nope', '--all', '', 'main^{tree}', 'main:inlist', '$(touch pwned-branch)']) {
    cases.push(json(`branch ${JSON.stringify(b)}`, mut(o => { o.branch = b; }), /branch/));
  }
  cases.push(json('branch missing', mut(o => { delete o.branch; }), /branch/));
  // patcher
  cases.push(json('patcher missing', mut(o => { delete o.patcher; }), /patcher/));
  cases.push(json('patcher type unknown', mut(o => { o.patcher = { type: 'nope', file: 'inlist' }; }), /patcher\.type/));
  cases.push(json('patcher file not in the base commit', mut(o => { o.patcher = { type: 'mesa', file: 'nope_inlist' }; }), /nope_inlist/));
  cases.push(json('patcher file empty', mut(o => { o.patcher = { type: 'mesa', file: '' }; }), /patcher\.file/));
  cases.push(json('patcher list empty', mut(o => { o.patcher = []; }), /patcher/));
  cases.push(json('patcher keys empty', mut(o => { o.patcher = { type: 'mesa', file: 'inlist', keys: [] }; }), /keys/));
  cases.push(json('patcher prefix empty', mut(o => { o.patcher = { type: 'mesa', file: 'inlist', prefix: '' }; }), /prefix/));
  cases.push(json('patcher exponent bad', mut(o => { o.patcher = { type: 'mesa', file: 'inlist', exponent: 'x' }; }), /exponent/));
  cases.push(json('patcher unknown option', mut(o => { o.patcher = { type: 'mesa', file: 'inlist', foo: 1 }; }), /foo/));
  cases.push(json('key not in the file', mut(o => { o.dimensions = { initial_masss: [1] }; }), /initial_masss/));
  cases.push(json('json path not in the file', mut(o => { o.dimensions = { 'a.c': [1] }; o.patcher = { type: 'json', file: 'params.json' }; }), /a\.c|'c'/));
  cases.push(json('template placeholder without a value', mut(o => { o.patcher = [{ type: 'mesa', file: 'inlist' }, { type: 'template', file: 'tpl.txt' }]; }), /missing/));
  cases.push(json('mesa string with a line break', mut(o => { o.dimensions = { label: ['a\nb'] }; }), /label|line/));
  cases.push(ts('mesa value Infinity', '{ ...B, dimensions: { initial_mass: [Infinity] } }', /initial_mass|finite/i));
  cases.push(ts('function inside a patcher list', "{ ...B, patcher: [{ type: 'mesa', file: 'inlist' }, (d: string) => d] }", /function/));
  // values that are not JSON (TypeScript sweep files)
  cases.push(ts('function value in base_config', '{ ...B, base_config: { f: () => 1 } }', /base_config\.f/));
  // NEW finding: a function among the dimension values is hashed before it is checked (exit 70, TypeError in canonicalJson).
  cases.push(ts('function value in dimensions [new finding]', '{ ...B, dimensions: { initial_mass: [() => 1] } }', /initial_mass|function/));
  cases.push(ts('Date value', '{ ...B, dimensions: { initial_mass: [new Date(0)] } }', /Date/));
  cases.push(ts('BigInt value', '{ ...B, dimensions: { initial_mass: [10n] } }', /BigInt/));
  cases.push(ts('Map value', '{ ...B, base_config: { m: new Map([[1, 2]]) } }', /base_config\.m/));
  cases.push(ts('class instance value', '{ ...B, base_config: { c: new (class P { x = 1 })() } }', /base_config\.c/));
  // NEW finding: checkValue recurses into a circular object until the stack overflows (exit 70).
  cases.push(ts('circular value [new finding]', '{ ...B, base_config: { o: circ } }', /base_config\.o|circular/i, 'const circ: any = { a: 1 }; circ.self = circ;'));
  cases.push(ts('sweep file throws at import', "(() => { throw new Error('boom at import'); })()", /boom at import/));
  cases.push({ name: 'sweep file with a syntax error', file: { ext: 'ts', text: 'export default { name: ;\n' }, expect: /cannot load|sweep file/ });
  cases.push({ name: 'sweep file without a default export', file: { ext: 'ts', text: 'export const x = 1;\n' }, expect: /default export/ });
  cases.push(ts('default export is an array', '[B]', /object/));
  // the file itself
  cases.push({ name: 'JSON malformed', file: { ext: 'json', text: '{"name": "x",' }, expect: /cannot load|JSON/ });
  cases.push({ name: 'YAML malformed', file: { ext: 'yaml', text: 'name: [x\n  branch: : :\n' }, expect: /cannot load|YAML|yaml/i });
  cases.push(yaml('YAML alias bomb (billion laughs)', ['a: &a [x, x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]', 'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]', 'e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]', 'name: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]', ''].join('\n'), /alias|cannot load|name|unknown key/i));
  cases.push(yaml('YAML empty file', '', /object/));
  cases.push({ name: 'unknown file type .txt', file: { ext: 'txt', text: JSON.stringify(BASE) }, expect: /unknown sweep file type/ });
  cases.push({ name: 'sweep file is a directory', file: 'dir', expect: /not found|not a file/ });
  cases.push(cli('sweep file does not exist', ['submit', '--sweep', join(casesDir, 'nope.json')], /not found/));
  cases.push({ name: 'JSON __proto__ key', file: { ext: 'json', text: `{"__proto__": {"polluted": 1}, ${JSON.stringify(BASE).slice(1)}` }, expect: /__proto__|unknown key/ });
  cases.push(json('unknown top-level key', mut(o => { o.nmae = 'x'; }), /nmae/));
  // points
  cases.push(json('dimensions is a list', mut(o => { o.dimensions = [1, 2]; }), /dimensions/));
  cases.push(json('dimension is not a list', mut(o => { o.dimensions = { initial_mass: 1 }; }), /initial_mass/));
  cases.push(json('dimension list empty', mut(o => { o.dimensions = { initial_mass: [] }; }), /empty/));
  cases.push(json('points and dimensions', mut(o => { o.points = [{ initial_mass: 1 }]; }), /points/));
  cases.push(yaml('zip of unequal lists', 'name: ok\nbranch: main\npatcher: { type: mesa, file: inlist }\npoints:\n  zip:\n    - plist: { initial_mass: [1, 2, 3] }\n    - plist: { label: [a, b] }\n', /different lengths/));
  cases.push(json('tuple of the wrong arity', mut(o => { o.dimensions = { 'initial_mass,label': [[1]] }; }), /tuple/));
  cases.push(json('linspace with n = 1e9', mut(o => { o.dimensions = { initial_mass: { linspace: [0, 1, 1e9] } }; }), /n is more|more than/));
  cases.push(json('grid beyond maxPoints', mut(o => { o.dimensions = { initial_mass: { intspace: [1, 1000] }, label: { intspace: [1, 1000] } }; }), /maxPoints|more than/));
  cases.push(json('base_config is a list', mut(o => { o.base_config = [1]; }), /base_config/));
  cases.push(json('parameter both sampled and listed', mut(o => { o.sampler = { type: 'random', budget: 2, bounds: { initial_mass: [0, 1] } }; }), /sampled|both|initial_mass/));
  // samplers
  const S = (s: Json) => mut(o => { delete o.dimensions; o.sampler = { type: 'sobol', budget: 4, bounds: { initial_mass: [0, 1] }, ...s }; });
  cases.push(json('sampler type halton', S({ type: 'halton' }), /sampler\.type/));
  cases.push(json('sampler budget 0', S({ budget: 0 }), /budget/));
  cases.push(json('sampler seed -1', S({ seed: -1 }), /seed/));
  cases.push(json('sampler lo > hi', S({ bounds: { initial_mass: [1, 0] } }), /lo/));
  cases.push(json('sampler log scale with lo = 0', S({ bounds: { initial_mass: { lo: 0, hi: 1, scale: 'log' } } }), /lo > 0|log/));
  cases.push(json('sampler int bounds not integers', S({ bounds: { initial_mass: { int: [0.5, 2] } } }), /int/));
  cases.push(json('sampler scramble on random', S({ type: 'random', scramble: false }), /scramble/));
  cases.push(json('sobol with 33 parameters', S({ bounds: Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`p${i}`, [0, 1]])) }), /at most/));
  // parse entries
  const P = (p: unknown) => mut(o => { o.parse = p; });
  cases.push(json('parse parser unknown', P({ file: 'history.data', parser: 'nope' }), /parser/));
  cases.push(json('parse reducer unknown', P({ file: 'history.data', reduce: { median: ['x'] } }), /reduce/));
  cases.push(json('parse prefix with a blank', P({ file: 'history.data', prefix: 'a b' }), /prefix/));
  cases.push(json('parse at.where malformed', P({ file: 'history.data', reduce: { at: { where: 'x ~ 1', columns: ['x'] } } }), /where/));
  cases.push(json('parse file without a known parser', P({ file: 'x.bin' }), /parser/));
  // from (nested stages)
  const F = (f: unknown) => mut(o => { o.from = f; });
  cases.push(json('from itself', F({ sweep: 'ok' }), /itself/));
  cases.push(json('from a sweep that does not exist', F({ sweep: 'stage0' }), /stage0/));
  cases.push(json('from.where unknown comparison', F({ sweep: 'stage0', where: { x: { like: 1 } } }), /like/));
  cases.push(json('from.select not a list', F({ sweep: 'stage0', select: 42 }), /select/));
  cases.push(json('from.sweep ../x', F({ sweep: '../x' }), /from\.sweep/));
  cases.push(json('namer is a number', mut(o => { o.namer = 42; }), /namer/));
  // remote options (every host goes to the trap: any connection is counted)
  for (const h of ['a b', "a'b", '-oProxyCommand=touch pwned-host', '', '$(touch pwned-host)']) cases.push(json(`remote.host ${JSON.stringify(h)}`, remote({ host: h }), /remote\.host/));
  for (const p of [0, 70000, '22']) cases.push(json(`remote.port ${JSON.stringify(p)}`, remote({ port: p }), /remote\.port/));
  for (const u of ['a;b', '$(touch pwned-user)', '-oProxyCommand=x']) cases.push(json(`remote.user ${JSON.stringify(u)}`, remote({ user: u }), /remote\.user/));
  cases.push(json('remote.repo missing for an ssh host', mut(o => { o.remote = { host: 'trap', output: '~/o' }; }), /remote\.repo/));
  cases.push(json('remote.output missing for an ssh host', mut(o => { o.remote = { host: 'trap', repo: '~/r' }; }), /remote\.output/));
  cases.push(json('remote.repo empty', remote({ repo: '' }), /remote\.repo/));
  cases.push(json('remote.output with a line break', remote({ output: '~/o\ntouch pwned' }), /remote\.output/));
  cases.push(json('remote.origin with a line break', remote({ origin: 'x\ny' }), /remote\.origin/));
  cases.push(json('remote unknown option', remote({ hostname: 'x' }), /remote\.hostname/));
  cases.push(json('remote.scheduler pbs', remote({ scheduler: 'pbs' }), /remote\.scheduler/));
  for (const s of ['../x', '/abs/run.sbatch', '.git/config']) cases.push(json(`remote.script ${JSON.stringify(s)}`, remote({ script: s }), /remote\.script/));
  cases.push(json('remote.script not in the base commit', remote({ script: 'nope.sbatch' }), /remote\.script/));
  cases.push(json('remote.sbatchArgs a string', remote({ sbatchArgs: '--time=1' }), /sbatchArgs/));
  cases.push(json('remote.sbatchArgs with a NUL', remote({ sbatchArgs: ['a\u0000b'] }), /sbatchArgs/));
  cases.push(json('remote.strictHostKeyChecking no', remote({ strictHostKeyChecking: 'no' }), /strictHostKeyChecking/));
  // the command line
  const ok = { ext: 'json', text: JSON.stringify(BASE) };
  cases.push({ name: 'unknown option --bogus', file: ok, args: ['submit', '--sweep', '$SWEEP', '--bogus'], expect: /unknown option/ });
  cases.push({ name: '--limit abc', file: ok, args: ['submit', '--sweep', '$SWEEP', '--dry-run', '--limit', 'abc'], expect: /--limit/ });
  cases.push({ name: '--extend -1', file: ok, args: ['submit', '--sweep', '$SWEEP', '--extend', '-1'], expect: /--extend|option/ });
  cases.push({ name: '--extend on a sweep without a sampler', file: ok, args: ['submit', '--sweep', '$SWEEP', '--extend', '2'], expect: /--extend/ });
  // NEW finding: `--limit` only means something with --dry-run; without it rx ignores it and submits every point.
  cases.push({ name: '--limit without --dry-run [new finding]', file: ok, args: ['submit', '--sweep', '$SWEEP', '--limit', '1'], expect: /--limit/ });
  cases.push(cli('--sweep missing', ['submit'], /--sweep/));
  cases.push(cli('unknown command', ['submitt', '--sweep', 'x'], /unknown command/));
  cases.push(cli('-C a directory that does not exist', ['submit', '--sweep', 'x.json', '-C', join(casesDir, 'nope')], /nope|not inside|not found/));
  cases.push(cli('-C a directory outside any repository', ['status', '-C', casesDir], /git repository/));
  cases.push(cli('status --sweep ../x', ['status', '--sweep', '../x'], /--sweep/));
  cases.push(cli('cancel --state COMPLETED', ['cancel', '--state', 'COMPLETED'], /COMPLETED/));
  cases.push(cli('resubmit without --failed', ['resubmit'], /--failed/));
  cases.push(cli('fetch without a file', ['fetch'], /argument|file/));
  return cases;
}

interface Worker { g: GitDir; trap: Trap; env: Record<string, string>; root: string; tag: string; resets: number }

async function newWorker(t: TestContext, root: string, tag: string, tr?: Trap): Promise<Worker> {
  const g = await gitdir(null, { origin: true, files: MINI, prefix: 'rx-adv-bad-' });
  t.after(() => g.cleanup());
  const tp = tr ?? await trap();
  if (!tr) t.after(() => tp.close());
  const env = await trapHome(root, tp, tag);
  return { g, trap: tp, env, root, tag, resets: 0 };
}

test('1. bad inputs: exit 2 with a message, nothing created, no remote contact', { timeout: 180_000 }, async t => {
  const root = await mkdtemp(join(tmpdir(), 'rx-adv-bad-'));
  t.after(() => rm(root, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 }));
  const casesDir = join(root, 'cases');
  await mkdir(casesDir);
  const cases = badInputs(casesDir);
  const workers = await Promise.all([0, 1, 2].map(i => newWorker(t, root, String(i))));
  const outcomes = await pool(cases, workers.length, async (c, wi) => {
    const w = workers[wi]!;
    const i = cases.indexOf(c);
    let path = '';
    if (c.file === 'dir') { path = join(casesDir, `case${i}.json`); await mkdir(path); }
    else if (c.file) { path = join(casesDir, `case${i}.${c.file.ext}`); await writeFile(path, c.file.text); }
    const args = (c.args ?? ['submit', '--sweep', '$SWEEP']).map(a => (a === '$SWEEP' ? path : a));
    const where = { work: w.g.work, origin: w.g.origin, root: w.g.root, home: w.env.HOME, tmp: w.env.TMPDIR };
    const before = await repoState(where);
    const hits = w.trap.hits();
    const r = await rxa(args, { cwd: w.g.work, env: w.env });
    const after = await repoState(where);
    const problems: string[] = [];
    const want = c.control ? 0 : 2;
    if (r.exitCode !== want) problems.push(`exit ${r.exitCode ?? r.signal} (want ${want}); stderr: ${first(r.stderr)}`);
    if (!c.control) {
      if (!r.stderr.trim()) problems.push('no message on stderr');
      if (c.expect && !c.expect.test(r.stderr)) problems.push(`message does not match ${c.expect}: ${first(r.stderr)}`);
    }
    const st = stackTrace(r.stderr);
    if (st) problems.push(`stack trace / internal error on stderr: ${st.trim()}`);
    const diff = stateDiff(before, after);
    problems.push(...diff.map(d => `created something: ${d}`));
    if (w.trap.hits() !== hits) problems.push(`contacted the remote (${w.trap.hits() - hits} connection(s))`);
    if (markersBelow([w.g.root, w.env.HOME, casesDir]).length) problems.push('a marker file appeared');
    if (diff.length) {
      // Something was created: give this worker a fresh repository so later cases start clean.
      const fresh = await newWorker(t, root, `${w.tag}r${++w.resets}`, w.trap);
      workers[wi] = fresh;
    }
    return { c, problems };
  });
  let refused = 0;
  let controls = 0;
  for (const o of outcomes) {
    if (await attempt(t, o.c.name, o.problems)) { if (o.c.control) controls++; else refused++; }
  }
  const bad = cases.filter(c => !c.control).length;
  t.diagnostic(`bad inputs: ${bad} tried, ${refused} refused with exit 2, a message, no stack trace, nothing created and no remote contact (controls: ${controls}/${cases.length - bad} dry runs created nothing)`);
});

// -------------------------------------------------------------------------------------------------
// 2. Escape attempts

/** The batch script every escape sweep runs: sources params.sh (bash reads the value back) and makes files with hostile names. */
const JOB_NAMES = ['a\nrx:>f+++++++++:1:..', '-e touch zz', '$(touch zz)', '\\#012x', `it's "q" \`x\``, ' lead', 'tab\there'];
/** A file name of 240 bytes: its flat fetched name `<rundir>_long_<name>` is over 255 bytes. */
const LONG_NAME = 'L'.repeat(240);
const RUN_SBATCH = [
  '#!/bin/bash',
  '#SBATCH --job-name=x',
  '#SBATCH --time=00:02:00',
  '. ./params.sh',
  'printf %s "$label" > label.out',
  'mkdir -p out',
  ...JOB_NAMES.map(n => `printf x > out/${bashWord(n)}`),
  `mkdir -p long loop && printf x > long/${LONG_NAME} && ln -sfn .. loop/up && printf x > loop/f`,
  '',
].join('\n');

/** A bash word that is exactly s (single quotes; a newline stays literal inside them). */
function bashWord(s: string): string { return `'${s.replace(/'/g, `'\\''`)}'`; }

const ESC_FILES = (hostileS1: string): Record<string, string> => ({
  'inlist': "&controls\n  label = 'x'\n/\n",
  'params.json': '{\n  "label": "x"\n}\n',
  'params.yaml': 'label: x\n',
  'params.sh': 'export label=x\n',
  'conf.ini': '[main]\nlabel = x\n',
  'tpl.txt': 'label=<${label}>\n',
  'run.sbatch': RUN_SBATCH,
  "run it's $(touch pwned-script) `touch pwned-script2`.sbatch": '#!/bin/bash\necho ran > ran.txt\n',
  'stage1.sbatch': '#!/bin/bash\ncp result.template.json result.json\n',
  'result.template.json': JSON.stringify({ label: hostileS1, n: 1 }) + '\n',
  's1.ini': 'seed = 0\n',
});

/** Hostile values without line breaks (every patcher, mesa included). */
function valuesA(M: string): string[] {
  return [
    `$(touch ${M}/pwned-a1)`, `\`touch ${M}/pwned-a2\``, `; touch ${M}/pwned-a3; #`, `' ; touch ${M}/pwned-a4 ; '`, `" ; touch ${M}/pwned-a5 ; "`,
    `x && touch ${M}/pwned-a6`, `| touch ${M}/pwned-a7`, '${IFS}touch${IFS}pwned-a8', '$((1+1)) $HOME ${HOME}', `--output=${M}/pwned-a9`,
    `-oProxyCommand=touch ${M}/pwned-a10`, '../../../../../../tmp/pwned-a11', "a\\b\\'c\\\"d\\\\", "it's", 'a / b ! c & d',
    'ünïcode 😀 "dq"', '   padded   ', '#not a comment', 'a # b ; c', 'true', '1.5', '007', 'null', 'yes', '~',
    '*alias', '&anchor x', '!!binary x', '- item', 'key: value', '{a: 1}', '[1, 2]', '%TAG', '@at', '${label}$$ $label',
    "'$(touch pwned-a12)'", '\\$(touch pwned-a13)', "$'\\x41'", "x'$(touch pwned-a14)'y", 'x".$(touch pwned-a15)."y',
    'x'.repeat(300), '..', '.', '/', '-', '0x10', '1e3', '+1', '.5', 'NaN', 'Infinity', '"quoted"', "'single'",
  ];
}
/** Hostile values with line breaks and control characters (mesa refuses these by design). */
function valuesB(M: string): string[] {
  return [
    `line1\nline2; touch ${M}/pwned-b1`, 'a\rb', 'tab\there', '\u2028sep\u2029', `'\n$(touch ${M}/pwned-b2)\n'`,
    `x\n#SBATCH --output=${M}/pwned-b3`, 'trailing newline\n', '', '\u0001ctrl\u007f', '\\n literal', `"\n[main]\nlabel = pwned\n"`, `\nexport label=$(touch ${M}/pwned-b4)`,
  ];
}

type Sink = (dir: string) => Promise<unknown>;
const SINKS: Record<string, Sink> = {
  'point.json': async d => (parseJson<{ params: Json }>(await readFile(join(d, '.rx/point.json'), 'utf8'))?.params ?? {}).label,
  'inlist (mesaInlist)': async d => parsers.mesaInlist(await readFile(join(d, 'inlist')), { file: 'inlist' })['controls.label'],
  'params.json (json)': async d => (parsers.json(await readFile(join(d, 'params.json')), { file: 'params.json' }) as Json).label,
  'params.yaml (yaml)': async d => (parsers.yaml(await readFile(join(d, 'params.yaml')), { file: 'params.yaml' }) as Json).label,
  'params.sh (keyvalue)': async d => parsers.keyvalue(await readFile(join(d, 'params.sh')), { file: 'params.sh' }).label,
  'params.sh (bash)': async d => readText(join(d, 'label.out')),
  'conf.ini (keyvalue)': async d => parsers.keyvalue(await readFile(join(d, 'conf.ini')), { file: 'conf.ini' })['main.label'],
  'tpl.txt (template)': async d => { const s = await readFile(join(d, 'tpl.txt'), 'utf8'); return s.startsWith('label=<') && s.endsWith('>\n') ? s.slice(7, -2) : `(not the template: ${JSON.stringify(s.slice(0, 60))})`; },
};

/** Waits until every job of the sweep has ended (or has none); returns the rows. */
async function settled(cwd: string, env: Record<string, string>, sweep: string, ms = 90_000): Promise<Row[]> {
  return eventually(`jobs of ${sweep} ended`, ms, async () => {
    const r = await rxa(['status', '--sweep', sweep, '--json'], { cwd, env });
    const rows = parseJson<Row[]>(r.stdout);
    if (!rows) return undefined;
    return rows.every(x => !['PENDING', 'RUNNING', 'COMPLETING', 'CONFIGURING'].includes(x.state)) ? rows : undefined;
  });
}

/**
 * Submits a JSON sweep whose `points` are one per value; a value a patcher refuses (exit 2, nothing
 * created) is dropped and counted as refused (harmless), then the rest is submitted again.
 */
async function submitValues(g: GitDir, env: Record<string, string>, file: string, def: Json, values: string[], point: (v: string) => Json): Promise<{ recs: Rec[]; refused: Map<string, string>; kept: string[]; r: ProcResult }> {
  const refused = new Map<string, string>();
  let kept = [...values];
  for (;;) {
    await writeFile(file, JSON.stringify({ ...def, points: kept.map(point) }));
    const r = await rxa(['submit', '--sweep', file, '--json'], { cwd: g.work, env });
    const m = r.exitCode === 2 ? /point (\d+)/.exec(r.stderr) : null;
    if (m && kept.length > 1) {
      const v = kept[Number(m[1]) - 1]!;
      refused.set(v, first(r.stderr));
      kept = kept.filter(x => x !== v);
      continue;
    }
    return { recs: parseJson<Rec[]>(r.stdout) ?? [], refused, kept, r };
  }
}

test('2a. escape attempts on the embedded default (local, shell scheduler)', { timeout: 240_000 }, async t => {
  const home = await privateHome(t);
  const M = await mkdtemp(join(tmpdir(), 'rx-adv-mark-'));
  t.after(() => rm(M, { recursive: true, force: true }));
  const hostileS1 = `$(touch ${M}/pwned-e1) \`touch ${M}/pwned-e2\` ' " ; touch ${M}/pwned-e3 #`;
  const g = await gitdir(t, { origin: true, files: ESC_FILES(hostileS1), prefix: 'rx-adv-esc-' });
  const env = { HOME: home, SSH_AUTH_SOCK: '' };
  const markers = () => [...markersBelow([g.root, home, M]), ...(existsSync('/tmp/pwned-a11') ? ['/tmp/pwned-a11'] : [])];
  let tried = 0;
  let harmless = 0;
  let checks = 0;
  const count = async (name: string, problems: string[]) => { tried++; if (await attempt(t, name, problems)) harmless++; };

  // Values through every patcher, read back with rx's parsers, bash and .rx/point.json.
  const all = [{ sweep: 'esc-a', values: valuesA(M), sinks: Object.keys(SINKS), patcher: [{ type: 'mesa', file: 'inlist' }] }, { sweep: 'esc-b', values: valuesB(M), sinks: Object.keys(SINKS).filter(s => !s.startsWith('inlist')), patcher: [] as Json[] }];
  const aDirs: Rec[] = [];
  for (const s of all) {
    const patcher = [...s.patcher, { type: 'json', file: 'params.json' }, { type: 'yaml', file: 'params.yaml' }, { type: 'keyvalue', file: 'params.sh' }, { type: 'keyvalue', file: 'conf.ini' }, { type: 'template', file: 'tpl.txt' }];
    const { recs, refused, kept, r } = await submitValues(g, env, join(g.root, `${s.sweep}.json`), { name: s.sweep, branch: 'main', patcher }, s.values, v => ({ label: v }));
    assert.equal(r.exitCode, 0, `${s.sweep}: rx submit failed: ${r.stderr}`);
    if (s.sweep === 'esc-a') aDirs.push(...recs);
    await settled(g.work, env, s.sweep);
    const found = markers();
    for (const v of s.values) {
      const label = `${s.sweep} value ${JSON.stringify(v.length > 50 ? v.slice(0, 20) + `…(${v.length})` : v)}`;
      if (refused.has(v)) { await count(`${label} (refused by a patcher: harmless)`, found.length ? [`markers: ${found.join(', ')}`] : []); continue; }
      const rec = recs.find(x => x.params.label === v) ?? recs[kept.indexOf(v)];
      const problems: string[] = [];
      if (!rec?.dir) problems.push(`no run directory (${rec?.status})`);
      else {
        for (const name of s.sinks) {
          checks++;
          let got: unknown;
          try { got = await SINKS[name]!(rec.dir); } catch (e) { got = `(error: ${(e as Error).message.split('\n')[0]})`; }
          if (got !== v) problems.push(`${name} reads back ${JSON.stringify(got)?.slice(0, 120)}`);
        }
        const slurmOut = (await readdir(rec.dir)).filter(f => /^slurm-\d+(_\d+)?\.out$/.test(f));
        const outText = slurmOut[0] ? await readFile(join(rec.dir, slurmOut[0]), 'utf8') : '';
        if (/pwned|command not found|syntax error/.test(outText)) problems.push(`the job's output shows shell evaluation: ${first(outText)}`);
      }
      const ids: string[] = v.match(/pwned-[ab]\d+/g) ?? [];
      const mine = found.filter(f => ids.includes(basename(f)));
      if (mine.length) problems.push(`marker created: ${mine.join(', ')}`);
      // keyvalue shell quoting is a known finding being fixed: values bash reads back differently fail here.
      await count(label, problems);
    }
  }

  // Hostile run directory root and batch script name (paths reaching the create/submit scripts).
  {
    const out = join(g.root, `out it's $(touch pwned-c1) \`touch pwned-c2\` "q" ; x`);
    const script = "run it's $(touch pwned-script) `touch pwned-script2`.sbatch";
    const f = join(g.root, 'esc-c.json');
    await writeFile(f, JSON.stringify({ name: 'esc-c', branch: 'main', dimensions: { label: ['c'] }, patcher: { type: 'mesa', file: 'inlist' }, remote: { host: 'local', output: out, script } }));
    const r = await rxa(['submit', '--sweep', f, '--json'], { cwd: g.work, env });
    const recs = parseJson<Rec[]>(r.stdout) ?? [];
    await settled(g.work, env, 'esc-c');
    const p1: string[] = [];
    if (r.exitCode !== 0) p1.push(`exit ${r.exitCode}: ${first(r.stderr)}`);
    if (!recs[0]?.dir?.startsWith(out + '/')) p1.push(`run dir ${recs[0]?.dir} is not under the hostile output root`);
    else if (!existsSync(join(recs[0].dir, 'ran.txt'))) p1.push('the job did not run in its run directory');
    const m = markers();
    if (m.length) p1.push(`markers: ${m.join(', ')}`);
    await count('remote.output with quotes, $( ), backticks and ;', p1);
    await count('remote.script named with quotes, $( ) and backticks', [...p1]);
  }

  // A function patcher: hostile file names in the commit, a forged .rx/point.json, hostile parameter names.
  {
    const names = ['a b', "it's", '$(touch pwned-d2)', 'new\nline', 'back\\slash', '-rf', '"dq"', 'ü😀', ' lead', 'tab\tx', '*', '\\#012', 'trail ', '..x', '#hash', 'c:colon', 'q"uote\'s'];
    const forged = { sweep: 'esc-d', params: { label: 'forged' }, hash: '0'.repeat(64), base: '0'.repeat(40) };
    const keyNl = `nl\nrx-hash: ${'f'.repeat(64)}`;
    const f = join(g.root, 'esc-d.ts');
    await writeFile(f, `
      import { mkdirSync, writeFileSync } from 'node:fs';
      const names: string[] = ${JSON.stringify(names)};
      export default {
        name: 'esc-d', branch: 'main',
        points: [{ ${JSON.stringify("k'ey $(touch pwned-d1)")}: 'v', ${JSON.stringify(keyNl)}: 1, label: 'd' }],
        patcher: (dir: string) => {
          mkdirSync(dir + '/made', { recursive: true });
          for (const n of names) writeFileSync(dir + '/made/' + n, n);
          mkdirSync(dir + '/.rx', { recursive: true });
          writeFileSync(dir + '/.rx/point.json', ${JSON.stringify(JSON.stringify(forged))});
        },
      };`);
    const r = await rxa(['submit', '--sweep', f, '--json'], { cwd: g.work, env });
    const rec = (parseJson<Rec[]>(r.stdout) ?? [])[0];
    await settled(g.work, env, 'esc-d');
    const base: string[] = r.exitCode === 0 && rec?.dir && rec.sha ? [] : [`rx submit failed: exit ${r.exitCode}: ${first(r.stderr)}`];
    const tree = rec?.sha ? (await g.git.raw(['ls-tree', '-r', '-z', '--name-only', rec.sha])).split('\0') : [];
    for (const n of names) {
      const p = [...base];
      if (!tree.includes(`made/${n}`)) p.push(`commit has no file ${JSON.stringify(`made/${n}`)}`);
      if (rec?.dir && (await readText(join(rec.dir, 'made', n))) !== n) p.push('run directory file differs');
      await count(`function patcher writes a file named ${JSON.stringify(n)}`, p);
    }
    const point = rec?.dir ? parseJson<{ params: Json; hash: string }>((await readText(join(rec.dir, '.rx/point.json'))) ?? '') : null;
    const pf = [...base];
    if (!point || point.params.label !== 'd' || point.hash !== paramHash(point.params) || point.hash === forged.hash) pf.push(`.rx/point.json is not rx's own: ${JSON.stringify(point)?.slice(0, 200)}`);
    await count('function patcher forges .rx/point.json', pf);
    const pk = [...base];
    if (point && !(point.params["k'ey $(touch pwned-d1)"] === 'v' && point.params[keyNl] === 1)) pk.push(`parameter names read back differently: ${JSON.stringify(Object.keys(point.params))}`);
    if (markers().length) pk.push(`markers: ${markers().join(', ')}`);
    await count('parameter names with quotes and $( )', pk);
    const msg = rec?.sha ? await g.git.raw(['log', '-1', '--format=%B', rec.sha]) : '';
    const hashes = msg.split('\n').filter(l => l.startsWith('rx-hash:'));
    // NEW finding: a parameter name with a line break writes its own `rx-hash:` trailer into the commit message.
    await count('parameter name forging an rx-hash: trailer in the commit message [new finding]', [...base, ...(hashes.length === 1 && hashes[0] === `rx-hash: ${rec?.hash}` ? [] : [`commit message has rx-hash lines ${JSON.stringify(hashes)}`])]);
  }

  // Patcher files, parse globs and fetch patterns outside the run directory / repository: refused, nothing written.
  {
    const refusals: { name: string; args: string[]; file?: Json }[] = [];
    for (const p of ['../../etc/x', '/etc/passwd', '.git/config', '.git/hooks/post-checkout', 'inlist/../../x', './inlist', 'a//inlist']) {
      refusals.push({ name: `patcher file ${JSON.stringify(p)}`, args: [], file: { name: 'esc-h', branch: 'main', dimensions: { label: ['h'] }, patcher: { type: 'keyvalue', file: p, add: true } } });
    }
    for (const p of ['../x', '/etc/passwd', 'a/../../x', '**/../x', '..', '../../../../etc/hostname']) {
      refusals.push({ name: `parse file ${JSON.stringify(p)}`, args: [], file: { name: 'esc-h', branch: 'main', dimensions: { label: ['h'] }, patcher: { type: 'mesa', file: 'inlist' }, parse: { file: p, parser: 'json' } } });
    }
    for (const p of ['../*', 'out/../../x', '**/../x', '/etc/passwd', '..', '+ /etc/**', '- *', '!', 'out/\n..']) {
      refusals.push({ name: `fetch pattern ${JSON.stringify(p)}`, args: ['fetch', p, '--sweep', 'esc-a'] });
    }
    for (const x of refusals) {
      const where = { work: g.work, origin: g.origin, root: g.root };
      const before = { ...(await repoState(where)), rxTree: listTree(join(g.work, '.rx')).filter(f => !f.startsWith('runs/')).join('\n') };
      let args = x.args;
      if (x.file) { const f = join(g.root, 'esc-h.json'); await writeFile(f, JSON.stringify(x.file)); args = ['submit', '--sweep', f]; }
      const r = await rxa(args, { cwd: g.work, env });
      const after = { ...(await repoState(where)), rxTree: listTree(join(g.work, '.rx')).filter(f => !f.startsWith('runs/')).join('\n') };
      const p: string[] = [];
      if (r.exitCode !== 2) p.push(`exit ${r.exitCode} (want 2): ${first(r.stderr)}`);
      if (stackTrace(r.stderr)) p.push('stack trace');
      p.push(...stateDiff(before, after).filter(d => !d.startsWith('root ')));
      await count(`${x.name} is refused`, p);
    }
  }

  // rx fetch of job-made hostile file names, then rx link with namers built from hostile values.
  {
    const before = readdirSync(g.root).sort().join('\n');
    const r = await rxa(['fetch', 'out/*', '--sweep', 'esc-a', '--json'], { cwd: g.work, env });
    const res = parseJson<{ files: { rundir: string; path: string; local: string }[] }>(r.stdout);
    const dest = await realpath(join(g.work, '.rx/fetched/esc-a')).catch(() => join(g.work, '.rx/fetched/esc-a'));
    for (const n of JOB_NAMES) {
      const p: string[] = [];
      if (r.exitCode !== 0 || !res) p.push(`rx fetch failed: exit ${r.exitCode}: ${first(r.stderr)}`);
      else {
        const got = res.files.filter(f => f.path === `out/${n}`);
        if (got.length !== aDirs.length) p.push(`${got.length} of ${aDirs.length} runs report out/${JSON.stringify(n)}; paths seen: ${JSON.stringify([...new Set(res.files.map(f => f.path))]).slice(0, 300)}`);
        for (const f of got) {
          const abs = resolve(g.work, f.local);
          if (!abs.startsWith(dest + '/') && !abs.startsWith(join(g.work, '.rx/fetched/esc-a') + '/')) p.push(`fetched to ${abs}, outside ${dest}`);
          else if ((await readText(abs)) !== 'x') p.push(`${abs} does not hold what the job wrote`);
        }
      }
      if (markers().length) p.push(`markers: ${markers().join(', ')}`);
      if (readdirSync(g.root).sort().join('\n') !== before) p.push('a file appeared next to the repository');
      await count(`fetch of a job-made file named ${JSON.stringify(n)}`, p);
    }
    for (const [namer, to] of [['{label}', null], ['../../{label}', join(g.root, 'links2')], ['{label}/../../../x', join(g.root, 'links3')]] as const) {
      const args = ['link', '--sweep', 'esc-a', '--namer', namer, '--json', ...(to ? ['--to', to] : [])];
      const lr = await rxa(args, { cwd: g.work, env });
      const dir = to ?? join(g.work, '.rx/links/esc-a');
      const res2 = parseJson<{ links: { link: string; target: string }[] }>(lr.stdout);
      const p: string[] = [];
      if (lr.exitCode !== 0 || !res2) p.push(`rx link failed: exit ${lr.exitCode}: ${first(lr.stderr)}`);
      else {
        if (res2.links.length < aDirs.length) p.push(`${res2.links.length} links for ${aDirs.length} runs`);
        for (const l of res2.links) {
          const abs = resolve(g.work, l.link);
          if (dirname(abs) !== dir) p.push(`link ${abs} is outside ${dir}`);
          else if (!isLink(abs)) p.push(`${abs} is not a symlink`);
          else {
            const target = resolve(dirname(abs), await readlink(abs));
            if (!target.startsWith(join(g.work, '.rx/fetched/esc-a') + '/')) p.push(`${abs} points outside the fetched files: ${target}`);
          }
        }
      }
      const allowed = ['work/', 'origin.git/', 'links2/', 'links3/', 'out it'];
      const strays = listTree(g.root).filter(f => f.includes('/') && !allowed.some(a => f.startsWith(a)));
      if (strays.length) p.push(`files outside the link directory: ${strays.slice(0, 3).join(', ')}`);
      await count(`rx link --namer ${JSON.stringify(namer)} with hostile values`, p);
    }
  }

  // Known finding "long flat names": a job-made file whose flat fetched name is over 255 bytes.
  {
    const r = await rxa(['fetch', 'long/*', '--sweep', 'esc-d', '--json'], { cwd: g.work, env, timeoutSec: 120 });
    const res = parseJson<{ files: { path: string; local: string }[] }>(r.stdout);
    const p: string[] = [];
    if (r.exitCode !== 0 || !res) p.push(`rx fetch failed: exit ${r.exitCode ?? r.signal}: ${first(r.stderr)}`);
    else {
      const got = res.files.filter(f => f.path === `long/${LONG_NAME}`);
      if (got.length !== 1) p.push(`fetched ${got.length}× (want 1)`);
      for (const f of got) {
        const abs = resolve(g.work, f.local);
        if (Buffer.byteLength(basename(abs)) > 255 || (await readText(abs)) !== 'x') p.push(`local file ${basename(abs).slice(0, 60)}… is not the job's file`);
      }
    }
    await count('[known: long flat names] fetch of a job-made file whose flat name is over 255 bytes', p);
  }
  // Known finding "fetch symlink loops": a job-made symlink to its own parent, fetched with `**`.
  {
    const r = await rxa(['fetch', 'loop/**', '--sweep', 'esc-d', '--json'], { cwd: g.work, env, timeoutSec: 60 });
    const res = parseJson<{ files: { path: string }[] }>(r.stdout);
    const p: string[] = [];
    if (r.signal === 'SIGKILL') p.push('rx fetch did not finish within 60 s');
    else if (r.exitCode === 70 || stackTrace(r.stderr)) p.push(`internal error: ${first(r.stderr)}`);
    if (res) {
      if (!res.files.some(f => f.path === 'loop/f')) p.push('loop/f was not fetched');
      const deepest = Math.max(0, ...res.files.map(f => f.path.split('/').length));
      if (deepest > 8) p.push(`followed the loop ${deepest} directories deep (${res.files.length} files)`);
    }
    const mirror = listTree(join(g.work, '.rx/fetched/esc-d')).length;
    if (mirror > 500) p.push(`${mirror} entries in the fetched directory`);
    await count('[known: fetch symlink loops] fetch of loop/** where loop/up -> ..', p);
  }
  // A parameter named __proto__ (JSON sweep file): refused, or kept as an ordinary parameter.
  {
    const f = join(g.root, 'esc-p.json');
    await writeFile(f, `{"name": "esc-p", "branch": "main", "patcher": {"type": "json", "file": "params.json", "add": true}, "points": [{"__proto__": {"polluted": "yes"}, "label": "p"}]}`);
    const r = await rxa(['submit', '--sweep', f, '--json'], { cwd: g.work, env });
    const rec = (parseJson<Rec[]>(r.stdout) ?? [])[0];
    const p: string[] = [];
    if (r.exitCode === 0) {
      const point = rec?.dir ? JSON.parse((await readText(join(rec.dir, '.rx/point.json'))) ?? '{}') as { params?: Json } : {};
      const file = rec?.dir ? JSON.parse((await readText(join(rec.dir, 'params.json'))) ?? '{}') as Json : {};
      if (!point.params || !Object.hasOwn(point.params, '__proto__') || JSON.stringify(point.params.__proto__) !== '{"polluted":"yes"}') p.push(`.rx/point.json params read back as ${JSON.stringify(point.params)} (the __proto__ parameter is lost or became a prototype)`);
      if (!Object.hasOwn(file, '__proto__')) p.push(`params.json reads back ${JSON.stringify(file)}`);
    } else if (r.exitCode !== 2 || stackTrace(r.stderr)) p.push(`exit ${r.exitCode}: ${first(r.stderr)}`);
    await count('[known: __proto__ params] a parameter named __proto__', p);
  }
  // Hand-written ledger lines (version 2 lines carry no checksum) with shell text in a job id.
  {
    const f = join(g.root, 'esc-l.json');
    await writeFile(f, JSON.stringify({ name: 'esc-l', branch: 'main', dimensions: { label: ['l'] }, patcher: { type: 'keyvalue', file: 'params.sh' } }));
    await rxa(['submit', '--sweep', f], { cwd: g.work, env });
    await settled(g.work, env, 'esc-l');
    const ledgerFile = join(g.work, '.rx/sweeps/esc-l/ledger.jsonl');
    const original = await readFile(ledgerFile, 'utf8');
    for (const [what, rec, mustRefuse] of [
      ['job id', { v: 2, t: 'job', at: new Date().toISOString(), key: '1', jobId: `7$(touch ${M}/pwned-l1)`, attempt: 2, scheduler: 'shell' }, true],
      ['job id (slurm)', { v: 2, t: 'job', at: new Date().toISOString(), key: '1', jobId: `7;touch ${M}/pwned-l2`, attempt: 2, scheduler: 'slurm' }, true],
      ['run directory', { v: 2, t: 'dir', at: new Date().toISOString(), key: '1', dir: `/tmp/x'$(touch ${M}/pwned-l3)'`, remote: 'local' }, false],
    ] as const) {
      await writeFile(ledgerFile, original + JSON.stringify(rec) + '\n');
      const p: string[] = [];
      for (const args of [['status', '--sweep', 'esc-l'], ['cancel', '--sweep', 'esc-l'], ['resubmit', '--failed', '--sweep', 'esc-l'], ['fetch', 'x', '--sweep', 'esc-l']]) {
        const r = await rxa(args, { cwd: g.work, env });
        if (r.exitCode === 0 && mustRefuse) p.push(`rx ${args[0]} accepted the record (exit 0)`);
        if (r.exitCode === 70 || stackTrace(r.stderr)) p.push(`rx ${args[0]}: internal error: ${first(r.stderr)}`);
      }
      const m = markersBelow([M, g.root, home]);
      if (m.length) p.push(`markers: ${m.join(', ')}`);
      await count(`[known: ledger field validation] a hand-written ledger line with shell text in its ${what}`, p);
    }
    await writeFile(ledgerFile, original);
  }

  // A stage-1 run writes a hostile string into its output; stage 2 takes it as a parameter.
  {
    const s1 = join(g.root, 'esc-s1.json');
    await writeFile(s1, JSON.stringify({ name: 'esc-s1', branch: 'main', dimensions: { seed: [1] }, patcher: { type: 'keyvalue', file: 's1.ini' }, remote: { host: 'local', script: 'stage1.sbatch' }, parse: { file: 'result.json', parser: 'json' } }));
    const r1 = await rxa(['submit', '--sweep', s1], { cwd: g.work, env });
    await settled(g.work, env, 'esc-s1');
    const s2 = join(g.root, 'esc-s2.json');
    await writeFile(s2, JSON.stringify({ name: 'esc-s2', branch: 'main', from: { sweep: 'esc-s1', select: { label: 'label' } }, patcher: [{ type: 'keyvalue', file: 'params.sh' }, { type: 'json', file: 'params.json' }] }));
    const r2 = await rxa(['submit', '--sweep', s2, '--json'], { cwd: g.work, env });
    const rec = (parseJson<Rec[]>(r2.stdout) ?? [])[0];
    await settled(g.work, env, 'esc-s2');
    const p: string[] = [];
    if (r1.exitCode !== 0 || r2.exitCode !== 0 || !rec?.dir) p.push(`submits failed: ${r1.exitCode} ${first(r1.stderr)} / ${r2.exitCode} ${first(r2.stderr)}`);
    else {
      for (const s of ['point.json', 'params.json (json)', 'params.sh (keyvalue)', 'params.sh (bash)']) {
        const got = await SINKS[s]!(rec.dir).catch(e => `(error ${(e as Error).message})`);
        if (got !== hostileS1) p.push(`${s} reads back ${JSON.stringify(got)}`);
      }
    }
    const m = markersBelow([M, g.root, home]);
    if (m.length) p.push(`markers: ${m.join(', ')}`);
    await count('stage-1 output with $( ), backticks and quotes becomes a stage-2 parameter', p);
  }

  // Known finding "foreign point.json adoption": a run directory rx did not make, holding a
  // point.json, at the path the ledger chose (crash between choosing names and creating them).
  // Variant 1 forges the point.json; variant 2 copies the commit's own point.json byte for byte
  // (anyone who can read the clone can) and plants its own batch script next to it.
  for (const variant of ['forged point.json', "the commit's own point.json copied"]) {
    const name = variant.startsWith('forged') ? 'esc-f1' : 'esc-f2';
    const f = join(g.root, `${name}.json`);
    await writeFile(f, JSON.stringify({ name, branch: 'main', dimensions: { label: [name] }, patcher: { type: 'keyvalue', file: 'params.sh' } }));
    const crashed = await rxa(['submit', '--sweep', f], { cwd: g.work, env: { ...env, RX_CRASH_AFTER: 'dirs' } });
    const p: string[] = [];
    const ledger = () => [...new Ledger(join(g.work, '.rx/sweeps', name), name).state().points.values()][0];
    const pt = ledger();
    const marker = join(M, `pwned-${name}`);
    if (crashed.signal !== 'SIGKILL' || !pt?.dir || !pt.sha) p.push(`could not stage the attack (signal ${crashed.signal}, dir ${pt?.dir})`);
    else {
      await mkdir(join(pt.dir, '.rx'), { recursive: true });
      const own = await g.git.raw(['show', `${pt.sha}:.rx/point.json`]);
      await writeFile(join(pt.dir, '.rx/point.json'), variant.startsWith('forged') ? JSON.stringify({ sweep: name, params: { label: 'forged' }, hash: '0'.repeat(64), base: pt.base }) : own);
      await writeFile(join(pt.dir, 'run.sbatch'), `#!/bin/bash\ntouch ${marker}\n`);
      await rxa(['submit', '--sweep', f], { cwd: g.work, env });
      await settled(g.work, env, name, 30_000).catch(() => undefined);
      await new Promise(r => setTimeout(r, 500));
      if (existsSync(marker)) p.push('rx submitted a job in a run directory it did not create (the planted run.sbatch ran)');
      const after = ledger();
      const script = await readText(join(pt.dir, 'run.sbatch'));
      if (after?.created && script !== await g.git.raw(['show', `${pt.sha}:run.sbatch`])) p.push(`rx adopted ${pt.dir} as point 1's run directory although its run.sbatch is not the commit's (a planted directory, not made by rx)`);
    }
    await count(`[known: foreign point.json adoption] a planted run directory at the chosen path (${variant})`, p);
  }

  t.diagnostic(`escape attempts (local): ${tried} tried, ${harmless} harmless (${checks} value read-backs)`);
});

test('2b. escape attempts on the Slurm test cluster over ssh', { timeout: 200_000 }, async t => {
  const c = await clusterSession(t, 'rx-adv-esc');
  if (!c) return;
  const tag = `pwned-adv${randomBytes(3).toString('hex')}`;
  t.after(async () => { await runAsCluster(`find ~ -maxdepth 3 -name ${JSON.stringify(`${tag}*`)} -delete 2>/dev/null; true`, { allowFailure: true }); });
  const script = `run it's $(touch\${IFS}${tag}-script) \`x\`.sbatch`;
  const labels = [`$(touch ~/${tag}-l1)`, `\`touch ~/${tag}-l2\``, `'; touch ~/${tag}-l3; '`, `"; touch ~/${tag}-l4; "`, `it's "q" \\ $HOME`, `line\nbreak $(touch ~/${tag}-l5)`, '   padded   ', ''];
  const H = c.info.clusterHome;
  // Job names that would smuggle another option into the #SBATCH line if quoted wrongly (Slurm would then write a marker file).
  const jobNames = ['a b c', "it's", '"dq"', `$(touch ~/${tag}-j1)`, `\`touch ~/${tag}-j2\``, `x;touch ~/${tag}-j3`, 'plain', '#hash', `x --output=${H}/${tag}-j4`, `x" --output="${H}/${tag}-j5`, `x' --output='${H}/${tag}-j6`];
  const g = await gitdir(t, { origin: true, files: { 'params.sh': 'export label=x\n', [script]: RUN_SBATCH }, prefix: 'rx-adv-slurm-' });
  // An identity file whose path holds blanks, quotes, % tokens and something that reads like an ssh option.
  const keyDir = join(c.ssh.home, `keys it's "q" %h`);
  await mkdir(keyDir, { recursive: true });
  const key = join(keyDir, `id -oProxyCommand=touch\${IFS}${tag}-proxy %d`);
  await copyFile(c.ssh.keyPath, key);
  await chmod(key, 0o600);
  const repoPath = `~/${c.dir}/-repo it's $(touch\${IFS}${tag}-repo) \`x\``;
  const outPath = `~/${c.dir}/runs it's $(touch\${IFS}${tag}-out) "q" \`x\` ; y`;
  const onCluster = (p: string) => p.replace(/^~\//, `${c.info.clusterHome}/`);
  const def = {
    name: 'esc-slurm', branch: 'main',
    patcher: [{ type: 'keyvalue', file: 'params.sh', keys: ['label'] }, { type: 'sbatch', file: script, prefix: 'sbatch.' }],
    remote: { host: c.ssh.alias, repo: repoPath, output: outPath, script, identityFile: key, sbatchArgs: ['--time=2', `--comment=$(touch ~/${tag}-s1); touch ~/${tag}-s2 \`touch ~/${tag}-s3\``] },
  };
  const values = jobNames.map((j, i) => JSON.stringify([labels[i] ?? `plain ${i}`, j]));
  const { recs, refused, r } = await submitValues(g, c.env, join(g.root, 'esc-slurm.json'), def, values, v => { const [l, j] = JSON.parse(v) as [string, string]; return { label: l, 'sbatch.job-name': j }; });
  let tried = 0;
  let harmless = 0;
  const count = async (name: string, problems: string[]) => { tried++; if (await attempt(t, name, problems)) harmless++; };
  const rows = r.exitCode === 0 ? await settled(g.work, c.env, 'esc-slurm', 120_000).catch(() => [] as Row[]) : [];
  const cm = await clusterMarkers(tag);
  const lm = markersBelow([g.root, c.ssh.home], new RegExp(`^${tag}`));
  const base = r.exitCode === 0 ? [] : [`rx submit failed: exit ${r.exitCode}: ${first(r.stderr)}`];
  for (const v of values) {
    const [label, jn] = JSON.parse(v) as [string, string];
    const p = [...base];
    if (refused.has(v)) { await count(`slurm: label ${JSON.stringify(label)} / job name ${JSON.stringify(jn)} (refused: harmless)`, cm.length ? [`markers ${cm.join(', ')}`] : []); continue; }
    const rec = recs.find(x => x.params.label === label);
    if (!rec?.dir) p.push(`no run directory: ${rec?.status}`);
    else {
      const d = onCluster(rec.dir);
      const sh = await readText(join(d, 'params.sh'));
      if (sh === null || parsers.keyvalue(sh, { file: 'params.sh' }).label !== label) p.push(`params.sh reads back ${JSON.stringify(sh)}`);
      const out = await readText(join(d, 'label.out'));
      if (out !== label) p.push(`bash on the cluster reads back ${JSON.stringify(out)} (state ${rows.find(x => x.key === rec.key)?.state})`);
      const sb = await readText(join(d, script));
      const parsed = sb === null ? null : parsers.sbatch(sb, { file: 'run.sbatch' })['job-name'];
      if (parsed !== jn) p.push(`#SBATCH --job-name reads back ${JSON.stringify(parsed)} with rx's parser`);
      if (rec.jobId) {
        const q = await runAsCluster(`scontrol show job -o ${rec.jobId} 2>/dev/null || true; sacct -n -P -X -j ${rec.jobId} -o JobName 2>/dev/null | head -1`, { allowFailure: true });
        const sacctName = q.stdout.trim().split('\n').pop() ?? '';
        const scName = /JobName=(.*?) UserId=/.exec(q.stdout)?.[1];
        if ((scName ?? sacctName) !== jn) p.push(`Slurm's job name is ${JSON.stringify(scName ?? sacctName)}`);
      }
    }
    const mine = cm.filter(f => [label, jn].some(x => { const m = new RegExp(`${tag}-[a-z]+\\d`).exec(f); return m && x.includes(m[0]); }));
    if (mine.length) p.push(`markers on the cluster: ${mine.join(', ')}`);
    // keyvalue shell quoting is a known finding being fixed: a label bash reads back differently fails here.
    await count(`slurm: label ${JSON.stringify(label)} / job name ${JSON.stringify(jn)}`, p);
  }
  const pathProblems = (what: RegExp) => [...base, ...cm.filter(f => what.test(f)).map(f => `marker ${f}`), ...lm.map(f => `local marker ${f}`)];
  await count('slurm: remote.repo with a leading -, quotes, $( ) and backticks', pathProblems(/-repo$/));
  await count('slurm: remote.output with quotes, $( ), backticks and ;', [...pathProblems(/-out$/), ...(recs[0]?.dir?.startsWith(outPath + '/') ? [] : [`run dir ${recs[0]?.dir}`])]);
  await count('slurm: remote.script named with quotes, $( ) and backticks', pathProblems(/-script$/));
  await count('slurm: sbatchArgs with $( ), ; and backticks', pathProblems(/-s\d$/));
  // rx fetch over ssh: rsync's OpenSSH gets the hostile identity file; remote paths with quotes; hostile names.
  {
    const fr = await rxa(['fetch', 'out/*', '--sweep', 'esc-slurm', '--json'], { cwd: g.work, env: c.env });
    const res = parseJson<{ files: { path: string; local: string }[] }>(fr.stdout);
    const p = [...base];
    if (fr.exitCode !== 0 || !res) p.push(`rx fetch failed: exit ${fr.exitCode}: ${first(fr.stderr)}`);
    else {
      const made = recs.filter(x => x.dir).length;
      for (const n of JOB_NAMES) if (res.files.filter(f => f.path === `out/${n}`).length !== made) p.push(`out/${JSON.stringify(n)} fetched ${res.files.filter(f => f.path === `out/${n}`).length}× for ${made} runs`);
      for (const f of res.files) if (!resolve(g.work, f.local).startsWith(join(g.work, '.rx/fetched/esc-slurm') + '/')) p.push(`fetched outside the destination: ${f.local}`);
    }
    const lm2 = markersBelow([g.root, c.ssh.home], new RegExp(`^${tag}`));
    if (lm2.length) p.push(`local markers (ssh option injection through the identity file?): ${lm2.join(', ')}`);
    await count('slurm: rx fetch with an identity file path holding quotes, % and -oProxyCommand', p);
  }
  // remote.origin: what the cluster clones from must never run anything.
  for (const [i, origin] of [`ext::sh -c touch% ~/${tag}-o1`, `--upload-pack=touch ~/${tag}-o2`, `/nonexistent'; touch ~/${tag}-o3; '`, `$(touch ~/${tag}-o4)`].entries()) {
    const f = join(g.root, `esc-o${i}.json`);
    await writeFile(f, JSON.stringify({ name: `esc-o${i}`, branch: 'main', dimensions: { label: ['o'] }, patcher: { type: 'keyvalue', file: 'params.sh' }, remote: { host: c.ssh.alias, repo: `~/${c.dir}/repo-o${i}`, output: `~/${c.dir}/runs-o${i}`, origin, script } }));
    const or = await rxa(['submit', '--sweep', f], { cwd: g.work, env: c.env });
    const p: string[] = [];
    if (or.exitCode === 0) p.push('the cluster cloned from it');
    if (or.exitCode === 70 || stackTrace(or.stderr)) p.push(`internal error: ${first(or.stderr)}`);
    const m = (await clusterMarkers(tag)).filter(x => x.endsWith(`-o${i + 1}`));
    if (m.length) p.push(`markers on the cluster: ${m.join(', ')}`);
    await count(`slurm: remote.origin ${JSON.stringify(origin.replace(tag, 'TAG'))}`, p);
  }
  t.diagnostic(`escape attempts (slurm over ssh): ${tried} tried, ${harmless} harmless`);
});

// -------------------------------------------------------------------------------------------------
// 3. Crash points and concurrent submits

const CRASH_POINTS = ['plan', 'commit', 'push', 'dirs', 'connect', 'create-1', 'create', 'clean', 'submit-1', 'submit'];
const CRASH_FILES = { 'inlist': "&controls\n  x = 0\n/\n", 'run.sbatch': '#!/bin/bash\n#SBATCH --time=00:01:00\necho ran >> ran.txt\n' };

interface CrashCheck { points: number; jobs: number; duplicates: string[] }

/** One job per point, one run dir per point, nothing half-made: from the ledger, the disk/cluster and the scheduler. */
async function checkSweep(work: string, name: string, jobsByDir: Map<string, string[] | Set<string>>, dirsOnTarget: string[]): Promise<CrashCheck> {
  const st = new Ledger(join(work, '.rx/sweeps', name), name).state();
  const dup: string[] = [];
  const base = (d: string) => d.split('/').pop()!;
  const pts = [...st.points.values()];
  for (const p of pts) {
    if (p.jobs.length !== 1) dup.push(`point ${p.key}: ${p.jobs.length} jobs in the ledger`);
    if (!p.dir) { dup.push(`point ${p.key}: no run directory`); continue; }
    const ids = [...(jobsByDir.get(base(p.dir)) ?? [])];
    if (ids.length !== 1) dup.push(`point ${p.key}: the scheduler has ${ids.length} jobs for ${base(p.dir)} (${ids.join(',')})`);
  }
  const mine = dirsOnTarget.filter(d => d.startsWith(`${name}_`));
  if (mine.length !== pts.length) dup.push(`${mine.length} run directories for ${pts.length} points: ${mine.join(' ')}`);
  const partial = dirsOnTarget.filter(d => d.includes('rx-partial') && d.startsWith(name));
  if (partial.length) dup.push(`scratch directories left: ${partial.join(' ')}`);
  if (new Set(pts.map(p => p.dir)).size !== pts.length) dup.push('two points share a run directory');
  return { points: pts.length, jobs: pts.reduce((n, p) => n + p.jobs.length, 0), duplicates: dup };
}

const byBase = (m: Map<string, string[] | Set<string>>) => new Map([...m].map(([d, ids]) => [d.split('/').pop()!, ids]));

async function crashGroup(t: TestContext, where: string, g: GitDir, env: Record<string, string>, sweepFile: (name: string) => Promise<string>, observe: () => Promise<{ jobs: Map<string, string[] | Set<string>>; dirs: string[] }>, opts: { rollbacks: string[]; concurrent: (string | null)[] }): Promise<void> {
  let tried = 0;
  let clean = 0;
  let duplicates = 0;
  const sweeps: { name: string; label: string; problems: string[] }[] = [];
  for (const at of CRASH_POINTS) {
    const name = `crash-${at}`;
    const f = await sweepFile(name);
    const crashed = await rxa(['submit', '--sweep', f], { cwd: g.work, env: { ...env, RX_CRASH_AFTER: at } });
    const again = await rxa(['submit', '--sweep', f, '--json'], { cwd: g.work, env });
    const problems: string[] = [];
    if (crashed.signal !== 'SIGKILL') problems.push(`did not crash at ${at} (exit ${crashed.exitCode}): ${first(crashed.stderr)}`);
    if (again.exitCode !== 0) problems.push(`re-run: exit ${again.exitCode}: ${first(again.stderr)}`);
    sweeps.push({ name, label: `${where}: SIGKILL after ${at}, then rx submit again`, problems });
  }
  // Known finding "ledger rollback reconcile": the ledger goes back in time (restored from a backup or
  // a snapshot of an NFS home) after the submission finished; the same command again must
  // recognise the commits, run directories and jobs that exist, never make or submit them twice.
  for (const at of opts.rollbacks) {
    const name = `rollback-${at}`;
    const f = await sweepFile(name);
    const ledgerFile = join(g.work, '.rx/sweeps', name, 'ledger.jsonl');
    const crashed = await rxa(['submit', '--sweep', f], { cwd: g.work, env: { ...env, RX_CRASH_AFTER: at } });
    const saved = await readText(ledgerFile);
    const done = await rxa(['submit', '--sweep', f], { cwd: g.work, env });
    const problems: string[] = [];
    if (crashed.signal !== 'SIGKILL' || saved === null) problems.push(`could not stage (signal ${crashed.signal})`);
    else {
      await writeFile(ledgerFile, saved);
      const again = await rxa(['submit', '--sweep', f], { cwd: g.work, env });
      if (done.exitCode !== 0) problems.push(`finishing run: exit ${done.exitCode}: ${first(done.stderr)}`);
      if (again.exitCode !== 0 && again.exitCode !== 5) problems.push(`after the rollback: exit ${again.exitCode ?? again.signal}: ${first(again.stderr)}`);
    }
    sweeps.push({ name, label: `${where}: [known: ledger rollback reconcile] ledger rolled back to just after ${at} once the submission had finished, then rx submit again`, problems });
  }
  // Three rx submit of one sweep at once (the losers may be refused with exit 5 while the winner holds the lock);
  // then the same after a crash while run directories were being made. A final plain re-run finishes.
  for (const crashAt of opts.concurrent) {
    const name = `conc-${crashAt ?? 'fresh'}`;
    const f = await sweepFile(name);
    const problems: string[] = [];
    if (crashAt) {
      const crashed = await rxa(['submit', '--sweep', f], { cwd: g.work, env: { ...env, RX_CRASH_AFTER: crashAt } });
      if (crashed.signal !== 'SIGKILL') problems.push(`did not crash at ${crashAt}`);
    }
    const three = await Promise.all([0, 1, 2].map(() => rxa(['submit', '--sweep', f], { cwd: g.work, env })));
    for (const r of three) if (r.exitCode !== 0 && r.exitCode !== 5) problems.push(`a concurrent submit ended with exit ${r.exitCode ?? r.signal}: ${first(r.stderr)}`);
    const fin = await rxa(['submit', '--sweep', f], { cwd: g.work, env });
    if (fin.exitCode !== 0) problems.push(`final re-run: exit ${fin.exitCode}: ${first(fin.stderr)}`);
    sweeps.push({ name, label: `${where}: 3 concurrent rx submit of one sweep${crashAt ? ` after a crash at ${crashAt}` : ''} (exits ${three.map(r => r.exitCode).join(',')})`, problems });
  }
  const seen = await observe();
  const jobs = byBase(seen.jobs);
  for (const s of sweeps) {
    const ck = await checkSweep(g.work, s.name, jobs, seen.dirs);
    duplicates += ck.duplicates.length;
    tried++;
    if (await attempt(t, s.label, [...s.problems, ...ck.duplicates])) clean++;
  }
  t.diagnostic(`crash points (${where}): ${CRASH_POINTS.length} crash points + ${opts.rollbacks.length} ledger rollbacks + ${opts.concurrent.length} concurrent runs tried, ${clean}/${tried} ended with exactly one job per point, ${duplicates} duplicates or gaps found`);
}

test('3a. crash points and concurrent submits on the embedded default', { timeout: 180_000 }, async t => {
  const home = await privateHome(t);
  const g = await gitdir(t, { origin: true, files: CRASH_FILES, prefix: 'rx-adv-crash-' });
  const env = { HOME: home, SSH_AUTH_SOCK: '' };
  await crashGroup(t, 'local', g, env, async name => {
    const f = join(g.root, `${name}.json`);
    await writeFile(f, JSON.stringify({ name, branch: 'main', dimensions: { x: [1, 2, 3] }, patcher: { type: 'mesa', file: 'inlist' } }));
    return f;
  }, async () => {
    // Let the detached creators/submitters that outlived a SIGKILL finish before counting.
    await new Promise(r => setTimeout(r, 1500));
    const runs = join(g.work, '.rx/runs');
    return { jobs: shellJobsByDir(home), dirs: existsSync(runs) ? (await readdir(runs)).filter(n => !n.startsWith('.')) : [] };
  }, { rollbacks: ['plan', 'dirs', 'submit-1'], concurrent: [null, 'create-1', 'submit-1'] });
});

test('3b. crash points and concurrent submits on Slurm over ssh', { timeout: 240_000 }, async t => {
  const c: ClusterSession | null = await clusterSession(t, 'rx-adv-crash');
  if (!c) return;
  const g = await gitdir(t, { origin: true, files: CRASH_FILES, prefix: 'rx-adv-crash-slurm-' });
  const runs = `${c.info.clusterHome}/${c.dir}/runs`;
  await crashGroup(t, 'slurm', g, c.env, async name => {
    const f = join(g.root, `${name}.json`);
    await writeFile(f, JSON.stringify({ name, branch: 'main', dimensions: { x: [1, 2, 3] }, patcher: { type: 'mesa', file: 'inlist' }, remote: c.remote({ sbatchArgs: ['--time=1'] }) }));
    return f;
  }, async () => {
    await new Promise(r => setTimeout(r, 2000));
    const ls = await runAsCluster(`ls -A ~/${c.dir}/runs 2>/dev/null; true`, { allowFailure: true });
    const jobs = await slurmJobsByDir(runs);
    return { jobs: new Map([...jobs].map(([d, s]) => [d, [...s]])), dirs: ls.stdout.split('\n').filter(n => n && !n.startsWith('.')) };
  }, { rollbacks: ['dirs'], concurrent: [null, 'submit-1'] });
  // The refs are complete and no temporary branch is left anywhere.
  assert.equal((await refs(join(g.work, '.git'), 'refs/heads/rx/')).size, 0);
  assert.equal((await refs(g.origin!, 'refs/heads/rx/')).size, 0);
});
