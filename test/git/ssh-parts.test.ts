/** The pieces of the SSH transport: address parsing, known_hosts matching, the want filter. */
import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkHostKey, keyType, knownHostsName, knownKeyTypes } from '../../src/git/known-hosts.js';
import { onlyTipWants } from '../../src/git/ssh-transport.js';
import { isSshUrl, parseSshUrl, shellQuote } from '../../src/git/ssh-url.js';

const ED = 'AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const OTHER = 'AAAAC3NzaC1lZDI1NTE5AAAAIHl7a4GJBMgm1UHqjLTE9zCYVc3oezYH0Y7u3DCZ3e7y';
const blob = (b64: string) => Buffer.from(b64, 'base64');

describe('ssh addresses', () => {
  it('recognises ssh and scp-like addresses, and nothing else', () => {
    for (const u of [
      'ssh://git@host/x.git',
      'git+ssh://host/x',
      'git@bitbucket.org:team/repo.git',
      'host:repo',
    ])
      expect(isSshUrl(u), u).toBe(true);
    for (const u of ['https://host/x.git', 'http://h/x', '/abs/path', './rel:path', 'C:\\repo', 'file:///x'])
      expect(isSshUrl(u), u).toBe(false);
  });

  it('splits user, host, port and path as git does', () => {
    expect(parseSshUrl('ssh://git@example.com:2222/srv/repo.git')).toEqual({
      user: 'git',
      host: 'example.com',
      port: 2222,
      path: '/srv/repo.git',
    });
    expect(parseSshUrl('ssh://example.com/~/repo.git')).toEqual({
      user: undefined,
      host: 'example.com',
      port: 22,
      path: '~/repo.git',
    });
    expect(parseSshUrl('git@bitbucket.org:team/repo.git')).toEqual({
      user: 'git',
      host: 'bitbucket.org',
      port: 22,
      path: 'team/repo.git',
    });
    expect(parseSshUrl('ssh://[::1]:22/r')).toEqual({ user: undefined, host: '::1', port: 22, path: '/r' });
    expect(shellQuote("/a b/it's")).toBe(`'/a b/it'\\''s'`);
  });
});

describe('known_hosts', () => {
  it('matches plain, bracketed-port, listed, wildcard and hashed names', () => {
    const salt = randomBytes(20);
    const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('[h.example]:2222').digest('base64')}`;
    const text = [
      '# comment',
      `plain.example,10.0.0.1 ssh-ed25519 ${ED}`,
      `[port.example]:2222 ssh-ed25519 ${ED}`,
      `*.wild.example,!bad.wild.example ssh-ed25519 ${ED}`,
      `${hashed} ssh-ed25519 ${ED}`,
      `@cert-authority *.example ssh-ed25519 ${OTHER}`,
    ].join('\n');
    expect(checkHostKey(text, 'plain.example', blob(ED))).toBe('match');
    expect(checkHostKey(text, '10.0.0.1', blob(ED))).toBe('match');
    expect(checkHostKey(text, knownHostsName('port.example', 2222), blob(ED))).toBe('match');
    expect(checkHostKey(text, 'port.example', blob(ED))).toBe('unknown');
    expect(checkHostKey(text, 'a.wild.example', blob(ED))).toBe('match');
    expect(checkHostKey(text, 'bad.wild.example', blob(ED))).toBe('unknown');
    expect(checkHostKey(text, '[h.example]:2222', blob(ED))).toBe('match');
    expect(checkHostKey(text, 'plain.example', blob(OTHER))).toBe('mismatch');
    expect(knownKeyTypes(text, 'plain.example')).toEqual(['ssh-ed25519']);
    expect(keyType(blob(ED))).toBe('ssh-ed25519');
  });

  it('refuses a revoked key even when another line accepts it', () => {
    const text = `h ssh-ed25519 ${ED}\n@revoked h ssh-ed25519 ${ED}\n`;
    expect(checkHostKey(text, 'h', blob(ED))).toBe('revoked');
  });
});

describe('want filter for stateful upload-pack', () => {
  const pkt = (s: string) => `${(s.length + 4).toString(16).padStart(4, '0')}${s}`;
  const a = 'a'.repeat(40);
  const b = 'b'.repeat(40);
  const c = 'c'.repeat(40);

  it('drops wants of non-tips and keeps the capabilities on the first want left', () => {
    const req = Buffer.from(
      `${pkt(`want ${b} multi_ack side-band-64k\n`)}${pkt(`want ${a}\n`)}${pkt(`want ${c}\n`)}0000${pkt(`have ${b}\n`)}${pkt('done\n')}`,
    );
    const out = onlyTipWants(req, new Set([a, c])).toString('latin1');
    expect(out).toBe(
      `${pkt(`want ${a} multi_ack side-band-64k\n`)}${pkt(`want ${c}\n`)}0000${pkt(`have ${b}\n`)}${pkt('done\n')}`,
    );
  });

  it('leaves a request of tips only unchanged', () => {
    const req = Buffer.from(`${pkt(`want ${a} ofs-delta\n`)}0000${pkt('done\n')}`);
    expect(onlyTipWants(req, new Set([a])).equals(req)).toBe(true);
  });
});
