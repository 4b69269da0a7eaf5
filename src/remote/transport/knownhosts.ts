// OpenSSH known_hosts: parse, look a host key up, append a new one. Keys are compared by their
// blob (the base64 field decoded), never by the type name alone.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { appendFileSync, closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';

export interface KnownHostEntry {
  file: string;
  /** 1-based line number in `file`. */
  line: number;
  marker: 'revoked' | 'cert-authority' | null;
  /** The host field as written. */
  hostField: string;
  /** For a hashed entry (`|1|salt|hash`): the salt and HMAC-SHA1 of the host name. */
  hashed: { salt: Buffer; hash: Buffer } | null;
  /** For a plain entry: the comma-separated patterns (may contain `*`, `?`, `!`). */
  patterns: string[];
  /** The type field as written (e.g. ssh-ed25519). */
  keyType: string;
  /** The decoded key blob. */
  key: Buffer;
  comment: string;
}

/** The name a host is recorded under: `host` on port 22, `[host]:port` otherwise (lowercased). */
export function knownHostsName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/** `SHA256:…` (base64 without padding), as printed by OpenSSH. */
export function fingerprintSha256(key: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
}

/** The key type named inside a key blob (its first SSH string), e.g. `ssh-ed25519`. */
export function keyTypeOfBlob(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const n = key.readUInt32BE(0);
  if (n > 64 || 4 + n > key.length) return 'unknown';
  return key.subarray(4, 4 + n).toString('latin1');
}

/** How OpenSSH names a key type in messages: ED25519, ECDSA, RSA, DSA. */
export function keyTypeLabel(type: string): string {
  if (type === 'ssh-ed25519') return 'ED25519';
  if (type.startsWith('ecdsa-')) return 'ECDSA';
  if (type === 'ssh-rsa' || type.startsWith('rsa-')) return 'RSA';
  if (type === 'ssh-dss') return 'DSA';
  if (type.startsWith('sk-ssh-ed25519')) return 'ED25519-SK';
  if (type.startsWith('sk-ecdsa')) return 'ECDSA-SK';
  return type;
}

/** `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`, the format of `ssh-keygen -H`. */
export function hashHostName(name: string, salt: Buffer = randomBytes(20)): string {
  const h = createHmac('sha1', salt).update(name).digest();
  return `|1|${salt.toString('base64')}|${h.toString('base64')}`;
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Parses known_hosts text. Malformed lines are skipped (as OpenSSH does). */
export function parseKnownHosts(text: string, file = '<known_hosts>'): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').trim();
    if (!line || line.startsWith('#')) return;
    const f = line.split(/[ \t]+/);
    let marker: KnownHostEntry['marker'] = null;
    if (f[0]!.startsWith('@')) {
      if (f[0] === '@revoked') marker = 'revoked';
      else if (f[0] === '@cert-authority') marker = 'cert-authority';
      else return;
      f.shift();
    }
    const [hostField, keyType, b64, ...rest] = f;
    if (!hostField || !keyType || !b64 || !B64.test(b64)) return;
    const key = Buffer.from(b64, 'base64');
    if (key.length < 8) return;
    let hashed: KnownHostEntry['hashed'] = null;
    let patterns: string[] = [];
    if (hostField.startsWith('|')) {
      const m = /^\|1\|([^|]+)\|([^|]+)$/.exec(hostField);
      if (!m) return;
      hashed = { salt: Buffer.from(m[1]!, 'base64'), hash: Buffer.from(m[2]!, 'base64') };
    } else {
      patterns = hostField.split(',').filter(Boolean);
    }
    out.push({ file, line: i + 1, marker, hostField, hashed, patterns, keyType, key, comment: rest.join(' ') });
  });
  return out;
}

/** Reads and parses the given files in order; missing or unreadable ones count as empty. */
export function readKnownHostsFiles(files: readonly string[]): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    out.push(...parseKnownHosts(text, f));
  }
  return out;
}

function globMatch(pattern: string, s: string): boolean {
  let re = '';
  for (const c of pattern) re += c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  return new RegExp('^' + re + '$').test(s);
}

/** Whether a known_hosts entry applies to `name` (see knownHostsName). */
export function entryMatchesName(e: KnownHostEntry, name: string): boolean {
  const n = name.toLowerCase();
  if (e.hashed) return createHmac('sha1', e.hashed.salt).update(n).digest().equals(e.hashed.hash);
  let hit = false;
  for (const p of e.patterns) {
    const neg = p.startsWith('!');
    const pat = (neg ? p.slice(1) : p).toLowerCase();
    if (globMatch(pat, n)) {
      if (neg) return false;
      hit = true;
    }
  }
  return hit;
}

/** The entries that apply to a host name and port. */
export function lookupHost(entries: readonly KnownHostEntry[], host: string, port: number): KnownHostEntry[] {
  const name = knownHostsName(host, port);
  return entries.filter(e => entryMatchesName(e, name));
}

export type HostKeyCheck =
  /** An entry has exactly this key. */
  | { status: 'known'; entry: KnownHostEntry }
  /** No key of this type is recorded for the host. `otherTypes`: types that are recorded. */
  | { status: 'unknown'; otherTypes: string[]; certAuthority: boolean }
  /** Keys of this type are recorded for the host, but none is this key. */
  | { status: 'changed'; expected: KnownHostEntry[] }
  /** The key is marked @revoked. */
  | { status: 'revoked'; entry: KnownHostEntry };

/**
 * Checks the key a server presented against known_hosts entries for host:port (pass port 22 to
 * look a HostKeyAlias up as-is). @cert-authority lines are not used (host certificates are not
 * supported): a host known only through one is reported as unknown with `certAuthority: true`.
 */
export function checkHostKey(entries: readonly KnownHostEntry[], host: string, port: number, key: Buffer): HostKeyCheck {
  const mine = lookupHost(entries, host, port);
  const revoked = mine.find(e => e.marker === 'revoked' && e.key.equals(key));
  if (revoked) return { status: 'revoked', entry: revoked };
  const plain = mine.filter(e => e.marker === null);
  const exact = plain.find(e => e.key.equals(key));
  if (exact) return { status: 'known', entry: exact };
  const type = keyTypeOfBlob(key);
  const sameType = plain.filter(e => keyTypeOfBlob(e.key) === type);
  if (sameType.length) return { status: 'changed', expected: sameType };
  return {
    status: 'unknown',
    otherTypes: [...new Set(plain.map(e => keyTypeOfBlob(e.key)))],
    certAuthority: mine.some(e => e.marker === 'cert-authority'),
  };
}

/** The key types recorded for a host (to prefer them when negotiating the host key algorithm). */
export function knownKeyTypes(entries: readonly KnownHostEntry[], host: string, port: number): string[] {
  return [...new Set(lookupHost(entries, host, port).filter(e => e.marker === null).map(e => keyTypeOfBlob(e.key)))];
}

/** One known_hosts line (without newline) for host:port and a key blob. */
export function formatKnownHostsLine(host: string, port: number, key: Buffer, opts: { hash?: boolean; salt?: Buffer } = {}): string {
  const name = knownHostsName(host, port);
  const field = opts.hash ? hashHostName(name, opts.salt) : name;
  return `${field} ${keyTypeOfBlob(key)} ${key.toString('base64')}`;
}

/**
 * Appends an entry for host:port (creating the file, mode 0600, and its directory, mode 0700, if
 * needed). Never rewrites existing lines. Returns the line written.
 */
export function appendKnownHost(file: string, host: string, port: number, key: Buffer, opts: { hash?: boolean } = {}): string {
  const line = formatKnownHostsLine(host, port, key, opts);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // Make sure we start on a fresh line even if the file does not end with a newline.
  let prefix = '';
  try {
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size > 0) {
        const b = Buffer.alloc(1);
        readSync(fd, b, 0, 1, size - 1);
        if (b[0] !== 0x0a) prefix = '\n';
      }
    } finally {
      closeSync(fd);
    }
  } catch {
    // does not exist yet
  }
  appendFileSync(file, prefix + line + '\n', { mode: 0o600 });
  return line;
}
