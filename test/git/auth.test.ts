/** Where credentials come from, how they are kept out of text, and where proxies apply. */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { credentialsFromEnv, redact, resolveCredentials, splitUrlCredentials } from '../../src/git/auth.js';
import { GitRepo } from '../../src/git/repo.js';
import { proxyFor } from '../../src/proxy.js';
import { bareRepo, startGitHttpServer } from '../helpers/git-http-server.js';
import { tempDir } from '../helpers/tmp.js';
import { g } from './peer.js';

describe('credentials', () => {
  it('come from CPV_GIT_* first, then the hosting service variables for the URL host', () => {
    const env = {
      GITHUB_TOKEN: 'gh',
      GITLAB_TOKEN: 'gl',
      CI_JOB_TOKEN: 'ci',
      BITBUCKET_USERNAME: 'bob',
      BITBUCKET_APP_PASSWORD: 'bb',
    };
    expect(credentialsFromEnv({ ...env, CPV_GIT_TOKEN: 'mine' }, 'https://github.com/a/b')).toEqual({
      password: 'mine',
    });
    expect(credentialsFromEnv(env, 'https://github.com/a/b')).toEqual({
      username: 'x-access-token',
      password: 'gh',
    });
    expect(credentialsFromEnv(env, 'https://gitlab.example.com/a/b')).toEqual({
      username: 'oauth2',
      password: 'gl',
    });
    expect(credentialsFromEnv({ CI_JOB_TOKEN: 'ci' }, 'https://gitlab.com/a/b')).toEqual({
      username: 'gitlab-ci-token',
      password: 'ci',
    });
    expect(credentialsFromEnv(env, 'https://bitbucket.org/a/b')).toEqual({ username: 'bob', password: 'bb' });
    expect(credentialsFromEnv(env, 'https://example.com/a/b')).toEqual({});
  });

  it('fill in the username a bare token needs on each host', () => {
    expect(resolveCredentials('https://bitbucket.org/x', [undefined, { password: 't' }])).toEqual({
      username: 'x-token-auth',
      password: 't',
    });
    expect(resolveCredentials('https://gitlab.com/x', [{ password: 't' }])).toEqual({
      username: 'oauth2',
      password: 't',
    });
    expect(resolveCredentials('https://h/x', [{}, undefined])).toBeUndefined();
  });

  it('are split out of URLs and scrubbed from text', () => {
    expect(splitUrlCredentials('https://u%40x:p%3Aw@h.example/r.git')).toEqual({
      url: 'https://h.example/r.git',
      credentials: { username: 'u@x', password: 'p:w' },
    });
    expect(splitUrlCredentials('git@host:repo').url).toBe('git@host:repo');
    expect(redact('failed https://u:tok3n@h/x with tok3n', ['tok3n'])).toBe(
      'failed https://***@h/x with ***',
    );
  });
});

describe('proxy selection', () => {
  it('uses HTTPS_PROXY for https, HTTP_PROXY for http, and honours NO_PROXY', () => {
    const env = {
      HTTPS_PROXY: 'proxy:3128',
      HTTP_PROXY: 'http://p2:80',
      NO_PROXY: '.internal,localhost:8080',
    };
    expect(proxyFor(new URL('https://github.com/x'), env)?.href).toBe('http://proxy:3128/');
    expect(proxyFor(new URL('http://github.com/x'), env)?.href).toBe('http://p2/');
    expect(proxyFor(new URL('https://git.internal/x'), env)).toBeUndefined();
    expect(proxyFor(new URL('http://localhost:8080/x'), env)).toBeUndefined();
    expect(proxyFor(new URL('http://localhost:9090/x'), env)?.host).toBe('p2');
    expect(proxyFor(new URL('https://a/x'), {})).toBeUndefined();
    // Only http:// proxies (a CONNECT tunnel): anything else is one clear error, not a wrong connection.
    expect(() => proxyFor(new URL('https://a/x'), { ALL_PROXY: 'socks5://127.0.0.1:1080' })).toThrowError(
      expect.objectContaining({ code: 'E_USAGE' }),
    );
    expect(proxyFor(new URL('https://a/x'), { ALL_PROXY: 'socks5://p:1080', NO_PROXY: 'a' })).toBeUndefined();
  });
});

describe('redirects', () => {
  it('follow a redirect to another origin without the credentials', async () => {
    const root = tempDir();
    bareRepo(root, 'moved');
    const target = await startGitHttpServer({ root, auth: { username: 'u', password: 'secret-pw' } });
    const redirector = http.createServer((req, res) => {
      res.writeHead(302, { location: `${target.url}${req.url}` });
      res.end();
    });
    await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r));
    const port = (redirector.address() as AddressInfo).port;
    try {
      const err = await GitRepo.clone(`http://127.0.0.1:${port}/moved.git`, path.join(tempDir(), 'c'), {
        credentials: { username: 'u', password: 'secret-pw' },
        env: {},
      }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'E_AUTH' });
      expect(target.requests.length).toBeGreaterThan(0);
      expect(target.requests.every((r) => !r.authorized)).toBe(true);
    } finally {
      redirector.close();
      await target.close();
    }
  });
});

describe('repository discovery', () => {
  it('follows a .git file to a separate git directory, and refuses a linked worktree', async () => {
    const dir = tempDir();
    const store = path.join(tempDir(), 'store.git');
    g(dir, 'init', '-q', '-b', 'main', `--separate-git-dir=${store}`);
    expect(fs.statSync(path.join(dir, '.git')).isFile()).toBe(true);
    const repo = GitRepo.open(dir);
    expect(repo.gitdir).toBe(store);
    fs.writeFileSync(path.join(dir, 'f'), 'f\n');
    const oid = await repo.commit({
      message: 'via .git file',
      author: { name: 'A', email: 'a@example.com' },
      paths: ['f'],
    });
    expect(g(dir, 'rev-parse', 'HEAD').trim()).toBe(oid);

    const linked = path.join(tempDir(), 'linked');
    g(dir, 'worktree', 'add', '-q', linked);
    expect(() => GitRepo.open(linked)).toThrowError(expect.objectContaining({ code: 'E_GIT' }));
  });
});
