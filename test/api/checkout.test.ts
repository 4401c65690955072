/**
 * `cpv checkout`: restoring outputs from the cache with each link type, refusing to lose data not
 * in the cache, partial targets inside tracked directories, and DVC-written repositories.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addTargets } from '../../src/api/add.js';
import { type CheckoutRefusedError, checkout } from '../../src/api/checkout.js';
import { initRepo } from '../../src/api/init.js';
import { repoStatus } from '../../src/api/status.js';
import { Linker, workspaceFileMode } from '../../src/cache/link.js';
import { renderCheckoutChanges } from '../../src/cli/commands/checkout.js';
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

const TREE = {
  'model.bin': 'weights v1',
  'data/a.txt': 'alpha',
  'data/sub/b.txt': 'bravo',
  'data/empty.txt': '',
};

const read = (dir: string, rel: string) => fs.readFileSync(path.join(dir, rel), 'utf8');
const mode = (dir: string, rel: string) => fs.statSync(path.join(dir, rel)).mode & 0o777;

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

describe('cpv checkout', () => {
  it('restores deleted outputs and reports them as added; a second run changes nothing', async () => {
    const dir = await tracked();
    const before = snapshot(path.join(dir, 'data'));
    fs.rmSync(path.join(dir, 'data'), { recursive: true });
    fs.rmSync(path.join(dir, 'model.bin'));
    const result = await checkout([], { cwd: dir });
    expect(result.changes).toEqual([
      { kind: 'added', path: 'data/' },
      { kind: 'added', path: 'model.bin' },
    ]);
    expect(snapshot(path.join(dir, 'data'))).toEqual(before);
    expect(read(dir, 'model.bin')).toBe('weights v1');
    expect((await repoStatus([], { cwd: dir })).stages).toEqual({});
    expect((await checkout([], { cwd: dir })).changes).toEqual([]);
  });

  it('refuses to overwrite changes that are not in the cache, listing each, and --force discards them', async () => {
    const dir = await tracked();
    fs.writeFileSync(path.join(dir, 'model.bin'), 'my unsaved edit');
    fs.writeFileSync(path.join(dir, 'data/a.txt'), 'edited');
    fs.writeFileSync(path.join(dir, 'data/new.txt'), 'brand new');
    const before = snapshot(dir);
    const err = await expectError(checkout([], { cwd: dir }), 'E_NEEDS_FORCE');
    expect(err.message).toContain("'data/a.txt'");
    expect(err.message).toContain("'data/new.txt'");
    expect(err.message).toContain("'model.bin'");
    expect(err.message).not.toContain('\n');
    expect((err as CheckoutRefusedError).paths.sort()).toEqual(['data/a.txt', 'data/new.txt', 'model.bin']);
    expect(err.hint).toContain('--force');
    expect(snapshot(dir)).toEqual(before);

    const result = await checkout([], { cwd: dir, force: true });
    expect(result.changes).toEqual([
      { kind: 'modified', path: 'data/' },
      { kind: 'modified', path: 'model.bin' },
    ]);
    expect(read(dir, 'model.bin')).toBe('weights v1');
    expect(read(dir, 'data/a.txt')).toBe('alpha');
    expect(fs.existsSync(path.join(dir, 'data/new.txt'))).toBe(false);
    expect((await repoStatus([], { cwd: dir })).stages).toEqual({});
  });

  it('overwrites without asking when the workspace bytes are in the cache (another tracked version)', async () => {
    const dir = await tracked();
    fs.writeFileSync(path.join(dir, 'model.bin'), 'weights v2');
    const v1 = fs.readFileSync(path.join(dir, 'model.bin.dvc'));
    await addTargets(['model.bin'], { cwd: dir });
    fs.writeFileSync(path.join(dir, 'model.bin.dvc'), v1);
    const result = await checkout(['model.bin.dvc'], { cwd: dir });
    expect(result.changes).toEqual([{ kind: 'modified', path: 'model.bin' }]);
    expect(read(dir, 'model.bin')).toBe('weights v1');
  });

  it('checks out one file inside a tracked directory and leaves the rest alone', async () => {
    const dir = await tracked();
    fs.rmSync(path.join(dir, 'data/a.txt'));
    fs.writeFileSync(path.join(dir, 'data/sub/b.txt'), 'changed');
    const result = await checkout(['data/a.txt'], { cwd: dir });
    expect(result.changes).toEqual([{ kind: 'modified', path: 'data/' }]);
    expect(read(dir, 'data/a.txt')).toBe('alpha');
    expect(read(dir, 'data/sub/b.txt')).toBe('changed');
    // A sub-directory target works the same way.
    fs.writeFileSync(path.join(dir, 'data/sub/extra.txt'), 'x');
    await checkout(['data/sub'], { cwd: dir, force: true });
    expect(read(dir, 'data/sub/b.txt')).toBe('bravo');
    expect(fs.existsSync(path.join(dir, 'data/sub/extra.txt'))).toBe(false);
    expect((await repoStatus([], { cwd: dir })).stages).toEqual({});
  });

  it('rejects a target that no .dvc file tracks', async () => {
    const dir = await tracked();
    fs.writeFileSync(path.join(dir, 'loose.txt'), 'x');
    await expectError(checkout(['loose.txt'], { cwd: dir }), 'E_USAGE');
    await expectError(checkout(['nope'], { cwd: dir }), 'E_TARGET_MISSING');
  });

  it('falls back from a failing reflink to copy: writable files with mode 0666 & ~umask', async () => {
    const dir = await tracked();
    fs.rmSync(path.join(dir, 'data'), { recursive: true });
    const attempts: string[] = [];
    const real = (src: string, tmp: string, m: number) => {
      fs.copyFileSync(src, tmp);
      fs.chmodSync(tmp, m);
    };
    const linker = new Linker(['reflink', 'copy'], {
      reflink: () => {
        attempts.push('reflink');
        throw Object.assign(new Error('reflink not supported'), { code: 'EOPNOTSUPP' });
      },
      hardlink: () => {
        throw new Error('unused');
      },
      symlink: () => {
        throw new Error('unused');
      },
      copy: (src, tmp, m) => {
        attempts.push('copy');
        real(src, tmp, m);
      },
    });
    const result = await checkout(['data'], { cwd: dir, linker });
    expect(result.linkType).toBe('copy');
    expect(attempts[0]).toBe('reflink');
    expect(attempts.filter((a) => a === 'reflink')).toHaveLength(1); // tested once, then remembered
    expect(mode(dir, 'data/a.txt')).toBe(workspaceFileMode(false));
    const cacheIno = fs.statSync(
      path.join(dir, '.dvc/cache/files/md5/2c/1743a391305fbf367df8e4f069f9f9'),
    ).ino;
    expect(fs.statSync(path.join(dir, 'data/a.txt')).ino).not.toBe(cacheIno);
  });

  it('hardlink: workspace files are the read-only cache objects; a modified one is replaced, never written through', async () => {
    const dir = await tracked('hardlink');
    const obj = path.join(dir, '.dvc/cache/files/md5/2c/1743a391305fbf367df8e4f069f9f9'); // md5('alpha')
    expect(fs.statSync(path.join(dir, 'data/a.txt')).ino).toBe(fs.statSync(obj).ino);
    expect(mode(dir, 'data/a.txt')).toBe(0o444);
    // The empty file is never hard-linked.
    expect(fs.statSync(path.join(dir, 'data/empty.txt')).nlink).toBe(1);
    // Replace (as an editor would after unprotecting) and check out again: the cache stays intact.
    fs.rmSync(path.join(dir, 'data/a.txt'));
    fs.writeFileSync(path.join(dir, 'data/a.txt'), 'edited');
    await checkout([], { cwd: dir, force: true });
    expect(read(dir, 'data/a.txt')).toBe('alpha');
    expect(fs.readFileSync(obj, 'utf8')).toBe('alpha');
    expect((await repoStatus([], { cwd: dir })).stages).toEqual({});
  });

  it('symlink: workspace entries point into the cache; status is clean', async () => {
    const dir = await tracked('symlink');
    fs.rmSync(path.join(dir, 'model.bin'));
    await checkout(['model.bin'], { cwd: dir });
    const target = fs.readlinkSync(path.join(dir, 'model.bin'));
    expect(target.startsWith(path.join(dir, '.dvc/cache/files/md5'))).toBe(true);
    expect((await repoStatus([], { cwd: dir })).stages).toEqual({});
  });

  it('--relink switches unchanged files to the configured link type', async () => {
    const dir = await tracked('copy');
    const obj = path.join(dir, '.dvc/cache/files/md5/2c/1743a391305fbf367df8e4f069f9f9');
    expect(fs.statSync(path.join(dir, 'data/a.txt')).ino).not.toBe(fs.statSync(obj).ino);
    fs.writeFileSync(path.join(dir, '.dvc/config'), '[cache]\n    type = hardlink\n');
    expect((await checkout([], { cwd: dir })).changes).toEqual([]);
    expect(fs.statSync(path.join(dir, 'data/a.txt')).ino).not.toBe(fs.statSync(obj).ino);
    const result = await checkout([], { cwd: dir, relink: true });
    expect(result.changes).toEqual([]);
    expect(result.linkType).toBe('hardlink');
    expect(fs.statSync(path.join(dir, 'data/a.txt')).ino).toBe(fs.statSync(obj).ino);
  });

  it('restores the exec bit of a single-file output', async () => {
    const dir = await freshRepo({ 'run.sh': { text: '#!/bin/sh\n', mode: '755' } });
    await addTargets(['run.sh'], { cwd: dir });
    fs.rmSync(path.join(dir, 'run.sh'));
    await checkout([], { cwd: dir });
    expect(mode(dir, 'run.sh') & 0o100).toBe(0o100);
  });

  it('fails listing outputs whose data is missing from the cache; --allow-missing skips them', async () => {
    const dir = await tracked();
    fs.rmSync(path.join(dir, 'model.bin'));
    fs.rmSync(path.join(dir, 'data'), { recursive: true });
    fs.rmSync(path.join(dir, '.dvc/cache/files/md5/2c'), { recursive: true }); // data/a.txt's object
    const err = await expectError(checkout([], { cwd: dir }), 'E_CACHE_MISSING');
    expect(err.message).toContain("'data'");
    expect(fs.existsSync(path.join(dir, 'model.bin'))).toBe(false);
    const result = await checkout([], { cwd: dir, allowMissing: true });
    expect(result.missing).toEqual(['data']);
    expect(read(dir, 'model.bin')).toBe('weights v1');
  });

  it('replaces a file standing where a tracked directory goes (and the reverse) when forced', async () => {
    const dir = await tracked();
    fs.rmSync(path.join(dir, 'data'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'data'), 'not a dir');
    await expectError(checkout([], { cwd: dir }), 'E_NEEDS_FORCE');
    await checkout([], { cwd: dir, force: true });
    expect(read(dir, 'data/sub/b.txt')).toBe('bravo');
    fs.rmSync(path.join(dir, 'data/a.txt'));
    materialise(dir, { 'data/a.txt/inner.txt': 'inner' });
    await expectError(checkout([], { cwd: dir }), 'E_NEEDS_FORCE');
    await checkout([], { cwd: dir, force: true });
    expect(read(dir, 'data/a.txt')).toBe('alpha');
    expect((await repoStatus([], { cwd: dir })).stages).toEqual({});
  });
});

describe('cpv checkout after a crash', () => {
  it('removes link temps a killed checkout left behind, without asking for --force', async () => {
    const dir = await tracked();
    materialise(dir, { 'data/sub/.b.txt.tmp-0123456789ab': 'half', '.model.bin.tmp-abcdef012345': 'half' });
    await checkout([], { cwd: dir });
    expect(fs.existsSync(path.join(dir, 'data/sub/.b.txt.tmp-0123456789ab'))).toBe(false);
    expect(fs.existsSync(path.join(dir, '.model.bin.tmp-abcdef012345'))).toBe(false);
    expect((await repoStatus([], { cwd: dir })).stages).toEqual({});
    // A user's file that merely looks similar is data: it needs --force.
    materialise(dir, { 'data/.notes.tmp-xyz': 'mine' });
    await expectError(checkout([], { cwd: dir }), 'E_NEEDS_FORCE');
  });
});

describe('cpv checkout on DVC-written repositories', () => {
  function unpack(name: string): string {
    const top = tempDir(`cpv-co-${name}-`);
    const r = spawnSync('tar', ['-xzpf', path.join(FIXTURES, 'repos', `${name}.tar.gz`), '-C', top]);
    if (r.status !== 0) throw new Error(String(r.stderr));
    return path.join(top, name, 'repo');
  }

  it("history: switching git revisions and checking out gives DVC's changes and a clean status", async () => {
    const repo = unpack('history');
    const vectors = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'repos', 'history.json'), 'utf8'));
    expect((await checkout([], { cwd: repo })).changes).toEqual([]);
    gitCli(repo, 'checkout', '-q', 'exp');
    const toExp = await checkout([], { cwd: repo });
    expect(toExp.changes.map((c) => c.path).sort()).toEqual(['data/', 'model.bin']);
    expect((await repoStatus([], { cwd: repo })).stages).toEqual({});
    expect(read(repo, 'data/exp-notes.txt').length).toBeGreaterThan(0);
    gitCli(repo, 'checkout', '-q', 'main');
    const back = renderCheckoutChanges((await checkout([], { cwd: repo })).changes);
    // DVC's line order follows its index traversal; compare the lines as a set.
    const expected = vectors.commands.checkout_main.stdout as string;
    expect(back.split('\n').sort()).toEqual(expected.split('\n').sort());
    expect(fs.existsSync(path.join(repo, 'data/exp-notes.txt'))).toBe(false);
    expect((await repoStatus([], { cwd: repo })).stages).toEqual({});
    for (const entry of vectors.workspace as Array<{ path: string; type: string; md5?: string }>) {
      if (entry.type !== 'file' || !/^(data\/|model\.bin$)/.test(entry.path)) continue;
      const bytes = fs.readFileSync(path.join(repo, entry.path));
      const { createHash } = await import('node:crypto');
      expect(createHash('md5').update(bytes).digest('hex'), entry.path).toBe(entry.md5);
    }
  });

  it('modified: refuses to drop the uncommitted edits DVC would also protect', async () => {
    const repo = unpack('modified');
    const err = await expectError(checkout([], { cwd: repo }), 'E_NEEDS_FORCE');
    expect(err.message).toContain('model.bin');
    await checkout([], { cwd: repo, force: true });
    expect((await repoStatus([], { cwd: repo })).stages).toEqual({});
  });
});
