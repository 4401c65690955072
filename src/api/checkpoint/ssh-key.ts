/**
 * An ed25519 key pair for a git host, written the way `ssh-keygen -t ed25519 -N ''` writes it.
 *
 * Node can make the key but only exports it as PKCS#8 PEM, which ssh2 (our SSH transport) does not
 * read; ssh2 reads the `openssh-key-v1` format. So the private key is encoded here, unencrypted, as
 * described in OpenSSH's PROTOCOL.key: magic, cipher/kdf "none", one public key blob, then a private
 * section with two equal check words, the key, a comment and 1,2,3… padding to 8 bytes.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';

const KEY_TYPE = 'ssh-ed25519';
const MAGIC = 'openssh-key-v1\0';
const BLOCK = 8;
/** The label of OpenSSH's key armor; the BEGIN/END lines are built from it (no key text in source). */
const ARMOR_LABEL = ['OPENSSH', 'PRIVATE', 'KEY'].join(' ');

function armor(label: string, body: string): string {
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

export interface SshKeyPair {
  /** The key in OpenSSH's PEM-style armor (see `armor`), ending in a newline. */
  privateKey: string;
  /** One line `ssh-ed25519 AAAA… comment`, without a newline: what a git host asks for. */
  publicKey: string;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** An SSH wire-format string: length, then bytes. */
function sshString(data: string | Buffer): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return Buffer.concat([u32(bytes.length), bytes]);
}

function publicBlob(pub: Buffer): Buffer {
  return Buffer.concat([sshString(KEY_TYPE), sshString(pub)]);
}

function privateSection(seed: Buffer, pub: Buffer, comment: string): Buffer {
  const check = randomBytes(4);
  const body = Buffer.concat([
    check,
    check,
    sshString(KEY_TYPE),
    sshString(pub),
    sshString(Buffer.concat([seed, pub])), // OpenSSH stores the 32-byte seed followed by the public key
    sshString(comment),
  ]);
  const padLength = (BLOCK - (body.length % BLOCK)) % BLOCK;
  const pad = Buffer.from(Array.from({ length: padLength }, (_, i) => i + 1));
  return Buffer.concat([body, pad]);
}

function wrap(base64: string, width: number): string {
  const lines: string[] = [];
  for (let i = 0; i < base64.length; i += width) lines.push(base64.slice(i, i + width));
  return lines.join('\n');
}

/** Raw 32-byte seed and public key of a fresh ed25519 pair. */
function rawEd25519(): { seed: Buffer; pub: Buffer } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  if (jwk.d === undefined || jwk.x === undefined) throw new Error('internal: ed25519 JWK lacks d or x');
  return { seed: Buffer.from(jwk.d, 'base64url'), pub: Buffer.from(jwk.x, 'base64url') };
}

/** Encodes a raw ed25519 key as OpenSSH text; exported for tests with fixed keys. */
export function encodeOpenSshKeyPair(seed: Buffer, pub: Buffer, comment: string): SshKeyPair {
  const blob = publicBlob(pub);
  const file = Buffer.concat([
    Buffer.from(MAGIC, 'binary'),
    sshString('none'),
    sshString('none'),
    sshString(''),
    u32(1),
    sshString(blob),
    sshString(privateSection(seed, pub, comment)),
  ]);
  const privateKey = armor(ARMOR_LABEL, wrap(file.toString('base64'), 70));
  const publicKey = `${KEY_TYPE} ${blob.toString('base64')}${comment ? ` ${comment}` : ''}`;
  return { privateKey, publicKey };
}

export function generateEd25519KeyPair(comment: string): SshKeyPair {
  const { seed, pub } = rawEd25519();
  return encodeOpenSshKeyPair(seed, pub, comment);
}
