/**
 * DataCheckpointsManage on the zero-configuration path, lineage between model and data versions,
 * CombinedCheckpointsManage with a git host that refuses the second tag, and concurrent uploads.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CombinedCheckpointsManage } from '../../src/api/checkpoint/combined.js';
import { CPVConfig } from '../../src/api/checkpoint/cpv-config.js';
import { DataCheckpointsManage } from '../../src/api/checkpoint/data.js';
import { ModelsCheckpointsManage } from '../../src/api/checkpoint/models.js';
import type { CpvError } from '../../src/errors.js';
import { gitCli, tempDir } from '../helpers/tmp.js';
import { type GitHttpServer, startGitHttpServer } from './helpers/git-http-server.js';

/** Many round trips to real servers: allow for a loaded CI machine (2 cores shared by every suite). */
const SLOW = 180_000;

async function rejects(p: Promise<unknown>): Promise<CpvError> {
  try {
    await p;
  } catch (err) {
    return err as CpvError;
  }
  throw new Error('expected a rejection');
}

function dataDir(files: Record<string, string>): string {
  const dir = tempDir('cpv-data-');
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  return dir;
}

const localConfig = () => new CPVConfig({ env: { CPV_HOME: tempDir('cpv-home-') } });

describe('DataCheckpointsManage (zero configuration)', () => {
  it('init, upload, tag, list, download a subfolder, revert, metadata; lineage into model versions', async () => {
    const workdir = tempDir('cpv-work-');
    const config = localConfig();
    const d = new DataCheckpointsManage('vision', 'resnet', { workdir, config });
    const m = new ModelsCheckpointsManage('vision', 'resnet', { workdir, config });
    await d.importDataInit({ dataPath: dataDir({ 'a.csv': 'a1\n', 'train/b.csv': 'b1\n' }) });
    expect(await d.tagDataCheckpoint()).toBe('data-v1.0');

    // A model trained on data-v1.0 records it.
    fs.writeFileSync(path.join(m.path, 'model.bin'), 'w1');
    const up = await m.uploadModelCheckpoint({ metrics: { acc: 0.5 } });
    expect(up.dataVersion).toBe('data-v1.0');
    expect(up.entry?.dataVersion).toBe('data-v1.0');
    expect(await m.tagModelCheckpoint()).toBe('v1.0'); // namespaces are independent

    // New data: replaces data/ as a whole.
    const up2 = await d.uploadDataCheckpoint({
      dataPath: dataDir({ 'a.csv': 'a2\n', 'train/c.csv': 'c\n', 'train/d.csv': 'd\n' }),
    });
    expect(up2.changed).toBe(true);
    expect(up2.output.nfiles).toBe(3);
    expect(up2.entry).toBeUndefined();
    expect(fs.existsSync(path.join(d.path, 'data', 'train', 'b.csv'))).toBe(false);
    expect(await d.tagDataCheckpoint({ message: 'more data' })).toBe('data-v1.1');
    expect((await d.uploadDataCheckpoint()).changed).toBe(false); // nothing new: no empty commit
    expect(await d.readDataTag()).toEqual(['data-v1.0', 'data-v1.1']);
    expect(await m.readCheckpointTag()).toEqual(['v1.0']);

    const part = await d.downloadDataCheckpoint({
      tag: 'data-v1.0',
      subpath: 'train/',
      dest: path.join(tempDir(), 'x'),
    });
    expect(part.files).toEqual(['data/train/b.csv']);
    expect(fs.readFileSync(path.join(part.path, 'data/train/b.csv'), 'utf8')).toBe('b1\n');
    expect(part.metrics).toBeUndefined();
    const whole = await d.downloadDataCheckpoint({ tag: '1.1', dest: path.join(tempDir(), 'y') });
    expect(whole.tag).toBe('data-v1.1');
    expect(whole.files).toEqual(['data/a.csv', 'data/train/c.csv', 'data/train/d.csv']);
    const missing = await rejects(
      d.downloadDataCheckpoint({ tag: 'data-v1.0', subpath: 'nope/', dest: path.join(tempDir(), 'z') }),
    );
    expect(missing.code).toBe('E_TARGET_MISSING');
    expect(fs.existsSync(path.join(path.dirname(missing.message), 'z'))).toBe(false);

    const modelBefore = fs.readFileSync(path.join(m.path, 'model.bin.dvc'), 'utf8');
    const rev = await d.revertDataCheckpoint({ tag: 'data-v1.0' });
    expect(rev.changed).toEqual(['data.dvc']);
    expect(fs.readFileSync(path.join(d.path, 'data', 'a.csv'), 'utf8')).toBe('a1\n');
    expect(fs.existsSync(path.join(d.path, 'data', 'train', 'c.csv'))).toBe(false);
    expect(fs.readFileSync(path.join(m.path, 'model.bin.dvc'), 'utf8')).toBe(modelBefore);
    expect(gitCli(d.path, 'status', '--porcelain')).toBe('');

    const meta = await d.getDataMetadata();
    expect(meta.versions.map((v) => [v.tag, v.nfiles])).toEqual([
      ['data-v1.0', 2],
      ['data-v1.1', 3],
    ]);
    expect(meta.current.nfiles).toBe(2);
    const mmeta = await m.getModelMetadata();
    expect(mmeta.versions[0]?.dataVersion).toBe('data-v1.0');

    // Model tags and data tags refuse each other's names.
    expect((await rejects(m.tagModelCheckpoint({ versionTag: 'data-v1.0' }))).code).toBe('E_BAD_VERSION');
  });

  it('two uploads at once on one model both land, one after the other, nothing corrupt', async () => {
    const workdir = tempDir('cpv-work-');
    const m = new ModelsCheckpointsManage('vision', 'race', { workdir, config: localConfig() });
    await m.importModelInit();
    const src = tempDir('cpv-src-');
    fs.writeFileSync(path.join(src, 'one.bin'), 'weights-one');
    fs.writeFileSync(path.join(src, 'two.bin'), 'weights-two');
    const [r1, r2] = await Promise.all([
      m.uploadModelCheckpoint({ modelPath: path.join(src, 'one.bin'), metrics: { run: 1 } }),
      m.uploadModelCheckpoint({ modelPath: path.join(src, 'two.bin'), metrics: { run: 2 } }),
    ]);
    expect(r1.changed && r2.changed).toBe(true);
    expect(new Set([r1.commit, r2.commit]).size).toBe(2);
    gitCli(m.path, 'fsck', '--strict');
    expect(gitCli(m.path, 'status', '--porcelain')).toBe('');
    // Each commit holds its own weights and its own metrics line.
    for (const [r, text, run] of [
      [r1, 'weights-one', 1],
      [r2, 'weights-two', 2],
    ] as const) {
      const pointer = gitCli(m.path, 'show', `${r.commit}:model.bin.dvc`);
      expect(pointer).toContain(`size: ${text.length}`);
      expect(r.output.md5).toBe(/md5: ([0-9a-f]{32})/.exec(pointer)?.[1]);
      const lines = gitCli(m.path, 'show', `${r.commit}:metrics.log`).trim().split('\n');
      expect(JSON.parse(lines.at(-1)!).metrics.run).toBe(run);
    }
    expect(fs.readFileSync(path.join(m.path, 'metrics.log'), 'utf8').trim().split('\n')).toHaveLength(2);
    expect(fs.existsSync(path.join(m.path, '.git', 'cpv-checkpoint.lock'))).toBe(false);
  });
});

describe('CombinedCheckpointsManage with a git host', { timeout: SLOW }, () => {
  let server: GitHttpServer;
  beforeAll(async () => {
    server = await startGitHttpServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it('tags model and data together, and a refused second tag leaves no tag anywhere', async () => {
    server.createRepo('AI-Nlp-model-checkpoints/bert');
    const config = localConfig();
    config.setupGitHttps({
      username: server.username,
      token: server.token,
      urlTemplate: `${server.base}{project}/{model}.git`,
    });
    const opts = { workdir: tempDir('cpv-work-'), config };
    const c = new CombinedCheckpointsManage('nlp', 'bert', opts);
    const m = new ModelsCheckpointsManage('nlp', 'bert', opts);
    const d = new DataCheckpointsManage('nlp', 'bert', opts);
    await m.importModelInit({ dataPath: dataDir({ 'x.txt': 'x1\n' }) });
    fs.writeFileSync(path.join(m.path, 'model.bin'), 'bert-1');
    await m.uploadModelCheckpoint({ metrics: { f1: 0.5 } });

    const plan = await c.tagModelAndData({ dryRun: true });
    expect(plan.steps.map((s) => (s.kind === 'tag' ? s.name : s.kind))).toEqual(['v1.0', 'data-v1.0']);
    expect(await c.tagModelAndData()).toEqual(['v1.0', 'data-v1.0']);
    const refs1 = server.showRefs('AI-Nlp-model-checkpoints/bert');
    expect(refs1).toContain('refs/tags/v1.0');
    expect(refs1).toContain('refs/tags/data-v1.0');

    fs.writeFileSync(path.join(m.path, 'model.bin'), 'bert-2');
    await m.uploadModelCheckpoint({ metrics: { f1: 0.6 } });
    fs.writeFileSync(path.join(d.path, 'data', 'x.txt'), 'x2\n');
    await d.uploadDataCheckpoint();
    server.failPushesMatching = 'refs/tags/data-v1.1';
    try {
      const err = await rejects(c.tagModelAndData());
      expect(['E_PUSH_REJECTED', 'E_GIT', 'E_NETWORK']).toContain(err.code); // the test host answers HTTP 500
      expect(err.message).not.toContain('taken back'); // the rollback itself succeeded
    } finally {
      server.failPushesMatching = undefined;
    }
    expect(gitCli(m.path, 'tag', '-l').split('\n').filter(Boolean).sort()).toEqual(['data-v1.0', 'v1.0']);
    const refs2 = server.showRefs('AI-Nlp-model-checkpoints/bert');
    expect(refs2).not.toContain('refs/tags/v1.1');
    expect(refs2).not.toContain('refs/tags/data-v1.1');

    expect(await c.tagModelAndData({ modelMessage: 'release 1.1' })).toEqual(['v1.1', 'data-v1.1']);
    expect((await rejects(c.tagModelAndData({ versionTag: 'v1.1' }))).code).toBe('E_TAG_EXISTS');

    const rev = await c.revertModelAndData({ tag: 'v1.0' });
    expect(rev).toMatchObject({ modelTag: 'v1.0', dataTag: 'data-v1.0', pushed: true });
    expect(rev.changed).toEqual(['data.dvc', 'metrics.log', 'model.bin.dvc']);
    expect(fs.readFileSync(path.join(m.path, 'model.bin'), 'utf8')).toBe('bert-1');
    expect(fs.readFileSync(path.join(m.path, 'data', 'x.txt'), 'utf8')).toBe('x1\n');
    expect(server.showRefs('AI-Nlp-model-checkpoints/bert')).toContain(`${rev.commit} refs/heads/main`);

    const meta = await c.getCombinedMetadata();
    expect(meta.releases).toEqual([
      { version: 'v1.0', modelTag: 'v1.0', dataTag: 'data-v1.0' },
      { version: 'v1.1', modelTag: 'v1.1', dataTag: 'data-v1.1' },
    ]);
    expect(meta.model.versions[1]?.message).toBe('release 1.1');
  });
});
