import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CPVConfig } from '../../src/api/checkpoint/cpv-config.js';
import { DataCheckpointsManage } from '../../src/api/checkpoint/data.js';
import { ModelsCheckpointsManage } from '../../src/api/checkpoint/models.js';
import { gitCli, tempDir } from '../helpers/tmp.js';

describe('compareCheckpoints', () => {
  it('shows metrics with deltas, the size change and every changed file, also from a fresh clone', async () => {
    const home = tempDir('cpv-home-');
    const workdir = tempDir('cpv-work-');
    const config = new CPVConfig({ env: { CPV_HOME: home } });
    const m = new ModelsCheckpointsManage('vision', 'cmp', { workdir, config });
    const d = new DataCheckpointsManage('vision', 'cmp', { workdir, config });
    const data = tempDir('cpv-data-');
    fs.mkdirSync(path.join(data, 'train'));
    fs.writeFileSync(path.join(data, 'a.csv'), 'a1\n');
    fs.writeFileSync(path.join(data, 'train', 'b.csv'), 'b\n');
    await m.importModelInit({ dataPath: data });
    fs.writeFileSync(path.join(m.path, 'model.bin'), 'w'.repeat(100));
    await m.uploadModelCheckpoint({ metrics: { loss: 0.5, eval: { f1: 0.5 }, note: 'first' } });
    await m.tagModelCheckpoint();

    fs.writeFileSync(path.join(d.path, 'data', 'a.csv'), 'a2\n');
    fs.writeFileSync(path.join(d.path, 'data', 'train', 'c.csv'), 'c\n');
    await d.uploadDataCheckpoint();
    fs.writeFileSync(path.join(m.path, 'model.bin'), 'w'.repeat(160));
    await m.uploadModelCheckpoint({ metrics: { loss: 0.25, eval: { f1: 0.75 } } });
    await m.tagModelCheckpoint();

    const cmp = await m.compareCheckpoints('v1.0', 'v1.1');
    expect(cmp.a.tag).toBe('v1.0');
    expect(cmp.b.size).toBe(160);
    expect(cmp.sizeDelta).toBe(60);
    expect(cmp.metrics).toEqual([
      { name: 'eval.f1', a: 0.5, b: 0.75, delta: 0.25 },
      { name: 'loss', a: 0.5, b: 0.25, delta: -0.25 },
      { name: 'note', a: 'first', b: undefined },
    ]);
    expect(cmp.changedFiles).toEqual([
      { path: 'data', change: 'modified' },
      { path: 'data.dvc', change: 'modified' },
      { path: 'data/a.csv', change: 'modified' },
      { path: 'data/train/c.csv', change: 'added' },
      { path: 'metrics.log', change: 'modified' },
      { path: 'model.bin', change: 'modified' },
      { path: 'model.bin.dvc', change: 'modified' },
    ]);

    // Another machine with an empty cache gets the manifests from the storage directory.
    const workB = tempDir('cpv-work-b-');
    gitCli(workB, 'clone', '-q', m.path, 'cmp');
    const b = new ModelsCheckpointsManage('vision', 'cmp', {
      workdir: workB,
      config: new CPVConfig({
        env: { CPV_HOME: tempDir('cpv-home-b-'), CPV_STORAGE_DIR: path.join(home, 'storage') },
      }),
    });
    const again = await b.compareCheckpoints('v1.1', 'v1.0');
    expect(again.changedFiles).toContainEqual({ path: 'data/train/c.csv', change: 'removed' });
    expect(again.metrics.find((r) => r.name === 'loss')?.delta).toBe(0.25);
    expect(fs.existsSync(path.join(b.path, 'model.bin'))).toBe(false); // compare downloads no weights
  });
});
