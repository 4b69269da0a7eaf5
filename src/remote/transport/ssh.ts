// The ssh transport: one ssh2 connection (through ProxyJump hosts if configured) for a whole rx
// command; every exec() is a channel on it running `bash -s`.
import { existsSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import readline from 'node:readline';
import { Writable, type Duplex } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import ssh2 from 'ssh2';
import type { AnyAuthMethod, AuthenticationType, ClientChannel, ConnectConfig, NextAuthHandler, ParsedKey, Prompt } from 'ssh2';
import { CommandError, ConnectionError } from '../../errors.ts';
import { shJoin } from '../../quote.ts';
import { appendKnownHost, checkHostKey, fingerprintSha256, keyTypeLabel, keyTypeOfBlob, knownHostsName, knownKeyTypes, readKnownHostsFiles, type HostKeyCheck, type KnownHostEntry } from './knownhosts.ts';
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
// Identity-file permissions, checked as OpenSSH checks them

/**
 * Identity files (of the target and every jump host) that OpenSSH would refuse to use: owned by
 * this user and readable or writable by group or others (OpenSSH's sshkey_perm_ok: "UNPROTECTED
 * PRIVATE KEY FILE!"). rx's own client would use them, but rsync's OpenSSH (rx fetch) would not.
 */
export function unprotectedIdentityFiles(s: SshSettings): { file: string; mode: number }[] {
  const uid = process.getuid?.();
  const out: { file: string; mode: number }[] = [];
  const seen = new Set<string>();
  for (const hop of [...s.proxyJump, s]) {
    for (const file of hop.identityFiles) {
      if (seen.has(file)) continue;
      seen.add(file);
      let st;
      try {
        st = statSync(file);
      } catch {
        continue; // missing: reported when authentication fails
      }
      if (!st.isFile() || (uid !== undefined && st.uid !== uid)) continue;
      if ((st.mode & 0o077) !== 0) out.push({ file, mode: st.mode & 0o777 });
    }
  }
  return out;
}

/** The error for unprotected identity files, with OpenSSH's words and the fix. */
export function unprotectedIdentityError(files: { file: string; mode: number }[]): ConnectionError {
  const lines = files.map(f => `  Permissions 0${f.mode.toString(8).padStart(3, '0')} for '${f.file}' are too open.`);
  return new ConnectionError(
    `UNPROTECTED PRIVATE KEY FILE: OpenSSH refuses identity files that others can read, so rsync (rx fetch) could not log in with ${files.length > 1 ? 'these keys' : 'this key'} later:\n${lines.join('\n')}\n  It is required that your private key files are NOT accessible by others.`,
    { hint: `Run: chmod 600 ${shJoin(files.map(f => f.file))}` },
  );
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

/** The handshake's timeout: our own rather than ssh2's readyTimeout, so that it can pause while the user types. */
class HandshakeTimer {
  private timer: NodeJS.Timeout | undefined;
  /** The handshake has succeeded or failed: nothing restarts the timer any more. */
  settled = false;
  onTimeout = (): void => {};
  constructor(readonly ms: number) {}
  arm(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.onTimeout(), this.ms);
  }
  /** Marks the handshake finished and stops the timer; false if it already was. */
  settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    clearTimeout(this.timer);
    return true;
  }
  /** Runs a prompt with the timer stopped, then gives the handshake its full time again. */
  pausedFor(fn: () => Promise<string[]>): Promise<string[]> {
    clearTimeout(this.timer);
    return fn().finally(() => {
      if (!this.settled) this.arm();
    });
  }
}

/** One hop's connection attempt: its options with defaults applied, and what its error messages collect. */
interface HopAttempt extends HopContext {
  where: string;
  interactive: boolean;
  prompter: Prompter;
  notice: (message: string) => void;
  timer: HandshakeTimer;
  /** Why the host key was refused; reported instead of ssh2's generic handshake error. */
  hostKeyFailure?: ConnectionError;
  /** Problems to mention if authentication fails (unusable identity files, ssh-agent errors). */
  notes: string[];
  /** Authentication methods tried, in order (for the failure message). */
  tried: string[];
  /** The methods the server accepts, from its last answer (null until it has said). */
  serverMethods: string[] | null;
}

function startAttempt(ctx: HopContext): HopAttempt {
  const { opts } = ctx;
  return {
    ...ctx,
    where: whereText(ctx),
    interactive: opts.interactive ?? Boolean(process.stdin.isTTY),
    prompter: opts.prompt ?? promptOnTty,
    notice: opts.onNotice ?? ((m: string) => process.stderr.write(`rx: ${m}\n`)),
    timer: new HandshakeTimer(opts.readyTimeoutMs ?? 20000),
    notes: [],
    tried: [],
    serverMethods: null,
  };
}

function connectHop(ctx: HopContext): Promise<Client> {
  const a = startAttempt(ctx);
  const kh = knownHostsRef(ctx.hop);
  const knownTypes = knownKeyTypes(readKnownHostsFiles(kh.files), kh.host, kh.port);
  const auth = authSources(a);
  const cfg = connectConfig(a, knownTypes, key => verifyHostKey(a, kh, key), authHandler(a, authSteps(a, auth)));
  return handshake(new Client(), cfg, a, () => authFailure(a, auth));
}

// --- host key verification

/** Where a hop's host key is looked up and recorded. */
interface KnownHostsRef {
  host: string;
  port: number;
  files: string[];
}

function knownHostsRef(h: HopSettings): KnownHostsRef {
  return { ...knownHostsKeyFor(h), files: [...h.userKnownHostsFiles, ...h.globalKnownHostsFiles] };
}

/** ssh2's hostVerifier: true lets the handshake go on; when false, a.hostKeyFailure says why. */
function verifyHostKey(a: HopAttempt, kh: KnownHostsRef, key: Buffer): boolean {
  // known_hosts is read again: an earlier hop (or another rx) may just have added to it.
  const check = checkHostKey(readKnownHostsFiles(kh.files), kh.host, kh.port, key);
  switch (check.status) {
    case 'known':
      return true;
    case 'revoked':
      a.hostKeyFailure = revokedKeyError(a, check.entry, key);
      return false;
    case 'changed':
      a.hostKeyFailure = changedKeyError(a, kh, check.expected, key);
      return false;
  }
  if (a.hop.strictHostKeyChecking === 'accept-new' || a.hop.strictHostKeyChecking === 'no') return recordHostKey(a, kh, key);
  a.hostKeyFailure = unknownKeyError(a, kh, check, key);
  return false;
}

function revokedKeyError(a: HopAttempt, entry: KnownHostEntry, key: Buffer): ConnectionError {
  return new ConnectionError(`The host key of ${a.where} is REVOKED (${entry.file}:${entry.line}): ${keyTypeLabel(keyTypeOfBlob(key))} ${fingerprintSha256(key)}. rx refuses to connect.`, {
    hint: 'Ask the cluster admins which host key is current.',
  });
}

function changedKeyError(a: HopAttempt, kh: KnownHostsRef, expected: KnownHostEntry[], key: Buffer): ConnectionError {
  const fp = fingerprintSha256(key);
  const old = expected.map(e => `    ${e.file}:${e.line}: ${keyTypeLabel(keyTypeOfBlob(e.key))} ${fingerprintSha256(e.key)}`).join('\n');
  const file = expected[0]!.file;
  const fix = `ssh-keygen -R ${shJoin([knownHostsName(kh.host, kh.port)])}${file !== opensshKnownHostsDefault() ? ' -f ' + shJoin([file]) : ''}`;
  return new ConnectionError(
    `WARNING: THE HOST KEY OF ${a.where} HAS CHANGED! Someone could be eavesdropping on you right now (man-in-the-middle attack), or the host key was just replaced.\n` +
      `  The server now presents: ${keyTypeLabel(keyTypeOfBlob(key))} key ${fp}\n` +
      `  known_hosts expects:\n${old}\n` +
      `rx refuses to connect (whatever StrictHostKeyChecking says). If the cluster admins confirm the new key, remove the old one with\n` +
      `  ${fix}\n` +
      `and connect again (then accept the new key as for an unknown host).`,
    { hint: `Verify the new fingerprint ${fp} with the cluster admins before running: ${fix}` },
  );
}

/** StrictHostKeyChecking accept-new/no: an unknown key goes into the first UserKnownHostsFile, as with OpenSSH. */
function recordHostKey(a: HopAttempt, kh: KnownHostsRef, key: Buffer): boolean {
  const file = a.hop.userKnownHostsFiles[0];
  try {
    if (!file) throw new Error('no UserKnownHostsFile is configured');
    appendKnownHost(file, kh.host, kh.port, key, { hash: a.hop.hashKnownHosts });
  } catch (e) {
    a.hostKeyFailure = new ConnectionError(`Cannot record the host key of ${a.where} in ${file}: ${(e as Error).message}`);
    return false;
  }
  a.notice(`permanently added the ${keyTypeLabel(keyTypeOfBlob(key))} host key of ${knownHostsName(kh.host, kh.port)} (${fingerprintSha256(key)}) to ${file}`);
  return true;
}

function unknownKeyError(a: HopAttempt, kh: KnownHostsRef, check: Extract<HostKeyCheck, { status: 'unknown' }>, key: Buffer): ConnectionError {
  const { hop, settings } = a;
  const fp = fingerprintSha256(key);
  const extra: string[] = [];
  if (check.otherTypes.length) extra.push(`  (known_hosts has keys of other types for this host: ${check.otherTypes.map(keyTypeLabel).join(', ')}; the server did not offer them.)`);
  if (check.certAuthority) extra.push('  (known_hosts has a @cert-authority line for this host; rx cannot verify host certificates, so it needs the plain host key.)');
  const manual = manualSshCommand(hop, a.via, settings);
  const acceptNew =
    hop === settings
      ? `set strictHostKeyChecking: 'accept-new' in the sweep's remote (rx then records the key on first connect)`
      : `add \`StrictHostKeyChecking accept-new\` under \`Host ${hop.alias}\` in ${settings.configPath} (rx then records the key on first connect)`;
  return new ConnectionError(
    `The host key of ${a.where} is not known, so rx cannot verify that it is talking to the right machine.\n` +
      `  host: ${hop.hostname}  port: ${hop.port}\n` +
      `  ${keyTypeLabel(keyTypeOfBlob(key))} key fingerprint: ${fp}\n` +
      (extra.length ? extra.join('\n') + '\n' : '') +
      `  looked in: ${kh.files.join(', ')}\n` +
      `To accept it, check the fingerprint against the one the cluster publishes, then either\n` +
      `  - run once: ${manual}   and answer "yes" if the fingerprint matches, or\n` +
      `  - ${acceptNew}.`,
    { hint: `Run \`${manual}\` once and check the fingerprint ${fp}, or ${acceptNew.replace(/ \(rx then.*$/, '')}.` },
  );
}

// --- authentication

/** What rx can authenticate with: ssh-agent and the identity files. */
interface AuthSources {
  agentPath: string | undefined;
  hasAgent: boolean;
  identities: IdentityKey[];
  agent: RecordingAgent | undefined;
}

function authSources(a: HopAttempt): AuthSources {
  const { hop, opts } = a;
  const agentPath = opts.agent === false ? undefined : (opts.agent ?? process.env.SSH_AUTH_SOCK);
  const hasAgent = Boolean(agentPath) && existsSync(agentPath!);
  // Configured identity files are reported when missing; the default ones only when present.
  const identities = hop.identityFiles.filter(f => hop.identityFilesConfigured || existsSync(f)).map(f => {
    if (!existsSync(f)) return { file: f, encrypted: false, problem: 'no such file' } as IdentityKey;
    return loadIdentity(f);
  });
  for (const id of identities) if (id.problem) a.notes.push(`identity file ${id.file}: ${id.problem}`);
  const agent = hasAgent ? new RecordingAgent(new OpenSSHAgent(agentPath!), hop.identitiesOnly ? identities.flatMap(i => (i.pub ? [i.pub] : [])) : null) : undefined;
  return { agentPath, hasAgent, identities, agent };
}

/** One authentication attempt; make() gives null when it is pointless (a key the agent has already offered). */
type AuthStep = { method: AuthenticationType; make: () => AnyAuthMethod | null; what: string };

/** The attempts in OpenSSH's order: the agent's keys, the identity files, then keyboard-interactive (when someone can answer). */
function authSteps(a: HopAttempt, src: AuthSources): AuthStep[] {
  const { hop } = a;
  const { agent } = src;
  const steps: AuthStep[] = [];
  if (agent) steps.push({ method: 'publickey', what: `ssh-agent (${src.agentPath})`, make: () => ({ type: 'agent', username: hop.user, agent }) });
  for (const id of src.identities) {
    if (!id.key) continue;
    steps.push({
      method: 'publickey',
      what: `identity file ${id.file}`,
      make: () => (agent?.offered.some(b => id.pub && b.equals(id.pub)) ? null : { type: 'publickey', username: hop.user, key: id.key! }),
    });
  }
  if (a.interactive) {
    const kbd = keyboardInteractiveStep(a);
    for (let i = 0; i < 3; i++) steps.push(kbd);
  }
  return steps;
}

function keyboardInteractiveStep(a: HopAttempt): AuthStep {
  const { hop } = a;
  return {
    method: 'keyboard-interactive',
    what: 'keyboard-interactive',
    make: () => ({
      type: 'keyboard-interactive',
      username: hop.user,
      prompt: (name: string, instructions: string, _lang: string, prompts: Prompt[], finish: (answers: string[]) => void) => {
        a.timer.pausedFor(() => a.prompter({ host: hopLabel(hop), name, instructions, prompts: prompts.map(p => ({ prompt: p.prompt, echo: p.echo ?? false })) })).then(finish, () => finish([]));
      },
    }),
  };
}

type AuthHandler = (methodsLeft: AuthenticationType[] | null, partialSuccess: boolean | null, next: NextAuthHandler) => void;

/** ssh2's authHandler: `none` first (to learn the server's methods), then the steps the server accepts, then up to 3 password prompts. */
function authHandler(a: HopAttempt, steps: AuthStep[]): AuthHandler {
  const { hop } = a;
  let first = true;
  let passwordTries = 0;
  return (methodsLeft, _partial, next) => {
    if (first) {
      first = false;
      next({ type: 'none', username: hop.user });
      return;
    }
    a.serverMethods = methodsLeft ?? a.serverMethods;
    while (steps.length) {
      const step = steps.shift()!;
      if (a.serverMethods && !a.serverMethods.includes(step.method)) continue;
      const m = step.make();
      if (!m) continue;
      a.tried.push(step.what);
      next(m);
      return;
    }
    if (a.interactive && a.serverMethods?.includes('password') && passwordTries < 3) {
      passwordTries++;
      a.tried.push('password');
      a.timer.pausedFor(() => a.prompter({ host: hopLabel(hop), name: '', instructions: '', prompts: [{ prompt: `${hopLabel(hop)}'s password: `, echo: false }] })).then(
        answers => next({ type: 'password', username: hop.user, password: answers[0] ?? '' }),
        () => next(false as unknown as AuthenticationType),
      );
      return;
    }
    next(false as unknown as AuthenticationType);
  };
}

/** What was tried and why it cannot have worked, with the likely fix. */
function authFailure(a: HopAttempt, src: AuthSources): ConnectionError {
  const { hop, tried } = a;
  const { hasAgent, agent, agentPath } = src;
  const lines = [`Authentication to ${a.where} failed.`];
  lines.push(`  server accepts: ${a.serverMethods?.join(', ') ?? '(unknown)'}`);
  lines.push(`  tried: ${tried.filter((t, i) => tried.indexOf(t) === i).join(', ') || 'nothing usable'}`);
  if (!hasAgent) lines.push(`  ssh-agent: ${agentPath ? `socket ${agentPath} not found` : 'not available (SSH_AUTH_SOCK is not set)'}`);
  const encrypted = src.identities.filter(i => i.encrypted);
  for (const e of encrypted) {
    if (!hasAgent || (agent && !agent.offered.some(b => e.pub && b.equals(e.pub)))) {
      lines.push(`  identity file ${e.file} is encrypted (has a passphrase): rx cannot ask for passphrases; add it to ssh-agent: \`eval "$(ssh-agent)"; ssh-add ${shJoin([e.file])}\``);
    }
  }
  if (!hop.identityFilesConfigured && !src.identities.length) lines.push(`  no identity files (looked for ${hop.identityFiles.join(', ')})`);
  for (const n of a.notes) lines.push(`  ${n}`);
  if (!a.interactive && a.serverMethods?.some(m => m === 'keyboard-interactive' || m === 'password')) {
    lines.push('  the server also accepts keyboard-interactive/password (e.g. a 2FA code), but stdin is not a terminal so rx cannot prompt: run rx from an interactive terminal.');
  }
  lines.push(`  ${configText(a.settings)}`);
  const encryptedHint = encrypted.length ? `Add the key to ssh-agent (ssh-add ${encrypted[0]!.file}) and try again.` : `Check that \`ssh ${hop.user}@${hop.hostname}${hop.port !== 22 ? ' -p ' + hop.port : ''}\` works without a password.`;
  return new ConnectionError(lines.join('\n'), { hint: encryptedHint });
}

// --- the handshake

function connectConfig(a: HopAttempt, knownTypes: string[], hostVerifier: (key: Buffer) => boolean, auth: AuthHandler): ConnectConfig {
  const algos = hostKeyAlgorithms(knownTypes);
  return {
    host: a.hop.hostname,
    port: a.hop.port,
    username: a.hop.user,
    readyTimeout: 0, // HandshakeTimer instead, paused while the user types
    keepaliveInterval: 15000,
    keepaliveCountMax: 4,
    hostVerifier: hostVerifier as ConnectConfig['hostVerifier'],
    authHandler: auth as ConnectConfig['authHandler'],
    ...(a.sock ? { sock: a.sock } : {}),
    ...(algos ? { algorithms: { serverHostKey: algos as NonNullable<NonNullable<ConnectConfig['algorithms']>['serverHostKey']> } } : {}),
    ...(a.opts.debug ? { debug: a.opts.debug } : {}),
  };
}

/** Runs ssh2's connect and turns its events into one outcome: the ready client, or one ConnectionError. */
function handshake(conn: Client, cfg: ConnectConfig, a: HopAttempt, authError: () => ConnectionError): Promise<Client> {
  const { timer, where } = a;
  const cfgText = configText(a.settings);
  return new Promise<Client>((resolve, reject) => {
    const fail = (e: ConnectionError) => {
      if (!timer.settle()) return;
      conn.removeAllListeners('ready');
      conn.on('error', () => {});
      conn.destroy();
      reject(e);
    };
    timer.onTimeout = () => fail(new ConnectionError(`Cannot connect to ${where}: no answer within ${Math.round(timer.ms / 1000)} s (wrong host or port? firewall? VPN needed?).\n  ${cfgText}`));
    timer.arm();
    conn.on('ready', () => {
      if (!timer.settle()) return;
      conn.removeListener('error', onError);
      conn.on('error', () => {}); // until the transport attaches its own listener
      resolve(conn);
    });
    const onError = (err: SshError) => {
      if (timer.settled) return;
      const e = handshakeError(a, err, authError);
      if (e) fail(e);
    };
    conn.on('error', onError);
    conn.on('close', () => {
      if (timer.settled) return;
      fail(a.hostKeyFailure ?? new ConnectionError(`Cannot connect to ${where}: the server closed the connection during the handshake\n  ${cfgText}`));
    });
    try {
      conn.connect(cfg);
    } catch (e) {
      fail(new ConnectionError(`Cannot connect to ${where}: ${(e as Error).message}\n  ${cfgText}`, { cause: e }));
    }
  });
}

type SshError = Error & { level?: string; code?: string };

/** The ConnectionError an ssh2 'error' event during the handshake means; none for ssh-agent errors (only noted: other keys may still work). */
function handshakeError(a: HopAttempt, err: SshError, authError: () => ConnectionError): ConnectionError | undefined {
  if (err.level === 'agent') {
    a.notes.push(`ssh-agent: ${err.message}`);
    return undefined;
  }
  if (a.hostKeyFailure) return a.hostKeyFailure;
  if (err.level === 'client-authentication' || /authentication methods failed/i.test(err.message)) return authError();
  return new ConnectionError(`Cannot connect to ${a.where}: ${networkErrorReason(err, a.hop)}\n  ${configText(a.settings)}`, { cause: err });
}

/** Plain words for the network errors users meet most. */
function networkErrorReason(err: SshError, hop: HopSettings): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return `connection refused (is sshd listening on ${hop.hostname} port ${hop.port}?)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve host name ${JSON.stringify(hop.hostname)}`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `host unreachable (${err.code}; VPN needed?)`;
    case 'ETIMEDOUT':
      return 'connection timed out (firewall? VPN needed?)';
    case 'ECONNRESET':
      return 'connection reset by the server';
    default:
      return err.message;
  }
}

// --- jump hosts

/** A tunnel from a connected jump host to the next hop, which connects over it as its socket. */
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
