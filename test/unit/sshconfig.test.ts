import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError } from '../../src/errors.ts';
import { run } from '../../src/proc.ts';
import { sshCommandArgs, sshDestination } from '../../src/remote/transport/ssh.ts';
import { parseJumpSpec, proxyCommandAsJump, resolveSshSettings, type ResolveOptions } from '../../src/remote/transport/sshconfig.ts';

let tmp: string;
let n = 0;
before(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'rx-sshconfig-'));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Writes a config file and returns resolve options that read only it (no system config). */
function cfg(text: string, extra: Partial<ResolveOptions> = {}): ResolveOptions {
  const home = path.join(tmp, `home${n++}`);
  mkdirSync(path.join(home, '.ssh'), { recursive: true });
  const configPath = path.join(home, '.ssh', 'config');
  writeFileSync(configPath, text);
  return { configPath, homeDir: home, systemConfigPath: null, localUser: 'localme', ...extra };
}

describe('resolveSshSettings', () => {
  test('Host alias: HostName, User, Port, IdentityFile with ~ and tokens, first value wins', () => {
    const o = cfg(`
Host cluster
  HostName login.%h.example.org
  User alice
  Port 2222
  IdentityFile ~/.ssh/id_%r_%p
  IdentityFile "~/.ssh/key with space"
  IdentityFile %d/.ssh/%u-%h
Host cluster other
  User bob
  Port 2200
Host *
  IdentityFile ~/.ssh/fallback
  ServerAliveInterval 30
`);
    const s = resolveSshSettings({ host: 'cluster' }, o);
    assert.equal(s.alias, 'cluster');
    assert.equal(s.hostname, 'login.cluster.example.org');
    assert.equal(s.user, 'alice');
    assert.equal(s.port, 2222);
    assert.deepEqual(s.identityFiles, [
      path.join(o.homeDir!, '.ssh/id_alice_2222'),
      path.join(o.homeDir!, '.ssh/key with space'),
      path.join(o.homeDir!, '.ssh/localme-login.cluster.example.org'),
      path.join(o.homeDir!, '.ssh/fallback'),
    ]);
    assert.equal(s.identityFilesConfigured, true);
    assert.deepEqual(s.proxyJump, []);
    assert.equal(s.strictHostKeyChecking, 'yes');
    assert.equal(s.identitiesOnly, false);
    assert.deepEqual(s.userKnownHostsFiles, [path.join(o.homeDir!, '.ssh/known_hosts'), path.join(o.homeDir!, '.ssh/known_hosts2')]);
    assert.equal(s.configFileFound, true);

    const other = resolveSshSettings({ host: 'other' }, o);
    assert.equal(other.hostname, 'other');
    assert.equal(other.user, 'bob');
    assert.equal(other.port, 2200);
  });

  test('patterns: wildcards, negation, case-insensitive host, keywords in any case', () => {
    const o = cfg(`
host *.hpc.example.org !bad.hpc.example.org
  user hpcuser
HOST node?
  PORT 2022
`);
    assert.equal(resolveSshSettings({ host: 'Login1.HPC.example.org' }, o).user, 'hpcuser');
    assert.equal(resolveSshSettings({ host: 'bad.hpc.example.org' }, o).user, 'localme');
    assert.equal(resolveSshSettings({ host: 'node7' }, o).port, 2022);
    assert.equal(resolveSshSettings({ host: 'node77' }, o).port, 22);
  });

  test('explicit values from rx override the file', () => {
    const o = cfg(`
Host c
  HostName c.example.org
  User alice
  Port 2222
  IdentityFile ~/.ssh/a
  StrictHostKeyChecking no
`);
    const s = resolveSshSettings({ host: 'c', user: 'rxuser', port: 22022, identityFile: '~/.ssh/rx_key', strictHostKeyChecking: 'accept-new' }, o);
    assert.equal(s.hostname, 'c.example.org');
    assert.equal(s.user, 'rxuser');
    assert.equal(s.port, 22022);
    assert.deepEqual(s.identityFiles, [path.join(o.homeDir!, '.ssh/rx_key')]);
    assert.equal(s.strictHostKeyChecking, 'accept-new');
  });

  test('Match host / user criteria (Match exec is never run)', () => {
    const marker = path.join(tmp, 'match-exec-ran');
    const o = cfg(`
Host short
  HostName short.example.org
Match host *.example.org user special
  Port 3333
Match host *.example.org
  User matched
Match exec "touch ${marker}"
  Port 4444
`);
    const s = resolveSshSettings({ host: 'short' }, o);
    assert.equal(s.user, 'matched');
    assert.equal(s.port, 22);
    assert.equal(resolveSshSettings({ host: 'short', user: 'special' }, o).port, 3333);
    assert.equal(existsSync(marker), false);
  });

  test('IdentitiesOnly, StrictHostKeyChecking, UserKnownHostsFile (several, quoted), HostKeyAlias, HashKnownHosts', () => {
    const o = cfg(`
Host c
  IdentitiesOnly yes
  StrictHostKeyChecking accept-new
  UserKnownHostsFile ~/.ssh/kh_%h "/tmp/with space/kh"
  GlobalKnownHostsFile /etc/ssh/other_known_hosts
  HostKeyAlias c-alias
  HashKnownHosts yes
Host ask
  StrictHostKeyChecking ask
Host off
  StrictHostKeyChecking off
Host bad
  StrictHostKeyChecking maybe
`);
    const s = resolveSshSettings({ host: 'c' }, o);
    assert.equal(s.identitiesOnly, true);
    assert.equal(s.strictHostKeyChecking, 'accept-new');
    assert.deepEqual(s.userKnownHostsFiles, [path.join(o.homeDir!, '.ssh/kh_c'), '/tmp/with space/kh']);
    assert.deepEqual(s.globalKnownHostsFiles, ['/etc/ssh/other_known_hosts']);
    assert.equal(s.hostKeyAlias, 'c-alias');
    assert.equal(s.hashKnownHosts, true);
    assert.equal(resolveSshSettings({ host: 'ask' }, o).strictHostKeyChecking, 'yes');
    assert.equal(resolveSshSettings({ host: 'off' }, o).strictHostKeyChecking, 'no');
    assert.throws(() => resolveSshSettings({ host: 'bad' }, o), ConfigError);
  });

  test('no config file: OpenSSH defaults (local user, port 22, default identity files)', () => {
    const home = path.join(tmp, 'nohome');
    const s = resolveSshSettings({ host: 'example.org' }, { homeDir: home, systemConfigPath: null, localUser: 'me' });
    assert.equal(s.configFileFound, false);
    assert.equal(s.configPath, path.join(home, '.ssh/config'));
    assert.equal(s.user, 'me');
    assert.equal(s.port, 22);
    assert.equal(s.identityFilesConfigured, false);
    assert.ok(s.identityFiles.includes(path.join(home, '.ssh/id_ed25519')));
    assert.equal(s.sshConfigFlag, '/dev/null');
  });

  test('default config path follows $HOME', () => {
    const home = path.join(tmp, 'envhome');
    mkdirSync(path.join(home, '.ssh'), { recursive: true });
    writeFileSync(path.join(home, '.ssh/config'), 'Host viahome\n  HostName real.example.org\n  Port 2345\n');
    const old = process.env.HOME;
    process.env.HOME = home;
    try {
      const s = resolveSshSettings({ host: 'viahome' }, { systemConfigPath: null });
      assert.equal(s.hostname, 'real.example.org');
      assert.equal(s.port, 2345);
      assert.equal(s.configPath, path.join(home, '.ssh/config'));
    } finally {
      process.env.HOME = old;
    }
  });

  test('the system config is read after the user config', () => {
    const sys = path.join(tmp, 'ssh_config_sys');
    writeFileSync(sys, 'Host *\n  User sysuser\n  Port 2020\n');
    const o = cfg('Host c\n  Port 1010\n', { systemConfigPath: sys });
    const s = resolveSshSettings({ host: 'c' }, o);
    assert.equal(s.port, 1010);
    assert.equal(s.user, 'sysuser');
  });

  test('Include with a glob, relative to ~/.ssh; the enclosing section resumes after it', () => {
    const o = cfg(`
Include config.d/*.conf
Host after
  User afteruser
  Include extra
  Port 1111
`);
    const d = path.join(o.homeDir!, '.ssh', 'config.d');
    mkdirSync(d);
    writeFileSync(path.join(d, 'a.conf'), 'Host inc\n  HostName inc.example.org\n');
    writeFileSync(path.join(d, 'b.conf'), 'Host inc2\n  User inc2user\n');
    writeFileSync(path.join(d, 'ignored.txt'), 'Host inc\n  User nope\n');
    writeFileSync(path.join(o.homeDir!, '.ssh', 'extra'), 'Host other\n  Port 9999\n');
    assert.equal(resolveSshSettings({ host: 'inc' }, o).hostname, 'inc.example.org');
    assert.equal(resolveSshSettings({ host: 'inc' }, o).user, 'localme');
    assert.equal(resolveSshSettings({ host: 'inc2' }, o).user, 'inc2user');
    const a = resolveSshSettings({ host: 'after' }, o);
    assert.equal(a.user, 'afteruser');
    assert.equal(a.port, 1111);
  });

  test('ProxyJump: chains, user@host:port, jump hosts resolved through the config', () => {
    const o = cfg(`
Host gw
  HostName gw.example.org
  User gwuser
  IdentityFile ~/.ssh/gw_key
  StrictHostKeyChecking accept-new
Host inner
  HostName 10.0.0.5
  Port 2201
  ProxyJump outer
Host cluster
  HostName login.internal
  ProxyJump gw,bob@inner:2202,[fe80::1]:2203
Host direct
  ProxyJump none
Host *
  User defuser
`);
    const s = resolveSshSettings({ host: 'cluster' }, o);
    assert.equal(s.proxyJumpSpec, 'gw,bob@inner:2202,[fe80::1]:2203');
    assert.deepEqual(
      s.proxyJump.map(h => [h.alias, h.hostname, h.user, h.port]),
      [
        ['gw', 'gw.example.org', 'gwuser', 22],
        // inner's own ProxyJump (outer) is not used: it is reached through gw, as with ssh -J
        ['inner', '10.0.0.5', 'bob', 2202],
        ['fe80::1', 'fe80::1', 'defuser', 2203],
      ],
    );
    assert.deepEqual(s.proxyJump[0]!.identityFiles, [path.join(o.homeDir!, '.ssh/gw_key')]);
    assert.equal(s.proxyJump[0]!.strictHostKeyChecking, 'accept-new');
    assert.equal(s.strictHostKeyChecking, 'yes');
    assert.deepEqual(resolveSshSettings({ host: 'direct' }, o).proxyJump, []);
  });

  test('ProxyJump: the first jump host\'s own ProxyJump is followed; loops are refused', () => {
    const o = cfg(`
Host bastion
  HostName bastion.example.org
Host gw
  ProxyJump bastion
Host cluster
  ProxyJump gw
Host loop1
  ProxyJump loop2
Host loop2
  ProxyJump loop1
`);
    assert.deepEqual(resolveSshSettings({ host: 'cluster' }, o).proxyJump.map(h => h.hostname), ['bastion.example.org', 'gw']);
    assert.throws(() => resolveSshSettings({ host: 'loop1' }, o), (e: unknown) => e instanceof ConfigError && /ProxyJump/.test(e.message));
  });

  test('ProxyCommand: the ssh -W idiom becomes a jump; anything else is refused clearly', () => {
    const o = cfg(`
Host a
  ProxyCommand ssh -q -W %h:%p gw.example.org
Host b
  ProxyCommand /usr/bin/ssh -l carol gw -p 2022 -W [%h]:%p
Host c
  ProxyCommand nc -X 5 -x proxy:1080 %h %p
`);
    assert.deepEqual(resolveSshSettings({ host: 'a' }, o).proxyJump.map(h => h.hostname), ['gw.example.org']);
    const b = resolveSshSettings({ host: 'b' }, o).proxyJump[0]!;
    assert.deepEqual([b.user, b.hostname, b.port], ['carol', 'gw', 2022]);
    assert.throws(() => resolveSshSettings({ host: 'c' }, o), (e: unknown) => e instanceof ConfigError && /ProxyCommand/.test(e.message) && /ProxyJump/.test(e.hint ?? ''));
    assert.equal(proxyCommandAsJump('ssh gw nc %h %p'), 'gw');
    assert.equal(proxyCommandAsJump('ssh -o Foo=bar -W %h:%p gw'), undefined);
  });

  test('parseJumpSpec forms', () => {
    assert.deepEqual(parseJumpSpec('host'), { user: undefined, host: 'host', port: undefined });
    assert.deepEqual(parseJumpSpec('u@host:2222'), { user: 'u', host: 'host', port: 2222 });
    assert.deepEqual(parseJumpSpec('u@x@host'), { user: 'u@x', host: 'host', port: undefined });
    assert.deepEqual(parseJumpSpec('[::1]:2200'), { user: undefined, host: '::1', port: 2200 });
    assert.deepEqual(parseJumpSpec('ssh://me@h.example.org:23'), { user: 'me', host: 'h.example.org', port: 23 });
    assert.throws(() => parseJumpSpec('h:notaport'), ConfigError);
    assert.throws(() => parseJumpSpec('@h'), ConfigError);
  });

  test('bad port and bad host are ConfigErrors', () => {
    assert.throws(() => resolveSshSettings({ host: 'x' }, cfg('Host x\n  Port 99999\n')), ConfigError);
    assert.throws(() => resolveSshSettings({ host: 'a b' }, cfg('')), ConfigError);
  });
});


describe('sshCommandArgs', () => {
  test('builds OpenSSH options that reproduce the resolved settings', () => {
    const o = cfg(`
Host c
  HostName c.example.org
  User alice
  Port 2222
  IdentityFile ~/.ssh/id_c
  IdentitiesOnly yes
  UserKnownHostsFile ~/.ssh/kh "/tmp/sp ace/kh%"
  ProxyJump gw
Host gw
  HostName gw.example.org
`);
    const s = resolveSshSettings({ host: 'c' }, o);
    const home = o.homeDir!;
    assert.deepEqual(sshCommandArgs(s), [
      'ssh',
      '-F',
      o.configPath!,
      '-p',
      '2222',
      '-l',
      'alice',
      '-i',
      path.join(home, '.ssh/id_c'),
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      `UserKnownHostsFile=${path.join(home, '.ssh/kh')} "/tmp/sp ace/kh%%"`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-J',
      'gw',
    ]);
    assert.equal(sshDestination(s), 'c');
  });

  test('no -i for OpenSSH default identity files; no -F for the passwd-home config', () => {
    const s = resolveSshSettings({ host: 'plain.example.org', user: 'u' }, { configPath: path.join(os.userInfo().homedir, '.ssh', 'config'), systemConfigPath: null, homeDir: path.join(tmp, 'h2') });
    const argv = sshCommandArgs(s);
    assert.ok(!argv.includes('-i'));
    assert.ok(!argv.includes('-F'));
    assert.ok(!argv.includes('-J'));
  });

  test('real OpenSSH (`ssh -G`) agrees with the resolved settings', async () => {
    const o = cfg(`
Host c
  HostName c.example.org
  User alice
  Port 2222
  IdentityFile ~/.ssh/id_c
  ProxyJump jumper@gw:2022
`);
    const s = resolveSshSettings({ host: 'c', user: 'bob' }, o);
    writeFileSync(path.join(o.homeDir!, '.ssh/id_c'), ''); // ssh drops -i files that do not exist
    const r = await run([...sshCommandArgs(s), '-G', sshDestination(s)]);
    const g = new Map(r.stdout.split('\n').map(l => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)] as const));
    assert.equal(g.get('hostname'), 'c.example.org');
    assert.equal(g.get('user'), 'bob');
    assert.equal(g.get('port'), '2222');
    assert.equal(g.get('proxyjump'), 'jumper@gw:2022');
    assert.equal(g.get('stricthostkeychecking'), 'true');
    assert.match(r.stdout, new RegExp(`identityfile ${path.join(o.homeDir!, '.ssh/id_c').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.match(g.get('userknownhostsfile') ?? '', new RegExp(path.join(o.homeDir!, '.ssh/known_hosts')));
  });
});
