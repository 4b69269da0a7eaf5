// Reconciling a ledger with the target (pure), the create and survey scripts run for real with
// local bash in temp dirs, OpenSSH's identity-file permission rule, and the UNKNOWN job id.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/proc.ts';
import { fold, type LedgerEvent } from '../../src/ledger/ledger.ts';
import { createDirsScript, surveyScript } from '../../src/remote/scripts.ts';
import { slurm } from '../../src/remote/scheduler/slurm.ts';
import { shellScheduler } from '../../src/remote/scheduler/shell.ts';
import { UNKNOWN_JOB } from '../../src/remote/scheduler/types.ts';
import { parseSurvey, reconcile, type PointDoc, type Survey, type SurveyedEntry } from '../../src/submission/reconcile.ts';
import { unprotectedIdentityFiles } from '../../src/remote/transport/ssh.ts';
import { resolveSshSettings } from '../../src/remote/transport/sshconfig.ts';
import { paramHash } from '../../src/sweep/hash.ts';

const roots: string[] = [];
after(async () => { for (const r of roots) await rm(r, { recursive: true, force: true }); });
const tmp = async () => { const d = await mkdtemp(join(tmpdir(), 'rx-harden-')); roots.push(d); return d; };

// ---------------------------------------------------------------------------------------------
// reconcile (pure)

const BASE = 'b'.repeat(40);
const sha = (c: string) => c.repeat(40);
const OUT = '~/runs';
const REMOTE = { host: 'cl', repo: '~/repo', output: OUT, script: 'run.sbatch', scheduler: 'slurm', label: 'cl' } as const;
const doc = (x: number, extra: Partial<PointDoc> = {}): PointDoc => ({ sweep: 's', params: { x }, hash: paramHash({ x }), base: BASE, repeat: 0, ...extra });
const at = '2026-01-01T00:00:00.000Z';
const name = (c: string) => `s_time_2026_01_01_00_00_00_sha_${c.repeat(7)}`;
const entry = (c: string, d: PointDoc | null, more: Partial<SurveyedEntry> = {}): SurveyedEntry => ({ name: name(c), dir: `${OUT}/${name(c)}`, kind: 'dir', ran: false, pj: d ? `pj${c}` : null, doc: d, commit: sha(c), commitPj: d ? `pj${c}` : null, ...more });
const survey = (entries: SurveyedEntry[], more: Partial<Survey> = {}): Survey => ({ clone: true, root: '/home/u/runs', refs: new Map(), entries, subjects: new Map(), markers: new Map(), jobs: [], ...more });
const sweepRec: LedgerEvent = { t: 'sweep', at, name: 's', file: '/s.json', branch: 'main', base: BASE, definition: {}, functions: [], remote: REMOTE as never };
const planned = (key: string, x: number, c: string, extra: LedgerEvent[] = []): LedgerEvent[] => [
  { t: 'point', at, key, params: { x }, varied: { x }, hash: paramHash({ x }), base: BASE, repeat: 0 },
  { t: 'commit', at, key, sha: sha(c), ref: `refs/rx/s/${key}`, branch: `refs/heads/rx/s/${key}` },
  ...extra,
];
const done = (key: string, c: string, job: string): LedgerEvent[] => [
  { t: 'pushed', at, keys: [key] }, { t: 'dir', at, key, dir: `${OUT}/${name(c)}`, remote: 'cl' }, { t: 'created', at, keys: [key] }, { t: 'cleaned', at, keys: [key] },
  { t: 'job', at, key, jobId: job, attempt: 1, scheduler: 'slurm' },
];
const input = (events: LedgerEvent[], s: Survey, more: Partial<Parameters<typeof reconcile>[0]> = {}) => ({
  sweep: 's', state: fold('s', events), survey: s, localRefs: new Map<string, string>(), localDocs: new Map<string, PointDoc>(), outputRoot: OUT, label: 'cl', scheduler: slurm, varied: (d: PointDoc) => d.params, ...more,
});
/** The ledger after appending: fold validates what the records say (a run dir named after its point's commit). */
const after2 = (events: LedgerEvent[], r: ReturnType<typeof reconcile>) => fold('s', [...events, ...r.events]);

test('reconcile: a rolled-back ledger recovers the forgotten points under their own numbers, with run dir and job (marker, then the scheduler by work dir)', () => {
  const ledger = [sweepRec, ...planned('1', 1, 'a'), ...done('1', 'a', '11')];
  const s = survey([entry('c', doc(3)), entry('d', doc(4))], {
    subjects: new Map([[sha('c'), 'rx: s point 3'], [sha('d'), 'rx: s point 4']]),
    markers: new Map([[slurm.markerName(`${OUT}/${name('c')}`), '33']]),
    jobs: [{ jobId: '44', workdir: `/home/u/runs/${name('d')}` }, { jobId: '99', workdir: '/elsewhere' }],
  });
  const r = reconcile(input(ledger, s));
  assert.deepEqual(r.recovered, ['3', '4']);
  const st = after2(ledger, r);
  assert.deepEqual([...st.points.keys()], ['1', '3', '4']);
  assert.deepEqual(st.points.get('3')!.jobs.map(j => j.jobId), ['33']);
  assert.deepEqual(st.points.get('4')!.jobs.map(j => j.jobId), ['44']);
  assert.equal(st.points.get('4')!.dir, `${OUT}/${name('d')}`);
  assert.ok(st.points.get('4')!.created && st.points.get('4')!.pushed);
  assert.deepEqual([...r.refsToCreate], [['3', sha('c')], ['4', sha('d')]]);
});

test('reconcile: a point the ledger planned (commit, run dir named, never made) takes the existing run dir of the same experiment', () => {
  const ledger = [sweepRec, ...planned('1', 1, 'a', [{ t: 'pushed', at, keys: ['1'] }, { t: 'dir', at, key: '1', dir: `${OUT}/s_time_2026_01_02_00_00_00_sha_aaaaaaa`, remote: 'cl' }])];
  const r = reconcile(input(ledger, survey([entry('a', doc(1), { ran: true })], { markers: new Map([[slurm.markerName(`${OUT}/${name('a')}`), '7']]) })));
  const p = after2(ledger, r).points.get('1')!;
  assert.equal(p.dir, `${OUT}/${name('a')}`);
  assert.deepEqual(p.jobs.map(j => j.jobId), ['7']);
  assert.deepEqual(r.adopted, ['1']);
});

test('reconcile: duplicates, foreign entries, another commit and unplanned experiments are reported, never adopted', () => {
  const ledger = [sweepRec, ...planned('1', 1, 'a')];
  const s = survey([
    entry('a', doc(1), { name: 's_time_2026_01_01_00_00_05_sha_aaaaaaa', dir: `${OUT}/s_time_2026_01_01_00_00_05_sha_aaaaaaa` }),
    entry('a', doc(1)),
    entry('e', doc(1), { commit: sha('e') }), // same point, another commit
    entry('f', null, { kind: 'symlink' }),
    entry('9', null, { docError: "no 'sweep'" }),
    entry('8', doc(8, { sweep: 'other' })),
    entry('7', doc(7)),
  ]);
  const r = reconcile(input(ledger, s, { wanted: d => d.params.x !== 7 }));
  const kinds = r.findings.map(f => f.kind).sort();
  assert.deepEqual(kinds, ['adopted', 'duplicate', 'duplicate', 'foreign', 'foreign', 'foreign', 'unplanned']);
  const p = after2(ledger, r).points.get('1')!;
  assert.equal(p.dir, `${OUT}/${name('a')}`, 'the oldest run dir of its commit');
  assert.deepEqual(r.recovered, []);
});

test('reconcile: a run dir that ran, with no marker and no job the scheduler knows, is recorded as UNKNOWN', () => {
  const r = reconcile(input([sweepRec], survey([entry('c', doc(3), { ran: true })], { subjects: new Map([[sha('c'), 'rx: s point 5']]) })));
  const p = after2([sweepRec], r).points.get('5')!;
  assert.deepEqual(p.jobs.map(j => j.jobId), [UNKNOWN_JOB]);
  assert.equal(p.status?.state, 'UNKNOWN');
  assert.ok(r.findings.some(f => f.kind === 'unknown-job'));
  // Not ran: no job; rx submit then submits it.
  const r2 = reconcile(input([sweepRec], survey([entry('c', doc(3))])));
  assert.deepEqual(after2([sweepRec], r2).points.get('1')!.jobs, []);
});

test('parseSurvey: lines → entries, refs, subjects, markers, jobs; a hand-made point.json is not a point', () => {
  const d = doc(2);
  const s = parseSurvey([
    'RXCLONE 1', `RXREF refs/rx/s/2 ${sha('c')}`, 'RXROOT /home/u/runs',
    `RXRUN dir 1 pjc ${name('c')}`, `RXDOC ${JSON.stringify(d)}`,
    `RXRUN dir 0 pjx ${name('d')}`, 'RXDOC {}',
    `RXRUN symlink 0 - ${name('e')}`,
    `RXOBJ ${name('c')} commit ${sha('c')}`, `RXOBJ ${name('c')} pj pjc`,
    `RXSUBJ ${sha('c')} rx: s point 2`, 'RXMARK a.jobid 12', 'RXSJOB 13 /home/u/runs/x y', 'noise',
  ].join('\n'), OUT);
  assert.equal(s.root, '/home/u/runs');
  assert.deepEqual([...s.refs], [['2', sha('c')]]);
  assert.deepEqual(s.entries.map(e => [e.kind, e.ran, e.doc?.hash ?? e.docError ?? null, e.commit]), [['dir', true, d.hash, sha('c')], ['dir', false, "no 'sweep'", null], ['symlink', false, null, null]]);
  assert.equal(s.entries[0]!.dir, `${OUT}/${name('c')}`);
  assert.deepEqual(s.jobs, [{ jobId: '13', workdir: '/home/u/runs/x y' }]);
  assert.equal(s.markers.get('a.jobid'), '12');
});

// ---------------------------------------------------------------------------------------------
// the create and survey scripts, for real

async function repoWithPoint(): Promise<{ repo: string; sha: string; other: string }> {
  const repo = await tmp();
  const g = (...a: string[]) => run(['git', '-c', 'user.name=t', '-c', 'user.email=t@t', ...a], { cwd: repo });
  await g('init', '-q', '-b', 'main');
  await mkdir(join(repo, '.rx'));
  await writeFile(join(repo, 'run.sbatch'), '#!/bin/bash\n');
  await writeFile(join(repo, '.rx/point.json'), JSON.stringify(doc(1), null, 2) + '\n');
  await g('add', '-A', '-f');
  await g('commit', '-q', '-m', 'rx: s point 1');
  const first = (await g('rev-parse', 'HEAD')).stdout.trim();
  await writeFile(join(repo, '.rx/point.json'), JSON.stringify(doc(2), null, 2) + '\n');
  await g('commit', '-q', '-am', 'rx: s point 2');
  const other = (await g('rev-parse', 'HEAD')).stdout.trim();
  return { repo, sha: first, other };
}

const bash = async (script: string, cwd: string) => (await run(['bash', '-s'], { input: script, cwd, allowFailure: true })).stdout;

test('create script: adopts only a real dir holding the point\'s own .rx/point.json; a symlink, a file, a foreign or another point\'s dir is refused with --new-dirs advice', async () => {
  const { repo, sha: c, other } = await repoWithPoint();
  const out = await tmp();
  const sd = join(out, '.rx-jobs');
  const mk = (dirs: { key: string; dir: string; sha?: string }[]) => bash(createDirsScript({ repo, fetchUrl: null, sweep: 's', dirs: dirs.map(d => ({ key: d.key, sha: d.sha ?? c, dir: d.dir })), stateDir: sd, script: 'run.sbatch', branches: [] }), out);
  const made = await mk([{ key: '1', dir: join(out, 'good') }]);
  assert.match(made, /^RXDIR 1$/m);
  const elsewhere = join(out, 'elsewhere');
  await mkdir(join(elsewhere, '.rx'), { recursive: true });
  await writeFile(join(elsewhere, '.rx/point.json'), '{}');
  await symlink(elsewhere, join(out, 'link'));
  await writeFile(join(out, 'file'), 'x');
  await mkdir(join(out, 'bare'));
  const lines = await mk([
    { key: '1', dir: join(out, 'good') },
    { key: '2', dir: join(out, 'link') },
    { key: '3', dir: join(out, 'file') },
    { key: '4', dir: elsewhere },
    { key: '5', dir: join(out, 'bare') },
    { key: '6', dir: join(out, 'good'), sha: other },
  ]);
  assert.match(lines, /^RXDIR 1$/m);
  assert.match(lines, /^RXERR 2 .* is a symbolic link, not a run directory rx made: .*rx submit --new-dirs/m);
  assert.match(lines, /^RXERR 3 .* exists and is not a directory/m);
  assert.match(lines, /^RXERR 4 .* holds another experiment/m);
  assert.match(lines, /^RXERR 5 .* was not made by rx \(no \.rx\/point\.json\)/m);
  assert.match(lines, /^RXERR 6 .* holds another experiment/m);
  // A commit that is not there: the real cause, not just "cannot create".
  const bad = await mk([{ key: '7', dir: join(out, 'new'), sha: 'f'.repeat(40) }]);
  assert.match(bad, /^RXERR 7 cannot create .* from ffffffffffff: commit f{40} is not in the repository /m);
});

test('survey script + parseSurvey: run dirs, their commit and point, whether a job wrote into them, markers and the shell queue\'s jobs', async () => {
  const { repo, sha: c } = await repoWithPoint();
  const out = await tmp();
  const sd = join(out, '.rx-jobs');
  const dirName = `s_time_2026_01_01_00_00_00_sha_${c.slice(0, 7)}`;
  const dir = join(out, dirName);
  assert.match(await bash(createDirsScript({ repo, fetchUrl: null, sweep: 's', dirs: [{ key: '1', sha: c, dir }], stateDir: sd, script: 'run.sbatch', branches: [] }), out), /RXDIR 1/);
  await writeFile(join(sd, slurm.markerName(dir, 1)), '123\n');
  await writeFile(join(sd, slurm.markerName(dir, 2)), '124\n');
  await symlink('/tmp', join(out, 's_time_2026_01_01_00_00_01_sha_0000000'));
  const q = join(out, 'queue');
  await mkdir(join(q, 'jobs/5'), { recursive: true });
  await writeFile(join(q, 'jobs/5/dir'), '/somewhere');
  const script = surveyScript({ repo, output: out, stateDir: sd, sweep: 's', skip: [], always: true, jobsByDir: shellScheduler({ queueDir: q }).jobsByDir() });
  let s = parseSurvey(await bash(script, out), out);
  assert.equal(s.clone, true);
  const e = s.entries.find(x => x.name === dirName)!;
  assert.equal(e.kind, 'dir');
  assert.equal(e.commit, c);
  assert.equal(e.pj, e.commitPj);
  assert.equal(e.ran, false);
  assert.deepEqual(e.doc, doc(1));
  assert.equal(s.entries.find(x => x.name.endsWith('0000000'))!.kind, 'symlink');
  assert.equal(s.subjects.get(c), 'rx: s point 1');
  assert.equal(s.markers.get(slurm.markerName(dir, 2)), '124');
  assert.deepEqual(s.jobs, [{ jobId: '5', workdir: '/somewhere' }]);
  // A job writes output: the dir "ran". A skipped name is not surveyed.
  await writeFile(join(dir, 'slurm-1.out'), 'hi');
  const future = new Date(Date.now() + 5000);
  await utimes(join(dir, 'slurm-1.out'), future, future);
  s = parseSurvey(await bash(script, out), out);
  assert.equal(s.entries.find(x => x.name === dirName)!.ran, true);
  const skipped = parseSurvey(await bash(surveyScript({ repo, output: out, stateDir: sd, sweep: 's', skip: [dirName], always: false, jobsByDir: slurm.jobsByDir() }), out), out);
  assert.equal(skipped.entries.some(x => x.name === dirName), false);
});

// ---------------------------------------------------------------------------------------------
// identity files and UNKNOWN job ids

test('identity files others can read are found as OpenSSH finds them (owned by me, mode & 077)', async () => {
  const home = await tmp();
  await mkdir(join(home, '.ssh'));
  const key = join(home, '.ssh', 'id_test');
  await writeFile(key, 'not really a key');
  const settings = () => resolveSshSettings({ host: 'h', identityFile: key }, { homeDir: home, configPath: join(home, '.ssh/config'), systemConfigPath: null, localUser: 'u' });
  await chmod(key, 0o644);
  assert.deepEqual(unprotectedIdentityFiles(settings()), [{ file: key, mode: 0o644 }]);
  await chmod(key, 0o640);
  assert.deepEqual(unprotectedIdentityFiles(settings()).map(x => x.mode), [0o640]);
  await chmod(key, 0o600);
  assert.deepEqual(unprotectedIdentityFiles(settings()), []);
  await chmod(key, 0o400);
  assert.deepEqual(unprotectedIdentityFiles(settings()), []);
});

test('status scripts answer UNKNOWN for the UNKNOWN job id instead of refusing it', async () => {
  const script = slurm.statusScript(['12', UNKNOWN_JOB]);
  assert.doesNotThrow(() => slurm.cancelScript([UNKNOWN_JOB, '12']));
  assert.equal(slurm.parseStatus('@@RX squeue\nRXUNKNOWNJOB\n@@RX end\n').get(UNKNOWN_JOB)?.state, 'UNKNOWN');
  assert.match(script, /RXUNKNOWNJOB/);
  const shell = shellScheduler({ queueDir: await tmp() });
  const found = shell.parseStatus(await bash(shell.statusScript([UNKNOWN_JOB]), tmpdir()));
  assert.equal(found.get(UNKNOWN_JOB)?.state, 'UNKNOWN');
  assert.match(found.get(UNKNOWN_JOB)?.reason ?? '', /without its job id/);
});
