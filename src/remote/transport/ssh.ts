// The ssh transport: one ssh2 connection (through ProxyJump hosts if configured) for a whole rx
// command; every exec() is a channel on it running `bash -s`.
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import readline from 'node:readline';
import { Writable, type Duplex } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, AuthenticationType, ClientChannel, ConnectConfig, NextAuthHandler, ParsedKey, Prompt } from 'ssh2';
import { CommandError, ConnectionError } from '../../errors.ts';
import { shJoin } from '../../quote.ts';
import { appendKnownHost, checkHostKey, fingerprintSha256, keyTypeLabel, keyTypeOfBlob, knownHostsName, knownKeyTypes, readKnownHostsFiles } from './knownhosts.ts';
import { BASH_ARGV, wrapScript, type WrappedScript } from './local.ts';
import { resolveSshSettings, type HopSettings, type RemoteSpec, type ResolveOptions, type SshSettings } from './sshconfig.ts';
import type { ExecOptions, ExecResult, Transport } from './types.ts';

const { Client, BaseAgent, OpenSSHAgent, utils } = ssh2;
type Client = InstanceType<typeof ssh2.Client>;

export type { SshSettings, HopSettings, RemoteSpec } from './sshconfig.ts';

/** Answers keyboard-interactive / password prompts (one answer per prompt, in order). */
export type Prompter = (req: { host: string; name: string; instructions: string; prompts: { prompt: string; echo: boolean }[] }) => Promise<string[]>;

export interface ConnectSshOptions extends RemoteSpec, ResolveOptions {
  /** Already resolved settings (then host/port/… and the ResolveOptions are ignored). */
  settings?: SshSettings;
  /** Time allowed for TCP connect + handshake + authentication of each hop, not counting time spent waiting for the user to type. Default 20000. */
  readyTimeoutMs?: number;
  /** At most this many channels (execs) open at once; sshd's MaxSessions defaults to 10. Default 8. */
  maxSessions?: number;
  /** ssh-agent socket; default $SSH_AUTH_SOCK; false: do not use an agent. */
  agent?: string | false;
  /** Whether the user can be prompted (keyboard-interactive, password). Default: stdin is a TTY. */
  interactive?: boolean;
  /** How to prompt; default: on the terminal (stderr, input hidden when the server says so). */
  prompt?: Prompter;
  /** Informational messages (e.g. "added host key to known_hosts"). Default: printed to stderr. */
  onNotice?: (message: string) => void;
  /** ssh2 debug output. */
  debug?: (message: string) => void;
}

export interface SshTransport extends Transport {
  readonly kind: 'ssh';
  /** How the connection was made; rsync can use sshCommandArgs(settings) to do the same with OpenSSH. */
  readonly settings: SshSettings;
}

// ---------------------------------------------------------------------------------------------
// OpenSSH command line (for rsync -e)

function sshPathValue(p: string): string {
  const v = p.replace(/%/g, '%%');
  return /[\s"'\\]/.test(v) ? '"' + v.replace(/[\\"]/g, '\\$&') + '"' : v;
}

/**
 * argv (starting with `ssh`, without the destination) for OpenSSH's ssh to reach the same host
 * the same way: `[...sshCommandArgs(s), sshDestination(s), cmd]`, or for rsync
 * `rsync -e "$(shJoin(sshCommandArgs(s)))" src sshDestination(s):dst`. Host keys must already be
 * known (StrictHostKeyChecking=yes): connectSsh() has verified or recorded them.
 */
export function sshCommandArgs(s: SshSettings): string[] {
  const argv = ['ssh'];
  if (s.sshConfigFlag !== undefined) argv.push('-F', s.sshConfigFlag);
  argv.push('-p', String(s.port), '-l', s.user);
  if (s.identityFilesConfigured) for (const f of s.identityFiles) argv.push('-i', f.replace(/%/g, '%%'));
  if (s.identitiesOnly) argv.push('-o', 'IdentitiesOnly=yes');
  argv.push('-o', `UserKnownHostsFile=${s.userKnownHostsFiles.map(sshPathValue).join(' ')}`);
  argv.push('-o', 'StrictHostKeyChecking=yes');
  if (s.hostKeyAlias !== undefined) argv.push('-o', `HostKeyAlias=${s.hostKeyAlias}`);
  if (s.proxyJumpSpec !== undefined) argv.push('-J', s.proxyJumpSpec);
  return argv;
}

/** The destination to give OpenSSH's ssh after sshCommandArgs(): the host as rx was given it. */
export function sshDestination(s: SshSettings): string {
  return s.alias;
}

// ---------------------------------------------------------------------------------------------
// Helpers

function hopLabel(h: HopSettings): string {
  return `${h.user}@${h.hostname}:${h.port}`;
}

/** The name and port a hop's key is recorded under in known_hosts (HostKeyAlias is used as-is). */
function knownHostsKeyFor(h: HopSettings): { host: string; port: number } {
  return h.hostKeyAlias !== undefined ? { host: h.hostKeyAlias, port: 22 } : { host: h.hostname, port: h.port };
}

function opensshKnownHostsDefault(): string | undefined {
  try {
    return `${os.userInfo().homedir}/.ssh/known_hosts`;
  } catch {
    return undefined;
  }
}

/** A command the user can run once to look at (and accept) a host key with OpenSSH. */
function manualSshCommand(h: HopSettings, via: HopSettings[], s: SshSettings): string {
  const argv = ['ssh'];
  if (s.sshConfigFlag !== undefined && s.configFileFound) argv.push('-F', s.sshConfigFlag);
  if (h.port !== 22) argv.push('-p', String(h.port));
  argv.push('-l', h.user);
  if (h.userKnownHostsFiles[0] && h.userKnownHostsFiles[0] !== opensshKnownHostsDefault()) argv.push('-o', `UserKnownHostsFile=${h.userKnownHostsFiles[0]}`);
  if (h.hostKeyAlias !== undefined) argv.push('-o', `HostKeyAlias=${h.hostKeyAlias}`);
  if (h === s && s.proxyJumpSpec !== undefined) argv.push('-J', s.proxyJumpSpec);
  else if (via.length) argv.push('-J', via.map(v => `${v.user}@${v.alias.includes(':') ? `[${v.alias}]` : v.alias}:${v.port}`).join(','));
  argv.push(h.alias);
  return shJoin(argv);
}

const DEFAULT_HOST_KEY_ALGOS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];

/** Host key algorithms with the ones whose keys are already known first (as OpenSSH does). */
function hostKeyAlgorithms(known: string[]): string[] | undefined {
  if (!known.length) return undefined;
  const first: string[] = [];
  for (const t of known) {
    if (t === 'ssh-rsa') first.push('rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa');
    else if (DEFAULT_HOST_KEY_ALGOS.includes(t) || t === 'ssh-dss') first.push(t);
  }
  if (!first.length) return undefined;
  return [...new Set([...first, ...DEFAULT_HOST_KEY_ALGOS])];
}

class Semaphore {
  active = 0;
  private waiters: (() => void)[] = [];
  constructor(public limit: number) {}
  async acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return;
    }
    await new Promise<void>(resolve => this.waiters.push(resolve));
  }
  release(): void {
    if (this.active <= this.limit && this.waiters.length) {
      this.waiters.shift()!(); // hand the slot over
      return;
    }
    this.active--;
  }
}

async function promptOnTty(req: Parameters<Prompter>[0]): Promise<string[]> {
  let muted = false;
  const out = new Writable({
    write(chunk, _enc, cb) {
      if (!muted) process.stderr.write(chunk);
      cb();
    },
  });
  const rl = readline.createInterface({ input: process.stdin, output: out, terminal: true });
  try {
    if (req.name) process.stderr.write(`${req.name}\n`);
    if (req.instructions) process.stderr.write(`${req.instructions}\n`);
    const answers: string[] = [];
    for (const p of req.prompts) {
      process.stderr.write(p.prompt);
      muted = !p.echo;
      answers.push(await new Promise<string>(resolve => rl.question('', resolve)));
      if (muted) process.stderr.write('\n');
      muted = false;
    }
    return answers;
  } finally {
    rl.close();
  }
}

/** Wraps an agent to remember which keys it offered and optionally restrict them (IdentitiesOnly). */
class RecordingAgent extends BaseAgent<ParsedKey> {
  offered: Buffer[] = [];
  constructor(
    private readonly inner: InstanceType<typeof OpenSSHAgent>,
    private readonly only: Buffer[] | null,
  ) {
    super();
  }
  getIdentities(cb: (err: Error | undefined, keys?: ParsedKey[]) => void): void {
    this.inner.getIdentities((err, keys_) => {
      if (err || !keys_) return cb(err ?? new Error('ssh-agent returned no keys'));
      const keys = keys_ as ParsedKey[]; // OpenSSHAgent always returns parsed keys
      const use = this.only ? keys.filter(k => this.only!.some(b => b.equals(k.getPublicSSH()))) : keys;
      this.offered = use.map(k => k.getPublicSSH());
      cb(undefined, use);
    });
  }
  sign(pubKey: ParsedKey, data: Buffer, options: object, cb?: (err: Error | undefined, signature?: Buffer) => void): void {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    (this.inner.sign as any)(pubKey, data, options, cb);
  }
}

interface IdentityKey {
  file: string;
  key?: ParsedKey;
  /** Public key blob (from the key or its .pub), for IdentitiesOnly and de-duplication. */
  pub?: Buffer;
  encrypted: boolean;
  problem?: string;
}

function loadIdentity(file: string): IdentityKey {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch (e) {
    return { file, encrypted: false, problem: `cannot read: ${(e as Error).message}` };
  }
  let pub: Buffer | undefined;
  try {
    const p = utils.parseKey(readFileSync(file + '.pub'));
    if (!(p instanceof Error)) pub = (Array.isArray(p) ? p[0] : p).getPublicSSH();
  } catch {
    // no .pub next to it
  }
  const parsed = utils.parseKey(data);
  if (parsed instanceof Error) {
    if (/encrypt|passphrase/i.test(parsed.message)) return { file, encrypted: true, ...(pub ? { pub } : {}) };
    return { file, encrypted: false, problem: parsed.message };
  }
  const key: ParsedKey = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key.isPrivateKey()) return { file, encrypted: false, problem: 'not a private key' };
  return { file, key, pub: key.getPublicSSH(), encrypted: false };
}

// ---------------------------------------------------------------------------------------------
// Connecting one hop

interface HopContext {
  hop: HopSettings;
  /** The jump hosts before this hop (for messages). */
  via: HopSettings[];
  sock?: Duplex;
  opts: ConnectSshOptions;
  settings: SshSettings;
}

function whereText(ctx: HopContext): string {
  const what = ctx.hop === ctx.settings ? '' : 'jump host ';
  const via = ctx.via.length ? ` (via ${ctx.via.map(hopLabel).join(' -> ')})` : '';
  return `${what}${hopLabel(ctx.hop)}${via}`;
}

function configText(s: SshSettings): string {
  return `ssh config: ${s.configPath}${s.configFileFound ? '' : ' (not found)'}`;
}

function connectHop(ctx: HopContext): Promise<Client> {
  const { hop, opts, settings } = ctx;
  const conn = new Client();
  const timeoutMs = opts.readyTimeoutMs ?? 20000;
  const interactive = opts.interactive ?? Boolean(process.stdin.isTTY);
  const prompter = opts.prompt ?? promptOnTty;
  const notice = opts.onNotice ?? ((m: string) => process.stderr.write(`rx: ${m}\n`));
  const where = whereText(ctx);

  let hostKeyFailure: ConnectionError | undefined;
  const notes: string[] = [];
  const tried: string[] = [];

  // --- host key verification
  const { host: khHost, port: khPort } = knownHostsKeyFor(hop);
  const knownFiles = [...hop.userKnownHostsFiles, ...hop.globalKnownHostsFiles];
  const entries = readKnownHostsFiles(knownFiles);
  const hostVerifier = (key: Buffer): boolean => {
    const check = checkHostKey(readKnownHostsFiles(knownFiles), khHost, khPort, key);
    const type = keyTypeOfBlob(key);
    const fp = fingerprintSha256(key);
    const name = knownHostsName(khHost, khPort);
    if (check.status === 'known') return true;
    if (check.status === 'revoked') {
      hostKeyFailure = new ConnectionError(
        `The host key of ${where} is REVOKED (${check.entry.file}:${check.entry.line}): ${keyTypeLabel(type)} ${fp}. rx refuses to connect.`,
        { hint: 'Ask the cluster admins which host key is current.' },
      );
      return false;
    }
    if (check.status === 'changed') {
      const old = check.expected.map(e => `    ${e.file}:${e.line}: ${keyTypeLabel(keyTypeOfBlob(e.key))} ${fingerprintSha256(e.key)}`).join('\n');
      const file = check.expected[0]!.file;
      const fix = `ssh-keygen -R ${shJoin([name])}${file !== opensshKnownHostsDefault() ? ' -f ' + shJoin([file]) : ''}`;
      hostKeyFailure = new ConnectionError(
        `WARNING: THE HOST KEY OF ${where} HAS CHANGED! Someone could be eavesdropping on you right now (man-in-the-middle attack), or the host key was just replaced.\n` +
          `  The server now presents: ${keyTypeLabel(type)} key ${fp}\n` +
          `  known_hosts expects:\n${old}\n` +
          `rx refuses to connect (whatever StrictHostKeyChecking says). If the cluster admins confirm the new key, remove the old one with\n` +
          `  ${fix}\n` +
          `and connect again (then accept the new key as for an unknown host).`,
        { hint: `Verify the new fingerprint ${fp} with the cluster admins before running: ${fix}` },
      );
      return false;
    }
    // unknown
    if (hop.strictHostKeyChecking === 'accept-new' || hop.strictHostKeyChecking === 'no') {
      const file = hop.userKnownHostsFiles[0];
      try {
        if (!file) throw new Error('no UserKnownHostsFile is configured');
        appendKnownHost(file, khHost, khPort, key, { hash: hop.hashKnownHosts });
      } catch (e) {
        hostKeyFailure = new ConnectionError(`Cannot record the host key of ${where} in ${file}: ${(e as Error).message}`);
        return false;
      }
      notice(`permanently added the ${keyTypeLabel(type)} host key of ${name} (${fp}) to ${file}`);
      return true;
    }
    const extra: string[] = [];
    if (check.otherTypes.length) extra.push(`  (known_hosts has keys of other types for this host: ${check.otherTypes.map(keyTypeLabel).join(', ')}; the server did not offer them.)`);
    if (check.certAuthority) extra.push('  (known_hosts has a @cert-authority line for this host; rx cannot verify host certificates, so it needs the plain host key.)');
    const manual = manualSshCommand(hop, ctx.via, settings);
    const acceptNew =
      hop === settings
        ? `set strictHostKeyChecking: 'accept-new' in the sweep's remote (rx then records the key on first connect)`
        : `add \`StrictHostKeyChecking accept-new\` under \`Host ${hop.alias}\` in ${settings.configPath} (rx then records the key on first connect)`;
    hostKeyFailure = new ConnectionError(
      `The host key of ${where} is not known, so rx cannot verify that it is talking to the right machine.\n` +
        `  host: ${hop.hostname}  port: ${hop.port}\n` +
        `  ${keyTypeLabel(type)} key fingerprint: ${fp}\n` +
        (extra.length ? extra.join('\n') + '\n' : '') +
        `  looked in: ${knownFiles.join(', ')}\n` +
        `To accept it, check the fingerprint against the one the cluster publishes, then either\n` +
        `  - run once: ${manual}   and answer "yes" if the fingerprint matches, or\n` +
        `  - ${acceptNew}.`,
      { hint: `Run \`${manual}\` once and check the fingerprint ${fp}, or ${acceptNew.replace(/ \(rx then.*$/, '')}.` },
    );
    return false;
  };

  // --- authentication
  const agentPath = opts.agent === false ? undefined : (opts.agent ?? process.env.SSH_AUTH_SOCK);
  const hasAgent = Boolean(agentPath) && existsSync(agentPath!);
  const identities = hop.identityFiles.filter(f => hop.identityFilesConfigured || existsSync(f)).map(f => {
    if (!existsSync(f)) return { file: f, encrypted: false, problem: 'no such file' } as IdentityKey;
    return loadIdentity(f);
  });
  for (const id of identities) if (id.problem) notes.push(`identity file ${id.file}: ${id.problem}`);
  const agent = hasAgent ? new RecordingAgent(new OpenSSHAgent(agentPath!), hop.identitiesOnly ? identities.flatMap(i => (i.pub ? [i.pub] : [])) : null) : undefined;

  type Step = { method: AuthenticationType; make: () => AnyAuthMethod | null; what: string };
  const steps: Step[] = [];
  if (agent) steps.push({ method: 'publickey', what: `ssh-agent (${agentPath})`, make: () => ({ type: 'agent', username: hop.user, agent }) });
  for (const id of identities) {
    if (!id.key) continue;
    steps.push({
      method: 'publickey',
      what: `identity file ${id.file}`,
      make: () => (agent?.offered.some(b => id.pub && b.equals(id.pub)) ? null : { type: 'publickey', username: hop.user, key: id.key! }),
    });
  }
  let timer: NodeJS.Timeout | undefined;
  let settled = false;
  let onTimeout = () => {};
  const armTimer = () => {
    clearTimeout(timer);
    timer = setTimeout(() => onTimeout(), timeoutMs);
  };
  const prompting = (fn: () => Promise<string[]>) => {
    clearTimeout(timer);
    return fn().finally(() => {
      if (!settled) armTimer();
    });
  };
  const kbdStep: Step = {
    method: 'keyboard-interactive',
    what: 'keyboard-interactive',
    make: () => ({
      type: 'keyboard-interactive',
      username: hop.user,
      prompt: (name: string, instructions: string, _lang: string, prompts: Prompt[], finish: (answers: string[]) => void) => {
        prompting(() => prompter({ host: hopLabel(hop), name, instructions, prompts: prompts.map(p => ({ prompt: p.prompt, echo: p.echo ?? false })) })).then(finish, () => finish([]));
      },
    }),
  };
  const pwStep: Step = {
    method: 'password',
    what: 'password',
    make: () => null, // filled in lazily below (needs the prompt first)
  };
  if (interactive) for (let i = 0; i < 3; i++) steps.push(kbdStep);
  let serverMethods: string[] | null = null;
  let first = true;
  let passwordTries = 0;
  const authHandler = (methodsLeft: AuthenticationType[] | null, _partial: boolean | null, next: NextAuthHandler): void => {
    if (first) {
      first = false;
      next({ type: 'none', username: hop.user });
      return;
    }
    serverMethods = methodsLeft ?? serverMethods;
    while (steps.length) {
      const step = steps.shift()!;
      if (serverMethods && !serverMethods.includes(step.method)) continue;
      const m = step.make();
      if (!m) continue;
      tried.push(step.what);
      next(m);
      return;
    }
    if (interactive && serverMethods?.includes('password') && passwordTries < 3) {
      passwordTries++;
      tried.push(pwStep.what);
      prompting(() => prompter({ host: hopLabel(hop), name: '', instructions: '', prompts: [{ prompt: `${hopLabel(hop)}'s password: `, echo: false }] })).then(
        a => next({ type: 'password', username: hop.user, password: a[0] ?? '' }),
        () => next(false as unknown as AuthenticationType),
      );
      return;
    }
    next(false as unknown as AuthenticationType);
  };

  const authFailure = (): ConnectionError => {
    const lines = [`Authentication to ${where} failed.`];
    lines.push(`  server accepts: ${serverMethods?.join(', ') ?? '(unknown)'}`);
    lines.push(`  tried: ${tried.filter((t, i) => tried.indexOf(t) === i).join(', ') || 'nothing usable'}`);
    if (!hasAgent) lines.push(`  ssh-agent: ${agentPath ? `socket ${agentPath} not found` : 'not available (SSH_AUTH_SOCK is not set)'}`);
    const encrypted = identities.filter(i => i.encrypted);
    for (const e of encrypted) {
      if (!hasAgent || (agent && !agent.offered.some(b => e.pub && b.equals(e.pub)))) {
        lines.push(`  identity file ${e.file} is encrypted (has a passphrase): rx cannot ask for passphrases; add it to ssh-agent: \`eval "$(ssh-agent)"; ssh-add ${shJoin([e.file])}\``);
      }
    }
    if (!hop.identityFilesConfigured && !identities.length) lines.push(`  no identity files (looked for ${hop.identityFiles.join(', ')})`);
    for (const n of notes) lines.push(`  ${n}`);
    if (!interactive && serverMethods?.some(m => m === 'keyboard-interactive' || m === 'password')) {
      lines.push('  the server also accepts keyboard-interactive/password (e.g. a 2FA code), but stdin is not a terminal so rx cannot prompt: run rx from an interactive terminal.');
    }
    lines.push(`  ${configText(settings)}`);
    const encryptedHint = encrypted.length ? `Add the key to ssh-agent (ssh-add ${encrypted[0]!.file}) and try again.` : `Check that \`ssh ${hop.user}@${hop.hostname}${hop.port !== 22 ? ' -p ' + hop.port : ''}\` works without a password.`;
    return new ConnectionError(lines.join('\n'), { hint: encryptedHint });
  };

  const known = knownKeyTypes(entries, khHost, khPort);
  const algos = hostKeyAlgorithms(known);
  const cfg: ConnectConfig = {
    host: hop.hostname,
    port: hop.port,
    username: hop.user,
    readyTimeout: 0, // our own timer below, paused while the user types
    keepaliveInterval: 15000,
    keepaliveCountMax: 4,
    hostVerifier: hostVerifier as ConnectConfig['hostVerifier'],
    authHandler: authHandler as ConnectConfig['authHandler'],
    ...(ctx.sock ? { sock: ctx.sock } : {}),
    ...(algos ? { algorithms: { serverHostKey: algos as NonNullable<NonNullable<ConnectConfig['algorithms']>['serverHostKey']> } } : {}),
    ...(opts.debug ? { debug: opts.debug } : {}),
  };

  return new Promise<Client>((resolve, reject) => {
    const fail = (e: ConnectionError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.removeAllListeners('ready');
      conn.on('error', () => {});
      conn.destroy();
      reject(e);
    };
    onTimeout = () =>
      fail(new ConnectionError(`Cannot connect to ${where}: no answer within ${Math.round(timeoutMs / 1000)} s (wrong host or port? firewall? VPN needed?).\n  ${configText(settings)}`));
    armTimer();
    conn.on('ready', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.removeListener('error', onError);
      conn.on('error', () => {}); // until the transport attaches its own listener
      resolve(conn);
    });
    const onError = (err: Error & { level?: string; code?: string }) => {
      if (settled) return;
      if (err.level === 'agent') {
        notes.push(`ssh-agent: ${err.message}`);
        return;
      }
      if (hostKeyFailure) return fail(hostKeyFailure);
      if (err.level === 'client-authentication' || /authentication methods failed/i.test(err.message)) return fail(authFailure());
      let reason = err.message;
      switch (err.code) {
        case 'ECONNREFUSED':
          reason = `connection refused (is sshd listening on ${hop.hostname} port ${hop.port}?)`;
          break;
        case 'ENOTFOUND':
        case 'EAI_AGAIN':
          reason = `cannot resolve host name ${JSON.stringify(hop.hostname)}`;
          break;
        case 'EHOSTUNREACH':
        case 'ENETUNREACH':
          reason = `host unreachable (${err.code}; VPN needed?)`;
          break;
        case 'ETIMEDOUT':
          reason = 'connection timed out (firewall? VPN needed?)';
          break;
        case 'ECONNRESET':
          reason = 'connection reset by the server';
          break;
      }
      fail(new ConnectionError(`Cannot connect to ${where}: ${reason}\n  ${configText(settings)}`, { cause: err }));
    };
    conn.on('error', onError);
    conn.on('close', () => {
      if (settled) return;
      fail(hostKeyFailure ?? new ConnectionError(`Cannot connect to ${where}: the server closed the connection during the handshake\n  ${configText(settings)}`));
    });
    try {
      conn.connect(cfg);
    } catch (e) {
      fail(new ConnectionError(`Cannot connect to ${where}: ${(e as Error).message}\n  ${configText(settings)}`, { cause: e }));
    }
  });
}

function forwardTo(conn: Client, from: HopContext, to: HopSettings, settings: SshSettings): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    try {
      conn.forwardOut('127.0.0.1', 0, to.hostname, to.port, (err, stream) => {
        if (err) reject(new ConnectionError(`Jump host ${hopLabel(from.hop)} could not open a connection to ${to.hostname}:${to.port}: ${err.message}\n  ${configText(settings)}`, { cause: err }));
        else resolve(stream);
      });
    } catch (e) {
      reject(new ConnectionError(`Jump host ${hopLabel(from.hop)}: ${(e as Error).message}`, { cause: e }));
    }
  });
}

// ---------------------------------------------------------------------------------------------
// The transport

/** Opens the ssh connection (through the jump hosts, if any) that the returned transport uses for every exec. */
export async function connectSsh(opts: ConnectSshOptions): Promise<SshTransport> {
  const settings = opts.settings ?? resolveSshSettings(opts, opts);
  const hops: HopSettings[] = [...settings.proxyJump, settings];
  const clients: Client[] = [];
  let sock: Duplex | undefined;
  try {
    for (let i = 0; i < hops.length; i++) {
      const ctx: HopContext = { hop: hops[i]!, via: hops.slice(0, i), opts, settings, ...(sock ? { sock } : {}) };
      const c = await connectHop(ctx);
      clients.push(c);
      if (i + 1 < hops.length) sock = await forwardTo(c, ctx, hops[i + 1]!, settings);
    }
  } catch (e) {
    for (const c of clients.reverse()) c.destroy();
    throw e;
  }
  return new SshConnection(settings, clients, opts.maxSessions ?? 8);
}

class SshConnection implements SshTransport {
  readonly kind = 'ssh' as const;
  readonly label: string;
  private readonly conn: Client;
  private readonly sem: Semaphore;
  private closed = false;
  private lost: Error | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    readonly settings: SshSettings,
    private readonly clients: Client[],
    maxSessions: number,
  ) {
    this.label = hopLabel(settings);
    this.conn = clients[clients.length - 1]!;
    this.sem = new Semaphore(Math.max(1, maxSessions));
    for (const c of clients) {
      c.on('error', (e: Error) => {
        this.lost ??= e;
      });
      c.on('close', () => {
        this.lost ??= new Error('connection closed');
      });
    }
  }

  private lostError(during: string): ConnectionError {
    return new ConnectionError(
      `${this.label}: the ssh connection was lost ${during}${this.lost && this.lost.message !== 'connection closed' ? ` (${this.lost.message})` : ''}`,
      { hint: 'A command that was running may or may not have completed on the remote side; check before retrying.' },
    );
  }

  async exec(script: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const wrapped = wrapScript(script);
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw new ConnectionError(`${this.label}: the ssh connection is already closed`);
      if (this.lost) throw this.lostError('before the command could start');
      await this.sem.acquire();
      let r: ExecResult | 'retry';
      try {
        r = await this.execOnce(wrapped, opts, attempt);
      } finally {
        this.sem.release();
      }
      if (r !== 'retry') return r;
    }
  }

  private openChannel(): Promise<ClientChannel> {
    return new Promise((resolve, reject) => {
      try {
        this.conn.exec(BASH_ARGV.join(' '), (err, ch) => (err ? reject(err) : resolve(ch)));
      } catch (e) {
        reject(e);
      }
    });
  }

  private async execOnce(w: WrappedScript, opts: ExecOptions, attempt: number): Promise<ExecResult | 'retry'> {
    const started = performance.now();
    let ch: ClientChannel;
    try {
      ch = await this.openChannel();
    } catch (e) {
      if (this.lost) throw this.lostError('before the command could start');
      // The server refused another session (sshd MaxSessions): run fewer at once, then retry.
      if (this.sem.active > 1 && attempt < 20) {
        this.sem.limit = Math.max(1, this.sem.active - 1);
        return 'retry';
      }
      throw new ConnectionError(`${this.label}: cannot start \`bash -s\` on the server: ${(e as Error).message}`, { cause: e });
    }
    return new Promise<ExecResult>((resolve, reject) => {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const dec = new StringDecoder('utf8');
      let pending = '';
      let code: number | null | undefined;
      let signal: string | null = null;
      const onLine = opts.onLine ? w.lines(opts.onLine) : undefined;
      ch.on('data', (b: Buffer) => {
        out.push(b);
        if (onLine) {
          pending += dec.write(b);
          let i: number;
          while ((i = pending.indexOf('\n')) >= 0) {
            const line = pending.slice(0, i);
            pending = pending.slice(i + 1);
            onLine(line);
          }
        }
      });
      ch.stderr.on('data', (b: Buffer) => err.push(b));
      ch.on('exit', (c: number | null, sig?: string) => {
        code = c ?? null;
        if (sig) signal = sig.startsWith('SIG') ? sig : `SIG${sig}`;
      });
      ch.on('error', () => {}); // e.g. writing after the remote side exited; the outcome comes with 'close'
      ch.on('close', () => {
        if (onLine) {
          pending += dec.end();
          if (pending) onLine(pending);
        }
        const stdout = w.clean(Buffer.concat(out).toString('utf8'));
        const stderr = w.clean(Buffer.concat(err).toString('utf8'));
        if (code === undefined) {
          reject(this.lost || this.closed ? this.lostError('while a command was running') : new ConnectionError(`${this.label}: the server closed the channel without an exit status`));
          return;
        }
        if (code === 0 || opts.allowFailure) resolve({ stdout, stderr, exitCode: code });
        else reject(new CommandError([...BASH_ARGV], code, stderr, stdout, performance.now() - started, { where: this.label, signal }));
      });
      ch.end(w.input);
    });
  }

  close(): Promise<void> {
    this.closed = true;
    this.closing ??= (async () => {
      for (const c of [...this.clients].reverse()) {
        await new Promise<void>(resolve => {
          const t = setTimeout(() => {
            c.destroy();
            resolve();
          }, 2000);
          c.once('close', () => {
            clearTimeout(t);
            resolve();
          });
          if (this.lost) {
            clearTimeout(t);
            c.destroy();
            resolve();
          } else c.end();
        });
      }
    })();
    return this.closing;
  }
}
