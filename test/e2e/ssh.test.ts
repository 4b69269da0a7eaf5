// The ssh transport against a private throwaway sshd on 127.0.0.1 (see test/helpers/sshd.ts).
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CommandError, ConnectionError } from '../../src/errors.ts';
import { run } from '../../src/proc.ts';
import { startDaemon, type Daemon } from '../helpers/daemon.ts';
import { shq } from '../../src/quote.ts';
import { checkHostKey, fingerprintSha256, readKnownHostsFiles } from '../../src/remote/transport/knownhosts.ts';
import { localTransport } from '../../src/remote/transport/local.ts';
import { connectSsh, sshCommandArgs, sshDestination, type ConnectSshOptions, type SshTransport } from '../../src/remote/transport/ssh.ts';
import { freePort, genKey, startSshd, type TestSshd } from '../helpers/sshd.ts';

let d: TestSshd;
let tmp: string;
let n = 0;
const notices: string[] = [];

before(async () => {
  d = await startSshd();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'rx-ssh-e2e-'));
});
after(async () => {
  await d?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

interface Home {
  dir: string;
  configPath: string;
  knownHosts: string;
}

/**
 * A temp home whose ssh config has `Host rxtest` (and `Host jump`) pointing at the test sshd, and
 * whose known_hosts holds `known` lines (default: the test sshd's key).
 */
function makeHome(opts: { known?: string[]; extraConfig?: string; port?: number } = {}): Home {
  const dir = path.join(tmp, `home${n++}`);
  mkdirSync(path.join(dir, '.ssh'), { recursive: true });
  const knownHosts = path.join(dir, '.ssh', 'known_hosts');
  const known = opts.known ?? [d.hostKeyLine];
  if (known.length) writeFileSync(knownHosts, known.join('\n') + '\n');
  const configPath = path.join(dir, '.ssh', 'config');
  writeFileSync(
    configPath,
    `${opts.extraConfig ?? ''}
Host rxtest jump
  HostName 127.0.0.1
  Port ${opts.port ?? d.port}
  User ${d.user}
  IdentityFile ${d.clientKeyPath}
Host *
  UserKnownHostsFile ${knownHosts}
`,
  );
  return { dir, configPath, knownHosts };
}

function opts(h: Home, more: Partial<ConnectSshOptions> = {}): ConnectSshOptions {
  return { host: 'rxtest', homeDir: h.dir, configPath: h.configPath, systemConfigPath: null, agent: false, interactive: false, onNotice: m => notices.push(m), ...more };
}

async function rejectsWith<E extends Error>(p: Promise<unknown>, cls: new (...a: never[]) => E): Promise<E> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${String(e)}`);
    return e;
  }
  assert.fail(`expected ${cls.name}, but it succeeded`);
}

const hostFp = () => fingerprintSha256(Buffer.from(d.hostPubKey.split(' ')[1]!, 'base64'));

describe('exec over one connection', () => {
  let t: SshTransport;
  before(async () => {
    t = await connectSsh(opts(makeHome()));
  });
  after(async () => {
    await t?.close();
  });

  test('returns stdout, stderr and exit codes; failures are CommandErrors', async () => {
    assert.equal(t.kind, 'ssh');
    assert.equal(t.label, `${d.user}@127.0.0.1:${d.port}`);
    const r = await t.exec('echo hello; echo to-stderr >&2; whoami');
    assert.deepEqual(r, { stdout: `hello\n${d.user}\n`, stderr: 'to-stderr\n', exitCode: 0 });
    const f = await t.exec('echo partial; echo bad >&2; exit 3', { allowFailure: true });
    assert.deepEqual(f, { stdout: 'partial\n', stderr: 'bad\n', exitCode: 3 });
    const e = await rejectsWith(t.exec('echo partial; echo "it broke" >&2; exit 7'), CommandError);
    assert.deepEqual(e.argv, ['bash', '-s']);
    assert.equal(e.exitCode_, 7);
    assert.equal(e.stderr, 'it broke\n');
    assert.equal(e.stdout, 'partial\n');
    assert.match(e.message, new RegExp(`^${d.user}@127\\.0\\.0\\.1:${d.port}: \`bash -s\` failed \\(exit code 7\\)\\nit broke`));
  });

  test('a signal is reported as such', async () => {
    const e = await rejectsWith(t.exec('kill -TERM $$'), CommandError);
    assert.equal(e.exitCode_, null);
    assert.match(e.message, /killed by SIGTERM/);
  });

  test('streams stdout lines to onLine as they arrive', async () => {
    const lines: { line: string; at: number }[] = [];
    const start = Date.now();
    const r = await t.exec('echo first; sleep 1; printf "second\\nthird-no-newline"', { onLine: line => lines.push({ line, at: Date.now() - start }) });
    const end = Date.now() - start;
    assert.deepEqual(
      lines.map(l => l.line),
      ['first', 'second', 'third-no-newline'],
    );
    assert.ok(lines[0]!.at < end - 700, `first line arrived at ${lines[0]!.at} ms, command ended at ${end} ms`);
    assert.equal(r.stdout, 'first\nsecond\nthird-no-newline');
  });

  test('multi-byte characters split across packets reach onLine intact', async () => {
    const lines: string[] = [];
    await t.exec(`for i in $(seq 2000); do printf 'é€😀'; done; echo`, { onLine: l => lines.push(l) });
    assert.equal(lines.length, 1);
    assert.equal(lines[0], 'é€😀'.repeat(2000));
  });

  test('many concurrent execs share the connection', async () => {
    const N = 60;
    const rs = await Promise.all(Array.from({ length: N }, (_, i) => t.exec(`sleep 0.0$((RANDOM % 5)); echo ${i}`)));
    assert.deepEqual(
      rs.map(r => r.stdout),
      Array.from({ length: N }, (_, i) => `${i}\n`),
    );
  });

  test('a large script (> 1 MB) is delivered whole', async () => {
    const payload = Array.from({ length: 40000 }, (_, i) => `line ${i} ${'x'.repeat(i % 50)}`).join('\n');
    const script = `cat > /dev/null <<'RX_EOF'\n${payload}\nRX_EOF\n` + Array.from({ length: 5000 }, (_, i) => `v${i}=${i}`).join('\n') + `\necho "$v4999"\nwc -c <<'RX_EOF'\n${payload}\nRX_EOF\n`;
    assert.ok(Buffer.byteLength(script) > 1024 * 1024, `script is ${Buffer.byteLength(script)} bytes`);
    const r = await t.exec(script);
    assert.equal(r.stdout, `4999\n${Buffer.byteLength(payload) + 1}\n`);
  });

  test('commands that read stdin cannot swallow the rest of the script', async () => {
    const r = await t.exec('cat\nread -r x || echo "read got EOF"\necho after');
    assert.equal(r.stdout, 'read got EOF\nafter\n');
  });

  test('hostile strings survive quoting with shq and are never executed', async () => {
    const marker = path.join(tmp, `pwned-${process.pid}`);
    const hostile = [
      "it's",
      `$(touch ${marker})`,
      `\`touch ${marker}\``,
      `; touch ${marker}; echo`,
      `a\nb; touch ${marker}`,
      'ünïcødé ✓ 日本語 😀',
      '"double" \\back\\slash $HOME ${HOME} * ? ~ [a] {a,b} & | > < !! #',
      ' leading and trailing spaces ',
      '',
      '-n',
    ];
    for (const s of hostile) {
      const r = await t.exec(`printf '%s' ${shq(s)}`);
      assert.equal(r.stdout, s);
    }
    // also through an argument list and a file written remotely
    const r = await t.exec(`f=$(mktemp); printf '%s\\0' ${hostile.map(shq).join(' ')} > "$f"; cat "$f"; rm -f "$f"`);
    assert.deepEqual(r.stdout.split('\0').slice(0, -1), hostile);
    assert.equal(existsSync(marker), false, 'a hostile string was executed');
  });

  test('exec after close is a ConnectionError', async () => {
    const t2 = await connectSsh(opts(makeHome()));
    await t2.close();
    await t2.close(); // idempotent
    await rejectsWith(t2.exec('echo hi'), ConnectionError);
  });
});

describe('host keys', () => {
  test('unknown host key: refused with host, port, key type, fingerprint and how to accept; nothing runs', async () => {
    const h = makeHome({ known: [] });
    const logBefore = d.log().length;
    const e = await rejectsWith(connectSsh(opts(h)), ConnectionError);
    assert.match(e.message, /not known/);
    assert.match(e.message, /127\.0\.0\.1/);
    assert.ok(e.message.includes(String(d.port)));
    assert.match(e.message, /ED25519/);
    assert.ok(e.message.includes(hostFp()), e.message);
    assert.match(e.message, /strictHostKeyChecking: 'accept-new'/);
    assert.equal(existsSync(h.knownHosts), false, 'known_hosts was not written');
    await new Promise(r => setTimeout(r, 200));
    assert.doesNotMatch(d.log().slice(logBefore), /Accepted publickey/);
    // The suggested OpenSSH command really reaches the host and records the key where rx looks.
    const manual = /run once: (ssh .*?)   and answer/.exec(e.message)?.[1];
    assert.ok(manual, e.message);
    assert.ok(manual.includes(`-p ${d.port}`), manual);
    await run(['bash', '-c', `${manual.replace(/^ssh /, 'ssh -o StrictHostKeyChecking=accept-new -o BatchMode=yes ')} true`]);
    const t = await connectSsh(opts(h));
    await t.close();
  });

  test('changed host key: refused loudly, even with accept-new; known_hosts untouched', async () => {
    const other = path.join(tmp, `otherhost${n++}`);
    await genKey(other);
    const otherPub = readFileSync(other + '.pub', 'utf8').split(' ').slice(0, 2).join(' ');
    const h = makeHome({ known: [`[127.0.0.1]:${d.port} ${otherPub}`] });
    const before = readFileSync(h.knownHosts, 'utf8');
    for (const strict of ['yes', 'accept-new', 'no'] as const) {
      const e = await rejectsWith(connectSsh(opts(h, { strictHostKeyChecking: strict })), ConnectionError);
      assert.match(e.message, /CHANGED/);
      assert.match(e.message, /MAN-IN-THE-MIDDLE|man-in-the-middle/i);
      assert.ok(e.message.includes(hostFp()));
      assert.ok(e.message.includes(`ssh-keygen -R '[127.0.0.1]:${d.port}' -f ${h.knownHosts}`), e.message);
    }
    assert.equal(readFileSync(h.knownHosts, 'utf8'), before);
  });

  test('accept-new records an unknown key (hashed when HashKnownHosts), then it is simply known', async () => {
    const h = makeHome({ known: [], extraConfig: 'Host rxtest\n  HashKnownHosts yes\n' });
    notices.length = 0;
    const t = await connectSsh(opts(h, { strictHostKeyChecking: 'accept-new' }));
    assert.equal((await t.exec('echo ok')).stdout, 'ok\n');
    await t.close();
    assert.equal(notices.length, 1);
    assert.ok(notices[0]!.includes(hostFp()));
    const text = readFileSync(h.knownHosts, 'utf8');
    assert.match(text, /^\|1\|/);
    assert.equal(checkHostKey(readKnownHostsFiles([h.knownHosts]), '127.0.0.1', d.port, Buffer.from(d.hostPubKey.split(' ')[1]!, 'base64')).status, 'known');
    assert.match((await run(['ssh-keygen', '-F', `[127.0.0.1]:${d.port}`, '-f', h.knownHosts])).stdout, /found/);
    const t2 = await connectSsh(opts(h, { strictHostKeyChecking: 'yes' }));
    assert.equal((await t2.exec('echo again')).stdout, 'again\n');
    await t2.close();
    assert.equal(readFileSync(h.knownHosts, 'utf8'), text, 'nothing appended the second time');
  });
});

describe('ProxyJump', () => {
  test('through the same sshd (jumping to itself), one and two hops', async () => {
    for (const jump of ['jump', 'jump,jump']) {
      const h = makeHome({ extraConfig: `Host rxtest\n  ProxyJump ${jump}\n` });
      const logBefore = d.log().length;
      const t = await connectSsh(opts(h));
      assert.equal(t.settings.proxyJump.length, jump.split(',').length);
      const rs = await Promise.all([t.exec('echo through'), t.exec('echo $SSH_CONNECTION')]);
      assert.equal(rs[0].stdout, 'through\n');
      assert.match(rs[1].stdout, /^127\.0\.0\.1 \d+ 127\.0\.0\.1 \d+\n$/);
      await t.close();
      await new Promise(r => setTimeout(r, 100));
      // one login per hop: the jump host(s), then the target through the forwarded channel
      assert.equal(d.log().slice(logBefore).match(/Accepted publickey/g)?.length, jump.split(',').length + 1);
    }
  });

  test('an unknown jump host key is refused and names the jump host', async () => {
    const h = makeHome({ known: [], extraConfig: `Host rxtest\n  ProxyJump jump\n` });
    const e = await rejectsWith(connectSsh(opts(h)), ConnectionError);
    assert.match(e.message, /jump host/);
    assert.match(e.message, /not known/);
    assert.ok(e.message.includes(`\`StrictHostKeyChecking accept-new\` under \`Host jump\` in ${h.configPath}`), e.message);
  });

  test('OpenSSH reproduces the connection with sshCommandArgs()', async () => {
    for (const extra of ['', 'Host rxtest\n  ProxyJump jump\n']) {
      const h = makeHome({ extraConfig: extra });
      const t = await connectSsh(opts(h));
      const argv = [...sshCommandArgs(t.settings), '-o', 'BatchMode=yes', sshDestination(t.settings), 'echo', 'via-openssh'];
      await t.close();
      const r = await run(argv);
      assert.equal(r.stdout, 'via-openssh\n');
    }
  });
});

describe('config and errors', () => {
  test('a Host alias from ~/.ssh/config in a temp $HOME, with a default identity file', async () => {
    const home = path.join(tmp, `realhome${n++}`);
    mkdirSync(path.join(home, '.ssh'), { recursive: true });
    copyFileSync(d.clientKeyPath, path.join(home, '.ssh', 'id_ed25519'));
    writeFileSync(path.join(home, '.ssh', 'known_hosts'), d.hostKeyLine + '\n');
    writeFileSync(path.join(home, '.ssh', 'config'), `Host myalias\n  HostName 127.0.0.1\n  Port ${d.port}\n  User ${d.user}\n`);
    const old = process.env.HOME;
    process.env.HOME = home;
    try {
      const t = await connectSsh({ host: 'myalias', agent: false, interactive: false });
      assert.equal(t.settings.configPath, path.join(home, '.ssh', 'config'));
      assert.equal((await t.exec('echo aliased')).stdout, 'aliased\n');
      await t.close();
    } finally {
      process.env.HOME = old;
    }
  });

  test('a closed port gives a ConnectionError naming host, port, user and config file', async () => {
    const port = await freePort();
    const h = makeHome({ port });
    const e = await rejectsWith(connectSsh(opts(h)), ConnectionError);
    assert.match(e.message, /connection refused/);
    assert.ok(e.message.includes(`${d.user}@127.0.0.1:${port}`), e.message);
    assert.ok(e.message.includes(h.configPath));
    assert.equal(e.exitCode, 4);
  });

  test('a server that never speaks ssh times out', async () => {
    const sockets: net.Socket[] = [];
    const srv = net.createServer(s => sockets.push(s));
    await new Promise<void>(r => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    try {
      const e = await rejectsWith(connectSsh(opts(makeHome({ port }), { readyTimeoutMs: 500 })), ConnectionError);
      assert.match(e.message, /no answer within/);
    } finally {
      for (const s of sockets) s.destroy();
      srv.close();
    }
  });

  test('an unauthorized key: authentication failure says what was tried', async () => {
    const key = path.join(tmp, `stranger${n++}`);
    await genKey(key);
    const e = await rejectsWith(connectSsh(opts(makeHome(), { identityFile: key })), ConnectionError);
    assert.match(e.message, /Authentication to .*127\.0\.0\.1.* failed/);
    assert.ok(e.message.includes(key));
    assert.match(e.message, /server accepts: publickey/);
  });

  test('an encrypted key without an agent: clear message to use ssh-add; with the agent it works', async () => {
    const enc = path.join(tmp, `enc${n++}`);
    copyFileSync(d.clientKeyPath, enc);
    copyFileSync(d.clientKeyPath + '.pub', enc + '.pub');
    await run(['ssh-keygen', '-q', '-p', '-P', '', '-N', 'secret passphrase', '-f', enc]);
    const h = makeHome();
    const e = await rejectsWith(connectSsh(opts(h, { identityFile: enc })), ConnectionError);
    assert.match(e.message, /encrypted/);
    assert.match(e.message, /ssh-add/);
    assert.ok(e.message.includes(enc));

    const sock = path.join(tmp, `agent${n++}.sock`);
    const agent: Daemon = startDaemon(['ssh-agent', '-D', '-a', sock]);
    try {
      for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise(r => setTimeout(r, 20));
      await run(['ssh-add', '-q', d.clientKeyPath], { env: { ...process.env, SSH_AUTH_SOCK: sock } });
      const t = await connectSsh(opts(h, { identityFile: enc, agent: sock }));
      assert.equal((await t.exec('echo agent-ok')).stdout, 'agent-ok\n');
      await t.close();
      // IdentitiesOnly: the agent may only use keys named by IdentityFile
      const stranger = path.join(tmp, `stranger${n++}`);
      await genKey(stranger);
      const e2 = await rejectsWith(connectSsh(opts(makeHome({ extraConfig: 'Host rxtest\n  IdentitiesOnly yes\n' }), { identityFile: stranger, agent: sock })), ConnectionError);
      assert.match(e2.message, /Authentication/);
      const t2 = await connectSsh(opts(makeHome(), { identityFile: stranger, agent: sock }));
      await t2.close();
    } finally {
      await agent.stop();
    }
  });

  test('a lost connection fails the running exec and later ones with ConnectionError', async () => {
    const t = await connectSsh(opts(makeHome()));
    const e = await rejectsWith(t.exec('kill -9 $PPID; sleep 5'), ConnectionError);
    assert.match(e.message, /lost/);
    await rejectsWith(t.exec('echo hi'), ConnectionError);
    await t.close();
  });
});

describe('a stricter, chattier sshd (MaxSessions 2, noise printed before every command)', () => {
  let d2: TestSshd;
  before(async () => {
    // ForceCommand stands in for a ~/.bashrc that prints (module systems, banners, …)
    d2 = await startSshd({ extraConfig: ['MaxSessions 2', 'ForceCommand printf "bashrc noise\\n"; printf "more noise"; echo err-noise >&2; eval "$SSH_ORIGINAL_COMMAND"'] });
  });
  after(async () => {
    await d2?.stop();
  });
  test('rx adapts to how many channels the server allows', async () => {
    const h = makeHome({ port: d2.port, known: [d2.hostKeyLine] });
    const t = await connectSsh(opts(h, { identityFile: d2.clientKeyPath }));
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => t.exec(`sleep 0.05; echo ${i}`)));
    assert.deepEqual(
      rs.map(r => r.stdout),
      Array.from({ length: 20 }, (_, i) => `${i}\n`),
    );
    await t.close();
  });
  test('output printed before the script starts is not part of stdout, stderr or onLine', async () => {
    const h = makeHome({ port: d2.port, known: [d2.hostKeyLine] });
    const t = await connectSsh(opts(h, { identityFile: d2.clientKeyPath }));
    const lines: string[] = [];
    const r = await t.exec('echo one; echo two >&2; echo three', { onLine: l => lines.push(l) });
    assert.deepEqual(r, { stdout: 'one\nthree\n', stderr: 'two\n', exitCode: 0 });
    assert.deepEqual(lines, ['one', 'three']);
    const e = await rejectsWith(t.exec('echo bad >&2; exit 2'), CommandError);
    assert.equal(e.stderr, 'bad\n');
    await t.close();
  });
});

describe('localTransport', () => {
  test('runs bash -s in the given directory with the same error semantics', async () => {
    const dir = mkdtempSync(path.join(tmp, 'local-'));
    const t = localTransport(dir);
    assert.equal(t.kind, 'local');
    assert.equal(t.label, 'local');
    assert.equal((await t.exec('pwd')).stdout, `${dir}\n`);
    const lines: string[] = [];
    await t.exec('echo a; echo b', { onLine: l => lines.push(l) });
    assert.deepEqual(lines, ['a', 'b']);
    assert.deepEqual(await t.exec('echo x; exit 4', { allowFailure: true }), { stdout: 'x\n', stderr: '', exitCode: 4 });
    const e = await rejectsWith(t.exec('echo oops >&2; exit 5'), CommandError);
    assert.deepEqual(e.argv, ['bash', '-s']);
    assert.equal(e.exitCode_, 5);
    assert.equal(e.stderr, 'oops\n');
    assert.equal((await t.exec('cat; echo after')).stdout, 'after\n');
    const marker = path.join(dir, 'pwned');
    assert.equal((await t.exec(`printf '%s' ${shq(`$(touch ${marker})'`)}`)).stdout, `$(touch ${marker})'`);
    assert.equal(existsSync(marker), false);
    await t.close();
  });
});
