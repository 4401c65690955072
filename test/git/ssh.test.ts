/**
 * SSH remotes through ssh2 against a real OpenSSH server (`/usr/sbin/sshd` from Debian's
 * openssh-server) on 127.0.0.1 with throwaway keys: clone, push, fetch, and the refusals
 * (unknown or changed host key, wrong client key, missing repository).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpvError } from '../../src/errors.js';
import { GitRepo } from '../../src/git/repo.js';
import { bareRepo } from '../helpers/git-http-server.js';
import { type Sshd, startSshd } from '../helpers/sshd.js';
import { tempDir } from '../helpers/tmp.js';
import { fsckClean, g, IDENTITY } from './peer.js';

let sshd: Sshd;
let root: string;
const env = { PATH: process.env.PATH, HOME: '/nonexistent' };

beforeAll(async () => {
  sshd = await startSshd(tempDir('cpv-sshd-'));
  root = tempDir('cpv-ssh-root-');
});
afterAll(() => sshd?.stop());

const ssh = () => ({ privateKeyPath: sshd.clientKey, knownHostsPath: sshd.knownHosts });
const urlFor = (bare: string) => `ssh://${sshd.user}@127.0.0.1:${sshd.port}${bare}`;

function seeded(name: string): string {
  const bare = bareRepo(root, name);
  const work = tempDir();
  g(work, 'init', '-q', '-b', 'main');
  fs.writeFileSync(path.join(work, 'model.dvc'), 'outs: 1\n');
  g(work, 'add', '.');
  g(work, 'commit', '-q', '-m', 'one');
  g(work, 'tag', '-a', 'v1', '-m', 'first');
  g(work, 'push', '-q', bare, 'main', 'v1');
  return bare;
}

describe('SSH remotes', () => {
  it('clones, pushes a commit and a tag, and fetches, over ssh', async () => {
    const bare = seeded('roundtrip');
    const dir = path.join(tempDir(), 'c');
    const repo = await GitRepo.clone(urlFor(bare), dir, { ssh: ssh(), env });
    expect(await repo.resolve('HEAD')).toBe(g(bare, 'rev-parse', 'main').trim());
    expect(await repo.resolve('v1')).toBe(g(bare, 'rev-parse', 'v1').trim());
    expect(fs.readFileSync(path.join(dir, '.git', 'config'), 'utf8')).toContain(`url = ${urlFor(bare)}`);
    fsckClean(dir);

    fs.writeFileSync(path.join(dir, 'b.dvc'), 'b\n');
    const c2 = await repo.commit({ message: 'two', author: IDENTITY, paths: ['b.dvc'] });
    await repo.tag({ name: 'v2', message: 'second', tagger: IDENTITY });
    const pushed = await repo.push({ tags: true, ssh: ssh(), env });
    expect(pushed.pushed).toEqual(['refs/heads/main', 'refs/tags/v2']);
    expect(g(bare, 'rev-parse', 'main').trim()).toBe(c2);
    expect(g(bare, 'rev-parse', 'v2^{commit}').trim()).toBe(c2);
    fsckClean(bare);

    const other = tempDir();
    g(other, 'clone', '-q', bare, '.');
    g(other, 'commit', '-q', '--allow-empty', '-m', 'three');
    g(other, 'tag', '-a', 'v3', '-m', 'third');
    g(other, 'push', '-q', 'origin', 'main', 'v3');
    const fetched = await repo.fetch({ ssh: ssh(), env });
    expect(fetched.branches.main).toBe(g(bare, 'rev-parse', 'main').trim());
    expect(fetched.newTags).toEqual(['v3']);
    fsckClean(dir);

    // Deleting a tag on the host, then pruning it everywhere, also works over ssh.
    await repo.deleteRemoteRef('refs/tags/v3', { ssh: ssh(), env });
    expect(g(bare, 'tag', '-l').trim().split('\n')).toEqual(['v1', 'v2']);
    expect((await repo.fetch({ ssh: ssh(), env, prune: true })).pruned).toEqual(['refs/tags/v3']);
    expect(await repo.tagNames()).toEqual(['v1', 'v2']);
    fsckClean(dir);
  });

  it('sends scp-like addresses to port 22 (they cannot name a port), failing clearly when nothing listens there', async () => {
    const bare = seeded('scp');
    const repo = await GitRepo.clone(`${sshd.user}@127.0.0.1:${bare}`, path.join(tempDir(), 's'), {
      ssh: { ...ssh() },
      env,
    }).catch((e: unknown) => e);
    // scp-like addresses cannot carry a port: port 22 is not our sshd, so this must fail to connect
    expect(repo).toMatchObject({ code: 'E_NETWORK' });
  });

  it('refuses an unknown host key unless told to accept new ones, and a changed one always', async () => {
    const bare = seeded('hostkey');
    const empty = path.join(tempDir(), 'known_hosts');
    const err = await GitRepo.clone(urlFor(bare), path.join(tempDir(), 'h1'), {
      ssh: { privateKeyPath: sshd.clientKey, knownHostsPath: empty },
      env,
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_HOST_KEY' });
    expect((err as CpvError).message).toContain(`[127.0.0.1]:${sshd.port}`);

    await GitRepo.clone(urlFor(bare), path.join(tempDir(), 'h2'), {
      ssh: { privateKeyPath: sshd.clientKey, knownHostsPath: empty, strictHostKeyChecking: 'accept-new' },
      env,
    });
    expect(fs.readFileSync(empty, 'utf8')).toBe(`[127.0.0.1]:${sshd.port} ${sshd.hostPublicKey}\n`);

    const forged = path.join(tempDir(), 'known_hosts');
    const otherKey = 'AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
    fs.writeFileSync(forged, `[127.0.0.1]:${sshd.port} ssh-ed25519 ${otherKey}\n`);
    for (const strict of ['yes', 'accept-new'] as const) {
      const changed = await GitRepo.clone(urlFor(bare), path.join(tempDir(), 'h3'), {
        ssh: { privateKeyPath: sshd.clientKey, knownHostsPath: forged, strictHostKeyChecking: strict },
        env,
      }).catch((e: unknown) => e);
      expect(changed).toMatchObject({ code: 'E_HOST_KEY' });
      expect((changed as Error).message).toMatch(/does not match/);
    }
  });

  it('fails with E_AUTH for a key the server does not accept, and E_GIT for a missing repository', async () => {
    const bare = seeded('authfail');
    const stranger = path.join(tempDir(), 'stranger');
    const { spawnSync } = await import('node:child_process');
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger]);
    const err = await GitRepo.clone(urlFor(bare), path.join(tempDir(), 'a'), {
      ssh: { privateKeyPath: stranger, knownHostsPath: sshd.knownHosts },
      env,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CpvError);
    expect(err).toMatchObject({ code: 'E_AUTH' });
    const missing = await GitRepo.clone(urlFor(path.join(root, 'nope.git')), path.join(tempDir(), 'm'), {
      ssh: ssh(),
      env,
    }).catch((e: unknown) => e);
    expect(missing).toMatchObject({ code: 'E_GIT' });
    expect((missing as Error).message).toMatch(/does not appear to be a git repository/);
    const noKey = await GitRepo.clone(urlFor(bare), path.join(tempDir(), 'k'), {
      ssh: { knownHostsPath: sshd.knownHosts },
      env,
    }).catch((e: unknown) => e);
    expect(noKey).toMatchObject({ code: 'E_AUTH' });
  });

  it('uses a passphrase-protected key, and an ssh-agent holding the key', async () => {
    const bare = seeded('agent');
    const { spawnSync, spawn } = await import('node:child_process');
    const locked = path.join(tempDir(), 'locked');
    fs.copyFileSync(sshd.clientKey, locked);
    fs.chmodSync(locked, 0o600);
    expect(spawnSync('ssh-keygen', ['-q', '-p', '-P', '', '-N', 'open sesame', '-f', locked]).status).toBe(0);
    const wrong = await GitRepo.clone(urlFor(bare), path.join(tempDir(), 'w'), {
      ssh: { privateKeyPath: locked, passphrase: 'nope', knownHostsPath: sshd.knownHosts },
      env,
    }).catch((e: unknown) => e);
    expect(wrong).toMatchObject({ code: 'E_AUTH' });
    await GitRepo.clone(urlFor(bare), path.join(tempDir(), 'p'), {
      ssh: { privateKeyPath: locked, passphrase: 'open sesame', knownHostsPath: sshd.knownHosts },
      env,
    });

    const sock = path.join(tempDir(), 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20));
      expect(
        spawnSync('ssh-add', ['-q', sshd.clientKey], { env: { ...env, SSH_AUTH_SOCK: sock } }).status,
      ).toBe(0);
      const viaAgent = await GitRepo.clone(urlFor(bare), path.join(tempDir(), 'g'), {
        ssh: { knownHostsPath: sshd.knownHosts },
        env: { ...env, SSH_AUTH_SOCK: sock },
      });
      expect(await viaAgent.resolve('v1')).toBe(g(bare, 'rev-parse', 'v1').trim());
    } finally {
      agent.kill();
    }
  });
});
