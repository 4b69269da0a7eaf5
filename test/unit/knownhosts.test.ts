import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { run } from '../../src/proc.ts';
import {
  appendKnownHost,
  checkHostKey,
  entryMatchesName,
  fingerprintSha256,
  formatKnownHostsLine,
  hashHostName,
  keyTypeOfBlob,
  knownHostsName,
  knownKeyTypes,
  lookupHost,
  parseKnownHosts,
  readKnownHostsFiles,
} from '../../src/remote/transport/knownhosts.ts';

let tmp: string;
/** `ssh-ed25519 AAAA…` public keys made by ssh-keygen. */
let edA: string;
let edB: string;
let ecdsa: string;
const blob = (pub: string) => Buffer.from(pub.split(' ')[1]!, 'base64');

async function genPub(name: string, type: string): Promise<string> {
  const f = path.join(tmp, name);
  await run(['ssh-keygen', '-q', '-t', type, '-N', '', '-C', 'c', '-f', f]);
  return readFileSync(f + '.pub', 'utf8').trim().split(' ').slice(0, 2).join(' ');
}

before(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'rx-knownhosts-'));
  edA = await genPub('a', 'ed25519');
  edB = await genPub('b', 'ed25519');
  ecdsa = await genPub('e', 'ecdsa');
});
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('known_hosts', () => {
  test('names: port 22 plain, other ports bracketed, lowercased', () => {
    assert.equal(knownHostsName('Host.Example.org', 22), 'host.example.org');
    assert.equal(knownHostsName('10.0.0.1', 2222), '[10.0.0.1]:2222');
  });

  test('fingerprint matches ssh-keygen -l', async () => {
    const r = await run(['ssh-keygen', '-l', '-E', 'sha256', '-f', path.join(tmp, 'a.pub')]);
    assert.equal(fingerprintSha256(blob(edA)), r.stdout.split(' ')[1]);
    assert.equal(keyTypeOfBlob(blob(edA)), 'ssh-ed25519');
    assert.equal(keyTypeOfBlob(blob(ecdsa)), 'ecdsa-sha2-nistp256');
  });

  test('parses plain, comma lists, [host]:port, markers, comments; skips junk', () => {
    const text = [
      '# comment',
      '',
      `alpha.example.org,10.1.1.1 ${edA} a comment`,
      `[beta.example.org]:2222 ${edA}`,
      `@revoked * ${edB}`,
      `@cert-authority *.example.org ${ecdsa}`,
      '@weird host ssh-ed25519 AAAA',
      'broken-line',
      `gamma ssh-ed25519 not*base64`,
      `\tdelta   ${edA}\r`,
    ].join('\n');
    const e = parseKnownHosts(text, 'kh');
    assert.equal(e.length, 5);
    assert.deepEqual(e[0]!.patterns, ['alpha.example.org', '10.1.1.1']);
    assert.equal(e[0]!.comment, 'a comment');
    assert.equal(e[0]!.line, 3);
    assert.equal(e[0]!.file, 'kh');
    assert.equal(e[2]!.marker, 'revoked');
    assert.equal(e[3]!.marker, 'cert-authority');
    assert.deepEqual(e[4]!.patterns, ['delta']);
    const plain = (h: string, p: number) => lookupHost(e, h, p).filter(x => !x.marker).length;
    assert.equal(plain('10.1.1.1', 22), 1);
    assert.equal(plain('beta.example.org', 2222), 1);
    assert.equal(plain('beta.example.org', 22), 0);
    assert.deepEqual(lookupHost(e, 'beta.example.org', 22).map(x => x.marker), ['revoked', 'cert-authority']);
    assert.equal(lookupHost(e, 'alpha.example.org', 2222).filter(x => !x.marker).length, 0);
  });

  test('wildcards and negation in host patterns', () => {
    const [e] = parseKnownHosts(`*.example.org,!bad.example.org,node? ${edA}`);
    assert.ok(entryMatchesName(e!, 'login.example.org'));
    assert.ok(entryMatchesName(e!, 'LOGIN.Example.ORG'));
    assert.ok(!entryMatchesName(e!, 'bad.example.org'));
    assert.ok(entryMatchesName(e!, 'node1'));
    assert.ok(!entryMatchesName(e!, 'node12'));
    assert.ok(!entryMatchesName(e!, 'example.org'));
  });

  test('hashed entries written by `ssh-keygen -H` are found', async () => {
    const f = path.join(tmp, 'kh_hash');
    writeFileSync(f, [`plain.example.org ${edA}`, `[port.example.org]:2222 ${edB}`, `x.example.org,y.example.org ${ecdsa}`, ''].join('\n'));
    await run(['ssh-keygen', '-H', '-f', f]);
    const text = readFileSync(f, 'utf8');
    assert.ok(!text.includes('example.org'), 'ssh-keygen -H hashed every name');
    const e = readKnownHostsFiles([f, path.join(tmp, 'does-not-exist')]);
    assert.equal(e.length, 4); // the comma list became two hashed lines
    assert.ok(e.every(x => x.hashed));
    assert.equal(checkHostKey(e, 'plain.example.org', 22, blob(edA)).status, 'known');
    assert.equal(checkHostKey(e, 'port.example.org', 2222, blob(edB)).status, 'known');
    assert.equal(checkHostKey(e, 'port.example.org', 22, blob(edB)).status, 'unknown');
    assert.equal(checkHostKey(e, 'y.example.org', 22, blob(ecdsa)).status, 'known');
    assert.equal(checkHostKey(e, 'z.example.org', 22, blob(ecdsa)).status, 'unknown');
  });

  test('hashHostName is the HMAC-SHA1 format ssh-keygen -F understands', async () => {
    const f = path.join(tmp, 'kh_ours');
    writeFileSync(f, `${hashHostName('[h.example.org]:2022')} ${edA}\n`);
    const r = await run(['ssh-keygen', '-F', '[h.example.org]:2022', '-f', f]);
    assert.match(r.stdout, /Host \[h\.example\.org\]:2022 found/);
  });

  test('checkHostKey: known, unknown (other types), changed, revoked, cert-authority', () => {
    const e = parseKnownHosts([`h1 ${edA}`, `h2 ${ecdsa}`, `@revoked * ${edB}`, `@cert-authority *.ca.example.org ${ecdsa}`].join('\n'));
    assert.deepEqual(checkHostKey(e, 'h1', 22, blob(edA)).status, 'known');
    const changed = checkHostKey(e, 'h1', 22, blob(ecdsa)); // h1 has no ECDSA key: not "changed"
    assert.equal(changed.status, 'unknown');
    assert.deepEqual(changed.status === 'unknown' && changed.otherTypes, ['ssh-ed25519']);
    const e2 = parseKnownHosts([`h1 ${edA}`].join('\n'));
    const c2 = checkHostKey(e2, 'h1', 22, Buffer.from(blob(edB)));
    assert.equal(c2.status, 'changed');
    assert.equal(c2.status === 'changed' && c2.expected[0]!.line, 1);
    assert.equal(checkHostKey(e, 'anything', 2222, blob(edB)).status, 'revoked');
    const ca = checkHostKey(e, 'n1.ca.example.org', 22, blob(edA));
    assert.equal(ca.status, 'unknown');
    assert.equal(ca.status === 'unknown' && ca.certAuthority, true);
    assert.deepEqual(knownKeyTypes(e, 'h2', 22), ['ecdsa-sha2-nistp256']);
  });

  test('appendKnownHost creates the file (0600) and its dir (0700), keeps a missing newline, can hash', async () => {
    const dir = path.join(tmp, 'newdir', '.ssh');
    const f = path.join(dir, 'known_hosts');
    appendKnownHost(f, '127.0.0.1', 2222, blob(edA));
    assert.equal(statSync(f).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    writeFileSync(f, readFileSync(f, 'utf8') + `# no newline at end`);
    const line = appendKnownHost(f, 'other.example.org', 22, blob(edB), { hash: true });
    assert.match(line, /^\|1\|[^|]+\|[^ ]+ ssh-ed25519 AAAA/);
    const lines = readFileSync(f, 'utf8').split('\n');
    assert.equal(lines[0], `[127.0.0.1]:2222 ${edA}`);
    assert.equal(lines[1], '# no newline at end');
    assert.equal(lines[2], line);
    const e = readKnownHostsFiles([f]);
    assert.equal(checkHostKey(e, '127.0.0.1', 2222, blob(edA)).status, 'known');
    assert.equal(checkHostKey(e, 'other.example.org', 22, blob(edB)).status, 'known');
    // and OpenSSH agrees
    assert.match((await run(['ssh-keygen', '-F', 'other.example.org', '-f', f])).stdout, /found/);
    assert.match((await run(['ssh-keygen', '-F', '[127.0.0.1]:2222', '-f', f])).stdout, /found/);
  });

  test('formatKnownHostsLine', () => {
    assert.equal(formatKnownHostsLine('H', 22, blob(edA)), `h ${edA}`);
    assert.equal(formatKnownHostsLine('h', 23, blob(edA)), `[h]:23 ${edA}`);
  });
});
