/**
 * The zero-configuration path, end to end: no settings at all (CPV_HOME empty), local storage
 * directory as the data remote, local git only.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CPVConfig } from '../../src/api/checkpoint/cpv-config.js';
import { ModelsCheckpointsManage } from '../../src/api/checkpoint/models.js';
import type { CpvError } from '../../src/errors.js';
import { gitCli, snapshot, tempDir } from '../helpers/tmp.js';

function setup(): { workdir: string; config: CPVConfig; home: string; data: string } {
  const home = tempDir('cpv-home-');
  const workdir = tempDir('cpv-work-');
  const data = tempDir('cpv-data-');
  fs.mkdirSync(path.join(data, 'train'), { recursive: true });
  fs.writeFileSync(path.join(data, 'train', 'a.csv'), 'x,y\n1,2\n');
  fs.writeFileSync(path.join(data, 'train', 'b.csv'), 'x,y\n3,4\n');
  fs.writeFileSync(path.join(data, 'labels.txt'), 'cat\ndog\n');
  const config = new CPVConfig({ env: { CPV_HOME: home } });
  return { workdir, config, home, data };
}

async function rejects(p: Promise<unknown>): Promise<CpvError> {
  try {
    await p;
  } catch (err) {
    return err as CpvError;
  }
  throw new Error('expected a rejection');
}

let tick = 0;
const clock = () => new Date(Date.UTC(2026, 10, 23, 12, 0, tick++));

describe('ModelsCheckpointsManage on the zero-configuration path', () => {
  it('init → upload → tag v1.0 → change → upload → tag v1.1 → list → download v1.0 → revert → metadata', async () => {
    const { workdir, config, home, data } = setup();
    const m = new ModelsCheckpointsManage('vision', 'resnet', { workdir, config, now: clock });

    const init = await m.importModelInit({ dataPath: data });
    expect(init.path).toBe(path.join(workdir, 'resnet'));
    expect(init.gitUrl).toBeUndefined();
    expect(init.dataRemote).toBe(path.join(home, 'storage', 'vision', 'resnet'));
    expect(init.data.nfiles).toBe(3);
    expect(init.pushed).toEqual({ objects: 4, git: false }); // 3 files + the .dir manifest
    for (const f of ['train.py', 'README.md', 'metrics.log', 'data.dvc', '.dvc/config', '.dvcignore']) {
      expect(fs.existsSync(path.join(m.path, f)), f).toBe(true);
    }
    expect(gitCli(m.path, 'status', '--porcelain')).toBe('');
    expect(gitCli(m.path, 'ls-files').split('\n')).not.toContain('data/labels.txt');

    fs.writeFileSync(path.join(m.path, 'model.bin'), 'weights-1');
    const up1 = await m.uploadModelCheckpoint({ metrics: { loss: 0.5, acc: 0.8 }, message: 'first' });
    expect(up1.changed).toBe(true);
    expect(up1.output).toMatchObject({ path: 'model.bin', size: 9 });
    expect(up1.entry).toEqual({
      timestamp: '2026-11-23T12:00:00.000Z',
      metrics: { loss: 0.5, acc: 0.8 },
      message: 'first',
    });
    expect(up1.pushed.objects).toBe(1);
    expect(gitCli(m.path, 'log', '-1', '--format=%s')).toBe('first\n');
    expect(gitCli(m.path, 'status', '--porcelain')).toBe('');
    expect(await m.tagModelCheckpoint({ message: 'baseline' })).toBe('v1.0');

    fs.writeFileSync(path.join(m.path, 'model.bin'), 'weights-2-better');
    await m.uploadModelCheckpoint({ metrics: { loss: 0.25, acc: 0.9 }, message: 'second' });
    expect(await m.tagModelCheckpoint()).toBe('v1.1');
    expect(await m.readCheckpointTag()).toEqual(['v1.0', 'v1.1']);

    // The git CLI sees real annotated tags.
    expect(gitCli(m.path, 'cat-file', '-t', 'v1.0')).toBe('tag\n');
    expect(gitCli(m.path, 'tag', '-l', '--format=%(contents:subject)', 'v1.0')).toBe('baseline\n');

    const dest = path.join(tempDir('cpv-dl-'), 'resnet-v1.0');
    const art = await m.downloadModelCheckpoint({ tag: 'v1.0', dest });
    expect(art.tag).toBe('v1.0');
    expect(art.path).toBe(dest);
    expect(art.files).toEqual(['README.md', 'metrics.log', 'model.bin', 'train.py']);
    expect(fs.readFileSync(path.join(dest, 'model.bin'), 'utf8')).toBe('weights-1');
    expect(art.metrics?.metrics).toEqual({ loss: 0.5, acc: 0.8 });
    expect(art.commit).toBe(gitCli(m.path, 'rev-list', '-n', '1', 'v1.0').trim());
    const bytes = art.files.reduce((n, f) => n + fs.statSync(path.join(dest, f)).size, 0);
    expect(art.sizeMb).toBe(Math.round((bytes / 1048576) * 1000) / 1000);
    expect(Date.parse(art.createdAt)).not.toBeNaN();

    const rev = await m.revertModelCheckpoint({ tag: 'v1.0' });
    expect(rev.restoredFrom).toBe(art.commit);
    expect(rev.changed.sort()).toEqual(['metrics.log', 'model.bin.dvc']);
    expect(fs.readFileSync(path.join(m.path, 'model.bin'), 'utf8')).toBe('weights-1');
    expect(gitCli(m.path, 'status', '--porcelain')).toBe('');
    expect(gitCli(m.path, 'rev-list', '--count', 'HEAD')).toBe('4\n'); // init, 2 uploads, revert: history kept
    expect(gitCli(m.path, 'diff', 'v1.0', 'HEAD', '--stat')).toBe('');

    const meta = await m.getModelMetadata();
    expect(meta.versions.map((v) => [v.tag, v.size, v.metrics?.metrics.loss])).toEqual([
      ['v1.0', 9, 0.5],
      ['v1.1', 16, 0.25],
    ]);
    expect(meta.latest?.tag).toBe('v1.1');
    expect(meta.current.size).toBe(9);
    expect(meta.head).toBe(rev.commit);
  });

  it('dry runs return the plan and change nothing', async () => {
    const { workdir, config, data } = setup();
    const m = new ModelsCheckpointsManage('vision', 'dry', { workdir, config });
    const plan = await m.importModelInit({ dataPath: data, dryRun: true });
    expect(plan.action).toBe('importModelInit');
    expect(plan.steps.map((s) => s.kind)).toContain('upload');
    expect(fs.existsSync(m.path)).toBe(false);

    await m.importModelInit({ dataPath: data });
    fs.writeFileSync(path.join(m.path, 'model.bin'), 'w');
    const before = snapshot(m.path);
    const head = gitCli(m.path, 'rev-parse', 'HEAD');
    const up = await m.uploadModelCheckpoint({ metrics: { a: 1 }, dryRun: true });
    expect(up.plan.steps.map((s) => s.kind)).toEqual(['write', 'hash', 'upload', 'commit']);
    expect(up.changed).toBe(false);
    expect(snapshot(m.path)).toEqual(before);
    expect(gitCli(m.path, 'rev-parse', 'HEAD')).toBe(head);

    await m.uploadModelCheckpoint({ metrics: { a: 1 } });
    const tagPlan = await m.tagModelCheckpoint({ dryRun: true });
    expect(tagPlan.steps).toEqual([expect.objectContaining({ kind: 'tag', name: 'v1.0', replaces: false })]);
    expect(await m.readCheckpointTag()).toEqual([]);
  });

  it('refuses bad input clearly and leaves nothing half-done', async () => {
    const { workdir, config, data } = setup();
    expect(() => new ModelsCheckpointsManage('vision', '../escape', { workdir, config })).toThrow(
      expect.objectContaining({ code: 'E_BAD_NAME' }),
    );
    expect(() => new ModelsCheckpointsManage('a/b', 'm', { workdir, config })).toThrow(
      expect.objectContaining({ code: 'E_BAD_NAME' }),
    );
    const m = new ModelsCheckpointsManage('vision', 'strict', { workdir, config });
    const notThere = await rejects(m.uploadModelCheckpoint({ metrics: { a: 1 } }));
    expect(notThere.code).toBe('E_NOT_A_REPO');
    expect(notThere.hint).toContain('cpv setup'); // nothing configured to clone it from
    expect((await rejects(m.importModelInit({ dataPath: path.join(data, 'nope') }))).code).toBe(
      'E_TARGET_MISSING',
    );
    expect(fs.existsSync(m.path)).toBe(false);

    await m.importModelInit({ dataPath: data });
    expect((await rejects(m.importModelInit({ dataPath: data }))).code).toBe('E_ALREADY_INIT');
    expect((await rejects(m.tagModelCheckpoint())).code).toBe('E_USAGE'); // nothing uploaded yet
    expect((await rejects(m.uploadModelCheckpoint({ metrics: { a: 1 } }))).code).toBe('E_TARGET_MISSING');
    expect(fs.readFileSync(path.join(m.path, 'metrics.log'), 'utf8')).toBe('');

    fs.writeFileSync(path.join(m.path, 'model.bin'), 'w1');
    const before = snapshot(m.path);
    const bad = await rejects(m.uploadModelCheckpoint({ metrics: { loss: Number.NaN } }));
    expect(bad.code).toBe('E_BAD_METRICS');
    expect(snapshot(m.path)).toEqual(before);

    await m.uploadModelCheckpoint({ metrics: { loss: 1 } });
    expect(await m.tagModelCheckpoint({ versionTag: 'v1.9' })).toBe('v1.9');
    expect((await rejects(m.tagModelCheckpoint({ versionTag: 'v1.9' }))).code).toBe('E_TAG_EXISTS');
    expect((await rejects(m.tagModelCheckpoint({ versionTag: 'version-2' }))).code).toBe('E_BAD_VERSION');
    expect(await m.tagModelCheckpoint({ versionTag: '1.10' })).toBe('v1.10');
    expect(await m.tagModelCheckpoint()).toBe('v1.11');
    expect(await m.readCheckpointTag()).toEqual(['v1.9', 'v1.10', 'v1.11']);
    expect(await m.tagModelCheckpoint({ versionTag: 'v1.9', force: true })).toBe('v1.9');

    expect((await rejects(m.downloadModelCheckpoint({ tag: 'v7.0' }))).code).toBe('E_BAD_REV');
    expect((await rejects(m.revertModelCheckpoint({ tag: 'v7.0' }))).code).toBe('E_BAD_REV');

    // Uncommitted work blocks a revert unless forced.
    fs.writeFileSync(path.join(m.path, 'model.bin'), 'w2-unsaved');
    const dirty = await rejects(m.revertModelCheckpoint({ tag: 'v1.9' }));
    expect(dirty.code).toBe('E_DIRTY');
    expect(dirty.message).toContain('model.bin');
    expect(fs.readFileSync(path.join(m.path, 'model.bin'), 'utf8')).toBe('w2-unsaved');
    const forced = await m.revertModelCheckpoint({ tag: 'v1.9', force: true });
    expect(forced.commit).toBe(gitCli(m.path, 'rev-parse', 'HEAD').trim());
    expect(fs.readFileSync(path.join(m.path, 'model.bin'), 'utf8')).toBe('w1');

    // A non-empty destination is refused.
    const dest = tempDir('cpv-dl-');
    fs.writeFileSync(path.join(dest, 'keep'), 'x');
    expect((await rejects(m.downloadModelCheckpoint({ tag: 'v1.9', dest }))).code).toBe('E_USAGE');
    expect(fs.readdirSync(dest)).toEqual(['keep']);
  });

  it('a clone on another machine downloads a version from the shared storage directory', async () => {
    const { workdir, config, data, home } = setup();
    const a = new ModelsCheckpointsManage('nlp', 'bert', { workdir, config });
    await a.importModelInit({ dataPath: data });
    fs.writeFileSync(path.join(a.path, 'model.bin'), 'bert-weights');
    await a.uploadModelCheckpoint({ metrics: { f1: 0.7 } });
    await a.tagModelCheckpoint();

    // Machine B: its own cache (a plain git clone), the same storage directory.
    const workB = tempDir('cpv-work-b-');
    gitCli(workB, 'clone', '-q', a.path, 'bert');
    const b = new ModelsCheckpointsManage('nlp', 'bert', {
      workdir: workB,
      config: new CPVConfig({
        env: { CPV_HOME: tempDir('cpv-home-b-'), CPV_STORAGE_DIR: path.join(home, 'storage') },
      }),
    });
    expect(fs.existsSync(path.join(b.path, '.dvc', 'cache'))).toBe(false);
    const art = await b.downloadModelCheckpoint({ tag: 'v1.0', includeData: true });
    expect(art.files).toEqual([
      'README.md',
      'data/labels.txt',
      'data/train/a.csv',
      'data/train/b.csv',
      'metrics.log',
      'model.bin',
      'train.py',
    ]);
    expect(fs.readFileSync(path.join(art.path, 'model.bin'), 'utf8')).toBe('bert-weights');
    expect(fs.readFileSync(path.join(art.path, 'data/train/b.csv'), 'utf8')).toBe('x,y\n3,4\n');
  });

  it('reports hashing and transfer progress, and a cancelled upload leaves the repo as it was', async () => {
    const { workdir, config, data } = setup();
    const m = new ModelsCheckpointsManage('vision', 'progress', { workdir, config });
    const initEvents: string[] = [];
    await m.importModelInit({ dataPath: data, onProgress: (e) => initEvents.push(e.phase) });
    expect(initEvents).toContain('hash'); // files of data/ hashed
    expect(initEvents).toContain('upload');
    fs.writeFileSync(path.join(m.path, 'model.bin'), Buffer.alloc(200_000, 1));
    const head = gitCli(m.path, 'rev-parse', 'HEAD');
    const before = snapshot(m.path);
    const controller = new AbortController();
    controller.abort();
    const cancelled = await rejects(
      m.uploadModelCheckpoint({ metrics: { a: 1 }, signal: controller.signal }),
    );
    expect(cancelled.code).toBe('E_ABORTED');
    expect(gitCli(m.path, 'rev-parse', 'HEAD')).toBe(head);
    const after = snapshot(m.path);
    for (const f of ['metrics.log', '.gitignore', 'model.bin']) expect(after[f], f).toBe(before[f]);
    expect(after['model.bin.dvc']).toBeUndefined();

    const events: string[] = [];
    await m.uploadModelCheckpoint({ metrics: { a: 1 }, onProgress: (e) => events.push(e.phase) });
    expect(events).toContain('upload');
    await m.tagModelCheckpoint();
    fs.rmSync(path.join(m.path, '.dvc', 'cache'), { recursive: true, force: true });
    const downloads: number[] = [];
    await m.downloadModelCheckpoint({
      tag: 'v1.0',
      onProgress: (e) => {
        if (e.phase === 'download') downloads.push(e.bytesDone);
      },
    });
    expect(downloads.at(-1)).toBe(200_000);
  });

  it('commits edits to tracked files with an upload, but never a stray new file', async () => {
    const { workdir, config } = setup();
    const m = new ModelsCheckpointsManage('vision', 'stray', { workdir, config });
    await m.importModelInit();
    fs.writeFileSync(path.join(m.path, 'model.bin'), 'w1');
    fs.writeFileSync(path.join(m.path, 'notes.txt'), 'my scratch notes');
    fs.appendFileSync(path.join(m.path, 'train.py'), '# tuned lr\n');
    const up = await m.uploadModelCheckpoint({ metrics: { a: 1 } });
    const files = gitCli(m.path, 'show', '--name-only', '--format=', up.commit).trim().split('\n').sort();
    expect(files).toEqual(['.gitignore', 'metrics.log', 'model.bin.dvc', 'train.py']);
    expect(gitCli(m.path, 'status', '--porcelain')).toBe('?? notes.txt\n');
    await m.tagModelCheckpoint();
    // An untracked file is no uncommitted work of the model: revert goes ahead and keeps it.
    fs.writeFileSync(path.join(m.path, 'model.bin'), 'w2');
    await m.uploadModelCheckpoint({ metrics: { a: 2 } });
    await m.revertModelCheckpoint({ tag: 'v1.0' });
    expect(fs.readFileSync(path.join(m.path, 'notes.txt'), 'utf8')).toBe('my scratch notes');
    expect(fs.readFileSync(path.join(m.path, 'model.bin'), 'utf8')).toBe('w1');
  });

  it("keeps the user's own DVC settings when a checkpoint operation records the data remote", async () => {
    const { workdir, config, home } = setup();
    const m = new ModelsCheckpointsManage('vision', 'settings', { workdir, config });
    await m.importModelInit();
    const shared = path.join(m.path, '.dvc', 'config');
    const local = path.join(m.path, '.dvc', 'config.local');
    const storage = path.join(home, 'storage', 'vision', 'settings');
    expect(fs.readFileSync(shared, 'utf8')).toBe(
      `[core]\n    remote = storage\n['remote "storage"']\n    url = ${storage}\n`,
    );
    // What a user adds by hand or with `cpv config --local` must outlive the next upload.
    fs.appendFileSync(shared, '# team cache settings\n[cache]\n    type = reflink,copy\n');
    fs.writeFileSync(local, `${fs.readFileSync(local, 'utf8')}    jobs = 4\n[cache]\n    type = hardlink\n`);
    const before = { shared: fs.readFileSync(shared, 'utf8'), local: fs.readFileSync(local, 'utf8') };
    fs.writeFileSync(path.join(m.path, 'model.bin'), 'w1');
    await m.uploadModelCheckpoint({ metrics: { a: 1 } });
    expect(fs.readFileSync(local, 'utf8')).toBe(before.local);
    expect(fs.readFileSync(shared, 'utf8')).toBe(before.shared);
  });
});
