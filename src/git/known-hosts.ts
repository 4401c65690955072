/**
 * Host key checking against OpenSSH `known_hosts` files, so an SSH remote is trusted exactly as
 * `ssh` would trust it: plain and `[host]:port` entries, comma lists, `*`/`?` wildcards, `!`
 * negations, hashed (`|1|salt|hash`) names, and `@revoked` markers (`@cert-authority` lines are
 * skipped: host certificates are not supported).
 */
import { createHmac } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export type HostKeyVerdict = 'match' | 'mismatch' | 'unknown' | 'revoked';

/** How a host is written in known_hosts: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function patternMatches(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return re.test(name);
}

function hostsMatch(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) {
    const [, , salt = '', hash = ''] = hosts.split('|');
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return mac === hash;
  }
  let matched = false;
  for (const p of hosts.split(',')) {
    if (p.startsWith('!')) {
      if (patternMatches(p.slice(1), name)) return false;
    } else if (patternMatches(p, name)) matched = true;
  }
  return matched;
}

/** The key types known_hosts holds for `name`, to offer those host key algorithms first. */
export function knownKeyTypes(text: string, name: string): string[] {
  const types = new Set<string>();
  for (const entry of entries(text))
    if (!entry.marker && hostsMatch(entry.hosts, name)) types.add(entry.type);
  return [...types];
}

function* entries(text: string) {
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const tokens = line.split(/\s+/);
    const marker = tokens[0]?.startsWith('@') ? tokens.shift() : undefined;
    const [hosts, type, key] = tokens;
    if (hosts && type && key) yield { marker, hosts, type, key };
  }
}

/** Checks the server's host key blob (SSH wire format) against known_hosts text for `name`. */
export function checkHostKey(text: string, name: string, keyBlob: Buffer): HostKeyVerdict {
  let verdict: HostKeyVerdict = 'unknown';
  for (const entry of entries(text)) {
    if (entry.marker === '@cert-authority' || !hostsMatch(entry.hosts, name)) continue;
    const same = Buffer.from(entry.key, 'base64').equals(keyBlob);
    if (entry.marker === '@revoked') {
      if (same) return 'revoked'; // wherever it appears, a revocation wins
    } else if (same) verdict = 'match';
    else if (verdict === 'unknown') verdict = 'mismatch';
  }
  return verdict;
}

/** The key type named inside an SSH public key blob (`ssh-ed25519`, `ecdsa-sha2-nistp256`, ...). */
export function keyType(blob: Buffer): string {
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** Appends `name type key` to the known_hosts file (for `accept-new`), creating it if needed. */
export function rememberHostKey(file: string, name: string, keyBlob: Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const sep = text === '' || text.endsWith('\n') ? '' : '\n';
  fs.appendFileSync(file, `${sep}${name} ${keyType(keyBlob)} ${keyBlob.toString('base64')}\n`, {
    mode: 0o600,
  });
}
