/**
 * Two machines, a real S3 server for the data and a real git smart-HTTP server for the history.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CPVConfig } from '../../src/api/checkpoint/cpv-config.js';
import { ModelsCheckpointsManage } from '../../src/api/checkpoint/models.js';
import type { CpvError } from '../../src/errors.js';
import { gitCli, snapshot, tempDir } from '../helpers/tmp.js';
import { type GitHttpServer, startGitHttpServer } from './helpers/git-http-server.js';
import {
  allowWrites,
  createBucket,
  credentialsFile,
  denyWrites,
  listKeys,
  s3TestServer,
} from './helpers/s3.js';

/** Many round trips to real servers: allow for a loaded CI machine (2 cores shared by every suite). */
const SLOW = 180_000;

const s3 = await s3TestServer();

async function rejects(p: Promise<unknown>): Promise<CpvError> {
  try {
    await p;
  } catch (err) {
    return err as CpvError;
  }
  throw new Error('expected a rejection');
}

describe.runIf(s3 !== undefined)(`checkpoints on S3 (${s3?.source}) and git HTTPS`, { timeout: SLOW }, () => {
  const server = s3!;
  let git: GitHttpServer;
  let creds: string;
  beforeAll(async () => {
    git = await startGitHttpServer();
    creds = credentialsFile(server);
  });
  afterAll(async () => {
    await git.close();
  });

  function machine(bucket: string): CPVConfig {
    const cfg = new CPVConfig({ env: { CPV_HOME: tempDir('cpv-home-') } });
    cfg.setupAwsProfile({ credentialPath: creds, profile: 'cpvtest', bucket, endpoint: server.endpoint });
    cfg.setupGitHttps({
      username: git.username,
      token: git.token,
      urlTemplate: `${git.base}{project}/{model}.git`,
    });
    return cfg;
  }

  it('A uploads and tags; B, from nothing but its settings, lists, downloads v1.0 and reverts', async () => {
    const bucket = await createBucket(server);
    git.createRepo('AI-Vision-model-checkpoints/resnet');
    const data = tempDir('cpv-data-');
    fs.writeFileSync(path.join(data, 'a.csv'), 'a\n');
    fs.mkdirSync(path.join(data, 'train'));
    fs.writeFileSync(path.join(data, 'train', 'b.csv'), 'b\n');
    const a = new ModelsCheckpointsManage('vision', 'resnet', {
      workdir: tempDir('cpv-a-'),
      config: machine(bucket),
    });
    const b = new ModelsCheckpointsManage('vision', 'resnet', {
      workdir: tempDir('cpv-b-'),
      config: machine(bucket),
    });

    const init = await a.importModelInit({ dataPath: data });
    expect(init.dataRemote).toBe(`s3://${bucket}/vision/resnet`);
    const weights1 = Buffer.alloc(300_000, 7);
    fs.writeFileSync(path.join(a.path, 'model.bin'), weights1);
    await a.uploadModelCheckpoint({ metrics: { acc: 0.61 } });
    expect(await a.tagModelCheckpoint()).toBe('v1.0');
    fs.writeFileSync(path.join(a.path, 'model.bin'), Buffer.alloc(500_000, 9));
    await a.uploadModelCheckpoint({ metrics: { acc: 0.72 } });
    expect(await a.tagModelCheckpoint()).toBe('v1.1');

    const keys = await listKeys(server, bucket);
    expect(keys.every((k) => k.startsWith('vision/resnet/files/md5/'))).toBe(true);
    expect(keys).toHaveLength(2 + 1 + 2); // data files + .dir manifest + two model versions

    // The repo records where the data is, never a secret.
    const shared = fs.readFileSync(path.join(a.path, '.dvc', 'config'), 'utf8');
    expect(shared).toContain(`url = s3://${bucket}/vision/resnet`);
    expect(shared).not.toContain('minioadmin');
    expect(gitCli(a.path, 'ls-files')).not.toContain('config.local');

    expect(await b.readCheckpointTag()).toEqual(['v1.0', 'v1.1']);
    const art = await b.downloadModelCheckpoint({ tag: 'v1.0' });
    expect(fs.readFileSync(path.join(art.path, 'model.bin')).equals(weights1)).toBe(true);
    expect(art.metrics?.metrics).toEqual({ acc: 0.61 });
    expect(art.sizeMb).toBeGreaterThan(0.28);

    const rev = await b.revertModelCheckpoint({ tag: 'v1.0' });
    expect(fs.readFileSync(path.join(b.path, 'model.bin')).equals(weights1)).toBe(true);
    expect(fs.readFileSync(path.join(b.path, 'data', 'train', 'b.csv'), 'utf8')).toBe('b\n');
    expect(git.showRefs('AI-Vision-model-checkpoints/resnet')).toContain(`${rev.commit} refs/heads/main`);
    const meta = await b.getModelMetadata();
    expect(meta.versions.map((v) => [v.tag, v.size])).toEqual([
      ['v1.0', 300_000],
      ['v1.1', 500_000],
    ]);
  });

  it('an unwritable bucket fails the upload with nothing committed or changed', async () => {
    const bucket = await createBucket(server);
    git.createRepo('AI-Vision-model-checkpoints/ro');
    const a = new ModelsCheckpointsManage('vision', 'ro', {
      workdir: tempDir('cpv-a-'),
      config: machine(bucket),
    });
    await a.importModelInit();
    fs.writeFileSync(path.join(a.path, 'model.bin'), 'weights');
    const head = gitCli(a.path, 'rev-parse', 'HEAD');
    const before = snapshot(a.path);
    await denyWrites(server, bucket);
    try {
      const err = await rejects(a.uploadModelCheckpoint({ metrics: { acc: 1 } }));
      expect(['E_AUTH', 'E_TRANSFER_INCOMPLETE', 'E_REMOTE_IO']).toContain(err.code);
      expect(err.hint).toBeTruthy();
    } finally {
      await allowWrites(server, bucket);
    }
    expect(gitCli(a.path, 'rev-parse', 'HEAD')).toBe(head);
    const after = snapshot(a.path);
    for (const f of ['metrics.log', 'model.bin', '.gitignore']) expect(after[f], f).toBe(before[f]);
    expect(fs.existsSync(path.join(a.path, 'model.bin.dvc'))).toBe(false);
    expect(git.showRefs('AI-Vision-model-checkpoints/ro')).toContain(`${head.trim()} refs/heads/main`);

    const ok = await a.uploadModelCheckpoint({ metrics: { acc: 1 } });
    expect(ok.pushed).toEqual({ objects: 1, git: true });
  });
});
