// slurm scheduler: parseStatus against REAL output captured from Slurm 22.05 (test/fixtures/slurm/,
// made by test/fixtures/slurm/capture.ts), and the generated bash run against fake sbatch/squeue/...
// functions with hostile run dirs, args and keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/proc.ts';
import { ConfigError, StateError } from '../../src/errors.ts';
import { markerName, mapSlurmState, parseSlurmDuration, slurm } from '../../src/remote/scheduler/slurm.ts';
import { parseSubmitLine, type JobSpec, type JobStatus } from '../../src/remote/scheduler/types.ts';

const FIX = new URL('../fixtures/slurm/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, FIX), 'utf8');
const scenario = JSON.parse(fixture('scenario.json')) as { ids: Record<string, string>; unknownId: string };
const id = scenario.ids;

function get(m: Map<string, JobStatus>, jobId: string): JobStatus {
  const s = m.get(jobId);
  assert.ok(s, `no status for ${jobId} in ${JSON.stringify([...m.keys()])}`);
  return s;
}

// ---------------------------------------------------------------------------------------------
// parseStatus on real output

test('real: finished jobs (completed, exit 3, killed by signal 9) and a running one', () => {
  const m = slurm.parseStatus(fixture('status-early.txt'));
  assert.deepEqual(get(m, id.ok!), { jobId: id.ok, state: 'COMPLETED', exitCode: 0, signal: 0, start: '2026-11-22T02:17:45Z', end: '2026-11-22T02:17:45Z', elapsedSeconds: 0, reason: null });
  assert.deepEqual(
    { state: get(m, id.fail!).state, exitCode: get(m, id.fail!).exitCode, signal: get(m, id.fail!).signal },
    { state: 'FAILED', exitCode: 3, signal: 0 },
  );
  assert.deepEqual(
    { state: get(m, id.signal!).state, exitCode: get(m, id.signal!).exitCode, signal: get(m, id.signal!).signal },
    { state: 'FAILED', exitCode: 0, signal: 9 },
  );
  const r = get(m, id.timeout!);
  assert.equal(r.state, 'RUNNING');
  assert.equal(r.exitCode, null);
  assert.equal(r.end, null);
  assert.equal(r.start, '2026-11-22T02:17:45Z');
  assert.equal(r.elapsedSeconds, 2);
  assert.equal(m.has(scenario.unknownId), false, 'an id Slurm does not know is left out');
});

test('real: pending (Resources), pending array, running; squeue beats a lagging sacct; TIMEOUT', () => {
  const m = slurm.parseStatus(fixture('status-live.txt'));
  const p = get(m, id.pend!);
  assert.equal(p.state, 'PENDING');
  assert.equal(p.reason, 'Resources');
  assert.equal(p.start, null, "a pending job's StartTime is only an estimate");
  assert.equal(p.exitCode, null);
  // sacct still says PENDING for the running jobs (it lags); squeue is current.
  assert.match(fixture('status-live.txt'), new RegExp(`^${id.run1}\\|PENDING\\|`, 'm'));
  assert.equal(get(m, id.run1!).state, 'RUNNING');
  assert.equal(get(m, id.run2!).state, 'RUNNING');
  const arr = get(m, `${id.array}_[1-3]`);
  assert.equal(arr.state, 'PENDING');
  assert.equal(arr.jobId, `${id.array}_[1-3]`);
  const t = get(m, id.timeout!);
  assert.equal(t.state, 'TIMEOUT');
  assert.equal(t.elapsedSeconds, 72);
  assert.equal(t.end, '2026-11-22T02:18:57Z');
  assert.equal(get(m, id.ok!).state, 'COMPLETED');
  assert.equal(get(m, id.fail!).exitCode, 3);
});

test('real: accounting off (sacct empty): scontrol fills in finished jobs, exit codes and all', () => {
  const out = fixture('status-no-sacct.txt');
  const m = slurm.parseStatus(out);
  assert.deepEqual(get(m, id.ok!), { jobId: id.ok, state: 'COMPLETED', exitCode: 0, signal: 0, start: '2026-11-22T02:17:45Z', end: '2026-11-22T02:17:45Z', elapsedSeconds: 0, reason: null });
  assert.equal(get(m, id.fail!).state, 'FAILED');
  assert.equal(get(m, id.fail!).exitCode, 3);
  assert.equal(get(m, id.fail!).reason, 'NonZeroExitCode');
  assert.equal(get(m, id.signal!).signal, 9);
  const t = get(m, id.timeout!);
  assert.equal(t.state, 'TIMEOUT');
  assert.equal(t.reason, 'TimeLimit');
  assert.equal(t.elapsedSeconds, 72);
  assert.equal(get(m, id.run1!).state, 'RUNNING');
  assert.equal(get(m, id.pend!).state, 'PENDING');
  assert.equal(get(m, `${id.array}_[1-3]`).state, 'PENDING');
  // scontrol was asked only about jobs squeue did not list as live
  assert.ok(!out.includes(`@@RX scontrol ${id.run1}\n`));
  assert.ok(out.includes(`@@RX scontrol ${id.ok}\n`));
});

test('real: just cancelled (squeue COMPLETING, sacct lagging at PENDING) then CANCELLED by <uid>', () => {
  const now = slurm.parseStatus(fixture('status-just-cancelled.txt'));
  assert.equal(get(now, id.run1!).state, 'COMPLETING');
  assert.equal(get(now, id.run1!).exitCode, null);
  assert.equal(get(now, id.pend!).state, 'CANCELLED');

  const later = slurm.parseStatus(fixture('status-cancelled.txt'));
  assert.match(fixture('status-cancelled.txt'), /CANCELLED by \d+/);
  const c = get(later, id.run1!);
  assert.equal(c.state, 'CANCELLED');
  assert.equal(c.exitCode, 0);
  assert.equal(c.end, '2026-11-22T02:19:00Z');
  assert.equal(get(later, id.pend!).state, 'CANCELLED');
  assert.equal(get(later, id.run2!).state, 'RUNNING');
  // array tasks: one started (`17_1`, from squeue and from scontrol's ArrayJobId/ArrayTaskId), the rest pending
  assert.equal(get(later, `${id.array}_1`).state, 'RUNNING');
  assert.equal(get(later, `${id.array}_[2-3]`).state, 'PENDING');
});

// ---------------------------------------------------------------------------------------------
// parseStatus edge cases (synthetic, in the same shapes)

test('parse: CANCELLED by 0, ExitCode 1:0, OUT_OF_MEMORY, array ids, odd lines', () => {
  const out = [
    '@@RX squeue',
    '123_4|RUNNING|2024-01-02T03:04:05|1-02:03:04|None',
    '200|CONFIGURING|2024-01-02T03:04:05|0:00|None',
    '@@RX sacct',
    '100|CANCELLED by 0|0:0|2024-01-02T03:04:05|2024-01-02T03:05:05|60|None',
    '101|FAILED|1:0|2024-01-02T03:04:05|2024-01-02T03:04:06|1|NonZeroExitCode',
    '102|OUT_OF_MEMORY|0:125|2024-01-02T03:04:05|2024-01-02T03:04:06|1|OutOfMemory',
    '123_5|COMPLETED|0:0|2024-01-02T03:04:05|2024-01-02T03:04:06|1|None',
    '124|NEWFANGLED_STATE|0:0|Unknown|Unknown|0|None',
    'garbage without separators',
    '',
    '@@RX scontrol 125',
    'JobId=125 JobName=a JobState=x JobState=RUNNING Command=/p/x JobState=Y.sh',
    '@@RX end',
    '',
  ].join('\r\n');
  const m = slurm.parseStatus(out);
  assert.equal(get(m, '100').state, 'CANCELLED');
  assert.equal(get(m, '101').exitCode, 1);
  assert.equal(get(m, '101').signal, 0);
  assert.equal(get(m, '102').state, 'OUT_OF_MEMORY');
  assert.equal(get(m, '102').signal, 125);
  assert.equal(get(m, '123_4').state, 'RUNNING');
  assert.equal(get(m, '123_4').elapsedSeconds, 86400 + 2 * 3600 + 3 * 60 + 4);
  assert.equal(get(m, '123_5').state, 'COMPLETED');
  assert.equal(get(m, '200').state, 'PENDING');
  assert.equal(get(m, '124').state, 'UNKNOWN');
  assert.equal(m.has('garbage without separators'), false);
  assert.ok(m.has('125'));
  assert.equal(slurm.parseStatus('').size, 0);
});

test('parse helpers: states and durations', () => {
  assert.equal(mapSlurmState('CANCELLED by 1001'), 'CANCELLED');
  assert.equal(mapSlurmState('CANCELLED+'), 'CANCELLED');
  assert.equal(mapSlurmState('CD'), 'COMPLETED');
  assert.equal(mapSlurmState('BOOT_FAIL'), 'NODE_FAIL');
  assert.equal(mapSlurmState('DEADLINE'), 'TIMEOUT');
  assert.equal(mapSlurmState(''), 'UNKNOWN');
  assert.equal(parseSlurmDuration('0:02'), 2);
  assert.equal(parseSlurmDuration('00:01:12'), 72);
  assert.equal(parseSlurmDuration('72'), 72);
  assert.equal(parseSlurmDuration('UNLIMITED'), null);
});

// ---------------------------------------------------------------------------------------------
// the generated bash, against fakes

/** Fake sbatch: logs its cwd and argv (NUL-separated) and prints `<n>;rxtest`; fails for fail.sbatch. */
const FAKE_SBATCH = String.raw`
sbatch() {
  { printf 'CALL\0%s\0' "$PWD"; printf '%s\0' "$@"; } >>"$RX_FAKE_LOG"
  local last
  for last in "$@"; do :; done
  if [ "$last" = fail.sbatch ]; then
    printf 'sbatch: error: Batch job submission failed: Invalid account\nor partition\n' >&2
    return 1
  fi
  [ -z "$RX_FAKE_SLOW" ] || sleep "$RX_FAKE_SLOW"
  local n
  n=$(cat "$RX_FAKE_CNT" 2>/dev/null || echo 1000)
  n=$((n + 1))
  echo "$n" >"$RX_FAKE_CNT"
  echo "$n;rxtest"
}
`;

interface Sandbox {
  root: string;
  home: string;
  log: string;
  env: NodeJS.ProcessEnv;
  cleanup(): Promise<void>;
}

async function sandbox(): Promise<Sandbox> {
  const root = await realpath(await mkdtemp(join(tmpdir(), 'rx-slurm-unit-')));
  const home = join(root, 'home');
  await mkdir(home);
  const log = join(root, 'sbatch.log');
  return {
    root,
    home,
    log,
    env: { PATH: process.env.PATH, HOME: home, LC_ALL: 'C.UTF-8', RX_FAKE_LOG: log, RX_FAKE_CNT: join(root, 'counter') },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

async function sbatchCalls(sb: Sandbox): Promise<{ cwd: string; args: string[] }[]> {
  if (!existsSync(sb.log)) return [];
  const parts = (await readFile(sb.log, 'utf8')).split('\0');
  parts.pop(); // after the last NUL
  const calls: { cwd: string; args: string[] }[] = [];
  for (let i = 0; i < parts.length; i++) {
    if (parts[i] === 'CALL') {
      calls.push({ cwd: parts[i + 1]!, args: [] });
      i++;
    } else calls.at(-1)!.args.push(parts[i]!);
  }
  return calls;
}

function runBash(sb: Sandbox, script: string, extraEnv: NodeJS.ProcessEnv = {}) {
  return run(['bash', '-s'], { input: script, cwd: sb.home, env: { ...sb.env, ...extraEnv } });
}

function submitted(stdout: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const p = parseSubmitLine(line);
    if (p && 'jobId' in p) m.set(p.key, p.jobId);
  }
  return m;
}

const HOSTILE_NAMES = [
  "it's",
  '$(touch pwned)',
  '`touch pwned`',
  'a;b && touch pwned',
  'new\nline',
  'ünïcødé ☃ 実験',
  '*',
  '-dash',
  ' spaced  out ',
  '$HOME',
  '"dq"',
  'back\\slash',
];

test('submitScript: hostile run dirs, args and keys reach sbatch literally', async () => {
  const sb = await sandbox();
  try {
    const specs: JobSpec[] = [];
    for (const [i, name] of HOSTILE_NAMES.entries()) {
      await mkdir(join(sb.root, 'runs', name), { recursive: true });
      specs.push({
        key: `k${i}'$(touch_pwned);\`x\``,
        dir: join(sb.root, 'runs', name),
        script: i % 2 ? 'run.sbatch' : '-odd name.sbatch',
        args: ['-J', name, `--comment=it's $(touch pwned) ; "x" \n`, '--export=NONE'],
      });
    }
    // a `~/` dir means the remote home
    await mkdir(join(sb.home, "tilde dir $(x) '"), { recursive: true });
    specs.push({ key: 'tilde', dir: "~/tilde dir $(x) '", script: 'run.sbatch', args: [] });

    const stateDir = join(sb.root, "state 'dir' $(touch pwned)");
    const r = await runBash(sb, FAKE_SBATCH + slurm.submitScript(specs, stateDir));
    assert.equal(r.exitCode, 0);
    assert.equal(r.stderr, '');
    const ids = submitted(r.stdout);
    assert.equal(ids.size, specs.length, r.stdout);
    assert.deepEqual([...ids.keys()], specs.map(s => s.key), 'one RXJOB line per spec, in order, key verbatim');
    assert.ok([...ids.values()].every(v => /^\d+$/.test(v)), 'the `;cluster` suffix of --parsable is dropped');

    const calls = await sbatchCalls(sb);
    assert.equal(calls.length, specs.length);
    for (const [i, name] of HOSTILE_NAMES.entries()) {
      assert.equal(calls[i]!.cwd, join(sb.root, 'runs', name));
      assert.deepEqual(calls[i]!.args, ['--parsable', '-J', name, `--comment=it's $(touch pwned) ; "x" \n`, '--export=NONE', i % 2 ? 'run.sbatch' : './-odd name.sbatch']);
    }
    assert.equal(calls.at(-1)!.cwd, join(sb.home, "tilde dir $(x) '"));

    // nothing was executed from the data
    const found = await run(['find', sb.root, '-name', 'pwned*']);
    assert.equal(found.stdout, '');
    assert.ok(!existsSync(join(sb.home, 'pwned')));

    // one marker per run dir, holding its id
    const markers = (await readdir(stateDir)).filter(f => f.endsWith('.jobid'));
    assert.equal(markers.length, specs.length);
    for (const s of specs) {
      assert.equal((await readFile(join(stateDir, markerName(s.dir)), 'utf8')).trim(), ids.get(s.key));
    }
    assert.deepEqual((await readdir(stateDir)).filter(f => f.includes('.tmp.') || f.startsWith('.sbatch-err')), [], 'no temp files left');

    // idempotent: a second run submits nothing and reports the same ids
    const again = await runBash(sb, FAKE_SBATCH + slurm.submitScript(specs, stateDir));
    assert.deepEqual(submitted(again.stdout), ids);
    assert.equal((await sbatchCalls(sb)).length, specs.length, 'no new sbatch calls');
  } finally {
    await sb.cleanup();
  }
});

test('submitScript: a failing sbatch gives one RXERR line and the rest go on; failures are retried next time', async () => {
  const sb = await sandbox();
  try {
    for (const d of ['a', 'b', 'c']) await mkdir(join(sb.root, d));
    const specs: JobSpec[] = [
      { key: 'a', dir: join(sb.root, 'a'), script: 'run.sbatch', args: [] },
      { key: 'b', dir: join(sb.root, 'b'), script: 'fail.sbatch', args: [] },
      { key: 'missing', dir: join(sb.root, 'no such dir'), script: 'run.sbatch', args: [] },
      { key: 'c', dir: join(sb.root, 'c'), script: 'run.sbatch', args: [] },
    ];
    const stateDir = join(sb.root, 'state');
    const r = await runBash(sb, FAKE_SBATCH + slurm.submitScript(specs, stateDir));
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 4, r.stdout);
    assert.deepEqual(parseSubmitLine(lines[0]!), { key: 'a', jobId: '1001' });
    assert.deepEqual(parseSubmitLine(lines[1]!), { key: 'b', error: 'sbatch: error: Batch job submission failed: Invalid account or partition' });
    const missing = parseSubmitLine(lines[2]!);
    assert.ok(missing && 'error' in missing && /no such dir/.test(missing.error), lines[2]);
    assert.deepEqual(parseSubmitLine(lines[3]!), { key: 'c', jobId: '1002' });
    assert.equal(existsSync(join(stateDir, markerName(specs[1]!.dir))), false, 'no marker for a failed submission');

    await mkdir(join(sb.root, 'no such dir'));
    const again = await runBash(sb, FAKE_SBATCH + slurm.submitScript(specs, stateDir));
    assert.deepEqual([...submitted(again.stdout)], [['a', '1001'], ['missing', '1003'], ['c', '1002']]);
  } finally {
    await sb.cleanup();
  }
});

test('submitScript: a state dir that cannot be created fails every spec with RXERR', async () => {
  const sb = await sandbox();
  try {
    await writeFile(join(sb.root, 'file'), '');
    const specs: JobSpec[] = ['x', 'y'].map(k => ({ key: k, dir: sb.root, script: 'run.sbatch', args: [] }));
    const r = await runBash(sb, FAKE_SBATCH + slurm.submitScript(specs, join(sb.root, 'file', 'state')));
    const parsed = r.stdout.trimEnd().split('\n').map(parseSubmitLine);
    assert.equal(parsed.length, 2);
    for (const p of parsed) assert.ok(p && 'error' in p && /state dir/.test(p.error));
    assert.equal((await sbatchCalls(sb)).length, 0);
  } finally {
    await sb.cleanup();
  }
});

test('submitScript: two overlapping submissions for one state dir serialize (flock): each dir submitted once', async () => {
  const sb = await sandbox();
  try {
    const specs: JobSpec[] = [];
    for (let i = 0; i < 6; i++) {
      await mkdir(join(sb.root, `r${i}`));
      specs.push({ key: `p${i}`, dir: join(sb.root, `r${i}`), script: 'run.sbatch', args: [] });
    }
    const script = FAKE_SBATCH + slurm.submitScript(specs, join(sb.root, 'state'));
    const [r1, r2] = await Promise.all([runBash(sb, script, { RX_FAKE_SLOW: '0.05' }), runBash(sb, script, { RX_FAKE_SLOW: '0.05' })]);
    assert.equal((await sbatchCalls(sb)).length, specs.length);
    assert.deepEqual(submitted(r1.stdout), submitted(r2.stdout));
    assert.equal(submitted(r1.stdout).size, specs.length);
  } finally {
    await sb.cleanup();
  }
});

test('submitScript: ignores SIGHUP and SIGPIPE (a dropped connection does not stop it half-way)', async () => {
  const sb = await sandbox();
  try {
    const specs: JobSpec[] = [];
    for (let i = 0; i < 5; i++) {
      await mkdir(join(sb.root, `r${i}`));
      specs.push({ key: `p${i}`, dir: join(sb.root, `r${i}`), script: 'run.sbatch', args: [] });
    }
    const file = join(sb.root, 'submit.sh');
    await writeFile(file, FAKE_SBATCH + slurm.submitScript(specs, join(sb.root, 'state')));
    // HUP in the middle, and stdout closed after the first line (head exits: later writes get EPIPE).
    const r = await run(['bash', '-c', 'bash "$1" > >(head -n 1 >/dev/null) & pid=$!; sleep 0.1; kill -HUP $pid; wait $pid; echo "exit=$?"', 'x', file], {
      cwd: sb.home,
      env: { ...sb.env, RX_FAKE_SLOW: '0.05' },
      allowFailure: true,
    });
    assert.equal(r.stdout.trim(), 'exit=0');
    assert.equal((await sbatchCalls(sb)).length, specs.length);
    assert.equal((await readdir(join(sb.root, 'state'))).filter(f => f.endsWith('.jobid')).length, specs.length);
  } finally {
    await sb.cleanup();
  }
});

test('markerName: stable, file-name safe, trailing slashes ignored', () => {
  for (const d of HOSTILE_NAMES) assert.match(markerName(`/runs/${d}`), /^[A-Za-z0-9._-]+\.jobid$/);
  assert.equal(markerName('~/runs/a/'), markerName('~/runs/a'));
  assert.notEqual(markerName('~/runs/a'), markerName('runs/a'));
  assert.notEqual(markerName('/runs/a b'), markerName('/runs/a_b'));
});

test('submitScript: rejects keys that would not survive an RXJOB line', () => {
  assert.throws(() => slurm.submitScript([{ key: 'a b', dir: '/x', script: 's', args: [] }], '/s'), ConfigError);
  assert.throws(() => slurm.submitScript([{ key: '', dir: '/x', script: 's', args: [] }], '/s'), ConfigError);
  assert.throws(() => slurm.submitScript([{ key: 'k', dir: '', script: 's', args: [] }], '/s'), ConfigError);
  assert.throws(() => slurm.submitScript([{ key: 'k', dir: '/x\0y', script: 's', args: [] }], '/s'));
});

// squeue -h -o FMT -j LIST / sacct -n -P -X -j LIST --format=... / scontrol show job -o ID
const FAKE_STATUS = String.raw`
squeue() { printf 'squeue %s\n' "$*" >>"$RX_FAKE_LOG"; case ",$6," in *,5,*) echo '5|RUNNING|2024-01-01T00:00:00|0:05|None';; esac; }
sacct() { printf 'sacct %s\n' "$*" >>"$RX_FAKE_LOG"
  case ",$5," in *,6,*) echo '6|COMPLETED|0:0|2024-01-01T00:00:00|2024-01-01T00:00:01|1|None'; echo '7|RUNNING|0:0|2024-01-01T00:00:00|Unknown|1|None';; esac; }
scontrol() { printf 'scontrol %s\n' "$*" >>"$RX_FAKE_LOG"; [ "$4" = 7 ] && echo 'JobId=7 JobName=x JobState=COMPLETED Reason=None ExitCode=2:0 RunTime=00:00:03 StartTime=2024-01-01T00:00:00 EndTime=2024-01-01T00:00:03'; return 0; }
`;

test('statusScript: chunked squeue/sacct, scontrol only for ids neither answered finally', async () => {
  const sb = await sandbox();
  try {
    const ids = Array.from({ length: 450 }, (_, i) => String(i + 1));
    ids.push('1234_4', '1234_5');
    const r = await runBash(sb, FAKE_STATUS + slurm.statusScript(ids));
    const log = (await readFile(sb.log, 'utf8')).trimEnd().split('\n');
    const sq = log.filter(l => l.startsWith('squeue'));
    const sa = log.filter(l => l.startsWith('sacct'));
    const sc = log.filter(l => l.startsWith('scontrol'));
    assert.equal(sq.length, 3);
    assert.equal(sa.length, 3);
    for (const l of [...sq, ...sa]) assert.ok(l.length < 2000, 'short command lines');
    assert.match(sa[0]!, /^sacct -n -P -X -j 1,2,3,.*,200 --format=JobID,State,ExitCode,Start,End,ElapsedRaw,Reason$/);
    assert.match(sq[2]!, /,1234$/, 'array tasks are asked about through their array, once');
    assert.match(sq[0]!, /^squeue -h -r /);
    // 5 is live (squeue), 6 finished (sacct): no scontrol for them; 7 (sacct lags at RUNNING) and the rest: yes
    assert.equal(sc.length, ids.length - 2);
    assert.ok(!sc.includes('scontrol show job -o 5') && !sc.includes('scontrol show job -o 6'));
    assert.ok(sc.includes('scontrol show job -o 7') && sc.includes('scontrol show job -o 1234_4'));
    const m = slurm.parseStatus(r.stdout);
    assert.equal(get(m, '5').state, 'RUNNING');
    assert.equal(get(m, '6').state, 'COMPLETED');
    assert.deepEqual([get(m, '7').state, get(m, '7').exitCode], ['COMPLETED', 2]);
    assert.equal(m.size, 3);
  } finally {
    await sb.cleanup();
  }
});

test('statusScript: fails when the controller cannot be reached (not when ids are merely unknown)', async () => {
  const sb = await sandbox();
  try {
    const unknown = "squeue() { echo 'slurm_load_jobs error: Invalid job id specified' >&2; return 1; }\nsacct() { :; }\nscontrol() { return 1; }\n";
    const ok = await runBash(sb, unknown + slurm.statusScript(['1']));
    assert.equal(ok.exitCode, 0);
    const down = "squeue() { echo 'slurm_load_jobs error: Unable to contact slurm controller (connect failure)' >&2; return 1; }\nsacct() { :; }\nscontrol() { return 1; }\n";
    const r = await run(['bash', '-s'], { input: down + slurm.statusScript(['1']), env: sb.env, allowFailure: true });
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /Unable to contact slurm controller/);
  } finally {
    await sb.cleanup();
  }
});

test('statusScript/cancelScript: only job ids get in; cancel is one scancel per 1000 ids', async () => {
  assert.throws(() => slurm.statusScript(['1;touch x']), StateError);
  assert.throws(() => slurm.cancelScript(['$(x)']), StateError);
  assert.throws(() => slurm.cancelScript(['']), StateError);
  const sb = await sandbox();
  try {
    const ids = Array.from({ length: 2500 }, (_, i) => String(i + 1));
    ids.push('99_3');
    const fake = 'scancel() { printf "%s\\n" "$#:$1:${@: -1}" >>"$RX_FAKE_LOG"; }\n';
    await runBash(sb, fake + slurm.cancelScript(ids));
    assert.deepEqual((await readFile(sb.log, 'utf8')).trimEnd().split('\n'), ['1000:1:1000', '1000:1001:2000', '501:2001:99_3']);
    const failing = await run(['bash', '-s'], { input: 'scancel() { return 1; }\n' + slurm.cancelScript(['1']), allowFailure: true });
    assert.equal(failing.exitCode, 1);
  } finally {
    await sb.cleanup();
  }
});
