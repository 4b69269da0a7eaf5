// A private, throwaway sshd on 127.0.0.1 for transport tests (needs root: it logs in as the
// current user, root allowed with keys only). Everything lives in a temp dir removed by stop().
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { run } from '../../src/proc.ts';
import { startDaemon } from './daemon.ts';

export interface TestSshd {
  host: '127.0.0.1';
  port: number;
  /** The login user (the current user, usually root). */
  user: string;
  /** A known_hosts line for this server: `[127.0.0.1]:PORT ssh-ed25519 AAAA…`. */
  hostKeyLine: string;
  /** The public host key, `ssh-ed25519 AAAA…` (no comment). */
  hostPubKey: string;
  /** An unencrypted ed25519 private key authorized to log in (its .pub is next to it). */
  clientKeyPath: string;
  /** The temp dir holding config, keys and authorized_keys. */
  dir: string;
  /** Everything sshd logged so far (-e, LogLevel VERBOSE). */
  log(): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Generates an unencrypted ed25519 key pair at `file` (and `file.pub`). */
export async function genKey(file: string, opts: { passphrase?: string; comment?: string } = {}): Promise<void> {
  await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', opts.passphrase ?? '', '-C', opts.comment ?? 'rx-test', '-f', file]);
}

function probe(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const s = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.on('data', b => done(b.toString('latin1').startsWith('SSH-')));
    s.on('error', () => done(false));
  });
}

/**
 * Starts sshd. `extraConfig` lines come first in sshd_config, so they win over the defaults here
 * (sshd keeps the first value of an option).
 */
export async function startSshd(opts: { extraConfig?: string[] } = {}): Promise<TestSshd> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-sshd-'));
  const hostKey = path.join(dir, 'ssh_host_ed25519_key');
  const clientKeyPath = path.join(dir, 'client_ed25519');
  await genKey(hostKey, { comment: 'rx-test-host' });
  await genKey(clientKeyPath, { comment: 'rx-test-client' });
  const authorized = path.join(dir, 'authorized_keys');
  writeFileSync(authorized, readFileSync(clientKeyPath + '.pub'));
  chmodSync(authorized, 0o600);
  const cfg = path.join(dir, 'sshd_config');
  writeFileSync(
    cfg,
    [
      ...(opts.extraConfig ?? []),
      `HostKey ${hostKey}`,
      'PidFile none',
      `AuthorizedKeysFile ${authorized}`,
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'AllowTcpForwarding yes',
      'MaxStartups 100:30:200',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  const sshd = (await run(['bash', '-c', 'command -v sshd || echo /usr/sbin/sshd'])).stdout.trim();
  let lastErr = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const d = startDaemon([sshd, '-D', '-e', '-f', cfg, '-p', String(port), '-o', 'ListenAddress=127.0.0.1']);
    let exited = false;
    void d.exited.then(() => (exited = true));
    const deadline = Date.now() + 10000;
    while (!exited && Date.now() < deadline) {
      if (await probe(port)) {
        const hostPubKey = readFileSync(hostKey + '.pub', 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
        return {
          host: '127.0.0.1',
          port,
          user: os.userInfo().username,
          hostKeyLine: `[127.0.0.1]:${port} ${hostPubKey}`,
          hostPubKey,
          clientKeyPath,
          dir,
          log: () => d.output(),
          async stop() {
            await d.stop();
            rmSync(dir, { recursive: true, force: true });
          },
        };
      }
      await new Promise(r => setTimeout(r, 50));
    }
    await d.stop();
    lastErr = d.output();
    if (!/Address already in use|Cannot bind/i.test(lastErr)) break;
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`test sshd did not start:\n${lastErr}`);
}
