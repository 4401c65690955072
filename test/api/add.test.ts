/**
 * `cpv add` / `cpv status` against every recorded DVC vector that states exact bytes, plus the
 * refusal paths: each bad input gives one clear error and leaves workspace and cache untouched.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addTargets } from '../../src/api/add.js';
import { initRepo } from '../../src/api/init.js';
import { repoStatus } from '../../src/api/status.js';
import { CpvError } from '../../src/errors.js';
import { gitRepo, materialise, snapshot, tempDir } from '../helpers/tmp.js';
import { loadVectors } from '../helpers/vectors.js';

const addVectors = loadVectors().filter((v) => v.expect.dvc_file_text !== undefined && v.kind !== 'dvcfile');

async function freshRepo(tree: Parameters<typeof materialise>[1] = {}): Promise<string> {
  const dir = gitRepo();
  materialise(dir, tree);
  await initRepo(dir);
  return dir;
}

const read = (p: string) => fs.readFileSync(p, 'utf8');
const mode = (p: string) => `0o${(fs.statSync(p).mode & 0o777).toString(8)}`;

describe('cpv add reproduces DVC byte for byte', () => {
  it.each(addVectors.map((v) => [v.id, v] as const))('%s', async (_id, v) => {
    const dir = await freshRepo(v.tree);
    const e = v.expect as Record<string, string | number | boolean | Record<string, string>>;
    await addTargets([v.target!], { cwd: dir });
    expect(read(path.join(dir, e.dvc_file_path as string))).toBe(e.dvc_file_text);
    expect(read(path.join(dir, e.gitignore_path as string))).toBe(e.gitignore_text);
    const object = path.join(dir, e.cache_object_path as string);
    expect(mode(object)).toBe(e.cache_object_mode);
    if (e.dir_json !== undefined) expect(read(object)).toBe(e.dir_json);
    for (const md5 of Object.values((e.file_hashes ?? {}) as Record<string, string>)) {
      const p = path.join(dir, '.dvc/cache/files/md5', md5.slice(0, 2), md5.slice(2));
      expect(mode(p)).toBe('0o444');
    }
    if (e.workspace_mode_after_add_from_0755 !== undefined) {
      expect(mode(path.join(dir, v.target!))).toBe(e.workspace_mode_after_add_from_0755);
    }
    const status = await repoStatus([], { cwd: dir });
    expect(JSON.stringify(status.stages)).toBe(JSON.stringify(JSON.parse(e.status_json_after_add as string)));
  });

  it('replaces a symlink inside an added directory with a real file and drops exec bits in dirs', async () => {
    const dir = await freshRepo({
      'data/real.txt': 'r',
      'data/run.sh': { text: '#!/bin/sh\n', mode: '755' },
    });
    fs.symlinkSync('real.txt', path.join(dir, 'data/link.txt'));
    await addTargets(['data'], { cwd: dir });
    expect(fs.lstatSync(path.join(dir, 'data/link.txt')).isFile()).toBe(true);
    expect(read(path.join(dir, 'data/link.txt'))).toBe('r');
    expect(fs.statSync(path.join(dir, 'data/run.sh')).mode & 0o111).toBe(0);
  });

  it('re-adding unchanged data leaves the .dvc file byte-identical and re-adding changed data updates it', async () => {
    const dir = await freshRepo({ foo: 'foo' });
    await addTargets(['foo'], { cwd: dir });
    const dvc = path.join(dir, 'foo.dvc');
    fs.writeFileSync(dvc, `# keep me\n${read(dvc)}meta:\n  owner: ml-team\n`);
    const before = read(dvc);
    await addTargets(['foo'], { cwd: dir });
    expect(read(dvc)).toBe(before);
    fs.chmodSync(path.join(dir, 'foo'), 0o644);
    fs.writeFileSync(path.join(dir, 'foo'), 'bar');
    expect((await repoStatus([], { cwd: dir })).stages).toEqual({
      'foo.dvc': [{ 'changed outs': { foo: 'modified' } }],
    });
    await addTargets(['foo'], { cwd: dir });
    expect(read(dvc)).toBe(
      '# keep me\nouts:\n- md5: 37b51d194a7513e45b56f6524f2d51f2\n  size: 3\n  hash: md5\n  path: foo\nmeta:\n  owner: ml-team\n',
    );
  });

  it('keeps a legacy (DVC 2.x) output legacy while unchanged, and upgrades it when it changes', async () => {
    // crlf: "a\r\nb\r\n" hashes to the md5 of "a\nb\n" under md5-dos2unix.
    const dir = await freshRepo({ 'crlf.txt': 'a\r\nb\r\n', '.gitignore': '/crlf.txt\n' });
    const legacy = 'outs:\n- md5: dd8c6a395b5dd36c56d23275028f526c\n  size: 6\n  path: crlf.txt\n';
    fs.writeFileSync(path.join(dir, 'crlf.txt.dvc'), legacy);
    // the legacy object lives in the legacy cache layout
    await addTargets(['crlf.txt'], { cwd: dir });
    expect(read(path.join(dir, 'crlf.txt.dvc'))).toBe(legacy);
    expect(fs.existsSync(path.join(dir, '.dvc/cache/dd/8c6a395b5dd36c56d23275028f526c'))).toBe(true);
    expect((await repoStatus([], { cwd: dir })).stages).toEqual({});
    fs.writeFileSync(path.join(dir, 'crlf.txt'), 'a\r\nc\r\n');
    await addTargets(['crlf.txt'], { cwd: dir });
    expect(read(path.join(dir, 'crlf.txt.dvc'))).toBe(
      'outs:\n- md5: 34f5e296d915dd7ced8c96e9a18fc554\n  size: 6\n  path: crlf.txt\n  hash: md5\n',
    );
  });

  it('adds several targets and reports .gitignore once in the git hint list', async () => {
    const dir = await freshRepo({ 'model.bin': 'm', 'data/a': 'a' });
    const result = await addTargets(['model.bin', 'data'], { cwd: dir });
    expect(result.gitFiles).toEqual(['.gitignore', 'model.bin.dvc', 'data.dvc']);
    expect(read(path.join(dir, '.gitignore'))).toBe('/model.bin\n/data\n');
    expect(result.outputs.map((o) => o.isDir)).toEqual([false, true]);
  });

  it('writes no .gitignore entry when git already ignores the path', async () => {
    const dir = await freshRepo({ 'x.csv': '1,2\n', '.gitignore': '*.csv\n' });
    const result = await addTargets(['x.csv'], { cwd: dir });
    expect(read(path.join(dir, '.gitignore'))).toBe('*.csv\n');
    expect(result.gitFiles).toEqual(['x.csv.dvc']);
  });

  it('stages the files when core.autostage is true', async () => {
    const dir = await freshRepo({ foo: 'foo' });
    fs.writeFileSync(path.join(dir, '.dvc/config'), '[core]\n    autostage = true\n');
    const result = await addTargets(['foo'], { cwd: dir });
    expect(result.staged).toBe(true);
  });

  it('works in a --no-scm repo without touching .gitignore', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'foo'), 'foo');
    await initRepo(dir, { noScm: true });
    await addTargets(['foo'], { cwd: dir });
    expect(fs.existsSync(path.join(dir, '.gitignore'))).toBe(false);
    expect(read(path.join(dir, 'foo.dvc'))).toContain('path: foo');
  });
});

describe('cpv add refuses bad input and leaves nothing half-written', () => {
  async function expectRefusal(dir: string, targets: string[], code: string, message: RegExp) {
    const before = snapshot(dir);
    const err = await addTargets(targets, { cwd: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CpvError);
    expect((err as CpvError).code).toBe(code);
    expect((err as CpvError).message).toMatch(message);
    expect((err as CpvError).message).not.toContain('\n');
    expect((err as CpvError).hint).toBeTruthy();
    expect(snapshot(dir)).toEqual(before);
  }

  it('missing target (and a good target before it stays unadded)', async () => {
    const dir = await freshRepo({ good: 'g' });
    await expectRefusal(dir, ['good', 'nope'], 'E_TARGET_MISSING', /'nope' does not exist/);
  });

  it('target outside the repository', async () => {
    const dir = await freshRepo({});
    fs.writeFileSync(path.join(path.dirname(dir), `${path.basename(dir)}-outside`), 'x');
    await expectRefusal(
      dir,
      [`../${path.basename(dir)}-outside`],
      'E_TARGET_OUTSIDE',
      /outside of the repository/,
    );
  });

  it('target inside .dvc/ or .git/', async () => {
    const dir = await freshRepo({});
    await expectRefusal(dir, ['.dvc/config'], 'E_TARGET_OUTSIDE', /inside \.dvc\/ or \.git\//);
    await expectRefusal(dir, ['.git/HEAD'], 'E_TARGET_OUTSIDE', /inside \.dvc\/ or \.git\//);
  });

  it('a directory containing a broken symlink', async () => {
    const dir = await freshRepo({ 'data/a': 'a', 'data/dangling': { symlink: 'no-such-file' } });
    await expectRefusal(dir, ['data'], 'E_BROKEN_SYMLINK', /dangling|missing/);
  });

  it('a dangling symlink as the target itself', async () => {
    const dir = await freshRepo({ link: { symlink: 'gone' } });
    await expectRefusal(dir, ['link'], 'E_BROKEN_SYMLINK', /'link' is a symlink to a missing file/);
  });

  it('a target ignored by .dvcignore', async () => {
    const dir = await freshRepo({ 'a.log': 'x' });
    fs.appendFileSync(path.join(dir, '.dvcignore'), '*.log\n');
    await expectRefusal(dir, ['a.log'], 'E_TARGET_IGNORED', /ignored by \.dvcignore/);
  });

  it('a path inside an already tracked directory', async () => {
    const dir = await freshRepo({ 'data/a': 'a' });
    await addTargets(['data'], { cwd: dir });
    await expectRefusal(dir, ['data/a'], 'E_TARGET_TRACKED', /overlaps the output 'data'/);
  });

  it('a file already tracked by git', async () => {
    const dir = await freshRepo({ 'tracked.txt': 't' });
    const { gitCli } = await import('../helpers/tmp.js');
    gitCli(dir, 'add', 'tracked.txt');
    await expectRefusal(dir, ['tracked.txt'], 'E_TARGET_TRACKED', /already tracked by git/);
  });

  it('an existing .dvc file with an unknown hash type', async () => {
    const dir = await freshRepo({ foo: 'foo' });
    fs.writeFileSync(
      path.join(dir, 'foo.dvc'),
      'outs:\n- md5: acbd18db4cc2f85cedef654fccc4a4d8\n  hash: sha256\n  path: foo\n',
    );
    await expectRefusal(dir, ['foo'], 'E_HASH_UNSUPPORTED', /foo\.dvc/);
  });

  it('a target inside a symlinked directory', async () => {
    const dir = await freshRepo({ 'real/a': 'a' });
    fs.symlinkSync('real', path.join(dir, 'alias'));
    await expectRefusal(dir, ['alias/a'], 'E_SYMLINK_DIR', /symlinked directory 'alias'/);
  });

  it('no targets at all', async () => {
    const dir = await freshRepo({});
    await expectRefusal(dir, [], 'E_USAGE', /nothing to add/);
  });

  it('outside any DVC repository', async () => {
    const dir = tempDir();
    await expect(addTargets(['x'], { cwd: dir })).rejects.toMatchObject({ code: 'E_NOT_A_REPO' });
  });
});

describe('cpv status', () => {
  it('reports modified, deleted and not in cache in DVC order and shape', async () => {
    const dir = await freshRepo({ foo: 'foo', bar: 'bar', 'data/a': 'a', 'data/sub/b': 'b' });
    await addTargets(['foo', 'bar', 'data'], { cwd: dir });
    expect((await repoStatus([], { cwd: dir })).stages).toEqual({});
    fs.rmSync(path.join(dir, 'data'), { recursive: true });
    fs.chmodSync(path.join(dir, 'bar'), 0o644);
    fs.writeFileSync(path.join(dir, 'bar'), 'changed');
    fs.rmSync(path.join(dir, '.dvc/cache/files/md5/ac/bd18db4cc2f85cedef654fccc4a4d8'), { force: true });
    const status = await repoStatus([], { cwd: dir });
    expect(status.stages).toEqual({
      'bar.dvc': [{ 'changed outs': { bar: 'modified' } }],
      'data.dvc': [{ 'changed outs': { data: 'deleted' } }],
      'foo.dvc': [{ 'changed outs': { foo: 'not in cache' } }],
    });
    expect(Object.keys(status.stages)).toEqual(['bar.dvc', 'data.dvc', 'foo.dvc']);
    expect((await repoStatus(['bar'], { cwd: dir })).stages).toEqual({
      'bar.dvc': [{ 'changed outs': { bar: 'modified' } }],
    });
    expect(Object.keys((await repoStatus(['data.dvc'], { cwd: dir })).stages)).toEqual(['data.dvc']);
  });

  it('detects a corrupted cache object inside a directory as not in cache', async () => {
    const dir = await freshRepo({ 'data/a': 'a' });
    await addTargets(['data'], { cwd: dir });
    const obj = path.join(dir, '.dvc/cache/files/md5/0c/c175b9c0f1b6a831c399e269772661');
    fs.chmodSync(obj, 0o644);
    fs.writeFileSync(obj, 'tampered');
    expect((await repoStatus([], { cwd: dir })).stages).toEqual({
      'data.dvc': [{ 'changed outs': { data: 'not in cache' } }],
    });
    expect(fs.existsSync(obj)).toBe(false); // DVC deletes a corrupt object it finds
  });

  it('with copy, gives files of a directory the workspace mode and leaves files that have it alone', async () => {
    const dir = await freshRepo({ 'data/plain': 'p', 'data/private': 'q', 'data/tool': 'r' });
    fs.chmodSync(path.join(dir, 'data/private'), 0o600);
    fs.chmodSync(path.join(dir, 'data/tool'), 0o755);
    const inode = (name: string) => fs.statSync(path.join(dir, 'data', name)).ino;
    const before = { plain: inode('plain'), private: inode('private') };
    await addTargets(['data'], { cwd: dir });
    const want = `0o${(0o666 & ~process.umask()).toString(8)}`;
    for (const name of ['plain', 'private', 'tool'])
      expect(mode(path.join(dir, 'data', name)), name).toBe(want);
    expect({ plain: inode('plain'), private: inode('private') }).toEqual(before); // kept in place
    await addTargets(['data'], { cwd: dir }); // unchanged: nothing to do
    expect(inode('plain')).toBe(before.plain);
  });

  it('says not in cache, as DVC does, even when the workspace copy cannot be hashed', async () => {
    const dir = await freshRepo({ 'data/a': 'a', 'data/b': 'b' });
    await addTargets(['data'], { cwd: dir });
    fs.symlinkSync(path.join(dir, 'nowhere'), path.join(dir, 'data', 'broken'));
    await expect(repoStatus([], { cwd: dir })).rejects.toThrow(/broken|nowhere|symlink/i);
    fs.chmodSync(path.join(dir, '.dvc/cache/files/md5/0c/c175b9c0f1b6a831c399e269772661'), 0o644);
    fs.rmSync(path.join(dir, '.dvc/cache/files/md5/0c/c175b9c0f1b6a831c399e269772661'));
    expect((await repoStatus([], { cwd: dir })).stages).toEqual({
      'data.dvc': [{ 'changed outs': { data: 'not in cache' } }],
    });
  });

  it('counts tracked stages and rejects untracked targets', async () => {
    const dir = await freshRepo({ foo: 'foo', loose: 'l' });
    expect((await repoStatus([], { cwd: dir })).tracked).toBe(0);
    await addTargets(['foo'], { cwd: dir });
    expect((await repoStatus([], { cwd: dir })).tracked).toBe(1);
    await expect(repoStatus(['loose'], { cwd: dir })).rejects.toMatchObject({ code: 'E_USAGE' });
    await expect(repoStatus(['ghost'], { cwd: dir })).rejects.toMatchObject({ code: 'E_TARGET_MISSING' });
  });

  it('reports paths relative to the working directory', async () => {
    const dir = await freshRepo({ 'sub/foo': 'foo' });
    await addTargets(['sub/foo'], { cwd: dir });
    fs.rmSync(path.join(dir, 'sub/foo'));
    expect((await repoStatus([], { cwd: dir })).stages).toEqual({
      'sub/foo.dvc': [{ 'changed outs': { 'sub/foo': 'deleted' } }],
    });
    expect((await repoStatus([], { cwd: path.join(dir, 'sub') })).stages).toEqual({
      'foo.dvc': [{ 'changed outs': { foo: 'deleted' } }],
    });
  });
});

describe('state store integration', () => {
  it('status trusts (inode, mtime, size) and re-hashes only when one of them changes', async () => {
    const dir = await freshRepo({ 'data/a': 'aaaa', 'data/b': 'bbbb' });
    const file = path.join(dir, 'data/a');
    const fixed = 1_700_000_000; // whole seconds, so utimes can restore it exactly
    fs.utimesSync(file, fixed, fixed);
    await addTargets(['data'], { cwd: dir });
    expect(fs.existsSync(path.join(dir, '.dvc/tmp/cpv-state.log'))).toBe(true);
    const ino = fs.statSync(file).ino;
    // Same inode, same size, same mtime: the state says unchanged, as DVC's state db would.
    fs.chmodSync(file, 0o644);
    fs.writeFileSync(file, 'AAAA');
    fs.utimesSync(file, fixed, fixed);
    expect(fs.statSync(file).ino).toBe(ino);
    expect((await repoStatus([], { cwd: dir })).stages).toEqual({});
    // A new mtime forces a re-hash and the change is seen.
    fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
    expect((await repoStatus([], { cwd: dir })).stages).toEqual({
      'data.dvc': [{ 'changed outs': { data: 'modified' } }],
    });
  });

  it('a second add of unchanged data re-uses the state and still verifies the cache', async () => {
    const dir = await freshRepo({ 'data/a': 'a', 'data/b': 'b' });
    await addTargets(['data'], { cwd: dir });
    const before = fs.readFileSync(path.join(dir, 'data.dvc'), 'utf8');
    // the object of data/a vanished from the cache: the state hit must not hide that
    fs.rmSync(path.join(dir, '.dvc/cache/files/md5/0c/c175b9c0f1b6a831c399e269772661'));
    await addTargets(['data'], { cwd: dir });
    expect(fs.readFileSync(path.join(dir, 'data.dvc'), 'utf8')).toBe(before);
    expect(fs.existsSync(path.join(dir, '.dvc/cache/files/md5/0c/c175b9c0f1b6a831c399e269772661'))).toBe(
      true,
    );
    expect((await repoStatus([], { cwd: dir })).stages).toEqual({});
  });
});
