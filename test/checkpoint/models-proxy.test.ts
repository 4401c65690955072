/**
 * The checkpoint API on a network where the git host is reached through an HTTPS proxy and
 * presents a certificate of a private CA (GIT_SSL_CAINFO): every git request — the clone, the
 * fetch before each read, the pull before each write, pushes, deleting a tag on the host, and the
 * credential check — goes through the proxy and trusts that CA, as the rest of cpv's git layer does.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CPVConfig } from '../../src/api/checkpoint/cpv-config.js';
import { ModelsCheckpointsManage } from '../../src/api/checkpoint/models.js';
import {
  bareRepo,
  selfSignedCert,
  startConnectProxy,
  startGitHttpServer,
} from '../helpers/git-http-server.js';
import { gitCli, tempDir } from '../helpers/tmp.js';

const SLOW = 180_000;
const USER = 'carol';
const TOKEN = 'proxy-test-t0ken';
const REPO = 'AI-Vision-model-checkpoints/resnet';

describe('checkpoints through an HTTPS proxy to a git host with a private CA', { timeout: SLOW }, () => {
  it('B reads, writes and rolls back through the proxy; without the CA it fails clearly', async () => {
    const cert = selfSignedCert(tempDir('cpv-tls-'));
    const root = tempDir('cpv-tls-root-');
    const bare = bareRepo(root, REPO);
    const server = await startGitHttpServer({ root, auth: { username: USER, password: TOKEN }, tls: cert });
    const proxy = await startConnectProxy();
    try {
      const storage = tempDir('cpv-storage-');
      const env = { PATH: process.env.PATH, HTTPS_PROXY: proxy.url, GIT_SSL_CAINFO: cert.certFile };
      const machine = (extra: NodeJS.ProcessEnv = {}) => {
        const cfg = new CPVConfig({ env: { ...env, ...extra, CPV_HOME: tempDir('cpv-home-') } });
        cfg.setupGitHttps({
          username: USER,
          token: TOKEN,
          urlTemplate: `${server.url}/{project}/{model}.git`,
        });
        cfg.setupLocalStorage(storage);
        return cfg;
      };
      const manage = (config: CPVConfig) =>
        new ModelsCheckpointsManage('vision', 'resnet', { workdir: tempDir('cpv-m-'), config });
      const a = manage(machine());
      const b = manage(machine());

      await a.importModelInit();
      fs.writeFileSync(path.join(a.path, 'model.bin'), 'w1');
      await a.uploadModelCheckpoint({ metrics: { loss: 0.5 } });
      expect(await a.tagModelCheckpoint()).toBe('v1.0');
      expect(await b.readCheckpointTag()).toEqual(['v1.0']); // B clones

      // A moves on; B's next read fetches the new tag, its next write pulls A's commit first.
      fs.writeFileSync(path.join(a.path, 'model.bin'), 'w2');
      await a.uploadModelCheckpoint({ metrics: { loss: 0.4 } });
      expect(await a.tagModelCheckpoint()).toBe('v1.1');
      const tunnelsBefore = proxy.tunnels.length;
      expect(await b.readCheckpointTag()).toEqual(['v1.0', 'v1.1']);
      fs.writeFileSync(path.join(b.path, 'model.bin'), 'w3');
      const up = await b.uploadModelCheckpoint({ metrics: { loss: 0.3 } });
      expect(gitCli(b.path, 'rev-parse', 'HEAD^').trim()).toBe(gitCli(a.path, 'rev-parse', 'HEAD').trim());
      expect(gitCli(bare, 'rev-parse', 'main').trim()).toBe(up.commit);
      expect(proxy.tunnels.length).toBeGreaterThan(tunnelsBefore);
      expect(new Set(proxy.tunnels)).toEqual(new Set([`127.0.0.1:${server.port}`]));

      // A tag deleted on the host (a rolled-back release) disappears from B at its next read.
      gitCli(bare, 'tag', '-d', 'v1.1');
      expect(await b.readCheckpointTag()).toEqual(['v1.0']);

      // The credential check (`cpv doctor`) takes the same way.
      const seen = proxy.tunnels.length;
      const report = await machine().validateCredentials({ team: 'vision', model: 'resnet' });
      expect(report.git).toMatchObject({ ok: true });
      expect(report.git.detail).toContain('2 refs'); // main and v1.0
      expect(report.git.detail).toContain(`(through proxy ${new URL(proxy.url).host})`);
      expect(proxy.tunnels.length).toBeGreaterThan(seen);

      // A machine without the CA is refused, with one clear error.
      const noCa = machine({ GIT_SSL_CAINFO: '' });
      await expect(manage(noCa).readCheckpointTag()).rejects.toMatchObject({ code: 'E_NETWORK' });
      expect((await noCa.validateCredentials({ team: 'vision', model: 'resnet' })).git).toMatchObject({
        ok: false,
        code: 'E_NETWORK',
      });
    } finally {
      await proxy.close();
      await server.close();
    }
  });
});
