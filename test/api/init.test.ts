import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DVC_GITIGNORE, DVCIGNORE_TEMPLATE, initRepo, NO_SCM_CONFIG } from '../../src/api/init.js';
import { CpvError } from '../../src/errors.js';
import { gitCli, gitRepo, tempDir } from '../helpers/tmp.js';
import { loadVectors } from '../helpers/vectors.js';

const initVector = loadVectors().find((v) => v.id === 'dvcfile-init-files')!;
const expected = initVector.expect as Record<string, unknown>;

describe('initRepo', () => {
  it('writes the exact files dvc init writes and stages them without committing', async () => {
    const dir = gitRepo();
    const result = await initRepo(dir);
    expect(fs.readFileSync(path.join(dir, '.dvc/config'), 'utf8')).toBe(expected['.dvc/config']);
    expect(fs.readFileSync(path.join(dir, '.dvc/.gitignore'), 'utf8')).toBe(expected['.dvc/.gitignore']);
    expect(fs.readFileSync(path.join(dir, '.dvcignore'), 'utf8')).toBe(expected['.dvcignore']);
    expect(fs.statSync(path.join(dir, '.dvc/tmp')).isDirectory()).toBe(true);
    const staged = gitCli(dir, 'diff', '--cached', '--name-only').trim().split('\n').sort();
    expect(staged).toEqual(expected.files_staged);
    expect(result.staged.sort()).toEqual(expected.files_staged);
    expect(gitCli(dir, 'rev-list', '--all').trim()).toBe(''); // no commit made
  });

  it('matches the vector constants exported for reuse', () => {
    expect(DVCIGNORE_TEMPLATE).toBe(expected['.dvcignore']);
    expect(DVC_GITIGNORE).toBe(expected['.dvc/.gitignore']);
    expect(NO_SCM_CONFIG).toBe(expected['no_scm_.dvc/config']);
  });

  it('--no-scm writes no_scm = True and no .gitignore', async () => {
    const dir = tempDir();
    const result = await initRepo(dir, { noScm: true });
    expect(fs.readFileSync(path.join(dir, '.dvc/config'), 'utf8')).toBe(expected['no_scm_.dvc/config']);
    expect(fs.existsSync(path.join(dir, '.dvc/.gitignore'))).toBe(false);
    expect(result.staged).toEqual([]);
  });

  it('keeps an existing .dvcignore', async () => {
    const dir = gitRepo();
    fs.writeFileSync(path.join(dir, '.dvcignore'), '*.tmp\n');
    await initRepo(dir);
    expect(fs.readFileSync(path.join(dir, '.dvcignore'), 'utf8')).toBe('*.tmp\n');
  });

  it('refuses outside git, in a git subdirectory, and over an existing .dvc/', async () => {
    await expect(initRepo(tempDir())).rejects.toMatchObject({ code: 'E_NOT_GIT' });
    const repo = gitRepo();
    fs.mkdirSync(path.join(repo, 'sub'));
    await expect(initRepo(path.join(repo, 'sub'))).rejects.toMatchObject({ code: 'E_NOT_GIT' });
    await initRepo(path.join(repo, 'sub'), { subdir: true });
    expect(fs.existsSync(path.join(repo, 'sub/.dvc/config'))).toBe(true);
    await expect(initRepo(path.join(repo, 'sub'), { subdir: true })).rejects.toBeInstanceOf(CpvError);
    await expect(initRepo(path.join(repo, 'missing'), { noScm: true })).rejects.toMatchObject({
      code: 'E_TARGET_MISSING',
    });
  });

  it('-f re-creates .dvc/ and drops the old cache', async () => {
    const dir = gitRepo();
    await initRepo(dir);
    fs.mkdirSync(path.join(dir, '.dvc/cache/files'), { recursive: true });
    await initRepo(dir, { force: true });
    expect(fs.existsSync(path.join(dir, '.dvc/cache'))).toBe(false);
    expect(fs.readFileSync(path.join(dir, '.dvc/config'), 'utf8')).toBe('');
  });
});
