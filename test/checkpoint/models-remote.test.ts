/**
 * Two machines sharing a real git smart-HTTP server (git http-backend behind basic auth) and one
 * data storage directory: what A uploads and tags, B lists, downloads and reverts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CPVConfig } from '../../src/api/checkpoint/cpv-config.js';
import { ModelsCheckpointsManage } from '../../src/api/checkpoint/models.js';
import type { CpvError } from '../../src/errors.js';
import { gitCli, tempDir } from '../helpers/tmp.js';
import { type GitHttpServer, startGitHttpServer } from './helpers/git-http-server.js';

/** Many round trips to real servers: allow for a loaded CI machine (2 cores shared by every suite). */
const SLOW = 180_000;

let server: GitHttpServer;
beforeAll(async () => {
  server = await startGitHttpServer();
});
afterAll(async () => {
  await server.close();
});

function machine(storage: string, token = server.token): CPVConfig {
  const cfg = new CPVConfig({ env: { CPV_HOME: tempDir('cpv-home-') } });
  cfg.setupGitHttps({ username: server.username, token, urlTemplate: `${server.base}{project}/{model}.git` });
  cfg.setupLocalStorage(storage);
  return cfg;
}

async function rejects(p: Promise<unknown>): Promise<CpvError> {
  try {
    await p;
  } catch (err) {
    return err as CpvError;
  }
  throw new Error('expected a rejection');
}

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => path.join(dir, f));
}

describe('ModelsCheckpointsManage across two machines over git HTTPS', { timeout: SLOW }, () => {
  it('upload and tag on A; list, download, revert on B; A builds on B', async () => {
    server.createRepo('AI-Vision-model-checkpoints/resnet');
    const storage = tempDir('cpv-storage-');
    const data = tempDir('cpv-data-');
    fs.writeFileSync(path.join(data, 'x.csv'), '1,2\n');
    const a = new ModelsCheckpointsManage('vision', 'resnet', {
      workdir: tempDir('cpv-a-'),
      config: machine(storage),
    });
    const b = new ModelsCheckpointsManage('vision', 'resnet', {
      workdir: tempDir('cpv-b-'),
      config: machine(storage),
    });

    const init = await a.importModelInit({ dataPath: data });
    expect(init.gitUrl).toBe(`${server.base}AI-Vision-model-checkpoints/resnet.git`);
    expect(init.pushed.git).toBe(true);

    fs.writeFileSync(path.join(a.path, 'model.bin'), 'A-weights-1');
    const up1 = await a.uploadModelCheckpoint({ metrics: { loss: 0.4 }, message: 'A first' });
    expect(up1.pushed.git).toBe(true);
    expect(await a.tagModelCheckpoint()).toBe('v1.0');
    fs.writeFileSync(path.join(a.path, 'model.bin'), 'A-weights-2!');
    await a.uploadModelCheckpoint({ metrics: { loss: 0.3 } });
    expect(await a.tagModelCheckpoint()).toBe('v1.1');
    const refs = server.showRefs('AI-Vision-model-checkpoints/resnet');
    expect(refs).toContain('refs/tags/v1.0');
    expect(refs).toContain('refs/tags/v1.1');
    expect(refs).toContain(`${gitCli(a.path, 'rev-parse', 'HEAD').trim()} refs/heads/main`);

    // B starts from nothing but its settings.
    expect(fs.existsSync(b.path)).toBe(false);
    expect(await b.readCheckpointTag()).toEqual(['v1.0', 'v1.1']);
    const art = await b.downloadModelCheckpoint({ tag: 'v1.0' });
    expect(fs.readFileSync(path.join(art.path, 'model.bin'), 'utf8')).toBe('A-weights-1');
    expect(art.metrics?.metrics).toEqual({ loss: 0.4 });
    expect(art.commit).toBe(gitCli(a.path, 'rev-list', '-n', '1', 'v1.0').trim());
    expect((await rejects(b.tagModelCheckpoint({ versionTag: 'v1.1' }))).code).toBe('E_TAG_EXISTS');

    const rev = await b.revertModelCheckpoint({ tag: 'v1.0' });
    expect(rev.pushed).toBe(true);
    expect(fs.readFileSync(path.join(b.path, 'model.bin'), 'utf8')).toBe('A-weights-1');
    expect(server.showRefs('AI-Vision-model-checkpoints/resnet')).toContain(`${rev.commit} refs/heads/main`);

    // A trains again: its upload lands on top of B's revert, with the metrics history of v1.0.
    fs.writeFileSync(path.join(a.path, 'model.bin'), 'A-weights-3');
    const up3 = await a.uploadModelCheckpoint({ metrics: { loss: 0.2 } });
    expect(gitCli(a.path, 'rev-parse', 'HEAD^').trim()).toBe(rev.commit);
    const log = fs.readFileSync(path.join(a.path, 'metrics.log'), 'utf8').trim().split('\n');
    expect(log.map((l) => JSON.parse(l).metrics.loss)).toEqual([0.4, 0.2]);
    expect(server.showRefs('AI-Vision-model-checkpoints/resnet')).toContain(`${up3.commit} refs/heads/main`);

    const meta = await b.getModelMetadata();
    expect(meta.versions.map((v) => [v.tag, v.size, v.metrics?.metrics.loss])).toEqual([
      ['v1.0', 11, 0.4],
      ['v1.1', 12, 0.3],
    ]);

    // No credential anywhere in either repo.
    for (const m of [a, b]) {
      for (const f of filesUnder(m.path)) {
        if (fs.statSync(f).isFile()) expect(fs.readFileSync(f).includes(server.token), f).toBe(false);
      }
    }
  });

  it('bad credentials: E_AUTH, and a failed clone leaves no directory', async () => {
    server.createRepo('AI-Vision-model-checkpoints/locked');
    const storage = tempDir('cpv-storage-');
    const c = new ModelsCheckpointsManage('vision', 'locked', {
      workdir: tempDir('cpv-c-'),
      config: machine(storage, 'wrong-token'),
    });
    const err = await rejects(c.readCheckpointTag());
    expect(err.code).toBe('E_AUTH');
    expect(err.message).not.toContain('wrong-token');
    expect(fs.existsSync(c.path)).toBe(false);

    const d = new ModelsCheckpointsManage('vision', 'locked', {
      workdir: tempDir('cpv-d-'),
      config: machine(storage, 'wrong-token'),
    });
    const initErr = await rejects(d.importModelInit());
    expect(initErr.code).toBe('E_AUTH');
    expect(fs.existsSync(d.path)).toBe(false);
    expect(server.showRefs('AI-Vision-model-checkpoints/locked')).toBe('');
  });

  it('a tag the host refuses is removed locally too', async () => {
    server.createRepo('AI-Vision-model-checkpoints/refuse');
    const a = new ModelsCheckpointsManage('vision', 'refuse', {
      workdir: tempDir('cpv-a-'),
      config: machine(tempDir('cpv-s-')),
    });
    await a.importModelInit();
    fs.writeFileSync(path.join(a.path, 'model.bin'), 'w');
    await a.uploadModelCheckpoint({ metrics: {} });
    server.failPushesMatching = 'refs/tags/v1.0';
    try {
      const err = await rejects(a.tagModelCheckpoint());
      expect(['E_PUSH_REJECTED', 'E_GIT', 'E_NETWORK']).toContain(err.code); // the test host answers HTTP 500
    } finally {
      server.failPushesMatching = undefined;
    }
    expect(gitCli(a.path, 'tag', '-l')).toBe('');
    expect(server.showRefs('AI-Vision-model-checkpoints/refuse')).not.toContain('refs/tags/');
    expect(await a.tagModelCheckpoint()).toBe('v1.0');
  });

  it('a failed push of main keeps the commit and says so; the next tag sends it; diverged histories are refused', async () => {
    server.createRepo('AI-Vision-model-checkpoints/flaky');
    const storage = tempDir('cpv-storage-');
    const a = new ModelsCheckpointsManage('vision', 'flaky', {
      workdir: tempDir('cpv-a-'),
      config: machine(storage),
    });
    const b = new ModelsCheckpointsManage('vision', 'flaky', {
      workdir: tempDir('cpv-b-'),
      config: machine(storage),
    });
    await a.importModelInit();
    fs.writeFileSync(path.join(a.path, 'model.bin'), 'a1');
    server.failPushesMatching = 'refs/heads/main';
    let err: CpvError;
    try {
      err = await rejects(a.uploadModelCheckpoint({ metrics: { run: 1 } }));
    } finally {
      server.failPushesMatching = undefined;
    }
    expect(err.message).toMatch(/^committed [0-9a-f]{8} locally, but pushing it failed/);
    expect(err.hint).toContain('the next upload, tag or revert pushes it');
    const local = gitCli(a.path, 'rev-parse', 'HEAD').trim();
    expect(server.showRefs('AI-Vision-model-checkpoints/flaky')).not.toContain(local);
    expect(await a.tagModelCheckpoint()).toBe('v1.0');
    expect(server.showRefs('AI-Vision-model-checkpoints/flaky')).toContain(`${local} refs/heads/main`);

    // B builds on the host's main; then A commits without pushing and B pushes: histories diverge.
    fs.mkdirSync(b.path, { recursive: true });
    await b.readCheckpointTag();
    fs.writeFileSync(path.join(a.path, 'model.bin'), 'a2');
    server.failPushesMatching = 'refs/heads/main';
    try {
      await rejects(a.uploadModelCheckpoint({ metrics: { run: 2 } }));
    } finally {
      server.failPushesMatching = undefined;
    }
    await b.uploadModelCheckpoint({ modelPath: path.join(a.path, 'metrics.log'), metrics: { run: 3 } });
    fs.writeFileSync(path.join(a.path, 'model.bin'), 'a3');
    const diverged = await rejects(a.uploadModelCheckpoint({ metrics: { run: 4 } }));
    expect(diverged.code).toBe('E_PUSH_REJECTED');
    expect(diverged.hint).toContain('diverged');
    expect(
      JSON.parse(fs.readFileSync(path.join(a.path, 'metrics.log'), 'utf8').trim().split('\n').at(-1)!).metrics
        .run,
    ).toBe(2);
  });

  it('dry runs touch neither the host nor the disk, also on a fresh machine', async () => {
    server.createRepo('AI-Vision-model-checkpoints/dry');
    const storage = tempDir('cpv-storage-');
    const a = new ModelsCheckpointsManage('vision', 'dry', {
      workdir: tempDir('cpv-a-'),
      config: machine(storage),
    });
    await a.importModelInit();
    fs.writeFileSync(path.join(a.path, 'model.bin'), 'w');
    await a.uploadModelCheckpoint({ metrics: {} });
    await a.tagModelCheckpoint();
    const refs = server.showRefs('AI-Vision-model-checkpoints/dry');

    const plan = await a.tagModelCheckpoint({ dryRun: true });
    expect(plan.steps.map((st) => st.kind)).toEqual(['tag', 'push']);
    expect(gitCli(a.path, 'tag', '-l')).toBe('v1.0\n');

    const b = new ModelsCheckpointsManage('vision', 'dry', {
      workdir: tempDir('cpv-b-'),
      config: machine(storage),
    });
    const dl = await b.downloadModelCheckpoint({ tag: 'v1.0', dryRun: true });
    expect(dl.steps[0]).toMatchObject({ kind: 'create', path: b.path });
    expect(fs.existsSync(b.path)).toBe(false);
    expect((await rejects(b.uploadModelCheckpoint({ metrics: {}, dryRun: true }))).code).toBe('E_NOT_A_REPO');
    expect(fs.existsSync(b.path)).toBe(false);
    expect(server.showRefs('AI-Vision-model-checkpoints/dry')).toBe(refs);
  });
});
