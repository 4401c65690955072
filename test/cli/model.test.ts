/**
 * `cpv model …` end to end on the zero-configuration path (local storage directory, local git):
 * init → upload with metrics → tag → change → upload → tag → versions → download → revert → info,
 * with the JSON shapes, dry runs, and the refusals.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { captureOutput } from '../../src/cli/output.js';
import { megabytes } from '../../src/cli/render-checkpoint.js';
import { tempDir } from '../helpers/tmp.js';

let workdir: string;

async function cpv(...args: string[]) {
  const output = captureOutput();
  const code = await main(args, output);
  return { code, stdout: output.stdout, stderr: output.stderr };
}
const json = async (...args: string[]) => {
  const r = await cpv(...args, '--json');
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};

beforeAll(() => {
  process.env.CPV_HOME = path.join(tempDir(), 'cpv-home');
  process.env.GIT_AUTHOR_NAME = 'Test';
  process.env.GIT_AUTHOR_EMAIL = 'test@example.com';
  workdir = tempDir();
  fs.mkdirSync(path.join(workdir, 'train'));
  fs.writeFileSync(path.join(workdir, 'train', 'a.csv'), 'x,y\n1,2\n');
});

describe('cpv model, zero configuration', () => {
  it('runs the whole life of a model', async () => {
    const w = ['--workdir', workdir];
    const init = await cpv('model', 'init', 'vision/resnet', '--data', path.join(workdir, 'train'), ...w);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toMatch(/^Initialized vision\/resnet in .*resnet \(commit [0-9a-f]{7}\)\n/);
    const repo = path.join(workdir, 'resnet');
    for (const f of ['data', 'metrics.log', 'train.py', 'README.md', '.dvc']) {
      expect(fs.existsSync(path.join(repo, f)), f).toBe(true);
    }

    fs.writeFileSync(path.join(repo, 'model.bin'), 'weights one');
    const up1 = await json(
      'model',
      'upload',
      'vision/resnet',
      '--metrics',
      '{"loss":0.5}',
      '-m',
      'epoch 1',
      ...w,
    );
    expect(up1).toMatchObject({ changed: true, output: { path: 'model.bin', size: 11 } });
    expect((await json('model', 'tag', 'vision/resnet', ...w)).tag).toBe('v1.0');

    fs.writeFileSync(path.join(repo, 'model.bin'), 'weights two!');
    const up2 = await cpv('model', 'upload', 'vision/resnet', '--metrics', '{"loss":0.25}', ...w);
    expect(up2.stdout).toMatch(
      /^Uploaded model\.bin \(12 B\) as commit [0-9a-f]{7}; 1 object\(s\) pushed\n$/,
    );
    expect((await cpv('model', 'tag', 'vision/resnet', '-m', 'better', ...w)).stdout).toBe('v1.1\n');

    const versions = await cpv('model', 'versions', 'vision/resnet', ...w);
    expect(versions.stdout).toMatch(/^v1\.0 .* loss=0\.5 .*\nv1\.1 .* loss=0\.25 {2}better\n$/);
    const listed = await json('model', 'versions', 'vision/resnet', ...w);
    expect(listed.map((v: { tag: string }) => v.tag)).toEqual(['v1.0', 'v1.1']);

    const dest = path.join(workdir, 'dl');
    const dl = await json('model', 'download', 'vision/resnet', 'v1.0', '-o', dest, ...w);
    expect(dl).toMatchObject({ tag: 'v1.0', path: dest });
    expect(fs.readFileSync(path.join(dest, 'model.bin'), 'utf8')).toBe('weights one');

    const revert = await cpv('model', 'revert', 'vision/resnet', 'v1.0', ...w);
    expect(revert.code, revert.stderr).toBe(0);
    expect(revert.stdout).toMatch(/^Reverted to v1\.0 as commit [0-9a-f]{7}/);
    expect(fs.readFileSync(path.join(repo, 'model.bin'), 'utf8')).toBe('weights one');

    const info = await cpv('model', 'info', 'vision/resnet', ...w);
    expect(info.stdout).toMatch(
      /^vision\/resnet \(model\)\n {2}path: +.*resnet\n[\s\S]*latest: +v1\.1\n {2}versions: +2\n/,
    );
    const meta = await json('model', 'info', 'vision/resnet', ...w);
    expect(meta).toMatchObject({ team: 'vision', model: 'resnet', latest: { tag: 'v1.1' } });

    // A dry run prints the plan and changes nothing.
    const before = fs.readdirSync(path.join(repo, '.git', 'refs', 'tags')).sort();
    const dry = await cpv('model', 'tag', 'vision/resnet', '--dry-run', ...w);
    expect(dry.stdout).toMatch(/^Dry run of tagModelCheckpoint in .*\(nothing changed\):\n {2}tag +v1\.2: /);
    expect(fs.readdirSync(path.join(repo, '.git', 'refs', 'tags')).sort()).toEqual(before);
  });

  it('refuses bad input with one line and a hint', async () => {
    const w = ['--workdir', workdir];
    const cases: Array<[string[], number, RegExp]> = [
      [['model', 'versions', 'no-slash'], 2, /^cpv: error: 'no-slash' is not <team>\/<model>\nhint: /],
      [
        ['model', 'upload', 'vision/resnet', '--metrics', '{loss', ...w],
        1,
        /^cpv: error: metrics are not valid JSON/,
      ],
      [
        ['model', 'upload', 'vision/resnet', '--metrics', '[1,2]', ...w],
        1,
        /^cpv: error: metrics must be a JSON object/,
      ],
      [
        ['model', 'tag', 'vision/resnet', 'v1.0', ...w],
        1,
        /^cpv: error: .*already has a version v1\.0\nhint: /,
      ],
      [['model', 'download', 'vision/resnet', 'v9.9', ...w], 1, /^cpv: error: .*v9\.9/],
      [['model', 'versions', 'vision/../etc', ...w], 2, /^cpv: error: /],
      [['model', 'info', 'vision/ghost', ...w], 1, /^cpv: error: .*ghost/],
    ];
    for (const [args, code, stderr] of cases) {
      const r = await cpv(...args);
      expect({ args, code: r.code }).toEqual({ args, code });
      expect(r.stderr).toMatch(stderr);
      expect(r.stderr.split('\n').filter(Boolean).length).toBeLessThanOrEqual(2);
    }
  });

  it('the built binary prints help with the verbs', () => {
    const bin = path.resolve(import.meta.dirname, '../../dist/cli.js');
    const r = spawnSync(process.execPath, [bin, 'model', '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    for (const verb of ['init', 'upload', 'tag', 'versions', 'download', 'revert', 'info']) {
      expect(r.stdout).toMatch(new RegExp(`\\n\\s+${verb}\\b`));
    }
  });
});

describe('sizes', () => {
  it.each([
    [undefined, '-'],
    [812, '812 B'],
    [4096, '4.00 KiB'],
    [12.5 * 1024 * 1024, '12.5 MiB'],
    [1.25 * 1024 ** 3, '1.25 GiB'],
  ])('%s bytes → %s', (bytes, text) => {
    expect(megabytes(bytes)).toBe(text);
  });
});
