// The shell scheduler, run for real through a local "transport": `bash -s` in temp dirs.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, readFile, readdir, rm, access } from 'node:fs/promises';
import { alive, pidIn } from '../helpers/alive.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/proc.ts';
import { ConfigError } from '../../src/errors.ts';
import { parseSubmitLine, TERMINAL_STATES, type JobSpec, type JobStatus, type Scheduler } from '../../src/remote/scheduler/types.ts';
import { shellScheduler, parseShellStatus, shellOutputFile } from '../../src/remote/scheduler/shell.ts';

const roots: string[] = [];
after(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

interface Env {
  root: string;
  queueDir: string;
  stateDir: string;
  sched: Scheduler;
  sh(script: string): Promise<string>;
}

async function makeEnv(opts: { maxParallel?: number; queueName?: string; stateName?: string; killWaitSeconds?: number } = {}): Promise<Env> {
  const root = await mkdtemp(join(tmpdir(), 'rx-shell-'));
  roots.push(root);
  const queueDir = join(root, opts.queueName ?? 'queue');
  const stateDir = join(root, opts.stateName ?? 'state');
  const sched = shellScheduler({ maxParallel: opts.maxParallel, queueDir, killWaitSeconds: opts.killWaitSeconds });
  const sh = async (script: string) => (await run(['bash', '-s'], { input: script, cwd: root })).stdout;
  return { root, queueDir, stateDir, sched, sh };
}

async function makeRun(env: Env, name: string, body: string, script = 'run.sh'): Promise<string> {
  const dir = join(env.root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, script), body);
  return dir;
}

async function submit(env: Env, specs: JobSpec[]): Promise<Map<string, string>> {
  const out = await env.sh(env.sched.submitScript(specs, env.stateDir));
  const ids = new Map<string, string>();
  for (const line of out.split('\n')) {
    const p = parseSubmitLine(line);
    if (!p) continue;
    assert.ok('jobId' in p, `submit failed: ${line}`);
    ids.set(p.key, p.jobId);
  }
  assert.equal(ids.size, specs.length, out);
  return ids;
}

async function status(env: Env, ids: string[]): Promise<Map<string, JobStatus>> {
  return env.sched.parseStatus(await env.sh(env.sched.statusScript(ids)));
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function allTerminal(env: Env, ids: string[]): Promise<Map<string, JobStatus>> {
  return until('jobs to finish', async () => {
    const st = await status(env, ids);
    return ids.every(id => st.has(id) && TERMINAL_STATES.has(st.get(id)!.state)) ? st : undefined;
  });
}

/** The queue has no live runner (so the temp dir can go). */
async function runnerGone(env: Env): Promise<void> {
  await until('the runner to exit', async () =>
    (await run(['bash', '-c', 'flock -n "$1/runner.lock" true', '_', env.queueDir], { allowFailure: true })).exitCode === 0);
}

const exists = (p: string) => access(p).then(() => true, () => false);


test('5 jobs with maxParallel=2: never more than 2 at once, all COMPLETED, output in slurm-<id>.out', async () => {
  const env = await makeEnv({ maxParallel: 2 });
  const body = 'date +%s%N > "$PWD/t.start"; sleep 0.4; date +%s%N > "$PWD/t.end"\necho "out $1 $RX_JOB_ID $SLURM_JOB_ID"\n';
  const specs: JobSpec[] = [];
  for (let i = 0; i < 5; i++) specs.push({ key: `p${i}`, dir: await makeRun(env, `run${i}`, body), script: 'run.sh', args: [`arg${i}`] });
  const ids = await submit(env, specs);
  assert.deepEqual([...ids.values()], ['1', '2', '3', '4', '5']);

  const st = await allTerminal(env, [...ids.values()]);
  const spans: [bigint, bigint][] = [];
  for (const [i, spec] of specs.entries()) {
    const id = ids.get(spec.key)!;
    const s = st.get(id)!;
    assert.equal(s.state, 'COMPLETED', JSON.stringify(s));
    assert.equal(s.exitCode, 0);
    assert.equal(s.signal, null);
    assert.match(s.start!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(s.end!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.ok(s.elapsedSeconds! >= 0);
    assert.equal(await readFile(join(spec.dir, shellOutputFile(id)), 'utf8'), `out arg${i} ${id} ${id}\n`);
    spans.push([BigInt((await readFile(join(spec.dir, 't.start'), 'utf8')).trim()), BigInt((await readFile(join(spec.dir, 't.end'), 'utf8')).trim())]);
  }
  // The most intervals overlapping at once is reached at some interval's start.
  const most = Math.max(...spans.map(([s]) => spans.filter(([a, b]) => a <= s && s < b).length));
  assert.equal(most, 2, `spans: ${spans.map(([a, b]) => `${a}-${b}`).join(' ')}`);
  await runnerGone(env);
});

test('non-zero exit → FAILED with its exit code; death by signal → FAILED with the signal (default N = nproc)', async () => {
  const env = await makeEnv();
  const ids = await submit(env, [
    { key: 'three', dir: await makeRun(env, 'three', 'echo bye; exit 3\n'), script: 'run.sh', args: [] },
    { key: 'term', dir: await makeRun(env, 'term', 'kill -TERM $$\n'), script: 'run.sh', args: [] },
  ]);
  const st = await allTerminal(env, [...ids.values()]);
  const three = st.get(ids.get('three')!)!;
  assert.equal(three.state, 'FAILED');
  assert.equal(three.exitCode, 3);
  assert.equal(three.signal, null);
  assert.equal(await readFile(join(env.root, 'three', shellOutputFile(ids.get('three')!)), 'utf8'), 'bye\n');
  const term = st.get(ids.get('term')!)!;
  assert.equal(term.state, 'FAILED');
  assert.equal(term.exitCode, 143);
  assert.equal(term.signal, 15);
  assert.match(term.reason!, /signal 15/);
  await runnerGone(env);
});

test('resubmitting is idempotent: same ids, no new jobs; a bad spec gets RXERR and the rest go on', async () => {
  const env = await makeEnv({ maxParallel: 2 });
  const specs: JobSpec[] = [
    { key: 'a', dir: await makeRun(env, 'a', 'echo a\n'), script: 'run.sh', args: [] },
    { key: 'b', dir: await makeRun(env, 'b', 'echo b\n'), script: 'run.sh', args: [] },
  ];
  const first = await submit(env, specs);
  const again = await submit(env, specs);
  assert.deepEqual([...again], [...first]);
  await allTerminal(env, [...first.values()]);
  // Still the same after the jobs finished, and no job was added to the queue.
  assert.deepEqual([...(await submit(env, specs))], [...first]);
  assert.deepEqual((await readdir(join(env.queueDir, 'jobs'))).sort(), ['1', '2']);
  assert.equal((await readFile(join(env.queueDir, 'counter'), 'utf8')).trim(), '2');
  assert.equal(await readFile(join(specs[0]!.dir, shellOutputFile(first.get('a')!)), 'utf8'), 'a\n');

  const out = await env.sh(env.sched.submitScript([
    { key: 'missing', dir: join(env.root, 'nope'), script: 'run.sh', args: [] },
    { key: 'noscript', dir: await makeRun(env, 'd', 'echo d\n'), script: 'other.sh', args: [] },
    { key: 'c', dir: await makeRun(env, 'c', 'echo c\n'), script: 'run.sh', args: [] },
  ], env.stateDir));
  const lines = out.trim().split('\n').map(parseSubmitLine);
  assert.deepEqual(lines, [
    { key: 'missing', error: 'run directory not found' },
    { key: 'noscript', error: 'script not found in the run directory' },
    { key: 'c', jobId: '3' },
  ]);
  await allTerminal(env, ['3']);
  await runnerGone(env);
});

test('a job with a dependency is PENDING with reason Dependency (not a free slot) until its job ends, then runs', async () => {
  const env = await makeEnv({ maxParallel: 2 });
  const a = await makeRun(env, 'a', 'while [ ! -e "$PWD/go" ]; do sleep 0.05; done\n');
  const b = await makeRun(env, 'b', 'touch "$PWD/ran"\n');
  const ia = (await submit(env, [{ key: 'a', dir: a, script: 'run.sh', args: [] }])).get('a')!;
  const ib = (await submit(env, [{ key: 'b', dir: b, script: 'run.sh', args: [], after: ia }])).get('b')!;
  await until('a to run', async () => (await status(env, [ia])).get(ia)?.state === 'RUNNING');
  // A slot is free (maxParallel 2), yet b waits: for its job, and says so.
  assert.deepEqual([(await status(env, [ib])).get(ib)!.state, (await status(env, [ib])).get(ib)!.reason], ['PENDING', `Dependency (waits for job ${ia})`]);
  await writeFile(join(a, 'go'), '');
  const st = await allTerminal(env, [ia, ib]);
  assert.deepEqual([st.get(ia)!.state, st.get(ib)!.state, st.get(ib)!.reason], ['COMPLETED', 'COMPLETED', null]);
  assert.ok(await exists(join(b, 'ran')));
  await runnerGone(env);
});

test('cancel: a pending job never runs, a running job is killed (whole process group); both CANCELLED', async () => {
  const env = await makeEnv({ maxParallel: 1 });
  const a = await makeRun(env, 'a', 'echo $$ > "$PWD/pid"\nsleep 30 &\necho $! > "$PWD/child"\nwait\n');
  const b = await makeRun(env, 'b', 'touch "$PWD/ran"\n');
  const ids = await submit(env, [
    { key: 'a', dir: a, script: 'run.sh', args: [] },
    { key: 'b', dir: b, script: 'run.sh', args: [] },
  ]);
  const [ia, ib] = [ids.get('a')!, ids.get('b')!];
  await until('a to run', async () => (await status(env, [ia])).get(ia)?.state === 'RUNNING');
  const [pid, child] = [await pidIn(join(a, 'pid')), await pidIn(join(a, 'child'))];
  assert.equal((await status(env, [ib])).get(ib)!.state, 'PENDING');
  assert.ok(alive(pid) && alive(child));

  const t0 = Date.now();
  await env.sh(env.sched.cancelScript([ib, ia]));
  assert.ok(Date.now() - t0 < 5000, 'cancel should not need the KILL grace time');
  const st = await status(env, [ia, ib]);
  assert.equal(st.get(ia)!.state, 'CANCELLED');
  assert.equal(st.get(ia)!.signal, 15);
  assert.ok(st.get(ia)!.start);
  assert.ok(st.get(ia)!.end);
  assert.equal(st.get(ib)!.state, 'CANCELLED');
  assert.equal(st.get(ib)!.exitCode, null);
  assert.equal(st.get(ib)!.start, null);
  await until('the job processes to die', async () => !alive(pid) && !alive(child));
  await runnerGone(env);
  assert.equal(await exists(join(b, 'ran')), false);
  assert.equal(await exists(join(b, shellOutputFile(ib))), false);
  // Cancelling again (or a finished job) is harmless.
  await env.sh(env.sched.cancelScript([ia, ib, '999']));
  assert.equal((await status(env, [ia])).get(ia)!.state, 'CANCELLED');
});

test('a job that ignores SIGTERM is killed after killWaitSeconds', async () => {
  const env = await makeEnv({ maxParallel: 1, killWaitSeconds: 1 });
  const a = await makeRun(env, 'a', 'trap "" TERM\necho $$ > "$PWD/pid.tmp"; mv "$PWD/pid.tmp" "$PWD/pid"\nwhile :; do sleep 0.1; done\n');
  const id = (await submit(env, [{ key: 'a', dir: a, script: 'run.sh', args: [] }])).get('a')!;
  await until('the job to run', () => exists(join(a, 'pid')));
  const pid = Number(await readFile(join(a, 'pid'), 'utf8'));
  const t0 = Date.now();
  await env.sh(env.sched.cancelScript([id]));
  const took = Date.now() - t0;
  assert.ok(took >= 1000 && took < 4000, `cancel took ${took} ms`);
  await until('the job to die', async () => !alive(pid));
  const s = (await status(env, [id])).get(id)!;
  assert.equal(s.state, 'CANCELLED');
  assert.equal(s.signal, 9);
  await runnerGone(env);
});

test('a job whose processes vanished without recording an exit status is FAILED with a reason', async () => {
  const env = await makeEnv({ maxParallel: 1 });
  const a = await makeRun(env, 'a', 'sleep 30\n');
  const id = (await submit(env, [{ key: 'a', dir: a, script: 'run.sh', args: [] }])).get('a')!;
  await until('the job to run', async () => (await status(env, [id])).get(id)?.state === 'RUNNING');
  // Simulate the machine dying under it: SIGKILL the whole process group, wrapper included.
  const pid = Number((await readFile(join(env.queueDir, 'jobs', id, 'running'), 'utf8')).split(' ')[0]);
  process.kill(-pid, 'SIGKILL');
  const s = await until('the job to be seen as lost', async () => {
    const s = (await status(env, [id])).get(id)!;
    return s.state === 'RUNNING' ? undefined : s;
  });
  assert.equal(s.state, 'FAILED');
  assert.equal(s.exitCode, null);
  assert.match(s.reason!, /without recording an exit status/);
  await runnerGone(env);
});

test('hostile dir names, script name, args, queue and state dirs reach bash literally', async () => {
  const evil = ["it's", '$(touch pwned)', '`touch pwned`', 'a;b', 'new\nline', 'trail\n', 'sp ace', 'ünï ☃ 🎉', '"dq"', '*', '-x'];
  const env = await makeEnv({ maxParallel: 3, queueName: "q $(touch pwned) 'x'\n;", stateName: 's `touch pwned`;"' });
  const args = [...evil, '', '$HOME', '--', '\\', "'"];
  const script = "r 'un'$(touch pwned).sh";
  const body = 'printf "%s\\0" "$@" > "$PWD/args.bin"; printf "%s" "$PWD" > "$PWD/where"\n';
  const specs: JobSpec[] = [];
  for (const [i, name] of evil.entries()) specs.push({ key: `e${i}`, dir: await makeRun(env, name, body, script), script, args });
  const ids = await submit(env, specs);
  const st = await allTerminal(env, [...ids.values()]);
  for (const spec of specs) {
    const s = st.get(ids.get(spec.key)!)!;
    assert.equal(s.state, 'COMPLETED', `${JSON.stringify(spec.dir)}: ${JSON.stringify(s)}`);
    assert.equal(await readFile(join(spec.dir, 'where'), 'utf8'), spec.dir);
    assert.deepEqual((await readFile(join(spec.dir, 'args.bin'), 'utf8')).split('\0').slice(0, -1), args);
    assert.ok(await exists(join(spec.dir, shellOutputFile(ids.get(spec.key)!))));
  }
  // Idempotency through hostile names too.
  assert.deepEqual([...(await submit(env, specs))], [...ids]);
  await env.sh(env.sched.cancelScript([...ids.values()]));
  await runnerGone(env);
  const found = await readdir(env.root, { recursive: true });
  assert.deepEqual(found.filter(f => f.endsWith('pwned')), []);
  assert.equal(await exists(join(process.cwd(), 'pwned')), false);
});

test('queueDir and stateDir starting with ~/ are under the target home', async () => {
  const root = await mkdtemp(join(tmpdir(), 'rx-shell-home-'));
  roots.push(root);
  const sched = shellScheduler({ maxParallel: 1, queueDir: '~/my queue' });
  const env = { ...process.env, HOME: root };
  await mkdir(join(root, 'r'));
  await writeFile(join(root, 'r', 'run.sh'), 'echo hi\n');
  const out = (await run(['bash', '-s'], { input: sched.submitScript([{ key: 'k', dir: '~/r', script: 'run.sh', args: [] }], '~/st'), cwd: tmpdir(), env })).stdout;
  assert.equal(out, 'RXJOB k 1\n');
  await until('the job to finish', async () => {
    const st = sched.parseStatus((await run(['bash', '-s'], { input: sched.statusScript(['1']), cwd: tmpdir(), env })).stdout);
    return st.get('1')?.state === 'COMPLETED';
  });
  assert.equal(await readFile(join(root, 'r', 'slurm-1.out'), 'utf8'), 'hi\n');
  assert.ok(await exists(join(root, 'my queue', 'jobs', '1')));
  assert.equal((await readdir(join(root, 'st'))).filter(f => f.endsWith('.jobid')).length, 1);
  await until('the runner to exit', async () =>
    (await run(['bash', '-c', 'flock -n "$1/runner.lock" true', '_', join(root, 'my queue')], { allowFailure: true })).exitCode === 0);
});

test('options and specs are validated', () => {
  assert.throws(() => shellScheduler({ maxParallel: 0 }), ConfigError);
  assert.throws(() => shellScheduler({ maxParallel: 1.5 }), ConfigError);
  assert.throws(() => shellScheduler({ queueDir: '' }), ConfigError);
  const s = shellScheduler();
  assert.equal(s.name, 'shell');
  assert.throws(() => s.submitScript([{ key: 'a b', dir: 'd', script: 'run.sh', args: [] }], 'st'), ConfigError);
  assert.throws(() => s.submitScript([{ key: 'k', dir: 'd', script: 'run.sh', args: ['nul\0'] }], 'st'));
  // Non-numeric ids never reach the script.
  assert.doesNotMatch(s.statusScript(['12', '$(x)']), /\$\(x\)/);
  assert.doesNotMatch(s.cancelScript(['12', '$(x)']), /\$\(x\)/);
});

test('parseStatus (pure) on literal output', () => {
  const line = (id: string, kv: Record<string, string | number>) => {
    const d: Record<string, string | number> = { pending: 0, pid: '-', alive: 0, claimed: '-', start: '-', rc: '-', end: '-', cancelled: '-', reason: '-', now: 1700000100, ...kv };
    return `RXSHELL ${id} ` + Object.entries(d).map(([k, v]) => `${k}=${v}`).join(' ');
  };
  const out = [
    'some noise from a login script',
    line('1', { pending: 1 }),
    line('2', { pid: 4242, alive: 1, claimed: 1700000000, start: 1700000001 }),
    line('3', { pid: 4242, claimed: 1700000000, start: 1700000001, rc: 0, end: 1700000061 }),
    line('4', { pid: 4242, claimed: 1700000000, start: 1700000001, rc: 3, end: 1700000002 }),
    line('5', { pid: 4242, claimed: 1700000000, start: 1700000001, rc: 137, end: 1700000002 }),
    line('6', { pid: 4242, alive: 0, claimed: 1700000000, start: 1700000001 }),
    line('7', { cancelled: 1700000050 }),
    line('8', { pid: 4242, claimed: 1700000000, start: 1700000001, rc: 143, end: 1700000009, cancelled: 1700000008 }),
    line('9', { pid: 4242, claimed: 1700000000, start: 1700000001, rc: 1, end: 1700000001, reason: 'nodir' }),
    line('10', {}),
    'RXSHELL 11 unknown',
    '  ' + line('12', { pid: 77, alive: 1, claimed: 1700000090 }) + '\r',
  ].join('\n');
  const st = parseShellStatus(out);
  assert.deepEqual([...st.keys()], ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '12']);
  assert.deepEqual(st.get('1'), { jobId: '1', state: 'PENDING', exitCode: null, signal: null, start: null, end: null, elapsedSeconds: null, reason: 'waiting for a free slot' });
  assert.equal(parseShellStatus(line('13', { pending: 1, after: 12 })).get('13')!.reason, 'Dependency (waits for job 12)');
  assert.deepEqual(st.get('2'), { jobId: '2', state: 'RUNNING', exitCode: null, signal: null, start: '2023-11-14T22:13:21Z', end: null, elapsedSeconds: 99, reason: null });
  assert.deepEqual(st.get('3'), { jobId: '3', state: 'COMPLETED', exitCode: 0, signal: null, start: '2023-11-14T22:13:21Z', end: '2023-11-14T22:14:21Z', elapsedSeconds: 60, reason: null });
  assert.equal(st.get('4')!.state, 'FAILED');
  assert.equal(st.get('4')!.exitCode, 3);
  assert.equal(st.get('4')!.signal, null);
  assert.equal(st.get('4')!.reason, null);
  assert.deepEqual([st.get('5')!.state, st.get('5')!.exitCode, st.get('5')!.signal, st.get('5')!.reason], ['FAILED', 137, 9, 'killed by signal 9']);
  assert.equal(st.get('6')!.state, 'FAILED');
  assert.equal(st.get('6')!.exitCode, null);
  assert.match(st.get('6')!.reason!, /pid 4242.*without recording an exit status/);
  assert.deepEqual(st.get('7'), { jobId: '7', state: 'CANCELLED', exitCode: null, signal: null, start: null, end: '2023-11-14T22:14:10Z', elapsedSeconds: null, reason: null });
  assert.deepEqual([st.get('8')!.state, st.get('8')!.exitCode, st.get('8')!.signal, st.get('8')!.elapsedSeconds], ['CANCELLED', 143, 15, 8]);
  assert.deepEqual([st.get('9')!.state, st.get('9')!.exitCode], ['FAILED', 1]);
  assert.match(st.get('9')!.reason!, /run directory did not exist/);
  assert.equal(st.get('10')!.state, 'UNKNOWN');
  // Launched, wrapper not started yet: RUNNING since the launch.
  assert.deepEqual([st.get('12')!.state, st.get('12')!.start, st.get('12')!.elapsedSeconds], ['RUNNING', '2023-11-14T22:14:50Z', 10]);
  assert.equal(parseShellStatus('').size, 0);
});
