/**
 * The whole-tree fast paths: a directory's oid remembered by its files' fingerprint, and a tree
 * found complete in the cache remembered by the cache's stamp. Each must be used when nothing
 * changed and must never hide a change: files added, removed, renamed or rewritten, cache objects
 * deleted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addTargets } from '../../src/api/add.js';
import { dirFilesInCache } from '../../src/api/dir-complete.js';
import { initRepo } from '../../src/api/init.js';
import { hashOutput } from '../../src/api/outputs.js';
import { Repo } from '../../src/api/repo.js';
import { repoStatus } from '../../src/api/status.js';
import { cacheStamp } from '../../src/cache/cache-stamp.js';
import { StateStore } from '../../src/cache/state.js';
import { treeFingerprint } from '../../src/cache/tree-stamp.js';
import { walkTree } from '../../src/cache/walk.js';
import { gitRepo, materialise, tempDir } from '../helpers/tmp.js';

const cacheRoot = (dir: string) => path.join(dir, '.dvc/cache/files/md5');

async function trackedDir(files: Record<string, string>): Promise<string> {
  const dir = gitRepo();
  materialise(dir, Object.fromEntries(Object.entries(files).map(([k, v]) => [`data/${k}`, v])));
  await initRepo(dir);
  await addTargets(['data'], { cwd: dir });
  return dir;
}

/** Moves every prefix directory's mtime a minute back, so the cache's stamp is not racy. */
function ageCache(dir: string): void {
  const past = new Date(Date.now() - 60_000);
  for (const name of fs.readdirSync(cacheRoot(dir)))
    fs.utimesSync(path.join(cacheRoot(dir), name), past, past);
}

/** Gives every prefix directory a whole-second mtime in the future: racy for any clock. */
function touchCache(dir: string): void {
  const soon = new Date(Math.ceil(Date.now() / 1000) * 1000 + 60_000);
  for (const name of fs.readdirSync(cacheRoot(dir)))
    fs.utimesSync(path.join(cacheRoot(dir), name), soon, soon);
}

async function statusOf(dir: string) {
  return (await repoStatus([], { cwd: dir })).stages;
}

/** How many files a directory hash had to read (0 when the tree's fingerprint answered). */
async function filesHashed(dir: string, opts: { files?: boolean } = {}): Promise<number> {
  const repo = Repo.open(dir);
  let hashed = 0;
  await hashOutput(repo, path.join(dir, 'data'), 'md5', {
    store: false,
    ...opts,
    onProgress: (_done, total) => {
      hashed = total;
    },
  });
  repo.saveState();
  return hashed;
}

describe('treeFingerprint', () => {
  const base = [
    { relpath: 'a', ino: 1n, mtimeNs: 10n, size: 1, mode: 0o100644 },
    { relpath: 'b/c', ino: 2n, mtimeNs: 20n, size: 2, mode: 0o100644 },
  ];
  it('is equal for equal stamps and differs when any field, the set or the order changes', () => {
    const fp = treeFingerprint(base);
    expect(treeFingerprint(base.map((e) => ({ ...e })))).toBe(fp);
    const variants = [
      [{ ...base[0]!, relpath: 'z' }, base[1]!],
      [{ ...base[0]!, ino: 9n }, base[1]!],
      [{ ...base[0]!, mtimeNs: 11n }, base[1]!],
      [{ ...base[0]!, size: 5 }, base[1]!],
      [{ ...base[0]!, mode: 0o100755 }, base[1]!],
      // The NUL framing: moving a name's tail into the next name is another tree.
      [
        { ...base[0]!, relpath: 'ab' },
        { ...base[1]!, relpath: '/c' },
      ],
      [base[0]!],
      [base[1]!, base[0]!],
      [...base, { relpath: 'd', ino: 3n, mtimeNs: 1n, size: 0, mode: 0o100644 }],
    ];
    const all = new Set([fp, ...variants.map((v) => treeFingerprint(v))]);
    expect(all.size).toBe(variants.length + 1);
  });
});

describe('cacheStamp', () => {
  it('is racy right after a change, stable while nothing changes, and changes when an object goes', async () => {
    const dir = await trackedDir({ a: 'a', b: 'b' });
    const newest = Math.max(
      ...fs.readdirSync(cacheRoot(dir)).map((n) => fs.statSync(path.join(cacheRoot(dir), n)).mtimeMs),
    );
    expect(cacheStamp(cacheRoot(dir), newest + 50).racy).toBe(true); // 50 ms after the last change
    expect(cacheStamp(cacheRoot(dir), newest + 5000).racy).toBe(false);
    ageCache(dir);
    const before = cacheStamp(cacheRoot(dir));
    expect(before.racy).toBe(false);
    expect(cacheStamp(cacheRoot(dir)).stamp).toBe(before.stamp);
    fs.rmSync(path.join(cacheRoot(dir), '0c/c175b9c0f1b6a831c399e269772661'));
    expect(cacheStamp(cacheRoot(dir)).stamp).not.toBe(before.stamp);
  });

  it('waits 2 s, not 100 ms, when an mtime is a whole second (a filesystem counting in seconds)', async () => {
    const dir = await trackedDir({ a: 'a' });
    const names = fs.readdirSync(cacheRoot(dir));
    const second = Math.floor(Date.now() / 1000) - 10;
    for (const n of names) fs.utimesSync(path.join(cacheRoot(dir), n), second, second + 0.25);
    expect(cacheStamp(cacheRoot(dir), second * 1000 + 500).racy).toBe(false); // 250 ms after
    fs.utimesSync(path.join(cacheRoot(dir), names[0]!), second, second);
    expect(cacheStamp(cacheRoot(dir), second * 1000 + 500).racy).toBe(true);
    expect(cacheStamp(cacheRoot(dir), second * 1000 + 2500).racy).toBe(false);
  });

  it('stamps a missing cache as empty', () => {
    const s = cacheStamp(path.join(tempDir(), 'nothing'));
    expect(s).toEqual({ stamp: expect.stringMatching(/^0:/), racy: false });
  });
});

describe('a tree remembered by its fingerprint', () => {
  it('answers an unchanged tree without reading a file, and only then', async () => {
    const dir = await trackedDir({ a: 'a', 'sub/b': 'b' });
    // add stored per-file hashes; the first hash of the tree records the tree itself
    expect(await filesHashed(dir, { files: false })).toBe(0);
    fs.rmSync(path.join(dir, '.dvc/tmp/cpv-state.log')); // per-file records gone: only the tree's remain
    expect(await filesHashed(dir, { files: false })).toBe(0);
    fs.appendFileSync(path.join(dir, 'data/a'), 'x');
    // the tree changed: every file without a per-file record is read again (here: both)
    expect(await filesHashed(dir, { files: false })).toBe(2);
    expect(await filesHashed(dir, { files: false })).toBe(0);
    fs.appendFileSync(path.join(dir, 'data/a'), 'y');
    expect(await filesHashed(dir, { files: false })).toBe(1); // b's per-file record still holds
  });

  it('never hides an added, removed, renamed or rewritten file from status', async () => {
    const dir = await trackedDir({ a: 'a', 'sub/b': 'b' });
    expect(await statusOf(dir)).toEqual({});
    const modified = { 'data.dvc': [{ 'changed outs': { data: 'modified' } }] };
    const changes: Array<[() => void, () => void]> = [
      [() => fs.writeFileSync(path.join(dir, 'data/new'), 'n'), () => fs.rmSync(path.join(dir, 'data/new'))],
      [
        () => fs.renameSync(path.join(dir, 'data/a'), path.join(dir, 'data/a2')),
        () => fs.renameSync(path.join(dir, 'data/a2'), path.join(dir, 'data/a')),
      ],
      [
        () => fs.writeFileSync(path.join(dir, 'data/sub/b'), 'B'),
        () => fs.writeFileSync(path.join(dir, 'data/sub/b'), 'b'),
      ],
    ];
    for (const [change, undo] of changes) {
      change();
      expect(await statusOf(dir)).toEqual(modified);
      undo();
      expect(await statusOf(dir)).toEqual({});
    }
  });

  it('a second add of an unchanged tree reads no file and keeps every object', async () => {
    const dir = await trackedDir({ a: 'a', 'sub/b': 'b' });
    const dvc = fs.readFileSync(path.join(dir, 'data.dvc'), 'utf8');
    const seen: number[] = [];
    await addTargets(['data'], { cwd: dir, onProgress: (e) => seen.push(e.total) });
    expect(seen.every((t) => t === 0)).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'data.dvc'), 'utf8')).toBe(dvc);
    expect(await statusOf(dir)).toEqual({});
  });

  it('add stores a file again when the tree is known but its object left the cache', async () => {
    const dir = await trackedDir({ a: 'a', 'sub/b': 'b' });
    await statusOf(dir); // tree recorded
    const obj = path.join(cacheRoot(dir), '0c/c175b9c0f1b6a831c399e269772661');
    fs.rmSync(obj);
    await addTargets(['data'], { cwd: dir });
    expect(fs.readFileSync(obj, 'utf8')).toBe('a');
    expect(await statusOf(dir)).toEqual({});
  });
});

describe('a tree remembered complete in the cache', () => {
  it('is remembered only under a settled stamp, and forgotten when an object goes', async () => {
    const dir = await trackedDir({ a: 'a', 'sub/b': 'b' });
    const oid = fs.readFileSync(path.join(dir, 'data.dvc'), 'utf8').match(/md5: (\S+\.dir)/)![1]!;
    const repo = Repo.open(dir);
    const manifest = repo.odb.pathFor(oid, 'md5');
    const verified = () =>
      StateStore.open(path.join(dir, '.dvc/tmp')).isVerified(
        'md5',
        manifest,
        cacheStamp(cacheRoot(dir)).stamp,
      );

    // a change just now is too recent to trust later (the first status may come within 100 ms)
    touchCache(dir);
    expect(await statusOf(dir)).toEqual({});
    expect(verified()).toBe(false);
    ageCache(dir);
    expect(await statusOf(dir)).toEqual({});
    expect(verified()).toBe(true);

    let asked = 0;
    const md5s = () => {
      asked++;
      return ['0cc175b9c0f1b6a831c399e269772661'];
    };
    expect(await dirFilesInCache(Repo.open(dir), oid, 'md5', md5s)).toBe(true);
    expect(asked).toBe(0); // remembered: no object looked at

    fs.rmSync(path.join(cacheRoot(dir), '0c/c175b9c0f1b6a831c399e269772661'));
    expect(verified()).toBe(false);
    expect(await statusOf(dir)).toEqual({ 'data.dvc': [{ 'changed outs': { data: 'not in cache' } }] });
  });
});

describe('walk order', () => {
  it('is what the fingerprint is taken over (a stable listing gives a stable fingerprint)', async () => {
    const dir = await trackedDir({ a: 'a', 'sub/b': 'b', 'sub/c': 'c' });
    const fp = () => treeFingerprint(walkTree(path.join(dir, 'data')));
    expect(fp()).toBe(fp());
  });
});

describe('add resets workspace modes inside a directory (cache.type copy)', () => {
  it('gives every file the workspace mode, on the first add and on a tree hit alike', async () => {
    const dir = gitRepo();
    materialise(dir, { 'data/a': 'a', 'data/b': 'b' });
    await initRepo(dir);
    fs.appendFileSync(path.join(dir, '.dvc/config'), '[cache]\n    type = copy\n');
    fs.chmodSync(path.join(dir, 'data/a'), 0o600);
    await addTargets(['data'], { cwd: dir });
    const umask = process.umask();
    const want = 0o666 & ~umask;
    expect(fs.statSync(path.join(dir, 'data/a')).mode & 0o777).toBe(want);
    await statusOf(dir); // the tree is now known
    fs.chmodSync(path.join(dir, 'data/b'), 0o600); // a mode change is not a content change
    expect(await statusOf(dir)).toEqual({});
    await addTargets(['data'], { cwd: dir });
    expect(fs.statSync(path.join(dir, 'data/b')).mode & 0o777).toBe(want);
  });
});

describe('add on a tree hit with cache.type hardlink', () => {
  it('links every file to its cache object (the per-file hashes come from the manifest)', async () => {
    const dir = gitRepo();
    materialise(dir, { 'data/a': 'a', 'data/sub/b': 'b' });
    await initRepo(dir);
    await addTargets(['data'], { cwd: dir }); // reflink,copy: plain files
    await statusOf(dir); // the tree is known
    fs.appendFileSync(path.join(dir, '.dvc/config'), '[cache]\n    type = hardlink\n');
    await addTargets(['data'], { cwd: dir });
    const inode = (p: string) => fs.statSync(p).ino;
    expect(inode(path.join(dir, 'data/a'))).toBe(
      inode(path.join(cacheRoot(dir), '0c/c175b9c0f1b6a831c399e269772661')),
    );
    expect(inode(path.join(dir, 'data/sub/b'))).toBe(
      inode(path.join(cacheRoot(dir), '92/eb5ffee6ae2fec3ad71c777531578f')),
    );
    expect(await statusOf(dir)).toEqual({});
  });
});
