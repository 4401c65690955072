/**
 * Remotes over smart HTTP against a real server: `git http-backend` behind a small Node server on
 * 127.0.0.1 with basic auth (test/helpers/git-http-server.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CpvError } from '../../src/errors.js';
import { GitRepo } from '../../src/git/repo.js';
import {
  bareRepo,
  type GitHttpServer,
  selfSignedCert,
  startConnectProxy,
  startGitHttpServer,
} from '../helpers/git-http-server.js';
import { tempDir } from '../helpers/tmp.js';
import { fsckClean, g, IDENTITY } from './peer.js';

const USER = 'alice';
const TOKEN = 's3cr3t-t0ken-value';
const credentials = { username: USER, password: TOKEN };
const author = IDENTITY;
const noEnv = { PATH: process.env.PATH };

let root: string;
let server: GitHttpServer;

beforeAll(async () => {
  root = tempDir('cpv-http-root-');
  server = await startGitHttpServer({ root, auth: { username: USER, password: TOKEN } });
});
afterAll(() => server.close());

/** A bare repo on the server seeded by the git CLI with two commits and an annotated tag. */
function seeded(name: string): string {
  const bare = bareRepo(root, name);
  const work = tempDir();
  g(work, 'init', '-q', '-b', 'main');
  fs.writeFileSync(path.join(work, 'model.dvc'), 'outs: 1\n');
  g(work, 'add', '.');
  g(work, 'commit', '-q', '-m', 'one');
  g(work, 'tag', '-a', 'v1', '-m', 'first');
  fs.writeFileSync(path.join(work, 'model.dvc'), 'outs: 2\n');
  g(work, 'commit', '-q', '-am', 'two');
  g(work, 'push', '-q', bare, 'main', 'v1');
  return bare;
}

function commitFile(repo: GitRepo, file: string, content: string): Promise<string> {
  fs.writeFileSync(path.join(repo.dir, file), content);
  return repo.commit({ message: `write ${file}`, author, paths: [file] });
}

describe('HTTPS remotes', () => {
  it('clones with credentials, never storing the token, and reads what it cloned', async () => {
    const bare = seeded('clone');
    const dir = path.join(tempDir(), 'c');
    const repo = await GitRepo.clone(`${server.url}/clone.git`, dir, { credentials, env: noEnv });
    expect(await repo.resolve('HEAD')).toBe(g(bare, 'rev-parse', 'main').trim());
    expect(await repo.resolve('v1')).toBe(g(bare, 'rev-parse', 'v1').trim());
    expect(fs.readFileSync(path.join(dir, 'model.dvc'), 'utf8')).toBe('outs: 2\n');
    const config = fs.readFileSync(path.join(dir, '.git', 'config'), 'utf8');
    expect(config).toContain(`url = ${server.url}/clone.git`);
    expect(config).not.toContain(TOKEN);
    expect(g(dir, 'config', '--get', 'core.filemode').trim()).toBe('true');
    expect(config).not.toMatch(/symlinks|ignorecase/);
    expect(g(dir, 'status', '--porcelain')).toBe('');
    fsckClean(dir);
  });

  it('takes credentials from the URL or the environment, and strips them from the stored URL', async () => {
    seeded('envauth');
    const fromUrl = path.join(tempDir(), 'u');
    const withCreds = server.url.replace('://', `://${USER}:${TOKEN}@`);
    await GitRepo.clone(`${withCreds}/envauth.git`, fromUrl, { env: noEnv });
    const config = fs.readFileSync(path.join(fromUrl, '.git', 'config'), 'utf8');
    expect(config).not.toContain(TOKEN);
    expect(config).not.toContain(`${USER}@`);
    const fromEnv = path.join(tempDir(), 'e');
    await GitRepo.clone(`${server.url}/envauth.git`, fromEnv, {
      env: { ...noEnv, CPV_GIT_USERNAME: USER, CPV_GIT_TOKEN: TOKEN },
    });
    expect(g(fromEnv, 'log', '--format=%s').trim().split('\n')).toEqual(['two', 'one']);
  });

  it('pushes commits and annotated tags; the server sees them exactly', async () => {
    const bare = seeded('push');
    const repo = await GitRepo.clone(`${server.url}/push.git`, path.join(tempDir(), 'p'), {
      credentials,
      env: noEnv,
    });
    const c1 = await commitFile(repo, 'a.dvc', 'a\n');
    const c2 = await commitFile(repo, 'b.dvc', 'b\n');
    await repo.tag({ name: 'v2', message: 'second release', tagger: author, rev: c1 });
    await repo.tag({ name: 'exp/run-1', message: 'experiment', tagger: author });
    const before = server.requests.length;
    const result = await repo.push({ tags: true, credentials, env: noEnv });
    expect(result.pushed).toEqual(['refs/heads/main', 'refs/tags/exp/run-1', 'refs/tags/v2']);
    expect(result.upToDate).toEqual(['refs/tags/v1']);
    // credentials were challenged once, then sent up front: no 401 after the first exchange
    const mine = server.requests.slice(before);
    expect(mine.filter((r) => r.status === 401)).toHaveLength(1);
    expect(mine[0]?.status).toBe(401);
    expect(g(bare, 'rev-parse', 'main').trim()).toBe(c2);
    expect(g(bare, 'rev-parse', 'v2^{commit}').trim()).toBe(c1);
    expect(g(bare, 'cat-file', '-p', 'v2')).toContain('second release');
    expect(g(bare, 'rev-parse', 'exp/run-1').trim()).toBe(await repo.resolve('exp/run-1'));
    expect(await repo.resolve('refs/remotes/origin/main')).toBe(c2);
    fsckClean(bare);
    // pushing again sends nothing
    const again = await repo.push({ tags: true, credentials, env: noEnv });
    expect(again).toEqual({
      pushed: [],
      upToDate: ['refs/heads/main', 'refs/tags/exp/run-1', 'refs/tags/v1', 'refs/tags/v2'],
    });
  });

  it('fetches new commits and tags pushed by someone else', async () => {
    const bare = seeded('fetch');
    const repo = await GitRepo.clone(`${server.url}/fetch.git`, path.join(tempDir(), 'f'), {
      credentials,
      env: noEnv,
    });
    const other = tempDir();
    g(other, 'clone', '-q', bare, '.');
    fs.writeFileSync(path.join(other, 'c.dvc'), 'c\n');
    g(other, 'add', '.');
    g(other, 'commit', '-q', '-m', 'three');
    g(other, 'tag', '-a', 'v3', '-m', 'third');
    g(other, 'push', '-q', 'origin', 'main', 'v3');
    const result = await repo.fetch({ credentials, env: noEnv });
    expect(result.branches.main).toBe(g(bare, 'rev-parse', 'main').trim());
    expect(result.newTags).toEqual(['v3']);
    expect(await repo.resolve('v3')).toBe(g(bare, 'rev-parse', 'v3').trim());
    expect(Buffer.from(await repo.readFile('origin/main', 'c.dvc')).toString()).toBe('c\n');
    expect(g(repo.dir, 'rev-parse', 'refs/remotes/origin/main').trim()).toBe(
      g(bare, 'rev-parse', 'main').trim(),
    );
    fsckClean(repo.dir);
  });

  it('fetch with prune deletes the tags and branches the remote dropped, packed or loose; others only with prune', async () => {
    const bare = seeded('prune');
    const other = tempDir();
    g(other, 'clone', '-q', bare, '.');
    g(other, 'tag', '-a', 'v2', '-m', 'second');
    g(other, 'push', '-q', 'origin', 'v2', 'main:feature');
    const repo = await GitRepo.clone(`${server.url}/prune.git`, path.join(tempDir(), 'p'), {
      credentials,
      env: noEnv,
    });
    await repo.fetch({ credentials, env: noEnv });
    g(repo.dir, 'pack-refs', '--all'); // v1 now lives in packed-refs only
    expect(await repo.tagNames()).toEqual(['v1', 'v2']);
    g(bare, 'tag', '-d', 'v1');
    g(bare, 'tag', '-d', 'v2');
    g(bare, 'branch', '-D', 'feature');
    // A plain fetch keeps what the remote dropped (git fetch does too).
    expect((await repo.fetch({ credentials, env: noEnv })).pruned).toEqual([]);
    expect(await repo.tagNames()).toEqual(['v1', 'v2']);
    const result = await repo.fetch({ credentials, env: noEnv, prune: true });
    expect(result.pruned.sort()).toEqual(['refs/remotes/origin/feature', 'refs/tags/v1', 'refs/tags/v2']);
    expect(await repo.tagNames()).toEqual([]);
    expect(Object.keys(result.branches)).toEqual(['main']);
    expect(
      g(repo.dir, 'show-ref')
        .trim()
        .split('\n')
        .map((l) => l.split(' ')[1]),
    ).toEqual(['refs/heads/main', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main']);
    expect(fs.readdirSync(path.join(repo.dir, '.git', 'refs', 'tags'))).toEqual([]); // no lock left
    fsckClean(repo.dir);
  });

  it('deletes a ref on the host; a ref the host refuses to delete is E_PUSH_REJECTED', async () => {
    const bare = seeded('delete');
    const repo = await GitRepo.clone(`${server.url}/delete.git`, path.join(tempDir(), 'd'), {
      credentials,
      env: noEnv,
    });
    await repo.deleteRemoteRef('refs/tags/v1', { credentials, env: noEnv });
    expect(g(bare, 'tag', '-l').trim()).toBe('');
    expect(await repo.tagNames()).toEqual(['v1']); // the local tag is the caller's to delete
    // The host's current branch cannot be deleted (receive.denyDeleteCurrent).
    const err = await repo
      .deleteRemoteRef('refs/heads/main', { credentials, env: noEnv })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_PUSH_REJECTED' });
    expect(g(bare, 'rev-parse', 'main').trim()).toBe(await repo.resolve('main'));
    const denied = await repo
      .deleteRemoteRef('refs/heads/main', { credentials: { username: USER, password: 'wrong' }, env: noEnv })
      .catch((e: unknown) => e);
    expect(denied).toMatchObject({ code: 'E_AUTH' });
    expect((denied as Error).message).not.toContain('wrong');
  });

  it('rejects a non-fast-forward push with E_PUSH_REJECTED, and force overrides', async () => {
    const bare = seeded('nff');
    const a = await GitRepo.clone(`${server.url}/nff.git`, path.join(tempDir(), 'a'), {
      credentials,
      env: noEnv,
    });
    const b = await GitRepo.clone(`${server.url}/nff.git`, path.join(tempDir(), 'b'), {
      credentials,
      env: noEnv,
    });
    await commitFile(a, 'x', 'from a\n');
    await a.push({ credentials, env: noEnv });
    const mine = await commitFile(b, 'y', 'from b\n');
    const err = await b.push({ credentials, env: noEnv }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CpvError);
    expect(err).toMatchObject({ code: 'E_PUSH_REJECTED' });
    expect((err as CpvError).message).toMatch(/not a fast-forward/);
    expect((err as CpvError).hint).toMatch(/fetch/);
    expect(g(bare, 'rev-parse', 'main').trim()).not.toBe(mine);
    await b.push({ credentials, env: noEnv, force: true });
    expect(g(bare, 'rev-parse', 'main').trim()).toBe(mine);
  });

  it('refuses to move a tag that exists on the remote unless forced', async () => {
    const bare = seeded('tagclash');
    const repo = await GitRepo.clone(`${server.url}/tagclash.git`, path.join(tempDir(), 't'), {
      credentials,
      env: noEnv,
    });
    await repo.tag({ name: 'v1', message: 'moved', tagger: author, force: true });
    await repo.tag({ name: 'v9', message: 'new', tagger: author });
    const err = await repo
      .push({ branch: false, tags: ['v1', 'v9'], credentials, env: noEnv })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_PUSH_REJECTED' });
    expect((err as Error).message).toMatch(/v1 \(already exists there\); pushed refs\/tags\/v9/);
    expect(g(bare, 'rev-parse', 'v9').trim()).toBe(await repo.resolve('v9'));
    await repo.push({ branch: false, tags: ['v1'], force: true, credentials, env: noEnv });
    expect(g(bare, 'rev-parse', 'v1').trim()).toBe(await repo.resolve('v1'));
  });

  it('fails with E_AUTH on wrong or missing credentials, never showing the secret', async () => {
    seeded('auth');
    const wrong = 'wr0ng-secret-value';
    for (const opts of [
      { credentials: { username: USER, password: wrong }, env: noEnv },
      { env: { ...noEnv, CPV_GIT_TOKEN: wrong } },
      { env: noEnv },
    ]) {
      const dir = path.join(tempDir(), 'x');
      const err = await GitRepo.clone(`${server.url}/auth.git`, dir, opts).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CpvError);
      expect(err).toMatchObject({ code: 'E_AUTH' });
      const text = `${(err as CpvError).message} ${(err as CpvError).hint} ${String((err as CpvError).cause ?? '')}`;
      expect(text).not.toContain(wrong);
      expect(text).toContain(`${server.url}/auth.git`);
      expect(fs.existsSync(dir)).toBe(false); // nothing half-cloned
    }
    const inUrl = server.url.replace('://', `://${USER}:${wrong}@`);
    const err = await GitRepo.clone(`${inUrl}/auth.git`, path.join(tempDir(), 'y'), { env: noEnv }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'E_AUTH' });
    expect(JSON.stringify({ m: (err as Error).message, h: (err as CpvError).hint })).not.toContain(wrong);
  });

  it('clones an empty repository and pushes its first commit; makes shallow clones', async () => {
    const bare = bareRepo(root, 'empty');
    const repo = await GitRepo.clone(`${server.url}/empty.git`, path.join(tempDir(), 'e'), {
      credentials,
      env: noEnv,
    });
    expect(await repo.log()).toEqual([]);
    expect(await repo.currentBranch()).toBe('main'); // not isomorphic-git's 'master'
    const first = await commitFile(repo, 'model.dvc', 'm\n');
    await repo.tag({ name: 'v0.1', message: 'first', tagger: author });
    await repo.push({ tags: true, credentials, env: noEnv });
    expect(g(bare, 'rev-parse', 'main').trim()).toBe(first);
    expect(g(bare, 'rev-parse', 'v0.1^{}').trim()).toBe(first);

    const deep = seeded('shallow');
    const shallow = await GitRepo.clone(`${server.url}/shallow.git`, path.join(tempDir(), 's'), {
      credentials,
      env: noEnv,
      depth: 1,
    });
    expect((await shallow.log()).map((c) => c.oid)).toEqual([g(deep, 'rev-parse', 'main').trim()]);
    expect(g(shallow.dir, 'log', '--format=%H').trim()).toBe(g(deep, 'rev-parse', 'main').trim());
    expect(g(shallow.dir, 'rev-parse', '--is-shallow-repository').trim()).toBe('true');
    fsckClean(shallow.dir);
  });

  it('reports a missing repository, an unreachable server and a missing remote clearly', async () => {
    await expect(
      GitRepo.clone(`${server.url}/nope.git`, path.join(tempDir(), 'n'), { credentials, env: noEnv }),
    ).rejects.toMatchObject({ code: 'E_REMOTE_NOT_FOUND' });
    await expect(
      GitRepo.clone('http://127.0.0.1:1/x.git', path.join(tempDir(), 'n'), { credentials, env: noEnv }),
    ).rejects.toMatchObject({ code: 'E_NETWORK' });
    const repo = await GitRepo.init(path.join(tempDir(), 'lonely'));
    await expect(repo.fetch({ env: noEnv })).rejects.toMatchObject({ code: 'E_NO_REMOTE' });
    await expect(repo.push({ remote: 'upstream', env: noEnv })).rejects.toMatchObject({
      code: 'E_NO_REMOTE',
    });
  });
});

describe('HTTPS through a proxy', () => {
  it('tunnels through HTTPS_PROXY to a TLS server trusted via GIT_SSL_CAINFO, and honours NO_PROXY', async () => {
    const dir = tempDir('cpv-tls-');
    const cert = selfSignedCert(dir);
    const tlsRoot = tempDir('cpv-tls-root-');
    const bare = bareRepo(tlsRoot, 'secure');
    const work = tempDir();
    g(work, 'init', '-q', '-b', 'main');
    g(work, 'commit', '-q', '--allow-empty', '-m', 'hello');
    g(work, 'push', '-q', bare, 'main');
    const tlsServer = await startGitHttpServer({
      root: tlsRoot,
      auth: { username: USER, password: TOKEN },
      tls: cert,
    });
    const proxy = await startConnectProxy();
    try {
      const env = { ...noEnv, HTTPS_PROXY: proxy.url, GIT_SSL_CAINFO: cert.certFile };
      const repo = await GitRepo.clone(`${tlsServer.url}/secure.git`, path.join(tempDir(), 's'), {
        credentials,
        env,
      });
      expect(await repo.resolve('HEAD')).toBe(g(bare, 'rev-parse', 'main').trim());
      expect(proxy.tunnels.length).toBeGreaterThan(0);
      expect(new Set(proxy.tunnels)).toEqual(new Set([`127.0.0.1:${tlsServer.port}`]));
      // NO_PROXY bypasses it
      const seen = proxy.tunnels.length;
      await GitRepo.clone(`${tlsServer.url}/secure.git`, path.join(tempDir(), 's2'), {
        credentials,
        env: { ...env, NO_PROXY: '127.0.0.1' },
      });
      expect(proxy.tunnels.length).toBe(seen);
      // without the CA the certificate is refused, clearly
      const err = await GitRepo.clone(`${tlsServer.url}/secure.git`, path.join(tempDir(), 's3'), {
        credentials,
        env: { ...noEnv, HTTPS_PROXY: proxy.url },
      }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'E_NETWORK' });
    } finally {
      await proxy.close();
      await tlsServer.close();
    }
  });
});
