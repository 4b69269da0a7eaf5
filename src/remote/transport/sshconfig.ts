// Resolves a host spec (rx's `remote`) into concrete ssh connection settings, the way OpenSSH
// would: ~/.ssh/config (Host patterns, Match, Include), then /etc/ssh/ssh_config, first value
// wins, with rx's own explicit values taking precedence over both. Reads files; spawns nothing.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import SSHConfig from 'ssh-config';
import { ConfigError } from '../../errors.ts';

export type StrictHostKeyChecking = 'yes' | 'accept-new' | 'no';

/** What rx's own config says about a remote; every field set here overrides the ssh config files. */
export interface RemoteSpec {
  /** A Host alias from ~/.ssh/config, or a host name / address (no `user@`, no `:port`). */
  host: string;
  port?: number;
  user?: string;
  identityFile?: string;
  strictHostKeyChecking?: StrictHostKeyChecking;
}

export interface ResolveOptions {
  /** The user's ssh config. Default `~/.ssh/config` (home from os.homedir(), which follows $HOME). */
  configPath?: string;
  /** The system-wide config read after the user's. Default `/etc/ssh/ssh_config`; null to skip. */
  systemConfigPath?: string | null;
  /** For `~` and %d. Default os.homedir(). */
  homeDir?: string;
  /** For %u and the default User. Default os.userInfo().username. */
  localUser?: string;
}

/** Everything needed to reach and verify one machine (the target, or one jump host). */
export interface HopSettings {
  /** The name as given (Host alias or host name), used for messages and as `ssh` destination. */
  alias: string;
  /** The real host name or address to dial (HostName, tokens expanded). */
  hostname: string;
  port: number;
  user: string;
  /** Absolute paths, `~`/tokens expanded, in the order they should be tried. */
  identityFiles: string[];
  /** True when identityFiles came from a config file or rx; false when they are OpenSSH's defaults. */
  identityFilesConfigured: boolean;
  identitiesOnly: boolean;
  strictHostKeyChecking: StrictHostKeyChecking;
  /** New keys are appended to the first one. */
  userKnownHostsFiles: string[];
  /** Read-only. */
  globalKnownHostsFiles: string[];
  /** known_hosts name to look the key up under instead of host/port (HostKeyAlias). */
  hostKeyAlias?: string;
  /** HashKnownHosts: write new known_hosts entries hashed. */
  hashKnownHosts: boolean;
}

export interface SshSettings extends HopSettings {
  /** Jump hosts in dialling order: proxyJump[0] is dialled directly, the target is reached through the last. */
  proxyJump: HopSettings[];
  /** ProxyJump as written in the config (for `ssh -J`), when there is one. */
  proxyJumpSpec?: string;
  /** The user config file consulted (it may not exist). */
  configPath: string;
  configFileFound: boolean;
  /**
   * What to pass to OpenSSH's `ssh -F` so that it reads the same user config as rx, or undefined
   * when plain `ssh` already would (it reads ~/.ssh/config from the passwd home, not $HOME).
   */
  sshConfigFlag?: string;
}

/** OpenSSH's default identity files, in its order. */
export const DEFAULT_IDENTITY_FILES = ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk', 'id_xmss', 'id_dsa'];

const MAX_INCLUDE_DEPTH = 16;
const MAX_JUMP_DEPTH = 8;

// ---------------------------------------------------------------------------------------------
// Loading config text (with Include expanded in place)

function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (const c of pattern) re += c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  return new RegExp('^' + re + '$');
}

function expandIncludePath(p: string, baseDir: string, home: string): string[] {
  let full = p.startsWith('~/') ? path.join(home, p.slice(2)) : p === '~' ? home : p;
  if (!path.isAbsolute(full)) full = path.join(baseDir, full);
  const dir = path.dirname(full);
  const base = path.basename(full);
  if (/[*?]/.test(dir)) throw new ConfigError(`ssh config: Include ${p}: wildcards are only supported in the file name, not in directories`);
  if (!/[*?]/.test(base)) return existsSync(full) ? [full] : [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const re = globToRegExp(base);
  return names.filter(n => re.test(n) && !(n.startsWith('.') && !base.startsWith('.'))).sort().map(n => path.join(dir, n));
}

const RE_INCLUDE = /^\s*include(?:\s*=\s*|\s+)(.*?)\s*$/i;
const RE_SECTION = /^\s*(host|match)(\s*=\s*|\s+)/i;

/** Splits a directive's value into words, honouring double quotes (as OpenSSH's argv_split). */
function splitWords(s: string): string[] {
  const words: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) words.push(m[1] ?? m[2]!);
  return words;
}

/**
 * Returns the text of `file` with every `Include` replaced by the included files' text. After an
 * included block, the section that contained the Include is reopened (so that the directives
 * following it keep belonging to it, as in OpenSSH); at top level that section is `Host *`.
 * Approximation: an Include inside a Host block that does not match is still scanned.
 */
export function loadConfigText(file: string, home: string, baseDir: string, depth = 0, seen: string[] = []): string {
  if (depth > MAX_INCLUDE_DEPTH) throw new ConfigError(`ssh config: Include nested too deeply (${[...seen, file].join(' -> ')})`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return '';
    throw new ConfigError(`cannot read ssh config ${file}: ${(e as Error).message}`);
  }
  if (!/^\s*include\b/im.test(text)) return text;
  const out: string[] = [];
  let section = 'Host *';
  for (const line of text.split(/\r?\n/)) {
    const inc = RE_INCLUDE.exec(line);
    if (inc && !line.trimStart().startsWith('#')) {
      for (const word of splitWords(inc[1]!)) {
        for (const f of expandIncludePath(word, baseDir, home)) {
          out.push(loadConfigText(f, home, baseDir, depth + 1, [...seen, file]));
        }
      }
      out.push(section);
      continue;
    }
    if (RE_SECTION.test(line)) section = line.trim();
    out.push(line);
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Values

type Computed = Record<string, string | string[]>;

function one(c: Computed, key: string): string | undefined {
  const v = c[key.toLowerCase()];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(' ') : v;
}

function many(c: Computed, key: string): string[] | undefined {
  const v = c[key.toLowerCase()];
  if (v === undefined) return undefined;
  // ssh-config already split multi-valued directives (honouring quotes); IdentityFile is one value.
  return Array.isArray(v) ? v : [v];
}

function yesNo(v: string | undefined, what: string): boolean | undefined {
  if (v === undefined) return undefined;
  const s = v.toLowerCase();
  if (s === 'yes' || s === 'true') return true;
  if (s === 'no' || s === 'false') return false;
  throw new ConfigError(`ssh config: ${what} must be yes or no, not ${JSON.stringify(v)}`);
}

export function parseStrictHostKeyChecking(v: string): StrictHostKeyChecking {
  switch (v.toLowerCase()) {
    case 'yes':
    case 'true':
    case 'ask': // rx never asks: an unknown key is refused, as with yes
      return 'yes';
    case 'accept-new':
      return 'accept-new';
    case 'no':
    case 'off':
    case 'false':
      return 'no';
    default:
      throw new ConfigError(`StrictHostKeyChecking must be yes, accept-new or no, not ${JSON.stringify(v)}`);
  }
}

function parsePort(v: string, where: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 65535) throw new ConfigError(`${where}: bad port ${JSON.stringify(v)}`);
  return n;
}

/** Parses one ProxyJump element: `[user@]host[:port]`, `[user@][v6addr]:port`, or `ssh://[user@]host[:port]`. */
export function parseJumpSpec(spec: string): { user?: string; host: string; port?: number } {
  let s = spec.trim();
  if (s.startsWith('ssh://')) s = s.slice(6).replace(/\/$/, '');
  let user: string | undefined;
  const at = s.lastIndexOf('@');
  if (at >= 0) {
    user = s.slice(0, at);
    s = s.slice(at + 1);
  }
  let host = s;
  let port: number | undefined;
  const br = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (br) {
    host = br[1]!;
    if (br[2] !== undefined) port = parsePort(br[2], `ProxyJump ${spec}`);
  } else if ((s.match(/:/g) ?? []).length === 1) {
    const i = s.indexOf(':');
    host = s.slice(0, i);
    port = parsePort(s.slice(i + 1), `ProxyJump ${spec}`);
  }
  if (!host || /\s/.test(host) || (user !== undefined && !user)) throw new ConfigError(`ProxyJump: cannot parse ${JSON.stringify(spec)}`);
  return { user, host, port };
}

/**
 * The common ProxyCommand idioms that are really a jump host (`ssh -W %h:%p gw`, `ssh gw -W %h:%p`,
 * `ssh -q gw nc %h %p`), returned as a ProxyJump element; anything else is refused.
 */
export function proxyCommandAsJump(cmd: string): string | undefined {
  const words = cmd.trim().split(/\s+/);
  if (words[0] === 'exec') words.shift();
  if (!words[0] || !/(^|\/)ssh$/.test(words[0])) return undefined;
  let dest: string | undefined;
  let port: string | undefined;
  let user: string | undefined;
  let forwardsTarget = false;
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    if (w === '-W') {
      if (!/^(%h|\[%h\]):%p$/.test(words[++i] ?? '')) return undefined;
      forwardsTarget = true;
    } else if (/^-W(%h|\[%h\]):%p$/.test(w)) forwardsTarget = true;
    else if (w === '-p') port = words[++i];
    else if (w === '-l') user = words[++i];
    else if (/^-[qTxaAnNCv46]+$/.test(w)) continue;
    else if (w.startsWith('-')) return undefined;
    else if (dest === undefined) dest = w;
    else if ((w === 'nc' || w === 'netcat') && words[i + 1] === '%h' && words[i + 2] === '%p' && i + 3 === words.length) {
      forwardsTarget = true;
      break;
    } else return undefined;
  }
  if (!dest || !forwardsTarget || (port !== undefined && !/^\d+$/.test(port))) return undefined;
  if (user && !dest.includes('@')) dest = `${user}@${dest}`;
  return port ? `${dest.includes(':') ? `[${dest}]` : dest}:${port}` : dest;
}

interface TokenContext {
  home: string;
  localUser: string;
  hostname: string;
  originalHost: string;
  port: number;
  user: string;
  jump: string;
  hostKeyAlias?: string;
}

function localHostName(): string {
  return os.hostname();
}

/** OpenSSH's percent tokens (and ${VAR}) in IdentityFile / UserKnownHostsFile, then `~`. */
export function expandTokens(value: string, t: TokenContext, what: string): string {
  let s = value.replace(/%(.)/g, (all, c: string) => {
    switch (c) {
      case '%':
        return '%';
      case 'h':
        return t.hostname;
      case 'n':
        return t.originalHost;
      case 'p':
        return String(t.port);
      case 'r':
        return t.user;
      case 'u':
        return t.localUser;
      case 'd':
        return t.home;
      case 'i':
        return String(typeof process.getuid === 'function' ? process.getuid() : 0);
      case 'l':
        return localHostName();
      case 'L':
        return localHostName().split('.')[0]!;
      case 'j':
        return t.jump;
      case 'k':
        return t.hostKeyAlias ?? t.originalHost;
      case 'C':
        return createHash('sha1').update(localHostName() + t.hostname + String(t.port) + t.user + t.jump).digest('hex');
      default:
        throw new ConfigError(`ssh config: ${what} ${JSON.stringify(value)}: unsupported token ${all}`);
    }
  });
  s = s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_all, name: string) => {
    const v = process.env[name];
    if (v === undefined) throw new ConfigError(`ssh config: ${what} ${JSON.stringify(value)}: environment variable ${name} is not set`);
    return v;
  });
  if (s === '~') return t.home;
  if (s.startsWith('~/')) return path.join(t.home, s.slice(2));
  return s;
}

function expandTilde(p: string, home: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return path.join(home, p.slice(2));
  return p;
}

// ---------------------------------------------------------------------------------------------
// Resolution

interface Loaded {
  config: SSHConfig;
  configPath: string;
  configFileFound: boolean;
  home: string;
  localUser: string;
}

function load(opts: ResolveOptions): Loaded {
  const home = opts.homeDir ?? os.homedir();
  let localUser = opts.localUser;
  if (localUser === undefined) {
    try {
      localUser = os.userInfo().username;
    } catch {
      localUser = process.env.USER ?? 'root';
    }
  }
  const configPath = opts.configPath ?? path.join(home, '.ssh', 'config');
  const configFileFound = existsSync(configPath);
  const userText = loadConfigText(configPath, home, path.join(home, '.ssh'));
  const sys = opts.systemConfigPath === undefined ? '/etc/ssh/ssh_config' : opts.systemConfigPath;
  const sysText = sys ? loadConfigText(sys, home, path.dirname(sys)) : '';
  let config: SSHConfig;
  try {
    // The system file goes after the user's (first value wins); a `Host *` line between them keeps
    // trailing Host sections of the user file from swallowing the system file's top-level lines.
    config = SSHConfig.parse(`${userText}\nHost *\n${sysText}\n`);
  } catch (e) {
    throw new ConfigError(`cannot parse ssh config ${configPath}: ${(e as Error).message}`);
  }
  return { config, configPath, configFileFound, home, localUser };
}

interface RawHop extends HopSettings {
  /** The ProxyJump value that applies to this host (from the config; "none" filtered out). */
  jump?: string;
}

function resolveHop(l: Loaded, name: string, explicit: RemoteSpec): RawHop {
  const originalHost = name.toLowerCase();
  let c: Computed;
  try {
    // matchExec false: `Match exec` would run a shell; rx only spawns processes through proc.ts.
    c = l.config.compute(explicit.user !== undefined ? { Host: originalHost, User: explicit.user } : { Host: originalHost }, { ignoreCase: true, matchExec: false });
  } catch (e) {
    throw new ConfigError(`ssh config ${l.configPath}: ${(e as Error).message}`);
  }
  const where = `ssh config ${l.configPath} (Host ${name})`;
  const hostname = (one(c, 'HostName') ?? originalHost).replace(/%(.)/g, (all, ch: string) => (ch === '%' ? '%' : ch === 'h' ? originalHost : all));
  const portStr = one(c, 'Port');
  const port = explicit.port ?? (portStr !== undefined ? parsePort(portStr, where) : 22);
  const user = explicit.user ?? one(c, 'User') ?? l.localUser;
  const hostKeyAlias = one(c, 'HostKeyAlias');

  let jump = one(c, 'ProxyJump');
  if (jump === undefined) {
    const pc = one(c, 'ProxyCommand');
    if (pc !== undefined && pc.toLowerCase() !== 'none') {
      jump = proxyCommandAsJump(pc);
      if (jump === undefined) {
        throw new ConfigError(`${where}: ProxyCommand ${JSON.stringify(pc)} is not supported by rx`, {
          hint: 'Use `ProxyJump gateway` (or `ProxyCommand ssh -W %h:%p gateway`) in the ssh config instead.',
        });
      }
    }
  }
  if (jump !== undefined && jump.toLowerCase() === 'none') jump = undefined;

  const t: TokenContext = { home: l.home, localUser: l.localUser, hostname, originalHost, port, user, jump: jump ?? '', hostKeyAlias };
  let identityFiles: string[];
  let identityFilesConfigured = true;
  if (explicit.identityFile !== undefined) identityFiles = [expandTilde(explicit.identityFile, l.home)];
  else {
    const files = (many(c, 'IdentityFile') ?? []).filter(f => f.toLowerCase() !== 'none');
    if (files.length) identityFiles = [...new Set(files.map(f => expandTokens(f, t, 'IdentityFile')))];
    else {
      identityFiles = DEFAULT_IDENTITY_FILES.map(f => path.join(l.home, '.ssh', f));
      identityFilesConfigured = false;
    }
  }
  const shkc = one(c, 'StrictHostKeyChecking');
  const strictHostKeyChecking = explicit.strictHostKeyChecking ?? (shkc !== undefined ? parseStrictHostKeyChecking(shkc) : 'yes');
  const ukh = many(c, 'UserKnownHostsFile');
  const userKnownHostsFiles = (ukh?.length ? ukh : ['~/.ssh/known_hosts', '~/.ssh/known_hosts2']).map(f => expandTokens(f, t, 'UserKnownHostsFile'));
  const gkh = many(c, 'GlobalKnownHostsFile');
  const globalKnownHostsFiles = (gkh?.length ? gkh : ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']).map(f => expandTokens(f, t, 'GlobalKnownHostsFile'));
  return {
    alias: name,
    hostname,
    port,
    user,
    identityFiles,
    identityFilesConfigured,
    identitiesOnly: yesNo(one(c, 'IdentitiesOnly'), `${where}: IdentitiesOnly`) ?? false,
    strictHostKeyChecking,
    userKnownHostsFiles,
    globalKnownHostsFiles,
    ...(hostKeyAlias !== undefined ? { hostKeyAlias } : {}),
    hashKnownHosts: yesNo(one(c, 'HashKnownHosts'), `${where}: HashKnownHosts`) ?? false,
    ...(jump !== undefined ? { jump } : {}),
  };
}

function strip(h: RawHop): HopSettings {
  const { jump: _jump, ...rest } = h;
  return rest;
}

/**
 * The jump chain for a ProxyJump value, in dialling order. As with `ssh -J a,b`: b is reached
 * through a (b's own ProxyJump is ignored), and a is reached however the config says (its own
 * ProxyJump, recursively).
 */
function resolveChain(l: Loaded, jumpValue: string, depth: number, trail: string[]): HopSettings[] {
  if (depth > MAX_JUMP_DEPTH) throw new ConfigError(`ssh config ${l.configPath}: ProxyJump chain too long or looping (${trail.join(' -> ')})`);
  const specs = jumpValue.split(',').map(s => s.trim()).filter(Boolean);
  const out: HopSettings[] = [];
  specs.forEach((spec, i) => {
    const j = parseJumpSpec(spec);
    const hop = resolveHop(l, j.host, { host: j.host, ...(j.user !== undefined ? { user: j.user } : {}), ...(j.port !== undefined ? { port: j.port } : {}) });
    if (i === 0 && hop.jump) out.push(...resolveChain(l, hop.jump, depth + 1, [...trail, spec]));
    out.push(strip(hop));
  });
  return out;
}

/** Resolves rx's remote spec against the ssh config files into everything needed to connect. */
export function resolveSshSettings(remote: RemoteSpec, opts: ResolveOptions = {}): SshSettings {
  if (!remote.host || /\s/.test(remote.host)) throw new ConfigError(`bad remote host ${JSON.stringify(remote.host)}`);
  const l = load(opts);
  const target = resolveHop(l, remote.host, remote);
  const proxyJump = target.jump ? resolveChain(l, target.jump, 1, [remote.host]) : [];
  let pwHome: string | undefined;
  try {
    pwHome = os.userInfo().homedir;
  } catch {
    pwHome = undefined;
  }
  const opensshDefault = pwHome ? path.join(pwHome, '.ssh', 'config') : undefined;
  let sshConfigFlag: string | undefined;
  if (path.resolve(l.configPath) !== opensshDefault) {
    sshConfigFlag = l.configFileFound ? l.configPath : '/dev/null';
  }
  return {
    ...strip(target),
    proxyJump,
    ...(target.jump !== undefined ? { proxyJumpSpec: target.jump } : {}),
    configPath: l.configPath,
    configFileFound: l.configFileFound,
    ...(sshConfigFlag !== undefined ? { sshConfigFlag } : {}),
  };
}
