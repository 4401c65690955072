/**
 * `cpv data …`, `cpv model compare` and `cpv release …` on the zero-configuration path: data
 * versions of their own (`data-v1.0`), a single-folder download, compare with metric deltas, and
 * model + data tagged and reverted together.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { captureOutput } from '../../src/cli/output.js';
import { tempDir } from '../helpers/tmp.js';

let workdir: string;
let repo: string;
let w: string[];

async function cpv(...args: string[]) {
  const output = captureOutput();
  const code = await main(args, output);
  return { code, stdout: output.stdout, stderr: output.stderr };
}
async function ok(...args: string[]) {
  const r = await cpv(...args, ...w);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

function writeTrain(dir: string, rows: number) {
  fs.mkdirSync(path.join(dir, 'train'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'val'), { recursive: true });
  for (let i = 0; i < rows; i++) fs.writeFileSync(path.join(dir, 'train', `r${i}.csv`), `row ${i}\n`);
  fs.writeFileSync(path.join(dir, 'val', 'v.csv'), 'val\n');
}

beforeAll(async () => {
  process.env.CPV_HOME = path.join(tempDir(), 'cpv-home');
  process.env.GIT_AUTHOR_NAME = 'Test';
  process.env.GIT_AUTHOR_EMAIL = 'test@example.com';
  workdir = tempDir();
  w = ['--workdir', workdir];
  const source = path.join(workdir, 'source');
  writeTrain(source, 3);
  await ok('data', 'init', 'nlp/bert', '--data', source);
  repo = path.join(workdir, 'bert');
});

describe('cpv data, model compare, release', () => {
  it('versions data on its own namespace and downloads one folder', async () => {
    expect(await ok('data', 'tag', 'nlp/bert')).toBe('data-v1.0\n');
    const next = path.join(workdir, 'next');
    writeTrain(next, 5);
    expect(await ok('data', 'upload', 'nlp/bert', '--from', next, '-m', 'more rows')).toMatch(
      /^Uploaded data /,
    );
    expect(await ok('data', 'tag', 'nlp/bert')).toBe('data-v1.1\n');
    expect(await ok('data', 'versions', 'nlp/bert')).toMatch(/^data-v1\.0 .*\ndata-v1\.1 .*\n$/);

    const dest = path.join(workdir, 'train-v1.0');
    await ok('data', 'download', 'nlp/bert', 'data-v1.0', '-o', dest, '--path', 'train');
    expect(fs.readdirSync(dest, { recursive: true }).map(String).sort()).toEqual(
      expect.arrayContaining(['data/train/r0.csv', 'data/train/r2.csv']),
    );
    expect(fs.readdirSync(dest, { recursive: true }).map(String)).not.toContain('data/val/v.csv');
    expect(fs.readdirSync(dest, { recursive: true }).map(String)).not.toContain('data/train/r4.csv');

    const metrics = await cpv('data', 'upload', 'nlp/bert', '--metrics', '{"a":1}', ...w);
    expect(metrics.code).toBe(2);
    expect(metrics.stderr).toMatch(/^cpv: error: data versions carry no metrics\nhint: /);
  });

  it('compares two model versions: metric deltas, size, changed files', async () => {
    fs.writeFileSync(path.join(repo, 'model.bin'), 'w1');
    await ok('model', 'upload', 'nlp/bert', '--metrics', '{"loss":0.5,"eval":{"f1":0.7}}');
    await ok('model', 'tag', 'nlp/bert');
    fs.writeFileSync(path.join(repo, 'model.bin'), 'weights 2');
    await ok('model', 'upload', 'nlp/bert', '--metrics', '{"loss":0.25,"eval":{"f1":0.8}}');
    await ok('model', 'tag', 'nlp/bert');
    const text = await ok('model', 'compare', 'nlp/bert', 'v1.0', 'v1.1');
    expect(text).toMatch(/^v1\.0 \([0-9a-f]{7}\) → v1\.1 \([0-9a-f]{7}\)\n/);
    expect(text).toMatch(/\n {2}eval\.f1 +0\.7 +0\.8 +\+0\.1\n/);
    expect(text).toMatch(/\n {2}loss +0\.5 +0\.25 +-0\.25\n/);
    expect(text).toMatch(/\n {2}size: 2 B → 9 B \(\+7 B\)\n/);
    expect(text).toMatch(/modified +model\.bin/);
    const json = JSON.parse(await ok('model', 'compare', 'nlp/bert', 'v1.0', 'v1.1', '--json'));
    expect(json.sizeDelta).toBe(7);
  });

  it('tags and reverts model and data together; info lists the releases', async () => {
    expect(await ok('release', 'tag', 'nlp/bert', 'v2.0')).toBe('v2.0 data-v2.0\n');
    const dry = await ok('release', 'tag', 'nlp/bert', '--dry-run');
    expect(dry).toMatch(/^Dry run of tagModelAndData/);
    const info = await ok('release', 'info', 'nlp/bert');
    expect(info).toMatch(/^v2\.0 {2}model v2\.0 {2}data data-v2\.0$/m);
    fs.writeFileSync(path.join(repo, 'model.bin'), 'weights 3');
    await ok('model', 'upload', 'nlp/bert');
    const revert = await ok('release', 'revert', 'nlp/bert', 'v2.0');
    expect(revert).toMatch(/^Reverted to v2\.0 \+ data-v2\.0 as commit [0-9a-f]{7}/);
    expect(fs.readFileSync(path.join(repo, 'model.bin'), 'utf8')).toBe('weights 2');
    const again = await cpv('release', 'tag', 'nlp/bert', 'v2.0', ...w);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^cpv: error: .*v2\.0/);
  });
});
