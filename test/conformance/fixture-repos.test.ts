/**
 * Repositories written by real DVC 3.51.2 (fixtures/dvc/repos): cpv must read them and give DVC's
 * answers, and re-adding their data must leave every DVC-written file byte-identical.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addTargets } from '../../src/api/add.js';
import { repoStatus } from '../../src/api/status.js';
import { tempDir } from '../helpers/tmp.js';
import { FIXTURES } from '../helpers/vectors.js';

interface FixtureJson {
  files: Record<string, string | null>;
  expect: Record<string, unknown>;
}

function unpack(name: string): { repo: string; json: FixtureJson } {
  const top = tempDir(`cpv-fixture-${name}-`);
  const r = spawnSync('tar', ['-xzpf', path.join(FIXTURES, 'repos', `${name}.tar.gz`), '-C', top]);
  if (r.status !== 0) throw new Error(`tar failed: ${r.stderr}`);
  const json = JSON.parse(
    fs.readFileSync(path.join(FIXTURES, 'repos', `${name}.json`), 'utf8'),
  ) as FixtureJson;
  return { repo: path.join(top, name, 'repo'), json };
}

describe('DVC-written fixture repositories', () => {
  it.each(['basic', 'modified', 'history'])('%s: status --json equals DVC', async (name) => {
    const { repo, json } = unpack(name);
    const status = await repoStatus([], { cwd: repo });
    expect(status.stages).toEqual(json.expect.status_json);
    expect(Object.keys(status.stages)).toEqual(Object.keys(json.expect.status_json as object));
  });

  it('basic: re-adding model.bin and data changes no DVC-written byte', async () => {
    const { repo, json } = unpack('basic');
    await addTargets(['model.bin', 'data'], { cwd: repo });
    for (const [file, text] of Object.entries(json.files)) {
      if (text === null) continue;
      expect(fs.readFileSync(path.join(repo, file), 'utf8'), file).toBe(text);
    }
    expect((await repoStatus([], { cwd: repo })).stages).toEqual({});
  });

  it('modified: re-adding the changed data gives the DVC manifest of the new tree', async () => {
    const { repo } = unpack('modified');
    const result = await addTargets(['data', 'model.bin'], { cwd: repo });
    expect(result.outputs[0]?.isDir).toBe(true);
    expect((await repoStatus([], { cwd: repo })).stages).toEqual({});
    const dataDvc = fs.readFileSync(path.join(repo, 'data.dvc'), 'utf8');
    expect(dataDvc).toMatch(
      /^outs:\n- md5: [0-9a-f]{32}\.dir\n {2}size: \d+\n {2}nfiles: 13\n {2}hash: md5\n {2}path: data\n$/,
    );
  });
});
