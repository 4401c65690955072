import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findDvcFiles } from '../../src/api/stages.js';
import { DvcIgnore } from '../../src/cache/dvcignore.js';
import { materialise, tempDir } from '../helpers/tmp.js';

describe('findDvcFiles', () => {
  it('finds every .dvc file DVC would, skipping what DVC skips, sorted', async () => {
    const root = tempDir();
    materialise(root, {
      'a.dvc': 'outs: []\n',
      'sub/deeper/b.dvc': 'outs: []\n',
      'data.dvc': 'outs: []\n',
      'data/inside.dvc': 'a tracked directory cannot hold stages\n',
      'subrepo/.dvc/config': '',
      'subrepo/c.dvc': 'a sub-repo has its own\n',
      'ignored/d.dvc': 'ignored by .dvcignore\n',
      '.dvcignore': 'ignored/\n',
      '.git/e.dvc': 'never\n',
      '.hg/f.dvc': 'never\n',
      'notes.dvc.txt': 'not a .dvc file\n',
      'named.dvc/g.dvc': 'a directory named like a stage is just a directory\n',
    });
    fs.symlinkSync(path.join(root, 'a.dvc'), path.join(root, 'link.dvc'));
    const found = findDvcFiles(root, await DvcIgnore.load(root)).map((p) => path.relative(root, p));
    expect(found).toEqual(['a.dvc', 'data.dvc', 'named.dvc/g.dvc', 'sub/deeper/b.dvc']);
  });

  it('does not follow symlinked directories', async () => {
    const root = tempDir();
    const elsewhere = tempDir();
    materialise(root, { 'x.dvc': 'outs: []\n' });
    materialise(elsewhere, { 'y.dvc': 'outs: []\n' });
    fs.symlinkSync(elsewhere, path.join(root, 'linked'));
    expect(findDvcFiles(root, await DvcIgnore.load(root)).map((p) => path.relative(root, p))).toEqual([
      'x.dvc',
    ]);
  });
});
