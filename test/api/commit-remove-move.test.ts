/**
 * `cpv commit`, `cpv remove`, `cpv move`: `.dvc` files, `.gitignore` entries and the cache stay
 * consistent, refusals leave everything untouched, and DVC-written repositories keep DVC's bytes.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addTargets } from '../../src/api/add.js';
import { commitTargets } from '../../src/api/commit.js';
import { initRepo } from '../../src/api/init.js';
import { moveOutput } from '../../src/api/move.js';
import { removeTargets } from '../../src/api/remove.js';
import { repoStatus } from '../../src/api/status.js';
import { CpvError } from '../../src/errors.js';
import { gitCli, gitRepo, materialise, snapshot, tempDir } from '../helpers/tmp.js';
import { FIXTURES } from '../helpers/vectors.js';

async function freshRepo(tree: Parameters<typeof materialise>[1], cacheType?: string): Promise<string> {
  const dir = gitRepo();
  materialise(dir, tree);
  await initRepo(dir);
  if (cacheType !== undefined)
    fs.writeFileSync(path.join(dir, '.dvc/config'), `[cache]\n    type = ${cacheType}\n`);
  return dir;
}

const TREE = { 'model.bin': 'weights v1', 'data/a.txt': 'alpha', 'data/sub/b.txt': 'bravo' };
/** Everything but `.dvc/tmp` (the state store may learn hashes while a command is refused). */
const userState = (dir: string) =>
  Object.fromEntries(Object.entries(snapshot(dir)).filter(([k]) => !k.startsWith('.dvc/tmp/')));
const read = (dir: string, rel: string) => fs.readFileSync(path.join(dir, rel), 'utf8');
const exists = (dir: string, rel: string) => fs.existsSync(path.join(dir, rel));

async function tracked(cacheType?: string): Promise<string> {
  const dir = await freshRepo(TREE, cacheType);
  await addTargets(['model.bin', 'data'], { cwd: dir });
  return dir;
}

async function expectError(p: Promise<unknown>, code: string): Promise<CpvError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CpvError);
  expect((err as CpvError).code).toBe(code);
  return err as CpvError;
}

function unpack(name: string): string {
  const top = tempDir(`cpv-crm-${name}-`);
  const r = spawnSync('tar', ['-xzpf', path.join(FIXTURES, 'repos', `${name}.tar.gz`), '-C', top]);
  if (r.status !== 0) throw new Error(String(r.stderr));
  return path.join(top, name, 'repo');
}

describe('cpv commit', () => {
  it('refuses changed outputs without force or a yes, then records them like add would', async () => {
    const dir = await tracked();
    fs.writeFileSync(path.join(dir, 'data/a.txt'), 'alpha 2');
    const before = userState(dir);
    const err = await expectError(commitTargets([], { cwd: dir }), 'E_NEEDS_FORCE');
    expect(err.message).toContain("'data'");
    expect(err.hint).toContain('--force');
    await expectError(commitTargets([], { cwd: dir, confirm: () => false }), 'E_NEEDS_FORCE');
    expect(userState(dir)).toEqual(before);

    const questions: string[] = [];
    const result = await commitTargets([], { cwd: dir, confirm: (q) => questions.push(q) > 0 });
    expect(questions).toEqual([
      "outputs ['data'] of 'data.dvc' changed. Are you sure you want to commit it?",
    ]);
    expect(result.stages).toEqual([
      { dvcFile: 'data.dvc', changed: true },
      { dvcFile: 'model.bin.dvc', changed: false },
    ]);
    expect(result.gitFiles).toEqual(['data.dvc']);
    expect((await repoStatus([], { cwd: dir })).stages).toEqual({});

    // The same bytes as `cpv add` of the same data writes.
    const viaCommit = read(dir, 'data.dvc');
    const other = await freshRepo({ ...TREE, 'data/a.txt': 'alpha 2' });
    await addTargets(['data'], { cwd: other });
    expect(viaCommit).toBe(read(other, 'data.dvc'));
  });

  it('with force commits one target and leaves the others alone', async () => {
    const dir = await tracked();
    fs.writeFileSync(path.join(dir, 'model.bin'), 'weights v2');
    fs.writeFileSync(path.join(dir, 'data/a.txt'), 'alpha 2');
    const dataDvc = read(dir, 'data.dvc');
    await commitTargets(['model.bin'], { cwd: dir, force: true });
    expect(read(dir, 'data.dvc')).toBe(dataDvc);
    expect(read(dir, 'model.bin.dvc')).toContain('size: 10');
    expect((await repoStatus([], { cwd: dir })).stages).toEqual({
      'data.dvc': [{ 'changed outs': { data: 'modified' } }],
    });
  });

  it('re-stores objects missing from the cache without touching unchanged .dvc files', async () => {
    const dir = await tracked();
    fs.rmSync(path.join(dir, '.dvc/cache'), { recursive: true });
    expect((await repoStatus([], { cwd: dir })).stages).not.toEqual({});
    const texts = [read(dir, 'data.dvc'), read(dir, 'model.bin.dvc')];
    const result = await commitTargets([], { cwd: dir });
    expect(result.gitFiles).toEqual([]);
    expect([read(dir, 'data.dvc'), read(dir, 'model.bin.dvc')]).toEqual(texts);
    expect((await repoStatus([], { cwd: dir })).stages).toEqual({});
  });

  it('fails clearly when an output is missing from the workspace', async () => {
    const dir = await tracked();
    fs.rmSync(path.join(dir, 'model.bin'));
    await expectError(commitTargets(['model.bin.dvc'], { cwd: dir, force: true }), 'E_TARGET_MISSING');
    await expectError(commitTargets(['not-tracked'], { cwd: dir }), 'E_TARGET_MISSING');
  });

  it('a DVC-written repository: commit keeps every DVC byte when nothing changed', async () => {
    const repo = unpack('basic');
    const before = {
      data: read(repo, 'data.dvc'),
      model: read(repo, 'model.bin.dvc'),
      gi: read(repo, '.gitignore'),
    };
    await commitTargets([], { cwd: repo });
    expect({
      data: read(repo, 'data.dvc'),
      model: read(repo, 'model.bin.dvc'),
      gi: read(repo, '.gitignore'),
    }).toEqual(before);
    expect((await repoStatus([], { cwd: repo })).stages).toEqual({});
  });

  it('a DVC-written modified repository: force-commit makes status clean', async () => {
    const repo = unpack('modified');
    await commitTargets([], { cwd: repo, force: true });
    expect((await repoStatus([], { cwd: repo })).stages).toEqual({});
  });
});

describe('cpv remove', () => {
  it('with core.autostage stages what git knew: removals of its .dvc files, never a file it never had', async () => {
    const dir = await freshRepo({ 'model.bin': 'weights', 'x.bin': 'x' });
    await addTargets(['x.bin'], { cwd: dir }); // x.bin.dvc never reaches git's index
    fs.writeFileSync(path.join(dir, '.dvc/config'), '[core]\n    autostage = true\n');
    await addTargets(['model.bin'], { cwd: dir });
    expect(gitCli(dir, 'ls-files', '--', 'model.bin.dvc', 'x.bin.dvc').trim()).toBe('model.bin.dvc');
    const result = await removeTargets(['model.bin.dvc', 'x.bin.dvc'], { cwd: dir });
    expect(result.staged).toBe(true);
    expect(gitCli(dir, 'ls-files', '--', 'model.bin.dvc', 'x.bin.dvc').trim()).toBe('');
    // Both entries left the .gitignore (gone if nothing else was in it), and git's index holds
    // it as it is now.
    expect(exists(dir, '.gitignore') ? read(dir, '.gitignore') : '').not.toMatch(/model\.bin|x\.bin/);
    expect(gitCli(dir, 'diff', '--name-only', '--', '.gitignore').trim()).toBe('');
    expect(gitCli(dir, 'ls-files', '--', '.gitignore').trim()).toBe(
      exists(dir, '.gitignore') ? '.gitignore' : '',
    );
  });

  it('deletes the .dvc file and the .gitignore entry, keeps the data and the cache', async () => {
    const dir = await tracked();
    const cache = snapshot(path.join(dir, '.dvc/cache'));
    const result = await removeTargets(['model.bin.dvc'], { cwd: dir });
    expect(result.removed).toEqual(['model.bin.dvc']);
    expect(result.gitFiles.sort()).toEqual(['.gitignore', 'model.bin.dvc']);
    expect(exists(dir, 'model.bin.dvc')).toBe(false);
    expect(read(dir, '.gitignore')).toBe('/data\n');
    expect(read(dir, 'model.bin')).toBe('weights v1');
    expect(snapshot(path.join(dir, '.dvc/cache'))).toEqual(cache);
    // The last entry gone: the .gitignore goes too.
    await removeTargets(['data.dvc'], { cwd: dir });
    expect(exists(dir, '.gitignore')).toBe(false);
    expect(read(dir, 'data/a.txt')).toBe('alpha');
  });

  it('--outs deletes the data too', async () => {
    const dir = await tracked();
    await removeTargets(['data.dvc'], { cwd: dir, outs: true });
    expect(exists(dir, 'data')).toBe(false);
    expect(exists(dir, 'data.dvc')).toBe(false);
  });

  it('unprotects hard-linked data: the kept files are private writable copies', async () => {
    const dir = await tracked('hardlink');
    const obj = path.join(dir, '.dvc/cache/files/md5/2c/1743a391305fbf367df8e4f069f9f9');
    expect(fs.statSync(path.join(dir, 'data/a.txt')).ino).toBe(fs.statSync(obj).ino);
    await removeTargets(['data.dvc'], { cwd: dir });
    const st = fs.statSync(path.join(dir, 'data/a.txt'));
    expect(st.ino).not.toBe(fs.statSync(obj).ino);
    expect(st.mode & 0o200).toBe(0o200);
    fs.writeFileSync(path.join(dir, 'data/a.txt'), 'safe to edit');
    expect(fs.readFileSync(obj, 'utf8')).toBe('alpha');
  });

  it('unprotects symlinked data', async () => {
    const dir = await tracked('symlink');
    expect(fs.lstatSync(path.join(dir, 'model.bin')).isSymbolicLink()).toBe(true);
    await removeTargets(['model.bin.dvc'], { cwd: dir });
    expect(fs.lstatSync(path.join(dir, 'model.bin')).isFile()).toBe(true);
    expect(read(dir, 'model.bin')).toBe('weights v1');
  });

  it('refuses anything that is not a .dvc file, naming the likely one', async () => {
    const dir = await tracked();
    const err = await expectError(removeTargets(['data'], { cwd: dir }), 'E_USAGE');
    expect(err.hint).toContain('data.dvc');
    await expectError(removeTargets(['nope.dvc'], { cwd: dir }), 'E_TARGET_MISSING');
    expect(exists(dir, 'data.dvc')).toBe(true);
  });

  it('history fixture: add then remove leaves git clean, as DVC did (add_junk / remove_junk)', async () => {
    const repo = unpack('history');
    fs.writeFileSync(path.join(repo, 'junk.bin'), 'junk');
    await addTargets(['junk.bin'], { cwd: repo });
    await removeTargets(['junk.bin.dvc'], { cwd: repo });
    fs.rmSync(path.join(repo, 'junk.bin'));
    expect(gitCli(repo, 'status', '--porcelain=v1', '--untracked-files=all')).toBe('');
    expect(read(repo, '.gitignore')).toBe('/model.bin\n/data\n');
  });
});

describe('cpv move', () => {
  it('renames data, .dvc file and .gitignore entries; the hash is unchanged and status clean', async () => {
    const dir = await tracked();
    const oldDvc = read(dir, 'model.bin.dvc');
    const result = await moveOutput('model.bin', 'models/best.bin', { cwd: dir });
    expect(result).toMatchObject({ path: 'models/best.bin', dvcFile: 'models/best.bin.dvc' });
    expect(result.gitFiles.sort()).toEqual([
      '.gitignore',
      'model.bin.dvc',
      'models/.gitignore',
      'models/best.bin.dvc',
    ]);
    expect(exists(dir, 'model.bin')).toBe(false);
    expect(exists(dir, 'model.bin.dvc')).toBe(false);
    expect(read(dir, 'models/best.bin')).toBe('weights v1');
    expect(read(dir, 'models/best.bin.dvc')).toBe(oldDvc.replace('path: model.bin', 'path: best.bin'));
    expect(read(dir, '.gitignore')).toBe('/data\n');
    expect(read(dir, 'models/.gitignore')).toBe('/best.bin\n');
    expect((await repoStatus([], { cwd: dir })).stages).toEqual({});
  });

  it('moves a directory into an existing directory', async () => {
    const dir = await tracked();
    fs.mkdirSync(path.join(dir, 'archive'));
    await moveOutput('data', 'archive', { cwd: dir });
    expect(read(dir, 'archive/data/sub/b.txt')).toBe('bravo');
    expect(read(dir, 'archive/data.dvc')).toContain('path: data\n');
    expect(read(dir, 'archive/.gitignore')).toBe('/data\n');
    expect((await repoStatus([], { cwd: dir })).stages).toEqual({});
  });

  it("a DVC-written repository: moving data keeps status clean and DVC's .dvc layout", async () => {
    const repo = unpack('basic');
    const old = read(repo, 'data.dvc');
    await moveOutput('data', 'datasets/v1', { cwd: repo });
    expect(read(repo, 'datasets/v1.dvc')).toBe(old.replace('path: data\n', 'path: v1\n'));
    expect(read(repo, '.gitignore')).toBe('/model.bin\n');
    expect(read(repo, 'datasets/.gitignore')).toBe('/v1\n');
    expect((await repoStatus([], { cwd: repo })).stages).toEqual({});
  });

  it('refuses existing destinations, untracked sources and destinations outside the repo', async () => {
    const dir = await tracked();
    const before = snapshot(dir);
    await expectError(moveOutput('model.bin', 'data', { cwd: dir }), 'E_TARGET_TRACKED'); // data/ is an output
    fs.writeFileSync(path.join(dir, 'taken.bin'), 'x');
    await expectError(moveOutput('model.bin', 'taken.bin', { cwd: dir }), 'E_TARGET_TRACKED');
    await expectError(moveOutput('nothing', 'x', { cwd: dir }), 'E_TARGET_MISSING');
    await expectError(moveOutput('model.bin', '../outside.bin', { cwd: dir }), 'E_TARGET_OUTSIDE');
    await expectError(moveOutput('data', 'data/inner', { cwd: dir }), 'E_USAGE');
    fs.rmSync(path.join(dir, 'taken.bin'));
    expect(snapshot(dir)).toEqual(before);
  });
});
