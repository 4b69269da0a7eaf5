// A damaged ledger on the embedded default (the real CLI, real git): one damaged sweep is reported
// with its file:line while every healthy sweep is still listed (exit code 5 at the end), and a run
// directory recorded outside the sweep's output root never gets created or a job.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, access, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { gitdir } from '../helpers/gitdir.ts';
import { rx, rxJson, eventually } from '../helpers/rx.ts';
import { encodeRecord, type LedgerEvent } from '../../src/ledger/records.ts';

const quickstart = fileURLToPath(new URL('../../examples/quickstart', import.meta.url));
type Row = { sweep: string; key: string; state: string; dir: string | null; jobId: string | null };

/** A private HOME, so the shell scheduler's queue (~/.rx/shell-queue) is this test's alone. */
async function home(t: TestContext): Promise<Record<string, string>> {
  const h = await mkdtemp(join(tmpdir(), 'rx-home-'));
  t.after(() => rm(h, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 }));
  return { HOME: h };
}

/** The quickstart sweep under another name, with two points. */
async function sweepFile(dir: string, name: string): Promise<string> {
  const f = join(dir, `${name}.json`);
  await writeFile(f, JSON.stringify({ name, branch: 'main', base_config: { n_steps: 5 }, dimensions: { initial_mass: [0.8, 1.5] }, patcher: { type: 'mesa', file: 'inlist' } }));
  return f;
}

const ledgerOf = (work: string, name: string) => join(work, '.rx', 'sweeps', name, 'ledger.jsonl');
const readLines = async (file: string) => (await readFile(file, 'utf8')).split('\n').filter(Boolean);
/** The 1-based line of the first record matching `match`. */
const lineOf = (lines: string[], match: (r: Record<string, unknown>) => boolean) => lines.findIndex(l => match(JSON.parse(l))) + 1;
/** A record re-encoded as rx writes it (so its checksum, if any, is right). */
const reencode = (line: string, change: Record<string, unknown>) => {
  const { v: _v, c: _c, ...rec } = JSON.parse(line) as Record<string, unknown>;
  return encodeRecord({ ...rec, ...change } as LedgerEvent).trimEnd();
};

test('one damaged ledger: rx status, rx sweeps and rx dataset still show the healthy sweep and exit 5 naming the damaged file:line', { timeout: 120_000 }, async t => {
  const env = await home(t);
  const g = await gitdir(t, { origin: true, copy: quickstart });
  for (const name of ['alpha', 'beta']) await rxJson(['submit', '--sweep', await sweepFile(g.root, name)], { cwd: g.work, env });
  await eventually('all 4 jobs COMPLETED', 60_000, async () => {
    const rows = await rxJson<Row[]>(['status'], { cwd: g.work, env });
    return rows.length === 4 && rows.every(r => r.state === 'COMPLETED') ? rows : undefined;
  });
  const file = ledgerOf(g.work, 'beta');
  const pristine = await readLines(file);

  /** Every listing command still shows alpha, leaves beta out, and ends with exit code 5 naming beta's file:line. */
  const check = async (what: string, line: number, why: RegExp) => {
    const named = new RegExp(`sweep 'beta' left out: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:${line}: damaged ledger record: ${why.source}`);
    const status = await rx(['status', '--offline'], { cwd: g.work, env, allowFailure: true });
    assert.equal(status.exitCode, 5, `${what}: rx status: ${status.stderr}`);
    assert.match(status.stderr, named, `${what}: rx status`);
    assert.match(status.stderr, new RegExp(`fix or delete line ${line}`), `${what}: says what to do`);
    const rows = status.stdout.split('\n').filter(l => /^(alpha|beta) /.test(l));
    assert.deepEqual(rows.map(l => l.split(/\s+/)[0]), ['alpha', 'alpha'], `${what}: rx status lists the healthy sweep only:\n${status.stdout}`);

    const json = await rx(['status', '--offline', '--json'], { cwd: g.work, env, allowFailure: true });
    assert.equal(json.exitCode, 5, json.stderr);
    assert.deepEqual((JSON.parse(json.stdout) as Row[]).map(r => `${r.sweep}/${r.key}/${r.state}`), ['alpha/1/COMPLETED', 'alpha/2/COMPLETED']);

    const sweeps = await rx(['sweeps'], { cwd: g.work, env, allowFailure: true });
    assert.equal(sweeps.exitCode, 5, `${what}: rx sweeps: ${sweeps.stderr}`);
    assert.match(sweeps.stderr, named, `${what}: rx sweeps`);
    assert.match(sweeps.stdout, /^alpha +2 +2 /m);
    assert.doesNotMatch(sweeps.stdout, /^beta /m);

    const dataset = await rx(['dataset', '--offline', '--no-fetch', '--json'], { cwd: g.work, env, allowFailure: true });
    assert.equal(dataset.exitCode, 5, `${what}: rx dataset: ${dataset.stderr}`);
    assert.match(dataset.stderr, named, `${what}: rx dataset`);
    assert.deepEqual((JSON.parse(dataset.stdout) as { sweep: string; rows: number }[]).map(d => `${d.sweep}:${d.rows}`), ['alpha:2']);

    // Asked for by name, the damaged sweep is the command's error.
    const alone = await rx(['status', '--offline', '--sweep', 'beta'], { cwd: g.work, env, allowFailure: true });
    assert.equal(alone.exitCode, 5);
    assert.match(alone.stderr, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:${line}: damaged ledger record`));
  };

  // 1. A value changed in place (valid JSON, a valid record): only the line's checksum tells.
  const planned = lineOf(pristine, r => r.t === 'point' && r.key === '2');
  const edited = [...pristine];
  edited[planned - 1] = edited[planned - 1]!.replace('"initial_mass":1.5', '"initial_mass":2.5');
  assert.notEqual(edited[planned - 1], pristine[planned - 1]);
  await writeFile(file, edited.join('\n') + '\n');
  await check('an edited line', planned, /checksum mismatch/);

  // 2. A well-formed record about a point that was never planned.
  const stray = reencode(pristine.find(l => JSON.parse(l).t === 'job')!, { key: '99' });
  await writeFile(file, [...pristine, stray].join('\n') + '\n');
  await check('a record about a point never planned', pristine.length + 1, /a 'job' record about point 99, which was never planned/);

  // Repaired: both sweeps again, exit 0.
  await writeFile(file, pristine.join('\n') + '\n');
  const rows = await rxJson<Row[]>(['status', '--offline'], { cwd: g.work, env });
  assert.deepEqual(rows.map(r => r.sweep), ['alpha', 'alpha', 'beta', 'beta']);
});

test('a run directory recorded outside the output root: the re-run refuses with file:line, creates nothing there and submits no job', { timeout: 120_000 }, async t => {
  const env = await home(t);
  const g = await gitdir(t, { origin: true, copy: quickstart });
  const f = await sweepFile(g.root, 'gamma');
  // Stopped after the run directory names are recorded, before any is made.
  const crashed = await rx(['submit', '--sweep', f], { cwd: g.work, env: { ...env, RX_CRASH_AFTER: 'dirs' }, allowFailure: true });
  assert.equal(crashed.signal, 'SIGKILL');
  const file = ledgerOf(g.work, 'gamma');
  const lines = await readLines(file);
  const at = lineOf(lines, r => r.t === 'dir' && r.key === '1');
  assert.ok(at > 0);
  const recorded = JSON.parse(lines[at - 1]!).dir as string;
  const elsewhere = join(g.root, 'elsewhere', recorded.split('/').pop()!);
  lines[at - 1] = reencode(lines[at - 1]!, { dir: elsewhere });
  await writeFile(file, lines.join('\n') + '\n');

  const again = await rx(['submit', '--sweep', f], { cwd: g.work, env, allowFailure: true });
  assert.equal(again.exitCode, 5, again.stderr);
  assert.match(again.stderr, new RegExp(`ledger\\.jsonl:${at}: damaged ledger record: run directory ".*/elsewhere/gamma_time_[0-9_]+_sha_[0-9a-f]+" is not directly inside the sweep's output root .*/\\.rx/runs`));
  await assert.rejects(access(join(g.root, 'elsewhere')), 'nothing created outside the output root');
  assert.ok(!(await readLines(file)).some(l => JSON.parse(l).t === 'job'), 'no job submitted');
  const runs = await readdir(join(g.work, '.rx', 'runs')).catch(() => [] as string[]);
  assert.deepEqual(runs.filter(d => d.startsWith('gamma_')), [], 'no run directory made at all');
});
