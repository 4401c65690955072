/**
 * importModelInit creating the model's repository through a Bitbucket-style REST API when it is
 * missing. The API here is a small loopback server speaking Bitbucket Cloud's two calls
 * (GET/POST /2.0/repositories/{workspace}/{slug}); on POST it creates a real bare repo behind the
 * git smart-HTTP test server, which the push then goes to.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bitbucketTarget } from '../../src/api/checkpoint/bitbucket.js';
import { CPVConfig } from '../../src/api/checkpoint/cpv-config.js';
import { ModelsCheckpointsManage } from '../../src/api/checkpoint/models.js';
import type { CpvError } from '../../src/errors.js';
import { startConnectProxy } from '../helpers/git-http-server.js';
import { tempDir } from '../helpers/tmp.js';
import { type GitHttpServer, startGitHttpServer } from './helpers/git-http-server.js';

interface Seen {
  method: string;
  path: string;
  auth: string | undefined;
  body: unknown;
}

let git: GitHttpServer;
let api: http.Server;
let apiBase: string;
const seen: Seen[] = [];

beforeAll(async () => {
  git = await startGitHttpServer();
  api = http.createServer((req, res) => {
    let text = '';
    req.on('data', (d) => (text += d));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        path: req.url ?? '',
        auth: req.headers.authorization,
        body: text ? JSON.parse(text) : undefined,
      });
      const expected = `Basic ${Buffer.from(`${git.username}:${git.token}`).toString('base64')}`;
      if (req.headers.authorization !== expected) {
        res.statusCode = 401;
        return res.end('{}');
      }
      const m = /^\/2\.0\/repositories\/([^/]+)\/([^/]+)$/.exec(req.url ?? '');
      if (!m) {
        res.statusCode = 400;
        return res.end('{}');
      }
      const name = `${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}`;
      const exists = fs.existsSync(path.join(git.root, `${name}.git`));
      if (req.method === 'GET') {
        res.statusCode = exists ? 200 : 404;
        return res.end('{}');
      }
      git.createRepo(name);
      res.statusCode = 200;
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  apiBase = `http://127.0.0.1:${(api.address() as AddressInfo).port}/2.0`;
});
afterAll(async () => {
  await git.close();
  await new Promise((resolve) => api.close(resolve));
});

function machine(token = git.token, env: NodeJS.ProcessEnv = {}): CPVConfig {
  const cfg = new CPVConfig({ env: { ...env, CPV_HOME: tempDir('cpv-home-') } });
  cfg.setupGitHttps({
    username: git.username,
    token,
    urlTemplate: `${git.base}{project}/{model}.git`,
    bitbucketApi: apiBase,
    bitbucketProject: 'AIVISION',
  });
  return cfg;
}

describe('Bitbucket repository creation', () => {
  it('reads workspace and slug from the URL only for Bitbucket (or a configured API)', () => {
    expect(
      bitbucketTarget('https://bitbucket.org/AI-Vision-model-checkpoints/ResNet.git', undefined),
    ).toEqual({
      api: 'https://api.bitbucket.org/2.0',
      workspace: 'AI-Vision-model-checkpoints',
      slug: 'resnet',
    });
    expect(bitbucketTarget('https://github.com/org/repo.git', undefined)).toBeUndefined();
    expect(bitbucketTarget('git@bitbucket.org:ws/repo.git', undefined)).toBeUndefined();
  });

  it('creates a missing repo in the configured project, then pushes; an existing one is left alone', async () => {
    seen.length = 0;
    const m = new ModelsCheckpointsManage('vision', 'fresh', {
      workdir: tempDir('cpv-w-'),
      config: machine(),
    });
    const plan = await m.importModelInit({ dryRun: true });
    expect(plan.steps).toContainEqual(
      expect.objectContaining({ kind: 'create', detail: 'Bitbucket repository, if missing' }),
    );
    expect(seen).toEqual([]);

    const init = await m.importModelInit();
    expect(init.pushed.git).toBe(true);
    expect(seen.map((s) => `${s.method} ${s.path}`)).toEqual([
      'GET /2.0/repositories/AI-Vision-model-checkpoints/fresh',
      'POST /2.0/repositories/AI-Vision-model-checkpoints/fresh',
    ]);
    expect(seen[1]?.body).toEqual({ scm: 'git', is_private: true, project: { key: 'AIVISION' } });
    expect(git.showRefs('AI-Vision-model-checkpoints/fresh')).toContain('refs/heads/main');

    seen.length = 0;
    git.createRepo('AI-Vision-model-checkpoints/there');
    await new ModelsCheckpointsManage('vision', 'there', {
      workdir: tempDir('cpv-w-'),
      config: machine(),
    }).importModelInit();
    expect(seen.map((s) => s.method)).toEqual(['GET']);
  });

  it("asks the API through the proxy the environment names (Node's fetch would not)", async () => {
    const proxy = await startConnectProxy();
    try {
      const apiHost = new URL(apiBase).host;
      const gitHost = new URL(git.base).host; // reached directly: NO_PROXY names it
      const config = machine(git.token, { HTTP_PROXY: proxy.url, NO_PROXY: gitHost });
      seen.length = 0;
      const m = new ModelsCheckpointsManage('vision', 'proxied', { workdir: tempDir('cpv-w-'), config });
      expect((await m.importModelInit()).pushed.git).toBe(true);
      expect(seen.map((s) => s.method)).toEqual(['GET', 'POST']);
      expect(proxy.tunnels).toEqual([apiHost, apiHost]);
    } finally {
      await proxy.close();
    }
  });

  it('a refused token is E_AUTH and leaves nothing behind', async () => {
    const m = new ModelsCheckpointsManage('vision', 'denied', {
      workdir: tempDir('cpv-w-'),
      config: machine('bad-token'),
    });
    let err: CpvError | undefined;
    try {
      await m.importModelInit();
    } catch (e) {
      err = e as CpvError;
    }
    expect(err?.code).toBe('E_AUTH');
    expect(err?.message).not.toContain('bad-token');
    expect(fs.existsSync(m.path)).toBe(false);
  });
});
